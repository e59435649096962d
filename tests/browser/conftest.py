"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the tests use the ORM and a page in one thread

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt)")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }  # fmt: skip


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL: each test opens the live server's own. (pytest-playwright's fallback fixture is a method of a
    plugin class, which pytest 9 warns about on every run.)"""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README_NAMES = {"overview", "test-thread", "recording"}


@pytest.fixture
def shot():  # type: ignore[no-untyped-def]
    """Save a full-page screenshot as a test artifact.

    With RECORDER_UI_README_SHOTS=1 the three the README shows are copied to docs/screenshots/ as well.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.evaluate("() => window.scrollTo(0, 0)")  # the sticky header stays on top of a full-page shot
        # caret="initial": hiding the caret leaves style="" on inputs, which a later htmx history restore
        # would re-apply as an inline style the CSP blocks.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        if name in README_NAMES and os.environ.get("RECORDER_UI_README_SHOTS") == "1":
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, README_SHOTS / path.name)
        return path

    return take
