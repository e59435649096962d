"""Load test: gunicorn on 127.0.0.1 with the corpus indexed, driven by a second process with 50 clients.

Two phases against the same gunicorn with the same clients: /healthz alone, then the mixed workload
(overview, filtered lists, searches, missing usage, tests, recordings with their Chunks and Raw tabs, test
pages, JSON twins). The target (issue 13) is the mix at 40 % or more of /healthz's throughput with no
errors. Each phase is bounded in time (DURATION seconds) and in request count (MAX_REQUESTS). Only
127.0.0.1 is contacted, and only the gunicorn this script started is stopped, by its process group. Run
with RECORDER_UI_CORPUS set: `make load`.

Knobs: LOAD_CLIENTS, LOAD_SECONDS (per phase), LOAD_MAX_REQUESTS, LOAD_WORKERS (gunicorn processes),
LOAD_THREADS (per worker), LOAD_DATABASE_URL (a PostgreSQL database to load instead of SQLite),
LOAD_AUTO_REFRESH (the server's re-scan interval, 5 s), LOAD_SERVER_TIMING=1 (print the workers' CPU per
page kind, from bench/server_timing.py's gunicorn hooks).
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
from typing import Any
from urllib.parse import urlencode

import _corpus

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
DURATION = float(os.environ.get("LOAD_SECONDS", "30"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "20000"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "2"))
THREADS = int(os.environ.get("LOAD_THREADS", "4"))
# A throwaway PostgreSQL database to run against instead of a temporary SQLite file: it gets migrated and
# indexed, so never point this at a database you care about.
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "")
# Per page kind, the CPU each request took in the workers (bench/server_timing.py's gunicorn hooks).
SERVER_TIMING = os.environ.get("LOAD_SERVER_TIMING", "") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], *, workers: int = WORKERS, threads: int = THREADS,
                 config: str = "") -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    """gunicorn on a free 127.0.0.1 port, in a process group of its own, once /healthz answers 200.

    Raises RuntimeError (after stopping it) when it does not answer within 30 s. config is a gunicorn
    config file (the server-timing hooks of bench/server_timing.py), or "" for none."""
    port = _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "recorder_ui.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--worker-class", "gthread", "--backlog", "256",
               "--no-control-socket"]  # fmt: skip
    if config:
        command += ["--config", config]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server, port
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            stop_server(server)
            raise RuntimeError("gunicorn did not start")
        time.sleep(0.2)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn that start_server started: its own process group, nothing else."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


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
            "/tests/", "/tests.json?page=2"]  # fmt: skip
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


def run_phases(port: int, urls: list[str]) -> dict[str, dict[str, Any]]:
    """/healthz alone, then the mix, each driven by the same CLIENTS for DURATION seconds."""
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for name, mix in (("healthz", ["/healthz"]), ("mix", urls)):
        queue = spawn.Queue()
        driver = spawn.Process(target=_drive, args=(port, mix, queue))
        driver.start()
        results[name] = queue.get(timeout=DURATION + 120)
        driver.join(timeout=30)
    return results


def summary(result: dict[str, Any]) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one phase."""
    latencies = sorted(result["latencies"])
    count = len(latencies)
    p99 = latencies[max(0, int(count * 0.99) - 1)] if count else 0.0
    return count / result["seconds"], statistics.median(latencies) if latencies else 0.0, p99


def _server_timing(folder: Path) -> None:
    """Print the workers' CPU by page kind (bench/server_timing.py wrote it)."""
    kinds: dict[str, list[float]] = {}
    process_cpu = 0.0
    for file in folder.glob("worker-*.json"):
        data = json.loads(file.read_text())
        process_cpu += data["process_cpu"]
        for kind, sums in data["kinds"].items():
            total = kinds.setdefault(kind, [0, 0.0, 0.0])
            for n, value in enumerate(sums):
                total[n] += value
    in_requests = sum(v[1] for v in kinds.values())
    print(f"server CPU: {process_cpu:.1f} s in the workers, {in_requests:.1f} s of it in requests, by kind:")
    for kind, (count, cpu, wall) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        share = cpu / max(in_requests, 1e-9)
        print(f"  {kind:18} {int(count):6} requests  CPU {1000 * cpu / count:6.1f} ms each, {share:5.1%} of "
              f"request CPU; wall {1000 * wall / count:6.1f} ms each")  # fmt: skip


def main() -> int:
    found = _corpus.corpus("load_test")
    if found is None:
        return 2
    corpus = str(found)
    work = Path(tempfile.mkdtemp(prefix="recorder-ui-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECORDER_UI_") and k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="recorder_ui.settings", RECORDER_UI_DB=str(work / "load.sqlite3"),
               RECORDINGS_DIR=corpus, RECORDER_UI_PRODUCTION="1", RECORDER_UI_SECRET_KEY="load-test-" + "s" * 40,
               RECORDER_UI_SSL_REDIRECT="0", RECORDER_UI_STATIC_ROOT=str(work / "static"),
               RECORDER_UI_AUTO_REFRESH_SECONDS=os.environ.get("LOAD_AUTO_REFRESH", "5"))  # fmt: skip
    if DATABASE_URL:
        env["DATABASE_URL"] = DATABASE_URL
    config = ""
    if SERVER_TIMING:
        env["LOAD_SERVER_TIMING_DIR"] = str(work)
        config = str(ROOT / "bench" / "server_timing.py")
    server = None
    try:
        for args in (
            ["migrate", "-v", "0"],
            ["index_recordings", corpus, "--name", "corpus"],
            ["collectstatic", "--noinput", "-v", "0"],
        ):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
        server, port = start_server(env, config=config)
        results = run_phases(port, _urls(env))
        stop_server(server)  # the workers write their timing as they exit
        if SERVER_TIMING:
            _server_timing(work)
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(work, ignore_errors=True)
    database = "PostgreSQL" if DATABASE_URL else "SQLite"
    print(f"{CLIENTS} clients, {WORKERS} gunicorn workers x {THREADS} threads, {database}, "
          f"{DURATION:.0f} s per phase")  # fmt: skip
    rates = {}
    for name, result in results.items():
        rates[name], p50, p99 = summary(result)
        print(f"{name:8} {rates[name]:6.0f} requests/s; p50 {p50:5.0f} ms; p99 {p99:5.0f} ms; "
              f"{len(result['latencies'])} requests; errors {len(result['errors'])}")  # fmt: skip
    result = results["mix"]
    for median, url in result["slowest"]:
        print(f"  slowest: {median:6.0f} ms median  {url[:110]}")
    for elapsed, at, url in result["worst"]:
        print(f"  worst:   {elapsed:6.0f} ms at {at:4.1f} s  {url[:110]}")
    tail = ", ".join(f"{kind} {count}" for kind, count in sorted(result["tail"].items(), key=lambda kv: -kv[1]))
    print(f"  slowest 1% by page: {tail}")
    errors = results["healthz"]["errors"] + result["errors"]
    for error in errors[:10]:
        print(f"  {error}")
    ratio = rates["mix"] / max(rates["healthz"], 0.01)
    ok = not errors and ratio >= 0.4
    print(f"earlier target, p99 of the mix under 500 ms: {'ok' if summary(result)[2] < 500 else 'missed'}")
    print(f"target (issue 13): no errors and the mix at 40% or more of /healthz: {ratio:.0%}  "
          f"{'ok' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
