"""The whole catalog's summary: every root's summary (aggregates.summarise) added up, kept in one row
(models.Catalog) by the index run, so that a page over the whole catalog reads and decodes one summary and
lists the same few missing-usage streams whatever the number of roots.

`write` runs inside the transaction of every index run that writes a root's rows and of every root drop,
after the catalog lock (aggregates.lock_catalog), so two runs at once on two roots each add up what the other
committed. `combine` is what both it and a reader use: a reader that finds the kept row not current (its
`sources` differ from the roots' generations: a catalog no run has written since this code came) adds the
roots' summaries up itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Sum, TextField
from django.db.models.functions import Cast

from recorder_ui.domain import copies, jsontext
from recorder_ui.indexer import aggregates
from recorder_ui.models import Catalog, RecordingEntry, Root, TestSummary

VERSION = 3  # of the whole summary's layout (3 keeps the tests over every root): a kept row of another is not current
KEY = 1  # the one row's id
TOTALS = ("recordings", "tokens", "missing", "parse_errors", "errors", "recorded_errors", "with_variant")
TABLES = {"suites": 1, "models": 1, "kinds": 1, "providers": 2, "test_files": 1, "missing_groups": 5}
PER_ROOT = ("recordings", "parse_errors", "cleanup")  # what pages show of each root apart (overview, Cleanup)

Files = Callable[[list[int]], dict[int, tuple[str, str]]]  # row ids -> (path, sha256) of those rows


def combine(roots: Sequence[tuple[int, int, dict[str, Any]]], files: Files) -> dict[str, Any]:
    """The roots' summaries, (root id, generation, summary) in the roots' name order, added up.

    - the totals summed, the tables (rows of key columns, then counts) added up by key, the fates merged;
    - `per_root`: each root's own recordings and Cleanup counts, by root id (as text: a JSON key);
    - `missing_files`: per missing-usage group, the first aggregates.EXAMPLES files out of those each root's
      summary names (roots in name order), a file several roots hold with the same path and bytes listed once:
      [fate, test file, provider, host, model, [[row id, [[root id, row id of a copy], ...]], ...]];
    - `sources`: [[root id, generation], ...] by root id, what it was added up from.
    """
    whole: dict[str, Any] = {
        "version": VERSION,
        "sources": sorted([pk, generation] for pk, generation, _ in roots),
    }
    for key in TOTALS:
        whole[key] = sum(int(summary.get(key) or 0) for *_, summary in roots)
    for key, width in TABLES.items():
        table: dict[tuple[Any, ...], list[int]] = {}
        for *_, summary in roots:
            for row in summary.get(key) or ():
                counts = table.setdefault(tuple(row[:width]), [0] * (len(row) - width))
                for position, value in enumerate(row[width:]):
                    counts[position] += value
        whole[key] = [[*k, *v] for k, v in sorted(table.items())]
    fates: dict[str, int] = {}
    for *_, summary in roots:
        for name, value in (summary.get("fates") or {}).items():
            fates[name] = fates.get(name, 0) + value
    whole["fates"] = fates
    whole["per_root"] = {str(pk): {key: summary.get(key) for key in PER_ROOT} for pk, _, summary in roots}
    named: dict[tuple[Any, ...], list[tuple[int, int]]] = {}  # group -> [(root id, row id)], roots in name order
    for pk, _, summary in roots:
        for *key, rows in summary.get("missing_examples") or ():
            named.setdefault(tuple(key), []).extend((pk, row) for row in rows)
    known = files([row for pairs in named.values() for _, row in pairs])
    listed = []
    for key, pairs in sorted(named.items()):
        found = copies.by_file(
            (pair for pair in pairs if pair[1] in known), lambda pair: known[pair[1]], limit=aggregates.EXAMPLES
        )
        listed.append([*key, [[first[1], [list(pair) for pair in later]] for first, later in found]])
    whole["missing_files"] = listed
    return whole


def files_of(pks: list[int]) -> dict[int, tuple[str, str]]:
    """(path, sha256) of the rows asked for, read in batches."""
    found: dict[int, tuple[str, str]] = {}
    ordered = sorted(set(pks))
    for start in range(0, len(ordered), aggregates.IN_BATCH):
        batch = ordered[start : start + aggregates.IN_BATCH]
        found.update(
            (pk, (path, sha))
            for pk, path, sha in RecordingEntry.objects.filter(pk__in=batch).values_list("pk", "path", "sha256")
        )
    return found


def summaries() -> list[tuple[int, int, dict[str, Any]]]:
    """Every root's (id, generation, summary), in name order; the summaries decoded by orjson."""
    text = Cast("summary", TextField())
    return [
        (pk, generation, decoded(summary))
        for pk, generation, summary in Root.objects.order_by("name").values_list("pk", "generation", text)
    ]


def decoded(text: str | None) -> dict[str, Any]:
    try:
        value = jsontext.loads(text.encode()) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def write() -> None:
    """Add up every root's summary as committed and written so far in this transaction, and keep it. Call it
    under the catalog lock, after the run's root row is saved."""
    Catalog.objects.update_or_create(pk=KEY, defaults={"summary": build()})


def build() -> dict[str, Any]:
    """The whole summary from the roots' summaries, and the tests over every root (`tests`)."""
    return {**combine(summaries(), files_of), "tests": tests_over_roots()}


TOP_TESTS = 10


def tests_over_roots() -> dict[str, Any]:
    """The distinct test ids of every root, and the TOP_TESTS spending the most tokens summed over the roots:
    [[test id, tokens, recordings], ...]. Two GROUP BYs over the kept test counts (a row per root and test)."""
    rows = TestSummary.objects.values("test_id")
    count = rows.distinct().count()
    try:
        with transaction.atomic():  # SQLite's SUM refuses to overflow 64 bits (only hostile counts get there)
            top = list(
                rows.annotate(tokens=Sum("tokens"), recordings=Sum("recordings"))
                .filter(tokens__gt=0)
                .order_by("-tokens", "test_id")
                .values_list("test_id", "tokens", "recordings")[:TOP_TESTS]
            )
    except DatabaseError:
        sums: dict[str, list[int]] = {}
        for test_id, tokens, recordings in TestSummary.objects.values_list("test_id", "tokens", "recordings"):
            entry = sums.setdefault(test_id, [0, 0])
            entry[0] += tokens or 0
            entry[1] += recordings
        ranked = sorted(((t, v) for t, v in sums.items() if v[0] > 0), key=lambda item: (-item[1][0], item[0]))
        top = [(test_id, tokens, recordings) for test_id, (tokens, recordings) in ranked[:TOP_TESTS]]
    return {"count": count, "top": [[test_id, int(tokens), int(recordings)] for test_id, tokens, recordings in top]}


# The roots' (id, generation) pairs this process last found the kept row adding up: every run that changes a
# root's generation writes the row in the same transaction, so while the pairs stay the same, so does the row.
_seen_current: list[list[list[int]]] = []


def kept_is_current() -> bool:
    """Whether the kept row adds up the roots as they are: its version and sources only, not the summary (a
    running server's no-change re-scans ask this each time: once found current, the roots' pairs suffice)."""
    roots = sorted([pk, generation] for pk, generation in Root.objects.values_list("pk", "generation"))
    if roots in _seen_current:
        return True
    found = Catalog.objects.filter(pk=KEY).values_list("summary__version", "summary__sources").first()
    if found is None or not current(dict(zip(("version", "sources"), found, strict=True)), roots):
        return False
    _seen_current[:] = [roots]
    return True


def current(whole: dict[str, Any], sources: Sequence[Sequence[int]]) -> bool:
    """Whether a kept whole summary adds up exactly these (root id, generation) pairs."""
    return whole.get("version") == VERSION and whole.get("sources") == sorted([pk, g] for pk, g in sources)
