"""The background re-scan that keeps the index fresh while the server runs."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections
from django.utils import timezone

from recorder_ui.indexer.pool import default_jobs
from recorder_ui.indexer.writer import index_configured_roots

log = logging.getLogger(__name__)

# Keeping the index fresh while the server runs: a page request starts a background re-scan at most every
# AUTO_REFRESH_SECONDS. The scan only stats files; it parses just the ones that changed.
_refresh_lock = threading.Lock()
_last_refresh = 0.0
# "missing": the configured roots the last run could not index (a folder gone), each said in one line.
_refresh_state: dict[str, object] = {"running": False, "reports": [], "missing": [], "error": "", "finished_at": None}


def refresh_state() -> dict[str, object]:
    """What the last background refresh did, for the overview page."""
    return dict(_refresh_state)


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
    _refresh_state["running"] = True
    if wait or not settings.REFRESH_IN_BACKGROUND:
        _refresh_run()
        return True
    threading.Thread(target=_refresh_run, name="recorder-ui-refresh", daemon=True).start()
    return True


def _progress(done: int, total: int) -> None:
    """Files parsed so far in the running re-scan: the overview polls this."""
    _refresh_state.update(done=done, total=total)


def _starting(name: str) -> None:
    _refresh_state.update(root=name, done=0, total=0)


def _refresh_run() -> None:
    try:
        missing: list[str] = []
        # What `index_recordings` without a path does: the configured roots (a new one too), then the others.
        # Never forks: this is not the process's only thread (see _parse_all).
        reports = index_configured_roots(progress=_progress, jobs=default_jobs(), missing=missing, starting=_starting)
        _refresh_state.update(reports=[r.as_dict() for r in reports], missing=missing, error="", root="")
    except Exception as exc:  # a background thread has nobody to raise to: keep it for the overview page
        log.exception("background re-index failed")
        _refresh_state["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        _refresh_state["running"] = False
        _refresh_state["finished_at"] = timezone.now().isoformat()
        _refresh_lock.release()
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()  # this thread's own connections: kept ones would outlive the thread
