"""The file behind an index row: where it is, its bytes and its parsed recording, read from inside its root."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from recorder_ui.domain import loader, paths
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.indexer.files import _read
from recorder_ui.indexer.roots import root_path
from recorder_ui.models import RecordingEntry


def entry_path(entry: RecordingEntry) -> Path | None:
    """The file behind an index row, or None when it would leave its root or ends in a symlink loop."""
    real_root = root_path(entry.root.path).resolve()
    try:
        candidate = (real_root / paths.unescape(entry.path)).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError up to Python 3.12, OSError after)
        return None
    if not candidate.is_relative_to(real_root):
        return None
    return candidate


def read_entry(entry: RecordingEntry, limit: int) -> tuple[bytes | None, str]:
    """The bytes of the file behind an index row, read only if what is opened lies inside its root (a file
    or folder swapped for a link since the index run is not followed out), and never more than limit bytes."""
    path = entry_path(entry)
    if path is None:
        return None, "the file lies outside its root, or in a symlink loop: not read"
    return _read(path, limit, root_path(entry.root.path).resolve())


def load_entry(entry: RecordingEntry) -> Recording:
    """Parse the file behind an index row; a vanished or unreadable file gives an INVALID recording."""
    data, problem = read_entry(entry, settings.MAX_RECORDING_BYTES)
    if data is None:
        return Recording(path=entry.path, kind=Kind.INVALID, error=problem)
    return loader.parse(data, path=entry.path)
