"""Production mode: configured by environment variables only, safe defaults, login, gunicorn and whitenoise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
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


def test_production_without_a_secret_key_fails_with_one_clear_line(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", RECORDER_UI_SECRET_KEY="")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("recorder-ui: RECORDER_UI_SECRET_KEY is not set")
    assert "Traceback" not in done.stderr


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


def test_gunicorn_serves_healthz_pages_and_hashed_static(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--verbosity", "0").returncode == 0
    assert _manage(tmp_path, "index_recordings").returncode == 0
    assert _manage(tmp_path, "collectstatic", "--noinput").returncode == 0
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "recorder_ui.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=_env(tmp_path, RECORDER_UI_SSL_REDIRECT="0"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    health = response.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert b'"status":"ok"' in health and b'"recordings":16' in health
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            page = response.read().decode()
            headers = response.headers
        assert "Content-Security-Policy" in headers and "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # only over HTTPS
        css = page.split('href="/static/recorder.', 1)[1].split('"', 1)[0]
        assert css.count(".") == 1 and css != "css"  # recorder.<hash>.css
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/static/recorder.{css}", headers={"Accept-Encoding": "gzip"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert "immutable" in response.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _urls() -> list[str]:
    urls = []
    for pattern in get_resolver().url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern).replace("<int:pk>", "1")
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
    User.objects.create_user("reviewer", password="a long pass phrase 42")
    assert client.login(username="reviewer", password="a long pass phrase 42")
    assert client.get("/").status_code == 200 and client.get("/overview.json").status_code == 200
    assert "Log out reviewer" in client.get("/").content.decode()
