"""Small helpers that several pages share."""

from __future__ import annotations

from recorder_ui.models import FLAGGED, RecordingEntry

# The list's "errors" filter and the overview's count: recorded errors, unreadable files, bad tool arguments.
# A root's summary and last report: JSON a row read with its root need not decode (many rows, one root).
ROOT_HEAVY = ("root__summary", "root__last_report")
ERROR_FILTER = FLAGGED  # the partial index entry_flagged is over these rows


def _clean(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v not in ("", None)}


def _distinct(column: str) -> tuple[str, ...]:
    values = RecordingEntry.objects.exclude(**{column: ""}).values_list(column, flat=True).distinct()
    return tuple(sorted(values))
