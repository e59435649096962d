"""Parsing recording files into row values: here, or in forked worker processes for a large run.

`_parse_file` is pure (no database); `_parse_all` decides where it runs."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from django.db import connection, connections

from recorder_ui.domain import loader, paths
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.indexer.files import _Folders, _read, _run_folders
from recorder_ui.indexer.values import entry_values

PARALLEL_MIN_FILES = 200


# What parsing one file gives: its row values, sha256 and error; or, when its bytes are those of a row another
# root has at the same path (written by the same code), that row's id in place of the values.
Parsed = tuple[dict[str, object] | int, str, str]
# Per path: the (sha256, row id) of rows other roots have there.
Elsewhere = dict[str, tuple[tuple[str, int], ...]]


def _parse_file(
    real_root: str, rel: str, max_bytes: int, elsewhere: tuple[tuple[str, int], ...] = (), recorder: str = ""
) -> Parsed | None:
    """What parsing one file gives (Parsed); None when it vanished before it could be read. recorder: the one
    whose replay judges the root's files (Recording.recorder)."""
    path = f"{real_root}{os.sep}{paths.unescape(rel)}"
    data, problem = _read(path, max_bytes, real_root)
    if data is None:
        if not os.path.exists(path):
            return None
        rec = Recording(path=rel, kind=Kind.INVALID, error=problem, recorder=recorder)
        return entry_values(rec, rel_path=rel), "", problem
    digest = hashlib.sha256(data).hexdigest()
    for sha, pk in elsewhere:
        if sha == digest:
            return pk, digest, ""
    rec = loader.parse(data, path=rel, recorder=recorder)
    error = paths.storable(rec.error) if rec.kind == Kind.INVALID else ""  # as the row keeps it, and a copy gives it
    return entry_values(rec, rel_path=rel), digest, error


def _parse_all(
    real_root: Path,
    names: list[str],
    limit: int,
    jobs: int,
    workers: contextlib.ExitStack,
    elsewhere: Elsewhere | None = None,
    recorder: str = "",
) -> Iterator[tuple[str, Parsed | None]]:
    """Parse files in order. Many files: in worker processes, which start at once and end with `workers`, so
    the caller can write rows while they parse (the parse is pure: no database). Otherwise here and now,
    before the caller opens its transaction. A file whose bytes match a row of `elsewhere` is read, not parsed."""
    elsewhere = elsewhere or {}
    base = os.fspath(real_root)
    serial = jobs <= 1 or len(names) < PARALLEL_MIN_FILES or "fork" not in multiprocessing.get_all_start_methods()
    # A fork of a process with other threads running (a server's threads, its background re-scan) can
    # deadlock in the child: worker processes are forked only from a single-threaded process (the command).
    serial = serial or threading.active_count() > 1
    if serial or connection.in_atomic_block:  # a forked child must not share an open transaction's connection
        _run_folders.value = folders = _Folders()
        try:
            with _fewer_collections():
                return iter([(rel, _parse_file(base, rel, limit, elsewhere.get(rel, ()), recorder)) for rel in names])
        finally:
            _run_folders.value = None
            folders.close()
    connections.close_all()  # the children never touch the database; the parent reconnects when it needs to
    pool = workers.enter_context(multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_start))
    args = [(base, rel, limit, elsewhere.get(rel, ()), recorder) for rel in names]
    return zip(names, pool.imap(_parse_star, args, chunksize=32), strict=True)


def _parse_star(args: tuple[str, str, int, tuple[tuple[str, int], ...], str]) -> Parsed | None:
    return _parse_file(*args)


def default_jobs() -> int:
    """Worker processes for a large index run: the cores there are, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _worker_start() -> None:
    _run_folders.value = _Folders()  # closed with the worker process
    # What the worker inherited from the parent (Django, the app: some 60,000 objects) lives as long as it does:
    # out of the collector's sight, a collection passes over only what the parse makes (and the inherited pages
    # are not copied for the collector's bookkeeping). Collections were ~5% of a parse of the corpus; this halves them.
    gc.freeze()
    gc.set_threshold(*PARSE_GC_THRESHOLD)  # for the worker's life: it only parses


# The cycle collector's first threshold while files are parsed (Python's default is 700 new container objects).
# A parse makes tens of thousands of dicts and lists that reference counting frees on its own, and hardly any
# cycle: at the default, collections took 12 to 20% of a cold parse of the corpus; at this, ~1%. Garbage in a
# cycle still goes, a little later.
PARSE_GC_THRESHOLD = (20_000, 10, 10)


class _Held:
    """The parses under way in this process, and the collector's thresholds from before the first began."""

    lock = threading.Lock()
    count = 0
    before: tuple[int, ...] = ()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """PARSE_GC_THRESHOLD while the block runs (for the whole process, which a parse in a server's thread
    shares with its other threads: they only see collections come less often for that while). Parses in
    several threads at once share it: the last to end puts back the thresholds from before the first began."""
    with _Held.lock:
        if _Held.count == 0:
            _Held.before = gc.get_threshold()
            gc.set_threshold(*PARSE_GC_THRESHOLD)
        _Held.count += 1
    try:
        yield
    finally:
        with _Held.lock:
            _Held.count -= 1
            if _Held.count == 0:
                gc.set_threshold(*_Held.before)
