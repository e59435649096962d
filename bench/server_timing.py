"""gunicorn hooks for bench/load_test.py (LOAD_SERVER_TIMING=1): where a worker's CPU goes, by page kind.

Each request's CPU time (of its own thread: waiting for the GIL or the database is not counted) and wall
time are summed by the kind of page, and at exit each worker writes its sums to a JSON file in
LOAD_SERVER_TIMING_DIR, with the CPU the process spent outside requests (the background re-scan, gunicorn
itself). Loaded with `gunicorn --config bench/server_timing.py`; the app itself is not changed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_test import _kind  # noqa: E402  (the bench folder is not a package)

_local = threading.local()
_lock = threading.Lock()
_sums: dict[str, list[float]] = {}  # kind -> [requests, cpu seconds, wall seconds]
_started = [0.0]


def post_worker_init(worker: Any) -> None:
    _started[0] = time.process_time()


def pre_request(worker: Any, req: Any) -> None:
    _local.started = (time.thread_time(), time.perf_counter())


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    started = getattr(_local, "started", None)
    if started is None:
        return
    cpu, wall = time.thread_time() - started[0], time.perf_counter() - started[1]
    kind = _kind(req.path + ("?" + req.query if req.query else ""))
    with _lock:
        sums = _sums.setdefault(kind, [0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += cpu
        sums[2] += wall


def worker_exit(server: Any, worker: Any) -> None:
    folder = os.environ.get("LOAD_SERVER_TIMING_DIR")
    if not folder:
        return
    with _lock:
        data = {"kinds": _sums, "process_cpu": time.process_time() - _started[0]}
    (Path(folder) / f"worker-{os.getpid()}.json").write_text(json.dumps(data))
