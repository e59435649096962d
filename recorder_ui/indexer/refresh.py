"""The background re-scan that keeps the index fresh while the server runs."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from recorder_ui.domain import jsontext, paths
from recorder_ui.indexer.configured import index_configured_roots
from recorder_ui.indexer.pool import default_jobs

log = logging.getLogger(__name__)

# Keeping the index fresh while the server runs: a page request starts a background re-scan at most every
# AUTO_REFRESH_SECONDS. The scan only stats files; it parses just the ones that changed.
_refresh_lock = threading.Lock()
_last_refresh = 0.0
# "missing": the configured roots the last run could not index (a folder gone), each said in one line.
_refresh_state: dict[str, object] = {"running": False, "reports": [], "missing": [], "error": "", "finished_at": None}

# What a run does is written to a small file per server process beside the others of the same database, so
# that every worker of a server answers the overview's progress poll alike (gunicorn's workers share no memory:
# the poll, answered by another worker than the one running, said the run was over). A file whose writer has
# not written for STALE_SECONDS while it said "running" is a process that died mid-run: not running.
STALE_SECONDS = 300
HEARTBEAT_SECONDS = 30  # how often a running run says so, between its other writes
PUBLISH_EVERY = 0.3  # seconds between two progress writes of one run
_published = 0.0


def _state_folder() -> Path | None:
    """A folder of recorder-ui's own (a page's read lists it, not the whole temporary folder), made private to
    this user; None when it is someone else's or open to others (on a shared host another user could read it,
    or plant a run that never ends): this process's own state is then all it says. Checked once per process and
    folder, not at every overview request; forgotten when a write there fails."""
    folder = Path(settings.REFRESH_STATE_DIR or Path(tempfile.gettempdir()) / "recorder-ui-refresh")
    if folder not in _checked:
        _checked[folder] = _private(folder)
    return _checked[folder]


_checked: dict[Path, Path | None] = {}


def _private(folder: Path) -> Path | None:
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        found = folder.stat()
    except OSError:
        return None
    if found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    return folder


def _state_prefix() -> str:
    where = f"{connection.vendor}:{settings.DATABASES['default'].get('HOST', '')}:{connection.settings_dict['NAME']}"
    return f"recorder-ui-refresh-{hashlib.sha256(where.encode()).hexdigest()[:16]}-"


def _publish(*, force: bool = False) -> None:
    """Write this process's state for the other workers (atomically: a reader sees the old file or the new)."""
    global _published
    now = time.time()
    if not force and now - _published < PUBLISH_EVERY:
        return
    _published = now
    folder = _state_folder()
    if folder is None:
        return
    target = folder / f"{_state_prefix()}{os.getpid()}.json"
    if force and not _refresh_state["running"]:  # a run's end: forget other processes' files over a day old
        for old in target.parent.glob(f"{_state_prefix()}*.json"):
            with contextlib.suppress(OSError):
                if old != target and now - old.stat().st_mtime > 86_400:
                    old.unlink()
    written = ""
    try:
        # jsontext: a root's path or error may hold a lone surrogate (a folder name that is not UTF-8)
        data = jsontext.dumps({**_refresh_state, "beat": now}, default=str)
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=".tmp-", delete=False) as out:
            written = out.name
            out.write(data)
        os.replace(written, target)
    except Exception:  # a full or read-only folder, a value it cannot write: this worker's own answers still hold
        log.warning("could not write the re-index state to %s", folder, exc_info=True)
        _checked.pop(folder, None)  # removed by a cleaner, say: made and checked again next time
        if written:
            with contextlib.suppress(OSError):
                os.unlink(written)


def refresh_state() -> dict[str, object]:
    """What the running re-scan, else the last one, did, in any worker of this server: for the overview page."""
    states: list[dict[str, Any]] = [{**_refresh_state, "beat": time.time() if _refresh_state["running"] else 0}]
    now = time.time()
    folder = _state_folder()
    try:
        files = list(folder.glob(f"{_state_prefix()}*.json")) if folder is not None else []
    except OSError:
        files = []
    for path in files:
        try:
            found = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue  # vanished, or being replaced
        if isinstance(found, dict) and isinstance(found.get("beat"), (int, float)) and found["beat"] <= now + 60:
            if found.get("running") and now - found["beat"] > STALE_SECONDS:
                found["running"] = False  # its writer died mid-run
            states.append(found)
    running = [s for s in states if s.get("running")]
    if running:
        chosen = max(running, key=lambda s: s["beat"])
    else:
        chosen = max(states, key=lambda s: (str(s.get("finished_at") or ""), s["beat"]))
    chosen = dict(chosen)
    chosen.pop("beat", None)
    chosen["auto_seconds"] = max(0.0, float(settings.AUTO_REFRESH_SECONDS))  # 0: only runs started on purpose
    return chosen


def refresh_if_stale(*, wait: bool = False, force: bool = False) -> bool:
    """Start a re-scan of every known root when the last one is older than AUTO_REFRESH_SECONDS."""
    global _last_refresh
    interval = settings.AUTO_REFRESH_SECONDS
    now = time.monotonic()
    if not force and (interval <= 0 or now - _last_refresh < interval):
        return False
    if not _refresh_lock.acquire(blocking=False):
        return False  # one is running already
    _last_refresh = now
    # forced: asked for (the overview's button), so followed on the page even while it only looks for changes; a
    # background re-scan shows only once it has files to parse, or found changes.
    _refresh_state.update(running=True, done=0, total=0, root="", forced=force)
    _publish(force=True)
    if wait or not settings.REFRESH_IN_BACKGROUND:
        _refresh_run()
        return True
    threading.Thread(target=_refresh_run, name="recorder-ui-refresh", daemon=True).start()
    return True


def _progress(done: int, total: int) -> None:
    """Files parsed so far in the running re-scan: the overview polls this."""
    _refresh_state.update(done=done, total=total)
    _publish()


def _starting(name: str) -> None:
    _refresh_state.update(root=name, done=0, total=0)
    _publish(force=True)


def _heartbeat(stop: threading.Event) -> None:
    """While a run goes on, say so every HEARTBEAT_SECONDS, through the steps that parse nothing (a wait for
    another run's lock, the aggregates): other workers would otherwise take a quiet run for a dead one."""
    while not stop.wait(HEARTBEAT_SECONDS):
        _publish(force=True)


def _refresh_run() -> None:
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(stop,), name="recorder-ui-refresh-beat", daemon=True).start()
    try:
        missing: list[str] = []
        # What `index_recordings` without a path does: the configured roots (a new one too), then the others.
        # Never forks: this is not the process's only thread (see _parse_all).
        reports = index_configured_roots(progress=_progress, jobs=default_jobs(), missing=missing, starting=_starting)
        _refresh_state.update(
            reports=[r.as_dict() for r in reports], missing=missing, error="", root="",
            changed=any(r.changed for r in reports),
        )  # fmt: skip
    except Exception as exc:  # a background thread has nobody to raise to: keep it for the overview page
        log.exception("background re-index failed")
        _refresh_state["error"] = paths.storable(f"{type(exc).__name__}: {exc}")  # shown by the overview
    finally:
        stop.set()
        _refresh_state["running"] = False
        _refresh_state["finished_at"] = timezone.now().isoformat()
        try:
            _publish(force=True)
        finally:
            _refresh_lock.release()  # whatever the publish did: else no re-scan would ever run again here
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()  # this thread's own connections: kept ones would outlive the thread
