"""The overview page (/): totals, token charts, problems and index freshness."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum

from recorder_ui import indexer
from recorder_ui.models import RecordingEntry, Root
from recorder_ui.selectors.cache import _cached
from recorder_ui.selectors.common import ERROR_FILTER


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
    totals = _cached("overview", {}, _overview_totals)
    roots = tuple(
        {
            "name": root.name,
            "path": root.path,
            "last_indexed_at": root.last_indexed_at,
            "recordings": root.entries.count(),
            "last_report": root.last_report,
        }
        for root in Root.objects.order_by("name")
    )
    return dataclasses.replace(totals, roots=roots, refresh=indexer.refresh_state())


def _overview_totals() -> Overview:
    entries = RecordingEntry.objects.all()
    totals = entries.aggregate(
        recordings=Count("pk"),
        tokens=Sum("total_tokens"),
        missing=Count("pk", filter=Q(missing_usage=True)),
        parse_errors=Count("pk", filter=~Q(parse_error="")),
        errors=Count("pk", filter=ERROR_FILTER),
    )
    suites = list(entries.values("suite").annotate(tokens=Sum("total_tokens")).order_by("-tokens", "suite"))
    models = list(
        entries.exclude(model="").values("model").annotate(tokens=Sum("total_tokens")).order_by("-tokens")[:15]
    )
    top_tests = tuple(
        entries.exclude(test_id="")
        .values("test_id")
        .annotate(tokens=Sum("total_tokens"), recordings=Count("pk"))
        .filter(tokens__gt=0)
        .order_by("-tokens", "test_id")[:10]
    )
    return Overview(
        recordings=totals["recordings"],
        tests=entries.exclude(test_id="").values("test_id").distinct().count(),
        suites=len(suites),
        tokens=totals["tokens"] or 0,
        missing_usage=totals["missing"],
        parse_errors=totals["parse_errors"],
        errors=totals["errors"],
        by_suite=_bars([s for s in suites if s["tokens"]], "suite", "suite"),
        by_model=_bars(models, "model", "model"),
        top_tests=top_tests,
        roots=(),
        refresh={},
    )
