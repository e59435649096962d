"""The Cleanup page in Chromium, on the sample recordings: its reasons, the copyable list, links both ways."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "recordings"


@pytest.fixture
def site(live_server: Any) -> str:
    call_command("index_recordings", str(SAMPLES), "--name", "samples", "--jobs", "1", verbosity=0)
    return str(live_server.url)


def _quiet(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    return messages


def test_cleanup_lists_what_replay_never_serves_and_links_both_ways(site: str, page: Any, shot: Any) -> None:
    console = _quiet(page)
    page.goto(site + "/cleanup/")
    groups = page.locator("section.group")
    expect(groups).to_have_count(2)  # the file-search step under an older rule's name, and the old variant
    assert {b.inner_text() for b in page.locator("section.group h2 .badge").all()} == {"unreachable", "superseded"}
    page.locator("details.copy summary").click()
    paths = page.locator("textarea.paths").first.input_value().split()
    assert len(paths) == 2 and all(p.startswith("tests/integration/") and p.endswith(".json") for p in paths)
    assert page.locator("textarea.paths").nth(1).input_value().startswith("git -C ")
    shot(page, "cleanup")
    # The superseded row links to the newer variant, whose page says what it supersedes.
    page.locator("section.group:has(.badge:text-is('superseded')) a:text('the newer one →')").click()
    expect(page.locator("section.replay")).to_contain_text("Supersedes:")
    page.go_back()
    # The unreachable file says why in words and links the file replay opens instead.
    page.locator("section.group:has(.badge:text-is('unreachable')) td a code").first.click()
    replay = page.locator("section.replay")
    expect(replay).to_contain_text("so no test reaches it")
    replay.locator("a:text('Open the file replay would serve')").click()
    expect(page.locator("section.replay")).to_contain_text("this file. A test that sends this request is served by it.")
    # One reason at a time; name-mismatch only on request.
    page.goto(site + "/cleanup/?reason=name-mismatch")
    expect(page.locator("#cleanup-results")).to_contain_text("Nothing to clean up for name-mismatch")
    assert re.search(r"unreachable × 1", page.locator("nav.facts").inner_text())
    assert console == []
