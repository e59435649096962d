"""The missing-usage page: every stream without a usage chunk, grouped, with what to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import connection

from recorder_ui.domain import lifecycle, providers
from recorder_ui.indexer import aggregates
from recorder_ui.models import RecordingEntry
from recorder_ui.selectors import catalog, recording_list
from recorder_ui.selectors.cache import _cached

CALLS = 500  # (root, test, messages) of the rows shown per statement of _variants_with_usage
ROWS_PER_GROUP = aggregates.EXAMPLES  # streams listed per group (the summaries keep their ids); the rest a link away


@dataclass(frozen=True, slots=True)
class MissingGroup:
    test_file: str
    provider: str  # the provider's name with its host: "openai (api.openai.com)"
    model: str
    fate: str  # lifecycle.NEVER_REPLAYED, SUPERSEDED or LIVE: what to do with these streams
    rows: tuple[dict[str, Any], ...]  # the first ROWS_PER_GROUP streams of the group
    fix: str  # what to change, for this group
    requested: int  # streams that asked for usage and still got none
    count: int = 0  # every stream of the group
    list_query: str = ""  # the group in the recordings list

    @property
    def more(self) -> int:
        """The group's streams not listed here."""
        return self.count - sum(1 + len(row["also_in"]) for row in self.rows)


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
    """The groups, their counts and the streams to list from the catalog's summary: the page costs the same
    whatever the catalog's size."""
    kept = catalog.state()
    counted = catalog.added(kept.whole, "missing_groups", width=5)  # (fate, test file, provider, host, model)
    # The streams listed: each group's first ROWS_PER_GROUP files, which the index run chose out of the few each
    # root's summary names (indexer/whole.py), so the page reads as many rows whatever the number of roots. A
    # file that several roots hold with the same bytes (ten checkouts of one repository) is one row with the
    # other roots beside it, not the same file listed five times.
    names = {item.pk: item.name for item in kept.roots}  # not joined: the rows come by id, from one table
    wanted: dict[tuple[str, ...], list[int]] = {}
    also_in: dict[int, list[dict[str, Any]]] = {}
    for *key, files in kept.whole.get("missing_files") or ():
        wanted[tuple(key)] = [first for first, _ in files]
        also_in.update(
            (first, [{"root": names.get(root, ""), "pk": pk} for root, pk in later]) for first, later in files if later
        )
    found = {
        row["pk"]: row
        for row in RecordingEntry.objects.filter(pk__in=[pk for pks in wanted.values() for pk in pks]).values(
            *_ROW_COLUMNS
        )
    }
    shown = {key: [found[pk] for pk in pks if pk in found] for key, pks in wanted.items()}
    rows = [row for members in shown.values() for row in members]
    with_usage = _variants_with_usage(rows)
    for row in rows:
        row["fate"] = row["usage_fate"] or lifecycle.LIVE
        row["variant_with_usage"] = with_usage.get(
            (row["root_id"], row["test_id"], row["provider"], row["request_key"])
        )
        row["superseded_by"] = row["superseded_by"] if row["fate"] == lifecycle.SUPERSEDED else None
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        row["also_in"] = also_in.get(row["pk"], [])  # the same file in other roots: [{root, pk}]
    groups: dict[tuple[str, str, str, str], list[Any]] = {}
    by_provider: dict[str, int] = {}
    for key, (streams, requested) in counted.items():
        fate, test_file, provider_name, provider, model = key
        label = providers.label(provider_name, provider)
        group = groups.setdefault((fate, test_file, label, model), [0, 0, [], []])
        group[0] += streams
        group[1] += requested
        group[2].extend(shown.get(key, ()))
        group[3].append(provider_name or provider)
        by_provider[provider_name or provider] = by_provider.get(provider_name or provider, 0) + streams
    order = list(lifecycle.FATES)
    built = []
    for (fate, test_file, provider, model), (streams, requested, members, filters) in sorted(
        groups.items(), key=lambda g: (order.index(g[0][0]) if g[0][0] in order else len(order), g[0][1:])
    ):
        members.sort(key=lambda row: (row["test_id"], row["path"]))
        built.append(
            MissingGroup(
                test_file=test_file,
                provider=provider,
                model=model,
                fate=fate,
                rows=tuple(members[:ROWS_PER_GROUP]),
                fix=_missing_fix(test_file, requested, streams, fate),
                requested=requested,
                count=streams,
                list_query=urlencode(
                    {
                        "missing": "yes",
                        "fate": fate,
                        "test_file": test_file or recording_list.NONE,
                        "model": model or recording_list.NONE,
                        "provider": filters[0],
                    }
                ),  # fmt: skip
            )
        )
    fates = dict.fromkeys(lifecycle.FATES, 0) | catalog.merged(kept.whole, "fates")
    return MissingUsage(
        groups=tuple(built),
        total=catalog.total(kept.whole, "missing"),
        by_provider=tuple(sorted(by_provider.items(), key=lambda item: (-item[1], item[0]))),
        test_files=len({key[1] for key in counted if key[1]}),
        with_variant=catalog.total(kept.whole, "with_variant"),
        fates=fates,
        fate_labels=dict(lifecycle.FATES),
    )


_ROW_COLUMNS = (
    "pk", "path", "test_id", "test_file", "test_name", "test_params", "provider", "model", "missing_usage_reason",
    "include_usage", "request_key", "root_id", "root__name", "provider_name", "replay_status", "usage_fate",
    "superseded_by",
)  # fmt: skip


def _variants_with_usage(rows: list[dict[str, Any]]) -> dict[tuple[int, str, str, str], int]:
    """(root, test id, host, messages) -> a streamed chat of the same call, in the same root, that carries usage."""
    keys = {(row["root_id"], row["test_id"], row["request_key"]) for row in rows if row["request_key"]}
    found: dict[tuple[int, str, str, str], int] = {}
    if not keys:
        return found
    # Each (test id, messages, root) of the rows shown, joined to the rows through the (test id, messages,
    # root) index, so a catalog of many roots reads only the rows of the calls and roots shown; the rest is
    # checked here (with the kind in SQL, the planner takes its index and reads every chat). In SQL of our
    # own: the ORM took 3 ms to build and compile an OR of a hundred-odd branches, and PostgreSQL 2.4 ms to
    # plan one, where a list of values joined is planned at once.
    triples = sorted(keys)
    table = connection.ops.quote_name(RecordingEntry._meta.db_table)
    candidates: list[tuple[int, str, str, str, int]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(triples), CALLS):
            batch = triples[start : start + CALLS]
            values = ", ".join(["(%s, %s, %s)"] * len(batch))
            sql = (  # fixed names and placeholders only: the values go as parameters
                f"WITH k (root_id, test_id, request_key) AS (VALUES {values}) "  # noqa: S608
                "SELECT e.root_id, e.test_id, e.provider, e.request_key, e.id, e.total_tokens, e.kind, e.streaming "
                f"FROM k JOIN {table} e ON e.test_id = k.test_id AND e.request_key = k.request_key "
                "AND e.root_id = k.root_id ORDER BY e.id"
            )
            cursor.execute(sql, [value for triple in batch for value in triple])
            candidates += [
                (root_id, test_id, host, request_key, pk)
                for root_id, test_id, host, request_key, pk, tokens, kind, streaming in cursor.fetchall()
                if tokens is not None and kind == "chat" and streaming
            ]
    for root_id, test_id, host, request_key, pk in candidates:
        found.setdefault((root_id, test_id, host, request_key), pk)
    return found
