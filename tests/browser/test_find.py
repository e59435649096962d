"""The Find page in Chromium: a pasted replay miss comes back as results in place, linked, escaped, quiet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from recorder_ui import indexer
from recorder_ui.domain import replay
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, write

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEST = 'tests/integration/inference/test_chat.py::test_chat[txt=openai/gpt-4o-<script>alert("x")</script>]'
ABSENT = "e" * 64


@pytest.fixture
def site(live_server: Any, tmp_path: Path) -> str:
    for prompt in ("Say hello", "Say hello twice"):
        rec = stream_recording(test_id=TEST, messages=[{"role": "user", "content": prompt}], model="gpt-4o")
        write(tmp_path, "inference", rec, name=replay.key_of(rec, "x.json").hash + ".json")
    indexer.index_recordings(root=tmp_path, name="ci")
    return str(live_server.url)


def _quiet(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (messages.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return messages


def _paste(digest: str) -> str:
    return (
        f"E   RuntimeError: Recording not found for request hash: {digest}\n"
        "E   Model: gpt-4o | Request: POST https://api.openai.com/v1/v1/chat/completions\n"
        "E\n"
        "E   Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API keys to generate.\n"
        f"FAILED {TEST} - RuntimeError: Recording not found for request hash: {digest[:12]}...\n"
    )


def test_a_pasted_miss_lists_the_tests_recordings_in_place(site: str, page: Any, shot: Any) -> None:
    console = _quiet(page)
    page.goto(site + "/find/")
    page.evaluate("() => { window.__marker = 'same page'; }")  # survives only if htmx swapped the results
    page.fill("textarea[name=q]", _paste(ABSENT))
    page.click("form.find button[type=submit]")
    miss = page.locator("#results article.miss")
    expect(miss).to_have_count(1)
    expect(miss.locator("[data-summary]")).to_contain_text(f"Replay looked for {ABSENT}.json")
    expect(miss.locator("[data-summary]")).to_contain_text("The test has 2 recordings")
    expect(miss.locator("tr[data-candidate]")).to_have_count(2)
    assert page.evaluate("() => window.__marker") == "same page"
    expect(miss.locator(".miss-facts")).to_contain_text('<script>alert("x")</script>')  # shown as text
    assert page.locator("script:not([src])").count() == 0
    miss.locator("details.parts summary").first.click()
    expect(miss.locator("table.parts").first).to_be_visible()
    expect(miss.locator("table.parts tr.verdict-same").first).to_contain_text("same")
    shot(page, "find")
    first = miss.locator("tr[data-candidate] a[data-open]").first
    href = first.get_attribute("href")
    first.click()
    page.wait_for_url(re.compile(re.escape(href)))
    assert console == []


def test_a_hash_lookup_is_a_link_and_works_without_javascript(site: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    console = _quiet(page)
    entry = RecordingEntry.objects.order_by("path").first()
    assert entry is not None
    page.goto(site + "/find/")
    page.fill("textarea[name=q]", _paste(entry.replay_hash))
    page.click("form.find button[type=submit]")  # a plain POST: the whole page comes back
    expect(page.locator("#results article.miss h2 .badge")).to_have_text("found")
    page.goto(site + f"/find/?q={entry.replay_hash[:10]}")
    expect(page.locator("#results [data-summary]")).to_contain_text(f"The prefix {entry.replay_hash[:10]} matches")
    assert page.locator(f"#results a[href='/recordings/{entry.pk}/']").count() == 1
    assert console == []
    context.close()
