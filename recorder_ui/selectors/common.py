"""Small helpers that several pages share."""

from __future__ import annotations

from django.db.models import Q

from recorder_ui.models import RecordingEntry

# The list's "errors" filter and the overview's count: recorded errors, unreadable files, bad tool arguments.
ERROR_FILTER = ~Q(error="") | ~Q(parse_error="") | Q(invalid_tool_args=True)


def _clean(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v not in ("", None)}


def _distinct(column: str) -> tuple[str, ...]:
    values = RecordingEntry.objects.exclude(**{column: ""}).values_list(column, flat=True).distinct()
    return tuple(sorted(values))
