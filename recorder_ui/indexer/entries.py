"""The file behind an index row: where it is, its bytes and its parsed recording, read from inside its root."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from recorder_ui.domain import loader, paths
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.indexer.files import _OUT_OF_ROOT, _Folders, _read, _run_folders
from recorder_ui.indexer.roots import root_path
from recorder_ui.models import RecordingEntry

_OUTSIDE = "the file lies outside its root, or in a symlink loop: not read"


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
    or folder swapped for a link since the index run is not followed out), and never more than limit bytes.

    The file is opened beneath the root with no link followed, and one met on the way is followed only where
    it stays inside the root (files._read): what is read lies inside by construction, with no resolve first."""
    return _beneath(root_path(entry.root.path).resolve(), entry.path, limit)


def _beneath(real_root: Path, stored: str, limit: int) -> tuple[bytes | None, str]:
    data, problem = _read(real_root / paths.unescape(stored), limit, real_root)
    return data, _OUTSIDE if problem == _OUT_OF_ROOT else problem  # a page reads after the index run


def load_entry(entry: RecordingEntry) -> Recording:
    """Parse the file behind an index row; a vanished or unreadable file gives an INVALID recording."""
    return _parsed(entry.path, *read_entry(entry, settings.MAX_RECORDING_BYTES), entry.root.recorder)


def _parsed(path: str, data: bytes | None, problem: str, recorder: str) -> Recording:
    if data is None:
        return Recording(path=path, kind=Kind.INVALID, error=problem, recorder=recorder)
    return loader.parse(data, path=path, recorder=recorder)


def load_entries(entries: Iterable[RecordingEntry], root: str, recorder: str = "") -> list[Recording]:
    """Parse the files behind many index rows of one root (its stored path), in order: what load_entry gives
    for each, for the cost of the reads. The root is resolved once and its folders opened once for the batch;
    each file is opened beneath it with no link followed, and one met on the way is followed only where it
    stays inside the root (see read_entry). recorder: the root's (Root.recorder)."""
    real_root = root_path(root).resolve()
    limit = settings.MAX_RECORDING_BYTES
    outer = getattr(_run_folders, "value", None)
    _run_folders.value = folders = _Folders()
    try:
        found = []
        for entry in entries:
            found.append(_parsed(entry.path, *_beneath(real_root, entry.path, limit), recorder))
        return found
    finally:
        _run_folders.value = outer
        folders.close()
