"""The overview page (/): totals, token charts, problems and index freshness."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from recorder_ui import indexer
from recorder_ui.selectors import catalog
from recorder_ui.selectors.cache import _cached


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    percent: float
    query: str = ""


@dataclass(frozen=True, slots=True)
class Overview:
    recordings: int
    tests: int
    suites: int
    tokens: int
    missing_usage: int
    parse_errors: int
    errors: int
    by_suite: tuple[Bar, ...]
    by_model: tuple[Bar, ...]
    top_tests: tuple[dict[str, Any], ...]
    roots: tuple[dict[str, Any], ...]
    refresh: dict[str, Any]


def _bars(rows: list[dict[str, Any]], key: str, param: str) -> tuple[Bar, ...]:
    top = max((r["tokens"] or 0 for r in rows), default=0) or 1
    return tuple(
        Bar(
            label=r[key] or "(none)",
            value=r["tokens"] or 0,
            percent=round(100 * (r["tokens"] or 0) / top, 1),
            query=urlencode({param: r[key]}),
        )
        for r in rows
    )


def overview() -> Overview:
    """Totals, token charts, problems and index freshness for the overview page."""
    items = catalog.state().roots
    # The totals read the summary again inside: a run that commits after `items` were read is then in them,
    # never cached under the newer generation the cache's key reads (selectors/cache.py).
    totals = _cached("overview", {}, lambda: _overview_totals(catalog.state().whole))
    roots = tuple(
        {
            "name": item.name,
            "path": item.path,
            "last_indexed_at": item.last_indexed_at,
            "recordings": int(item.summary.get("recordings") or 0),
            "unreadable": int(item.summary.get("parse_errors") or 0),  # now, not only those the last run read
            "last_report": item.last_report,
            "missing": not os.path.isdir(item.path),  # gone since (moved, unmounted): runs fail, its rows stay
        }
        for item in items
    )
    return dataclasses.replace(totals, roots=roots, refresh=indexer.refresh_state())


def _overview_totals(whole: dict[str, Any]) -> Overview:
    """From the catalog's summary and the kept test counts: no pass over the recordings."""
    suites = sorted(
        ({"suite": k[0], "tokens": v[1]} for k, v in catalog.added(whole, "suites").items()),
        key=lambda r: (-r["tokens"], r["suite"]),
    )
    models = sorted(
        ({"model": k[0], "tokens": v[1]} for k, v in catalog.added(whole, "models").items()),
        key=lambda r: (-r["tokens"], r["model"]),
    )[:15]
    # Kept with the catalog's summary by the index run (whole.tests_over_roots): no pass over the test counts.
    tests = whole.get("tests") or {}
    top_tests = tuple(
        {"test_id": test_id, "tokens": tokens, "recordings": recordings}
        for test_id, tokens, recordings in tests.get("top") or ()
    )
    return Overview(
        recordings=catalog.total(whole, "recordings"),
        tests=int(tests.get("count") or 0),
        suites=len(suites),
        tokens=catalog.total(whole, "tokens"),
        missing_usage=catalog.total(whole, "missing"),
        parse_errors=catalog.total(whole, "parse_errors"),
        errors=catalog.total(whole, "errors"),
        by_suite=_bars([s for s in suites if s["tokens"]], "suite", "suite"),
        by_model=_bars(models, "model", "model"),
        top_tests=top_tests,
        roots=(),
        refresh={},
    )
