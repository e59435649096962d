"""Production mode: configured by environment variables only, safe defaults, login, gunicorn and whitenoise."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, get_resolver

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-only-" + "k" * 50


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECORDER_UI_", "DJANGO_", "DATABASE_URL"))}
    env.update(
        RECORDER_UI_PRODUCTION="1",
        RECORDER_UI_SECRET_KEY=SECRET,
        RECORDER_UI_HOSTS="fixtures.example.org,127.0.0.1",
        RECORDER_UI_DB=str(tmp_path / "prod.sqlite3"),
        RECORDER_UI_STATIC_ROOT=str(tmp_path / "static"),
        RECORDINGS_DIR=str(ROOT / "recordings"),
    )
    env.update(extra)
    return env


def _manage(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=_env(tmp_path, **extra), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_check_deploy_reports_nothing_in_production_mode(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    # The redirect to HTTPS turned off on purpose (the proxy does it, as docs/hosting.md's nginx): not a warning.
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", RECORDER_UI_SSL_REDIRECT="0")
    assert done.returncode == 0 and "W008" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_production_without_a_secret_key_fails_with_one_clear_line(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", RECORDER_UI_SECRET_KEY="")
    assert done.returncode != 0
    assert done.stderr.strip().startswith("recorder-ui: RECORDER_UI_SECRET_KEY is not set")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RECORDER_UI_MAX_RECORDING_BYTES", "abc"), ("RECORDER_UI_RAW_VIEW_MAX_BYTES", "1e6"),
     ("RECORDER_UI_AUTO_REFRESH_SECONDS", "five"), ("RECORDER_UI_CONN_MAX_AGE", "-1"),
     ("RECORDER_UI_HSTS_SECONDS", "1y"), ("RECORDER_UI_AUTO_REFRESH_SECONDS", "nan")],
)  # fmt: skip
def test_a_setting_that_is_no_number_stops_with_one_line_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    done = _manage(tmp_path, "check", **{variable: value})
    assert done.returncode == 4 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"recorder-ui: {variable}={value!r} is not a ") and "number" in line
    assert len(line.splitlines()) == 1


def test_a_negative_refresh_interval_turns_the_refresh_off_as_0_does(tmp_path: Path) -> None:
    done = _manage(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.AUTO_REFRESH_SECONDS)",
                   RECORDER_UI_AUTO_REFRESH_SECONDS="-1")  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "-1.0", done.stderr


def test_a_database_url_of_no_known_kind_stops_with_one_line(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", DATABASE_URL="nonsense://user:hunter2@db/x")
    assert done.returncode == 4 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("recorder-ui: DATABASE_URL is not a database URL") and "hunter2" not in done.stderr


def test_production_mode_keeps_debug_off_whatever_the_debug_variable_says(tmp_path: Path) -> None:
    done = _manage(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                   RECORDER_UI_DEBUG="1")  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr


def test_gunicorn_without_a_secret_key_stops_with_the_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path, RECORDER_UI_SECRET_KEY="")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "recorder_ui.wsgi", "--bind", f"127.0.0.1:{_free_port()}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _, stderr = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
        pytest.fail("gunicorn kept restarting workers instead of stopping:\n" + stderr[-2000:])
    assert server.returncode != 0
    assert "recorder-ui: RECORDER_UI_SECRET_KEY is not set" in stderr and "Traceback" not in stderr


def test_collectstatic_gives_hashed_compressed_files(tmp_path: Path) -> None:
    done = _manage(tmp_path, "collectstatic", "--noinput")
    assert done.returncode == 0, done.stderr
    names = {p.name for p in (tmp_path / "static").iterdir()}
    hashed = [n for n in names if n.startswith("recorder.") and n.endswith(".css") and n != "recorder.css"]
    assert hashed and f"{hashed[0]}.gz" in names and "staticfiles.json" in names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_gunicorn_serves_healthz_pages_and_hashed_static(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--verbosity", "0").returncode == 0
    assert _manage(tmp_path, "index_recordings").returncode == 0
    assert _manage(tmp_path, "collectstatic", "--noinput").returncode == 0
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [str(gunicorn), "recorder_ui.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=_env(tmp_path), stdout=sink, stderr=sink,
        )  # fmt: skip
    https = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front says
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, health = _get(port, "/healthz")  # plain HTTP: the proxy's health check
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.2)
        assert status == 200 and b'"status":"ok"' in health and b'"recordings":19' in health
        status, headers, _ = _get(port, "/")
        assert status == 301 and headers["location"].startswith("https://")  # plain HTTP goes to HTTPS
        status, headers, body = _get(port, "/", **https)
        assert status == 200, log.read_text()
        csp = headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "script-src 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin" and headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
        page = body.decode()
        css = page.split('href="/static/recorder.', 1)[1].split('"', 1)[0]
        assert css.count(".") == 1 and css != "css"  # recorder.<hash>.css
        status, headers, _ = _get(port, f"/static/recorder.{css}", **https, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-encoding"] == "gzip" and "immutable" in headers["cache-control"]
        status, _, _ = _get(port, "/", Host="evil.example.org", **https)
        assert status == 400  # not in RECORDER_UI_HOSTS
    finally:
        server.terminate()
        server.wait(timeout=30)


SAMPLE_VALUES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x/y.json",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _urls() -> list[str]:
    """Every URL of the app, with a sample value in each parameter: new pages are covered without a change here."""
    urls = []
    for pattern in get_resolver().url_patterns:
        assert isinstance(pattern, URLPattern), pattern  # an include() would need walking
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES[m.group(1) or "str"], str(pattern.pattern))
        urls.append("/" + route)
    return urls


@pytest.mark.django_db
def test_login_required_covers_every_page_and_json_twin_but_healthz(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.REQUIRE_LOGIN = True
    open_urls = {"/healthz", "/accounts/login/"}
    urls = _urls()
    assert len(urls) >= 20
    for url in urls:
        response = client.get(url)
        if url in open_urls:
            assert response.status_code == 200, url
        elif url.endswith(".json"):
            assert response.status_code == 401, url
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert client.get("/", HTTP_ACCEPT="application/json").status_code == 401
    # An htmx request (a filter change after the session ended) sends the whole browser to the login page,
    # coming back to the same filters, instead of swapping the login form into the results.
    page = "http://testserver/recordings/?kind=chat"
    swapped = client.get("/recordings/?kind=chat&page=2", headers={"HX-Request": "true", "HX-Current-URL": page})
    assert swapped.status_code == 200 and not swapped.content
    assert swapped["HX-Redirect"] == "/accounts/login/?next=/recordings/%3Fkind%3Dchat"
    polled = client.get("/reindex/status/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/"})
    assert polled["HX-Redirect"] == "/accounts/login/?next=/"  # back to the overview, not to the fragment
    elsewhere = client.get("/tests/", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert elsewhere["HX-Redirect"] == "/accounts/login/?next=/"  # never back to another site
    assert client.post("/reindex/").status_code == 302  # the one POST: no re-index for strangers
    assert client.get("/static/recorder.css").status_code in (200, 404)  # static files stay public
    User.objects.create_user("reviewer", password="a long pass phrase 42")
    assert client.login(username="reviewer", password="a long pass phrase 42")
    assert client.get("/").status_code == 200 and client.get("/overview.json").status_code == 200
    assert "Log out reviewer" in client.get("/").content.decode()
    # Pages for logged-in users only: no shared cache keeps them for someone else.
    assert "private" in client.get("/")["Cache-Control"] and "private" in client.get("/overview.json")["Cache-Control"]
    # A bookmarked logout link gets a page with the button (logging out stays a POST), not an empty 405.
    confirm = client.get("/accounts/logout/")
    assert confirm.status_code == 200 and "Log out reviewer from this browser?" in confirm.content.decode()
    assert client.get("/").status_code == 200  # still logged in
    assert client.post("/accounts/logout/").status_code == 302 and client.get("/").status_code == 302
    login = client.get("/accounts/login/").content.decode()
    assert 'class="main"' not in login and "Missing usage" not in login  # no catalog links before a login


@pytest.mark.django_db
def test_healthz_reads_no_session_and_a_failing_twin_answers_json(client: Client, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An uptime check that sends a session cookie while the session store fails still gets /healthz's own answer,
    not a 500; and a JSON twin that fails where nobody foresaw answers JSON, not the HTML error page."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import OperationalError

    from recorder_ui import selectors

    settings.REQUIRE_LOGIN = True
    User.objects.create_user("ana", password="pw-for-tests-only")
    assert client.login(username="ana", password="pw-for-tests-only")

    def down(self: object) -> dict[str, object]:
        raise OperationalError("the database is gone")

    monkeypatch.setattr(SessionStore, "load", down)
    assert client.get("/healthz").status_code == 200
    monkeypatch.undo()
    monkeypatch.setattr(selectors, "overview", lambda *a, **k: (_ for _ in ()).throw(OperationalError("gone")))
    client.raise_request_exception = False
    failed = client.get("/overview.json")
    assert failed.status_code == 500 and failed.json() == {"error": "server error: the failure was logged"}


def test_a_request_for_another_host_logs_one_line_not_a_traceback(tmp_path: Path) -> None:
    script = "from django.test import Client; print(Client().get('/', HTTP_HOST='scanner.example').status_code)"
    assert _manage(tmp_path, "collectstatic", "--noinput", "--verbosity", "0").returncode == 0
    done = _manage(tmp_path, "shell", "--no-imports", "-c", script)
    assert done.stdout.strip() == "400", done.stderr
    assert "Invalid HTTP_HOST header: 'scanner.example'" in done.stderr and "Traceback" not in done.stderr
