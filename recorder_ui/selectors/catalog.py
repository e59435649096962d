"""The roots' summaries (indexer/aggregates.py) read once and added up: what pages show of the whole index.

Each root's summary was written by the transaction that wrote its rows, so each is whole; reading them is one
query over the roots, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder_ui.models import Root


@dataclass(frozen=True, slots=True)
class RootSummary:
    name: str
    path: str
    last_indexed_at: Any
    last_report: dict[str, Any]
    summary: dict[str, Any]


def roots() -> tuple[RootSummary, ...]:
    found = Root.objects.order_by("name").values_list("name", "path", "last_indexed_at", "last_report", "summary")
    return tuple(RootSummary(*row) for row in found)


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


def merged(items: tuple[RootSummary, ...], key: str) -> dict[str, int]:
    """A summary mapping (name -> count) added up over the roots."""
    table: dict[str, int] = {}
    for item in items:
        for name, value in (item.summary.get(key) or {}).items():
            table[name] = table.get(name, 0) + value
    return table
