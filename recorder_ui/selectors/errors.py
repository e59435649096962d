"""The errors page: the files the parser could not read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder_ui.models import RecordingEntry
from recorder_ui.selectors import catalog
from recorder_ui.selectors.cache import _cached


@dataclass(frozen=True, slots=True)
class ErrorList:
    errors: tuple[dict[str, Any], ...]  # files the parser could not read
    recorded_errors: int  # readable recordings with an error: a provider exception, an HTTP error, an index note
    flagged: int = 0  # the readable recordings the list's errors filter gives: those, and bad tool arguments


def error_list() -> ErrorList:
    """The files the parser could not read, each with its error."""
    return _cached("errors", {}, _error_list)


def _error_list() -> ErrorList:
    # The unreadable files come through a partial index of their own (models.py: entry_unreadable); the count
    # of recorded errors from the catalog's summary.
    return ErrorList(
        errors=tuple(
            RecordingEntry.objects.exclude(parse_error="")
            .order_by("root__name", "path")
            .values("pk", "path", "parse_error", "size", "root__name")
        ),
        recorded_errors=catalog.total(whole := catalog.state().whole, "recorded_errors"),
        flagged=catalog.total(whole, "errors") - catalog.total(whole, "parse_errors"),
    )
