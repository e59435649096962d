"""The missing-usage page: every stream without a usage chunk, grouped, with what to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from recorder_ui.domain import lifecycle, providers
from recorder_ui.models import RecordingEntry
from recorder_ui.selectors.cache import _cached
from recorder_ui.selectors.lifecycle import SupersededRow, superseded_rows


@dataclass(frozen=True, slots=True)
class MissingGroup:
    test_file: str
    provider: str  # the provider's name with its host: "openai (api.openai.com)"
    model: str
    fate: str  # lifecycle.NEVER_REPLAYED, SUPERSEDED or LIVE: what to do with these streams
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
    fates: dict[str, int]  # never-replayed / superseded / live -> streams
    fate_labels: dict[str, str]  # the same keys -> what to do, in words


def _missing_fix(test_file: str, requested: int, count: int, fate: str) -> str:
    """What to change for one group of streams without usage."""
    if fate == lifecycle.NEVER_REPLAYED:
        return (
            "Replay never serves these files: their names carry an older rule's hash, so today's recorder looks "
            "their requests up under other names. Delete them (see the Cleanup page for the git rm command)."
        )
    if fate == lifecycle.SUPERSEDED:
        return (
            "A newer variant of each of these calls was recorded with usage (linked on each row): the test "
            "already asks for usage. Delete these old variants."
        )
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
            "missing_usage_reason", "include_usage", "request_key", "root__name", "provider_name", "replay_status",
        )
    )  # fmt: skip
    superseded = superseded_rows()
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
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    by_provider: dict[str, int] = {}
    fates = dict.fromkeys(lifecycle.FATES, 0)
    for row in found:
        row["variant_with_usage"] = with_usage.get((row["test_id"], row["request_key"]))
        item = superseded.get(row["pk"])
        row["fate"] = lifecycle.usage_fate(replay_status=row["replay_status"], superseded_by=_as_domain(item))
        row["superseded_by"] = item.by_pk if item is not None and row["fate"] == lifecycle.SUPERSEDED else None
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        label = providers.label(row["provider_name"], row["provider"])
        groups.setdefault((row["fate"], row["test_file"], label, row["model"]), []).append(row)
        by_provider[row["provider_name"] or row["provider"]] = (
            by_provider.get(row["provider_name"] or row["provider"], 0) + 1
        )
        fates[row["fate"]] += 1
    order = list(lifecycle.FATES)
    built = []
    for (fate, test_file, provider, model), members in sorted(
        groups.items(), key=lambda g: (order.index(g[0][0]), g[0][1:])
    ):
        requested = sum(1 for row in members if row["include_usage"] is True)
        built.append(
            MissingGroup(
                test_file=test_file,
                provider=provider,
                model=model,
                fate=fate,
                rows=tuple(members),
                fix=_missing_fix(test_file, requested, len(members), fate),
                requested=requested,
            )
        )
    return MissingUsage(
        groups=tuple(built),
        total=len(found),
        by_provider=tuple(sorted(by_provider.items(), key=lambda item: -item[1])),
        test_files=len({row["test_file"] for row in found if row["test_file"]}),
        with_variant=sum(1 for row in found if row["variant_with_usage"]),
        fates=fates,
        fate_labels=dict(lifecycle.FATES),
    )


def _as_domain(item: SupersededRow | None) -> lifecycle.Superseded | None:
    if item is None:
        return None
    return lifecycle.Superseded(str(item.pk), item.by_path, item.added, item.by_has_usage)
