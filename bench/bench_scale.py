"""Scale benchmark: every page of the navigation at 1 root and at 10 roots of the corpus, side by side in one
run, and the load a gunicorn holds on the mixed workload against its own /healthz throughput.

The corpus is hard-linked into ten folders (distinct paths, no copy of the data) and indexed into two
temporary databases: one root into the first, all ten into the second. Each database is served by a child
process of its own (Django's test client, so server time without the network), and the two are driven in
lockstep: each page is fetched from one, then from the other, RUNS times, the order swapped every time, so a
slow spell of this machine falls on both sides alike rather than on whichever half it happened in. Each
fetch: "first" with every per-process cache emptied (as after an index run that changed rows), "kept"
straight after. The load part starts gunicorn (2 workers x 4 threads) on 127.0.0.1 over the 1-root index (as
issue 13 measured it) and drives it with bench/load_test.py's clients: /healthz alone, then the mix, for
SCALE_LOAD_SECONDS each (15 by default; SCALE_RUNS sets the fetches per page and side, 11). Targets (issue
13): every page at 10 roots at most 2 x its 1-root cost and under 150 ms; the mix at 40 % or more of
/healthz.

Run with RECORDER_UI_CORPUS set: `make bench`. SCALE_DATABASE_URL runs it on a throwaway PostgreSQL
database instead of SQLite: it is emptied, migrated and filled with the 10 roots, and a database of the same
name with `_one` after it is created beside it for the 1 root and dropped at the end (never point it at one
you care about).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from _corpus import on_corpus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
ROOTS = 10
RUNS = int(os.environ.get("SCALE_RUNS", "11"))  # pages of a few ms swing by as much again fetch to fetch
LOAD_SECONDS = os.environ.get("SCALE_LOAD_SECONDS", "15")
DATABASE_URL = os.environ.get("SCALE_DATABASE_URL", "")


NO_TWIN = ("diff (the form)",)  # its JSON twin needs two revisions of a git checkout, which these roots are not


def _pages(test_id: str, pk: int, replay_hash: str) -> list[tuple[str, str]]:
    word = urlencode({"q": "weather"})
    return [
        ("overview", "/"),
        ("recordings, page 1", "/recordings/"),
        ("recordings, page 60", "/recordings/?page=60"),
        ("recordings, chat+streamed+tools", "/recordings/?kind=chat&streaming=yes&tools=yes"),
        ("recordings, missing usage", "/recordings/?missing=yes"),
        ("recordings, searched 'weather'", f"/recordings/?{word}"),
        ("recordings, searched 'the'", "/recordings/?q=the"),  # in 4 of 5 recordings
        ("recordings, by tokens", "/recordings/?sort=-tokens"),
        ("recordings, by size", "/recordings/?sort=-size"),
        ("recordings, with errors", "/recordings/?errors=yes"),
        ("recordings, older rule's names", "/recordings/?replay=older-rule"),
        ("tests, page 1", "/tests/"),
        ("tests, page 8", "/tests/?page=8"),
        ("missing usage", "/missing-usage/"),
        ("cleanup", "/cleanup/"),
        ("errors", "/errors/"),
        ("find a recorded hash", "/find/?" + urlencode({"q": replay_hash})),
        ("find a hash not recorded", "/find/?" + urlencode({"q": "0" * 64})),
        ("diff (the form)", "/diff/"),
        ("a test", "/test/?" + urlencode({"id": test_id})),
        ("a recording", f"/recordings/{pk}/"),
    ]


def _twin(url: str) -> str:
    path, _, query = url.partition("?")
    twin = (path.rstrip("/") + ".json" if path != "/" else "/overview.json") + (f"?{query}" if query else "")
    if path.startswith("/recordings/") and path[12:].rstrip("/").isdigit():
        twin = path.rstrip("/") + ".json"
    if path == "/test/":
        twin = "/test.json?" + query
    return twin


# -- the child: one database, served through Django's test client ---------------------------------------------


def child() -> int:
    """Answer the parent's requests, one JSON line each way: set up, index a root, name the pages, fetch one."""
    import json

    protocol = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints goes to the parent's stderr, not into the protocol
    os.environ.update(RECORDER_UI_AUTO_REFRESH_SECONDS="0", DJANGO_SETTINGS_MODULE="recorder_ui.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from recorder_ui import indexer, selectors
    from recorder_ui.models import RecordingEntry

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()

    def fetch(url: str) -> list[float]:
        selectors.clear_caches(tests=True)
        started = time.perf_counter()
        response = client.get(url)
        first = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        started = time.perf_counter()
        client.get(url)
        return [first, (time.perf_counter() - started) * 1000]

    def pages() -> list[list[str]]:
        # The same files in both databases: those of the first root, by path.
        rows = RecordingEntry.objects.filter(root__name="checkout-0")
        test_id = rows.exclude(test_id="").values_list("test_id", flat=True).order_by("test_id")[400]
        pk = rows.order_by("path").values_list("pk", flat=True)[1500]
        replay_hash = rows.exclude(replay_hash="").order_by("path").values_list("replay_hash", flat=True)[1500]
        return [[label, url, "" if label in NO_TWIN else _twin(url)] for label, url in _pages(test_id, pk, replay_hash)]

    def settle() -> None:
        """PostgreSQL: vacuum and analyse what the index runs wrote, so that autovacuum, which would start on
        those rows within the minute, does not take the second core in the middle of the measurements."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")

    for line in sys.stdin:
        command, *args = json.loads(line)
        if command == "setup":
            call_command("migrate", verbosity=0)
            if connection.vendor == "postgresql":  # a throwaway database, maybe of an earlier run: start empty
                call_command("flush", interactive=False, verbosity=0)
            answer: object = None
        elif command == "index":
            started = time.perf_counter()
            indexer.index_recordings(root=Path(args[0]), name=args[1], jobs=indexer.default_jobs())
            answer = time.perf_counter() - started
        elif command == "settle":
            settle()
            answer = RecordingEntry.objects.count()
        elif command == "pages":
            answer = pages()
        elif command == "fetch":
            answer = fetch(args[0])
        else:
            break
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    connection.close()
    return 0


class Side:
    """A child process serving one database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )

    def call(self, *command: object) -> object:
        import json

        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the child serving a database stopped at {command!r}")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()  # our own child
                self.process.wait()


# -- the parent -------------------------------------------------------------------------------------------


def _side_by_side(one: Side, ten: Side, first: str, second: str) -> tuple[list[float], list[float]]:
    """([first, kept] ms at 1 root, the same at 10): medians of RUNS fetches, taken in turn, the order swapped
    every time."""
    found: dict[int, list[list[float]]] = {1: [], 10: []}
    one.call("fetch", first)  # not counted: the first fetch in a process compiles the page's templates
    ten.call("fetch", second)
    for n in range(RUNS):
        order = ((one, first, 1), (ten, second, 10)) if n % 2 == 0 else ((ten, second, 10), (one, first, 1))
        for side, url, key in order:
            found[key].append(side.call("fetch", url))  # type: ignore[arg-type]
    medians = {key: [statistics.median(f[0] for f in runs), statistics.median(f[1] for f in runs)]
               for key, runs in found.items()}  # fmt: skip
    return medians[1], medians[10]


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return child()
    return on_corpus("bench_scale", run)


def _named(url: str, name: str) -> str:
    """url with its database's name replaced by name."""
    head, _, tail = url.rpartition("/")
    return f"{head}/{name}" + tail[len(tail.partition("?")[0]) :]


def _database(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


def _one_url() -> str:
    """SCALE_DATABASE_URL with `_one` after the database's name, created empty on the same server."""
    one = f"{_database(DATABASE_URL)}_one"
    _admin(f'DROP DATABASE IF EXISTS "{one}"', f'CREATE DATABASE "{one}"')
    return _named(DATABASE_URL, one)


def _drop(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{_database(url)}"')


def _admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def run(corpus: Path, work: Path) -> int:
    roots = []
    for n in range(ROOTS):
        target = work / f"checkout-{n}"
        subprocess.run(["cp", "-al", str(corpus), str(target)], check=True)
        roots.append(target)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RECORDER_UI_") and k != "DATABASE_URL"}
    one_url = _one_url() if DATABASE_URL else ""
    envs = []
    for name, url in (("one", one_url), ("ten", DATABASE_URL)):
        env = dict(base, RECORDER_UI_DB=str(work / f"{name}.sqlite3"))
        if url:
            env["DATABASE_URL"] = url
        envs.append(env)
    one, ten = Side(envs[0]), Side(envs[1])
    try:
        one.call("setup")
        ten.call("setup")
        print(f"indexed 1 root in {one.call('index', str(roots[0]), 'checkout-0'):.1f} s")
        one.call("settle")
        ratio = _load(work, envs[0])  # on the 1-root index, as issue 13 measured it, with nothing else running
        started = time.perf_counter()
        for n, folder in enumerate(roots):
            ten.call("index", str(folder), f"checkout-{n}")
        rows = ten.call("settle")
        print(f"indexed 10 roots in {time.perf_counter() - started:.1f} s ({rows} rows)")
        pages_one, pages_ten = one.call("pages"), ten.call("pages")
        table = {}
        for (label, url, twin), (_, url_ten, twin_ten) in zip(pages_one, pages_ten, strict=True):  # type: ignore[call-overload]
            html = _side_by_side(one, ten, url, url_ten)
            json_ = _side_by_side(one, ten, twin, twin_ten) if twin else ([0.0, 0.0], [0.0, 0.0])
            table[label] = (html, json_)
    finally:
        one.close()
        ten.close()
        if one_url:
            _drop(one_url)
    database = "PostgreSQL" if DATABASE_URL else "SQLite"
    print(
        f"\n{database}, median of {RUNS} fetches from each side in turn; ms: first fetch (caches emptied) / kept; "
        "target at 10 roots <= 2 x and <= 150"
    )
    print(
        f"{'page':34} {'1 root html':>14} {'10 roots html':>14} {'grows':>6} "
        f"{'1 root json':>14} {'10 roots json':>14} {'grows':>6}"
    )
    missed = 0
    for label, ((a_html, b_html), (a_json, b_json)) in table.items():
        grow_html, grow_json = b_html[0] / max(a_html[0], 0.01), b_json[0] / max(a_json[0], 0.01)
        bad = grow_html > 2 or grow_json > 2 or b_html[0] > 150 or b_json[0] > 150
        missed += bad
        print(f"{label:34} {a_html[0]:6.0f} / {a_html[1]:5.0f} {b_html[0]:6.0f} / {b_html[1]:5.0f} {grow_html:5.1f}x "
              f"{a_json[0]:6.0f} / {a_json[1]:5.0f} {b_json[0]:6.0f} / {b_json[1]:5.0f} {grow_json:5.1f}x  "
              f"{'MISSED' if bad else 'ok'}")  # fmt: skip
    print(f"{missed} of {len(table)} pages miss the scale target" if missed else "every page within the scale target")
    if ratio is not None:
        print(f"load on 1 root, mix / healthz: {ratio:.0%} (target >= 40%)  {'ok' if ratio >= 0.4 else 'MISSED'}")
    return 0 if ratio is not None else 1


def _load(work: Path, side: dict[str, str]) -> float | None:
    """The mix's throughput over /healthz's, same gunicorn, same clients, over the database of `side`."""
    os.environ["LOAD_SECONDS"] = LOAD_SECONDS
    import load_test

    env = dict(side)
    env.update(DJANGO_SETTINGS_MODULE="recorder_ui.settings", RECORDER_UI_PRODUCTION="1",
               RECORDER_UI_SECRET_KEY="scale-test-" + "s" * 40, RECORDER_UI_SSL_REDIRECT="0",
               RECORDER_UI_STATIC_ROOT=str(work / "static"), RECORDER_UI_AUTO_REFRESH_SECONDS="0")  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    try:
        server, port = load_test.start_server(env, workers=2, threads=4)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return None
    try:
        urls = load_test._urls(env)
        results = load_test.run_phases(port, urls)
    finally:
        load_test.stop_server(server)
    rates = {}
    for name, result in results.items():
        rates[name], _, p99 = load_test.summary(result)
        print(f"load {name:8}: {rates[name]:6.0f} requests/s, p99 {p99:5.0f} ms, errors {len(result['errors'])}")
    return rates["mix"] / max(rates["healthz"], 0.01)


if __name__ == "__main__":
    raise SystemExit(main())
