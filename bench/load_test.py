"""Load test: gunicorn on 127.0.0.1 with the corpus indexed, driven by a second process with 50 clients.

Mixed workload: overview, filtered list, search, a recording, a test page, JSON twins. Bounded in time
(DURATION seconds) and in request count (MAX_REQUESTS). Only 127.0.0.1 is contacted, and only the gunicorn
this script started is stopped. Run with RECORDER_UI_CORPUS set: `make load`.

Knobs: LOAD_CLIENTS, LOAD_SECONDS, LOAD_MAX_REQUESTS, LOAD_WORKERS (gunicorn processes), LOAD_DATABASE_URL
(a PostgreSQL database to load instead of SQLite), LOAD_AUTO_REFRESH (the server's re-scan interval, 5 s).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
DURATION = float(os.environ.get("LOAD_SECONDS", "30"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "20000"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "2"))
# A throwaway PostgreSQL database to run against instead of a temporary SQLite file: it gets migrated and
# indexed, so never point this at a database you care about.
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _urls(env: dict[str, str]) -> list[str]:
    """Real ids and test ids from the index, for a realistic mix."""
    script = (
        "import django, json; django.setup();"
        "from recorder_ui.models import RecordingEntry as E;"
        "pks=list(E.objects.order_by('?').values_list('pk', flat=True)[:200]);"
        "tests=list(E.objects.exclude(test_id='').values_list('test_id', flat=True).distinct()[:100]);"
        "print(json.dumps({'pks': pks, 'tests': tests}))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    urls = ["/", "/overview.json", "/recordings/", "/recordings.json?kind=chat&streaming=yes",
            "/recordings/?suite=responses&kind=chat&sort=-tokens", "/recordings/?missing=yes", "/missing-usage/",
            "/tests/", "/tests.json?page=2", "/healthz"]  # fmt: skip
    searches = ["weather", "Paris", "weath", '"tool call"', "get_weather(", "capital -France", "llama guard"]
    urls += ["/recordings/?" + urlencode({"q": q}) for q in searches]
    urls += ["/recordings.json?" + urlencode({"q": q, "kind": "chat"}) for q in searches[:3]]
    urls += [f"/recordings/{pk}/" for pk in data["pks"][:100]] + [f"/recordings/{pk}.json" for pk in data["pks"][100:]]
    urls += [f"/recordings/{pk}/chunks/" for pk in data["pks"][:10]] + [
        f"/recordings/{pk}/raw/" for pk in data["pks"][10:20]
    ]
    urls += ["/test/?" + urlencode({"id": t}) for t in data["tests"][:60]]
    urls += ["/test.json?" + urlencode({"id": t}) for t in data["tests"][60:]]
    return urls


def _drive(port: int, urls: list[str], queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The client side, in its own process: CLIENTS threads with keep-alive connections."""
    deadline = time.monotonic() + DURATION
    lock = threading.Lock()
    latencies: list[float] = []
    by_url: dict[str, list[float]] = {}
    errors: list[str] = []
    sent = [0]
    worst: list[tuple[float, float, str]] = []  # (ms, seconds into the run, url)
    begun = time.monotonic()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= MAX_REQUESTS:
                    break
                sent[0] += 1
            url = rng.choice(urls)
            started = time.perf_counter()
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    errors.append(f"{url}: {type(exc).__name__}")
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                by_url.setdefault(url, []).append(elapsed)
                worst.append((elapsed, time.monotonic() - begun, url))
                if status and status != 200:
                    errors.append(f"{url}: HTTP {status}")
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION + 60)
    slowest = sorted(((statistics.median(v), u) for u, v in by_url.items()), reverse=True)[:5]
    cut = sorted(latencies)[max(0, int(len(latencies) * 0.99) - 1)] if latencies else 0.0
    tail: dict[str, int] = {}
    for elapsed, _, url in worst:
        if elapsed >= cut:
            kind = _kind(url)
            tail[kind] = tail.get(kind, 0) + 1
    queue.put({"latencies": latencies, "errors": errors, "seconds": time.monotonic() - started, "slowest": slowest,
               "worst": sorted(worst, reverse=True)[:5], "tail": tail})  # fmt: skip


def _kind(url: str) -> str:
    """A page's kind, for telling which pages make up the slowest percent."""
    path, _, query = url.partition("?")
    if path.startswith("/recordings/") and path[len("/recordings/") :][:1].isdigit():
        return "recording " + (
            "chunks" if "chunks" in path else "raw" if "raw" in path else "json" if path.endswith(".json") else "page"
        )
    if "q=" in query:
        return "search"
    return path.rstrip("/") or "/"


def main() -> int:
    corpus = os.environ.get("RECORDER_UI_CORPUS")
    if not corpus or not Path(corpus).is_dir():
        print("load_test: set RECORDER_UI_CORPUS to the corpus folder", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="recorder-ui-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECORDER_UI_") and k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="recorder_ui.settings", RECORDER_UI_DB=str(work / "load.sqlite3"),
               RECORDINGS_DIR=corpus, RECORDER_UI_PRODUCTION="1", RECORDER_UI_SECRET_KEY="load-test-" + "s" * 40,
               RECORDER_UI_SSL_REDIRECT="0", RECORDER_UI_STATIC_ROOT=str(work / "static"),
               RECORDER_UI_AUTO_REFRESH_SECONDS=os.environ.get("LOAD_AUTO_REFRESH", "5"))  # fmt: skip
    if DATABASE_URL:
        env["DATABASE_URL"] = DATABASE_URL
    server = None
    try:
        for args in (
            ["migrate", "-v", "0"],
            ["index_recordings", corpus, "--name", "corpus"],
            ["collectstatic", "--noinput", "-v", "0"],
        ):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
        port = _free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "recorder_ui.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", "4",
             "--worker-class", "gthread", "--backlog", "256"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("gunicorn did not start", file=sys.stderr)
                return 1
            time.sleep(0.2)
        urls = _urls(env)
        spawn = multiprocessing.get_context("spawn")
        queue = spawn.Queue()
        driver = spawn.Process(target=_drive, args=(port, urls, queue))
        driver.start()
        result = queue.get(timeout=DURATION + 120)
        driver.join(timeout=30)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the process group this script started, nothing else
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    latencies = sorted(result["latencies"])
    count = len(latencies)
    p99 = latencies[max(0, int(count * 0.99) - 1)] if count else 0.0
    database = "PostgreSQL" if DATABASE_URL else "SQLite"
    print(f"{CLIENTS} clients, {WORKERS} gunicorn workers x 4 threads, {database}, {result['seconds']:.1f} s, "
          f"{count} requests")  # fmt: skip
    print(f"throughput {count / result['seconds']:.0f} requests/s; p50 {statistics.median(latencies):.0f} ms; "
          f"p99 {p99:.0f} ms; errors {len(result['errors'])}")  # fmt: skip
    for median, url in result["slowest"]:
        print(f"  slowest: {median:6.0f} ms median  {url[:110]}")
    for elapsed, at, url in result["worst"]:
        print(f"  worst:   {elapsed:6.0f} ms at {at:4.1f} s  {url[:110]}")
    tail = ", ".join(f"{kind} {count}" for kind, count in sorted(result["tail"].items(), key=lambda kv: -kv[1]))
    print(f"  slowest 1% by page: {tail}")
    for error in result["errors"][:10]:
        print(f"  {error}")
    ok = not result["errors"] and p99 < 500
    print(f"target: no errors and p99 < 500 ms  {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
