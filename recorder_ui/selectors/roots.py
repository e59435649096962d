"""The catalog's roots, for pickers, and the health answer."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from recorder_ui.models import RecordingEntry, Root


def root_names() -> tuple[str, ...]:
    """The catalog's roots, for pickers."""
    return tuple(Root.objects.order_by("name").values_list("name", flat=True))


def health() -> dict[str, Any]:
    """A liveness answer that also proves the database answers."""
    last = Root.objects.aggregate(last=Max("last_indexed_at"))["last"]
    return {"status": "ok", "recordings": RecordingEntry.objects.count(), "last_indexed_at": last}
