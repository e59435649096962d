"""The roots' summaries (indexer/aggregates.py) read once and added up: what pages show of the whole index.

Each root's summary was written by the transaction that wrote its rows, so each is whole; reading them is one
query over the roots, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from recorder_ui.domain import jsontext
from recorder_ui.models import Root


@dataclass(frozen=True, slots=True)
class RootSummary:
    pk: int
    name: str
    path: str
    last_indexed_at: Any
    last_report: dict[str, Any]
    summary: dict[str, Any]


# pk -> (generation, summary): a summary read once per process and generation (an index run that writes draws
# the root a new generation in the transaction that writes its summary, and both are read in one query).
_kept: dict[int, tuple[int, dict[str, Any]]] = {}


def roots() -> tuple[RootSummary, ...]:
    found = list(
        Root.objects.order_by("name").values_list("pk", "generation", "name", "path", "last_indexed_at", "last_report")
    )
    stale = [pk for pk, generation, *_ in found if _kept.get(pk, (None,))[0] != generation]
    if stale:
        text = Cast("summary", TextField())  # decoded by orjson, not by the field's json.loads
        for pk, generation, summary in Root.objects.filter(pk__in=stale).values_list("pk", "generation", text):
            _kept[pk] = (generation, _decoded(summary))
    return tuple(
        RootSummary(pk, name, path, indexed, report, _kept[pk][1] if pk in _kept else {})
        for pk, _generation, name, path, indexed, report in found
    )


def _decoded(text: str | None) -> dict[str, Any]:
    try:
        value = jsontext.loads(text.encode()) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def forget() -> None:
    """Forget the kept summaries (selectors.clear_caches)."""
    _kept.clear()


def total(items: tuple[RootSummary, ...], key: str) -> int:
    return sum(int(item.summary.get(key) or 0) for item in items)


def added(items: tuple[RootSummary, ...], key: str, width: int = 1) -> dict[tuple[Any, ...], list[int]]:
    """A summary table (rows of `width` key columns, then counts) added up over the roots: key -> counts."""
    table: dict[tuple[Any, ...], list[int]] = {}
    for item in items:
        for row in item.summary.get(key) or ():
            counts = table.setdefault(tuple(row[:width]), [0] * (len(row) - width))
            for position, value in enumerate(row[width:]):
                counts[position] += value
    return table


def keys(items: tuple[RootSummary, ...], key: str, width: int = 1) -> set[tuple[Any, ...]]:
    """A summary table's keys (its first `width` columns) over the roots, for a filter's choices: what
    `added` gives, without adding up the counts."""
    return {tuple(row[:width]) for item in items for row in item.summary.get(key) or ()}


def firsts(items: tuple[RootSummary, ...], key: str) -> set[str]:
    """The values of a summary table's first column over the roots."""
    return {str(first) for (first,) in keys(items, key)}


def merged(items: tuple[RootSummary, ...], key: str) -> dict[str, int]:
    """A summary mapping (name -> count) added up over the roots."""
    table: dict[str, int] = {}
    for item in items:
        for name, value in (item.summary.get(key) or {}).items():
            table[name] = table.get(name, 0) + value
    return table
