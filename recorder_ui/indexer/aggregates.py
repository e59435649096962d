"""What pages show about the index as a whole, kept by the index run in the transaction that changes the rows.

Three things, each exact (tests/test_aggregates.py checks them against a recount from scratch after every kind
of run):
- per row, its variants (`superseded_by`, `superseded_added`, `superseded_by_usage`) and, for a stream without
  usage, its fate (`usage_fate`): worked out over the root's variant groups of the tests the run touched;
- per root, `Root.summary`: totals, recordings and tokens per suite, model, kind, provider and test file, the
  missing-usage groups and the Cleanup counts (`summarise`);
- per root, `TestSummary`: a row per test id and suite with its recordings, tokens and missing usage, re-counted
  for the test ids the run touched (a team's checkouts hold the same tests: each is counted in its own root).

Two runs on different roots may write at once (PostgreSQL): each holds its own root's row lock (its tests are its
own), and takes the catalog lock (`lock_catalog`) before it writes the catalog's summary (indexer/whole.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import connection

from recorder_ui.domain import lifecycle, replay
from recorder_ui.indexer.statements import update_entries
from recorder_ui.models import Facet, RecordingEntry, TestSummary

# Of the summary's layout (2 groups variants by host too; 3 by streamed or not, and only a served file supersedes):
# a root whose summary has another is summarised anew by the next run.
VERSION = 3
CATALOG_LOCK = 7_245_431_113  # PostgreSQL advisory lock taken by every run before it re-counts tests
IN_BATCH = 500  # values per IN (...) list
BIG = 2**63 - 1  # a token sum beyond a 64-bit column is kept as this (only hostile files get there)

Touched = set[str] | None  # the test ids whose rows a run added, changed or removed; None for all of them


def refresh(root_id: int, touched: Touched, *, added_since: int | None = None) -> dict[str, Any]:
    """Bring the variants, the root's summary and the test counts in line with the rows just written. Runs
    inside the index run's transaction; returns the root's new summary, for the caller to save with the root.
    With added_since, the run only added rows, those of ids above it: the tests gain what those rows count
    (`add_tests`) rather than a recount over every root's rows (a new root's cold index touches every test)."""
    _variants(root_id, touched)
    summary, facets = summarise(root_id)
    Facet.objects.filter(root_id=root_id).delete()
    kept = [
        Facet(root_id=root_id, recordings=n, **dict(zip(FACET_COLUMNS, key, strict=True))) for key, n in facets.items()
    ]
    Facet.objects.bulk_create(kept, batch_size=500)
    lock_catalog()
    if added_since is not None:
        add_tests(root_id, RecordingEntry.objects.filter(root_id=root_id, pk__gt=added_since).exclude(test_id=""))
    else:
        recount_tests(root_id, touched)
    return summary


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(values)
    for start in range(0, len(items), IN_BATCH):
        yield items[start : start + IN_BATCH]


def lock_catalog() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CATALOG_LOCK])
    # SQLite: one writer at a time already.


# -- variants and usage fates -------------------------------------------------------------------------------

_VARIANT_COLUMNS = ("pk", "path", "test_id", "kind", "streaming", "model", "provider", "request_key", "lineage",
                    "total_tokens", "missing_usage", "replay_status", "superseded_by", "superseded_added",
                    "superseded_by_usage", "usage_fate")  # fmt: skip


def _variants(root_id: int, touched: Touched) -> None:
    """Work out which rows a newer variant supersedes (domain/lifecycle.py), over the touched tests' groups, and
    the fate of each stream without usage; write only the rows whose values change."""
    rows = RecordingEntry.objects.filter(root_id=root_id)
    if touched is None:
        _variants_of(list(rows.values_list(*_VARIANT_COLUMNS)))
        return
    for chunk in _chunks(touched):
        _variants_of(list(rows.filter(test_id__in=chunk).values_list(*_VARIANT_COLUMNS)))


def _variants_of(found: list[tuple[Any, ...]]) -> None:
    candidates = []
    for pk, _path, test_id, kind, streaming, model, host, request_key, text, tokens, _missing, status, *_ in found:
        parsed = lifecycle.Lineage.from_json(text) if text and request_key else None
        if parsed is not None:  # the group as lifecycle.candidate makes it (test_id "" for a call outside tests)
            group = (test_id, kind, "streamed" if streaming else "", model, host, request_key)
            candidates.append(lifecycle.Candidate(str(pk), group, parsed, tokens is not None, status == replay.CURRENT))
    verdicts = lifecycle.superseded(candidates)
    changed = []
    for pk, *_columns, missing, status, old_by, old_added, old_usage, old_fate in found:
        item = verdicts.get(str(pk))
        by = int(item.by) if item is not None else None
        added = " ".join(item.added) if item is not None else ""
        by_usage = bool(item and item.by_has_usage)
        fate = lifecycle.usage_fate(replay_status=status, superseded_by=item) if missing else ""
        if (by, added, by_usage, fate) != (old_by, old_added, old_usage, old_fate):
            changed.append((by, added, by_usage, fate, pk))
    if changed:
        update_entries(("superseded_by", "superseded_added", "superseded_by_usage", "usage_fate"), changed)


# -- the root's summary -------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("suite", "model", "kind", "provider_name", "provider", "test_file", "test_id", "request_key",
                    "streaming", "total_tokens", "missing_usage", "include_usage", "usage_fate", "parse_error",
                    "error", "invalid_tool_args", "replay_status", "superseded_by", "size",
                    "tool_call_count", "pk", "path")  # fmt: skip
EXAMPLES = 5  # streams of each missing-usage group a root keeps the ids of, for the page to list


def _add(table: dict[Any, list[int]], key: Any, tokens: int | None) -> None:
    entry = table.setdefault(key, [0, 0])
    entry[0] += 1
    entry[1] += tokens or 0


# A Facet row's key: every value a recordings-list filter looks at.
FACET_COLUMNS = ("suite", "test_file", "kind", "provider_name", "provider", "model", "streaming", "tools", "missing",
                 "errors", "replay_status", "usage_fate")  # fmt: skip


def summarise(root_id: int) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """What the overview, lists, missing-usage, errors and Cleanup pages show of one root, counted in one pass
    over its rows: the summary (pure JSON: lists of [key..., counts...], since a key may be any text), and the
    list's facets (FACET_COLUMNS -> recordings)."""
    facets: dict[tuple[Any, ...], int] = {}
    totals = dict.fromkeys(("recordings", "tokens", "missing", "parse_errors", "errors", "recorded_errors"), 0)
    suites: dict[str, list[int]] = {}
    models: dict[str, list[int]] = {}
    kinds: dict[str, list[int]] = {}
    providers: dict[tuple[str, str], list[int]] = {}
    test_files: dict[str, list[int]] = {}
    missing: dict[tuple[str, str, str, str, str], list[int]] = {}
    examples: dict[tuple[str, str, str, str, str], list[tuple[str, str, int]]] = {}
    cleanup = {reason: [0, 0] for reason in ("unreachable", "superseded", "name-mismatch")}
    fates = dict.fromkeys(lifecycle.FATES, 0)
    with_usage: set[tuple[str, str, str]] = set()  # (test id, host, messages) of streamed chats that carry usage
    wanting: list[tuple[str, str, str]] = []  # the same, of each stream without usage
    rows = RecordingEntry.objects.filter(root_id=root_id).values_list(*_SUMMARY_COLUMNS)
    for (suite, model, kind, provider_name, provider, test_file, test_id, request_key, streaming, tokens,
         is_missing, include_usage, fate, parse_error, error, bad_args, status, superseded_by, size,
         tools, pk, path) in rows.iterator(chunk_size=2000):  # fmt: skip
        errors = bool(error or parse_error or bad_args)
        key = (suite, test_file, kind, provider_name, provider, model, streaming, tools > 0, is_missing, errors,
               status, fate)  # fmt: skip
        facets[key] = facets.get(key, 0) + 1
        totals["recordings"] += 1
        totals["tokens"] += tokens or 0
        totals["parse_errors"] += bool(parse_error)
        totals["errors"] += errors
        totals["recorded_errors"] += bool(error and not parse_error)
        _add(suites, suite, tokens)
        if model:
            _add(models, model, tokens)
        if kind:
            _add(kinds, kind, tokens)
        if provider_name or provider:
            _add(providers, (provider_name, provider), tokens)
        if test_file:
            _add(test_files, test_file, tokens)
        reason = lifecycle.cleanup_reason(replay_status=status, superseded=superseded_by is not None)
        if reason:
            cleanup[reason][0] += 1
            cleanup[reason][1] += size
        if kind == "chat" and streaming and tokens is not None and request_key:
            with_usage.add((test_id, provider, request_key))
        if is_missing:
            totals["missing"] += 1
            fate = fate or lifecycle.LIVE
            fates[fate] = fates.get(fate, 0) + 1
            group = missing.setdefault((fate, test_file, provider_name, provider, model), [0, 0])
            group[0] += 1
            group[1] += include_usage is True
            examples.setdefault((fate, test_file, provider_name, provider, model), []).append((test_id, path, pk))
            if request_key:  # a call outside any test has variants too, under the test id ""
                wanting.append((test_id, provider, request_key))
    summary = {
        "version": VERSION,
        **totals,
        "suites": [[k, *v] for k, v in sorted(suites.items())],
        "models": [[k, *v] for k, v in sorted(models.items())],
        "kinds": [[k, *v] for k, v in sorted(kinds.items())],
        "providers": [[*k, *v] for k, v in sorted(providers.items())],
        "test_files": [[k, *v] for k, v in sorted(test_files.items())],
        "missing_groups": [[*k, *v] for k, v in sorted(missing.items())],
        # The first EXAMPLES streams of each group by test id and path: [fate, test file, provider, host, model,
        # [row id, ...]].
        "missing_examples": [[*k, [pk for *_, pk in sorted(v)[:EXAMPLES]]] for k, v in sorted(examples.items())],
        "with_variant": sum(1 for key in wanting if key in with_usage),
        "fates": fates,
        "cleanup": cleanup,
    }
    return summary, facets


# -- tests, per root -----------------------------------------------------------------------------------------


def test_key(root_id: int, test_id: str, suite: str) -> str:
    return hashlib.sha256(f"{root_id}\x00{suite}\x00{test_id}".encode("utf-8", "surrogatepass")).hexdigest()


def recount_tests(root_id: int, touched: Touched) -> None:
    """Count every test of the root in `touched` (every test, for None) anew over the root's rows."""
    rows = RecordingEntry.objects.filter(root_id=root_id)
    if touched is None:
        TestSummary.objects.filter(root_id=root_id).delete()
        _write_tests(root_id, _tally(rows.exclude(test_id="")))
        return
    for chunk in _chunks(t for t in touched if t):
        TestSummary.objects.filter(root_id=root_id, test_id__in=chunk).delete()
        _write_tests(root_id, _tally(rows.filter(test_id__in=chunk)))


def add_tests(root_id: int, rows: Any) -> None:
    """Add what rows, new ones of the root, count to its tests' counts."""
    tests = _tally(rows)
    keys = {test_key(root_id, *key): key for key in tests}
    for chunk in _chunks(keys):
        kept = TestSummary.objects.filter(key__in=chunk)
        for key, count, tokens, missing in kept.values_list("key", "recordings", "tokens", "missing"):
            entry = tests[keys[key]]
            entry[3] += count
            if tokens is not None:
                entry[4] = (entry[4] or 0) + tokens
            entry[5] += missing
        kept.delete()
    _write_tests(root_id, tests)


def _tally(rows: Any) -> dict[tuple[str, str], list[Any]]:
    """(test id, suite) -> [test file, test name, test params, recordings, tokens, recordings missing usage]."""
    tests: dict[tuple[str, str], list[Any]] = {}
    columns = ("test_id", "suite", "test_file", "test_name", "test_params", "total_tokens", "missing_usage")
    for test_id, suite, test_file, test_name, test_params, tokens, is_missing in rows.values_list(*columns).iterator(
        chunk_size=2000
    ):
        entry = tests.get((test_id, suite))
        if entry is None:
            entry = tests[(test_id, suite)] = [test_file, test_name, test_params, 0, None, 0]
        entry[3] += 1
        if tokens is not None:
            entry[4] = (entry[4] or 0) + tokens
        entry[5] += bool(is_missing)
    return tests


def _write_tests(root_id: int, tests: dict[tuple[str, str], list[Any]]) -> None:
    if not tests:
        return
    quote = connection.ops.quote_name
    columns = ("key", "root_id", "test_id", "suite", "test_file", "test_name", "test_params", "recordings", "tokens",
               "missing")  # fmt: skip
    with connection.cursor() as cursor:  # one prepared statement, as the writer inserts rows
        cursor.executemany(
            f"INSERT INTO {quote(TestSummary._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            [
                (
                    test_key(root_id, test_id, suite),
                    root_id,
                    test_id,
                    suite,
                    test_file,
                    test_name,
                    test_params,
                    count,
                    min(tokens, BIG) if tokens is not None else None,
                    missing,
                )  # fmt: skip
                for (test_id, suite), (test_file, test_name, test_params, count, tokens, missing) in tests.items()
            ],
        )
