"""What pages show of the whole index: the catalog's summary the index runs keep (indexer/whole.py), one row
whatever the number of roots, and the roots themselves.

The kept summary was written by the transaction that wrote the roots' summaries it adds up, so it is whole;
it names the (root, generation) pairs it adds up, and when those are not the roots' (no run has written it
since this code came), the roots' own summaries are added up here instead, with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from recorder_ui.indexer import whole as kept_whole
from recorder_ui.models import Catalog, Root


@dataclass(frozen=True, slots=True)
class RootSummary:
    pk: int
    name: str
    path: str
    last_indexed_at: Any
    last_report: dict[str, Any]
    summary: dict[str, Any]  # this root's own: its recordings and Cleanup counts


@dataclass(frozen=True, slots=True)
class State:
    roots: tuple[RootSummary, ...]  # in name order
    whole: dict[str, Any]  # every root's summary added up (indexer/whole.combine)


# The whole summary last read by this process, with the (root, generation) pairs it adds up: an index run that
# writes draws its root a new generation in the transaction that writes the whole summary.
_kept: list[tuple[list[list[int]], dict[str, Any]]] = []


def state() -> State:
    found = list(
        Root.objects.order_by("name").values_list("pk", "generation", "name", "path", "last_indexed_at", "last_report")
    )
    sources = sorted([pk, generation] for pk, generation, *_ in found)
    kept = next(iter(_kept), None)  # one read: another thread may replace or empty the list meanwhile
    if kept is not None and kept[0] == sources:
        summary = kept[1]
    else:
        text = Catalog.objects.filter(pk=kept_whole.KEY).values_list(Cast("summary", TextField()), flat=True).first()
        summary = kept_whole.decoded(text)
        if not kept_whole.current(summary, [(pk, g) for pk, g in sources]):
            # Not current: the roots' summaries added up here, read in one query with their generations, which
            # the result names (a run that commits in between makes them newer than `found`'s).
            summary = kept_whole.build()
        _kept[:] = [(summary["sources"], summary)]
    per_root = summary.get("per_root") or {}
    return State(
        roots=tuple(
            RootSummary(pk, name, path, indexed, report, per_root.get(str(pk)) or {})
            for pk, _generation, name, path, indexed, report in found
        ),
        whole=summary,
    )


def roots() -> tuple[RootSummary, ...]:
    return state().roots


def forget() -> None:
    """Forget the kept summary (selectors.clear_caches)."""
    _kept.clear()


def total(whole: dict[str, Any], key: str) -> int:
    return int(whole.get(key) or 0)


def added(whole: dict[str, Any], key: str, width: int = 1) -> dict[tuple[Any, ...], list[int]]:
    """A summary table (rows of `width` key columns, then counts): key -> counts."""
    return {tuple(row[:width]): list(row[width:]) for row in whole.get(key) or ()}


def keys(whole: dict[str, Any], key: str, width: int = 1) -> set[tuple[Any, ...]]:
    """A summary table's keys (its first `width` columns), for a filter's choices."""
    return {tuple(row[:width]) for row in whole.get(key) or ()}


def firsts(whole: dict[str, Any], key: str) -> set[str]:
    """The values of a summary table's first column."""
    return {str(row[0]) for row in whole.get(key) or ()}


def merged(whole: dict[str, Any], key: str) -> dict[str, int]:
    """A summary mapping (name -> count)."""
    return dict(whole.get(key) or {})
