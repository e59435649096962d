"""The missing-usage page: every stream without a usage chunk, grouped, with what to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from recorder_ui.models import RecordingEntry
from recorder_ui.selectors.cache import _cached


@dataclass(frozen=True, slots=True)
class MissingGroup:
    test_file: str
    provider: str
    model: str
    rows: tuple[dict[str, Any], ...]
    fix: str  # what to change, for this group
    requested: int  # streams that asked for usage and still got none


@dataclass(frozen=True, slots=True)
class MissingUsage:
    groups: tuple[MissingGroup, ...]
    total: int
    by_provider: tuple[tuple[str, int], ...]
    test_files: int
    with_variant: int  # streams whose call was also recorded with usage


def _missing_fix(test_file: str, requested: int, count: int) -> str:
    """What to change for one group of streams without usage."""
    if requested == count:
        return (
            "These requests set include_usage, yet no usage chunk came back: the provider ignores "
            "stream_options or the stream was cut short. Check the provider's support, then re-record."
        )
    if not test_file:
        return (
            "These calls ran outside any test (session setup, or a server that lost the test context). "
            'Set stream_options={"include_usage": True} where that code streams, then re-record.'
        )
    return (
        f'In {test_file}, pass stream_options={{"include_usage": True}} to each streaming chat completion call '
        "(or let the client fixture set it), then re-record these tests with OGX_TEST_INFERENCE_MODE=record."
    )


def missing_usage_list() -> MissingUsage:
    """Every stream without a usage chunk, grouped by test file, provider and model, with what to change."""
    return _cached("missing-usage", {}, _missing_usage_list)


def _missing_usage_list() -> MissingUsage:
    rows = RecordingEntry.objects.filter(missing_usage=True).order_by(
        "test_file", "provider", "model", "test_id", "path"
    )
    found = list(
        rows.values(
            "pk", "path", "test_id", "test_file", "test_name", "test_params", "provider", "model",
            "missing_usage_reason", "include_usage", "request_key", "root__name",
        )
    )  # fmt: skip
    # A variant of the same call (same test, same messages) that was recorded with usage: link it.
    keys = {(row["test_id"], row["request_key"]) for row in found if row["request_key"]}
    with_usage: dict[tuple[str, str], int] = {}
    if keys:
        candidates = RecordingEntry.objects.filter(
            test_id__in={k[0] for k in keys},
            request_key__in={k[1] for k in keys},
            total_tokens__isnull=False,
            kind="chat",
            streaming=True,
        ).values_list("test_id", "request_key", "pk")
        for test_id, request_key, pk in candidates:
            with_usage.setdefault((test_id, request_key), pk)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    providers: dict[str, int] = {}
    for row in found:
        row["variant_with_usage"] = with_usage.get((row["test_id"], row["request_key"]))
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        groups.setdefault((row["test_file"], row["provider"], row["model"]), []).append(row)
        providers[row["provider"]] = providers.get(row["provider"], 0) + 1
    built = []
    for (test_file, provider, model), members in groups.items():
        requested = sum(1 for row in members if row["include_usage"] is True)
        built.append(
            MissingGroup(
                test_file=test_file,
                provider=provider,
                model=model,
                rows=tuple(members),
                fix=_missing_fix(test_file, requested, len(members)),
                requested=requested,
            )
        )
    return MissingUsage(
        groups=tuple(built),
        total=len(found),
        by_provider=tuple(sorted(providers.items(), key=lambda item: -item[1])),
        test_files=len({row["test_file"] for row in found if row["test_file"]}),
        with_variant=sum(1 for row in found if row["variant_with_usage"]),
    )
