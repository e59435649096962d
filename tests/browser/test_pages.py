"""The pages in a real browser: filters, search, keyboard, threads, escaping, a quiet console."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from recorder_ui.models import RecordingEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "recordings"
THREAD_TEST = "trip_planner"


@pytest.fixture
def site(live_server: Any) -> str:
    call_command("index_recordings", str(SAMPLES), "--name", "samples", "--jobs", "1", verbosity=0)
    return str(live_server.url)


@pytest.fixture
def console(page: Any) -> list[str]:
    messages: list[str] = []
    page.on(
        "console", lambda msg: messages.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (messages.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return messages


def test_overview_shows_totals_and_charts(site: str, page: Any, console: list[str], shot: Any) -> None:
    page.goto(site + "/")
    assert page.locator(".card .big").first.inner_text() == str(RecordingEntry.objects.count())
    assert page.locator("table.bars rect").count() >= 3
    shot(page, "overview")
    assert console == []


def test_filter_and_search_update_the_list_in_place(site: str, page: Any, console: list[str], shot: Any) -> None:
    page.goto(site + "/recordings/")
    page.evaluate("() => { window.__marker = 'same page'; }")  # survives only if the page is not reloaded
    total = page.locator("#results tbody tr").count()
    page.select_option("select[name=kind]", "chat")
    expect(page).to_have_url(re.compile(r"kind=chat"))  # pushed by htmx: no navigation
    expect(page.locator("#results tbody tr")).not_to_have_count(total)
    kinds = page.locator("#results tbody tr td:nth-child(2)").all_inner_texts()
    assert kinds and set(kinds) == {"chat"}
    page.fill("form.filters input[name=q]", "Titan")
    expect(page).to_have_url(re.compile(r"q=Titan"))
    expect(page.locator("#results tbody tr")).to_have_count(2)  # streaming_01 and its older variant
    assert "kind=chat" in page.url
    assert page.evaluate("() => window.__marker") == "same page"
    shot(page, "recordings-filtered")
    page.goto(page.url)  # the permalink restores the same state
    assert page.locator("#results tbody tr").count() == 2
    assert page.input_value("form.filters input[name=q]") == "Titan"
    assert console == []


def test_a_click_after_typing_wins_and_back_restores_the_controls(
    site: str, page: Any, console: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaving the search box for the pager used to send the form again (its change on blur), whose answer,
    page 1, came back last; and Back showed the URL's results under controls reset to "all"."""
    from recorder_ui import selectors

    monkeypatch.setattr(selectors.recording_list, "PAGE_SIZE", 3)  # the live server runs in this process
    page.goto(site + "/recordings/?sort=path")
    page.fill("form.filters input[name=q]", "the")
    expect(page).to_have_url(re.compile(r"q=the"))
    expect(page.locator("#results p.count")).to_contain_text("page 1 of")
    page.click("nav.pager a[rel=next]")  # the search box loses focus on the way
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#results p.count")).to_contain_text("page 2 of")
    page.wait_for_timeout(300)  # any late answer would have landed by now
    expect(page.locator("#results p.count")).to_contain_text("page 2 of")
    # Back and forward: the controls say what the results show.
    page.goto(site + "/recordings/")
    page.select_option("select[name=kind]", "chat")
    expect(page).to_have_url(re.compile(r"kind=chat"))
    page.select_option("select[name=streaming]", "yes")
    expect(page).to_have_url(re.compile(r"streaming=yes"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"kind=chat$"))
    expect(page.locator("select[name=kind]")).to_have_value("chat")
    expect(page.locator("select[name=streaming]")).to_have_value("")
    page.select_option("select[name=tools]", "no")  # a filter changed now keeps the kind
    expect(page).to_have_url(re.compile(r"kind=chat.*tools=no|tools=no.*kind=chat"))
    # The fate of a stream without usage follows the box: shown once ticked, dropped from the URL once not.
    expect(page.locator("select[name=fate]")).to_be_hidden()
    page.check("input[name=missing]")
    expect(page).to_have_url(re.compile(r"missing=yes"))
    expect(page.locator("select[name=fate]")).to_be_visible()
    page.select_option("select[name=fate]", "live")
    expect(page).to_have_url(re.compile(r"fate=live"))
    page.uncheck("input[name=missing]")
    expect(page).not_to_have_url(re.compile(r"missing=yes"))
    assert "fate=" not in page.url
    expect(page.locator("select[name=fate]")).to_be_hidden()
    assert console == []


def test_enter_on_a_focused_link_is_the_links_not_the_selected_rows(site: str, page: Any, console: list[str]) -> None:
    page.goto(site + "/recordings/?sort=path")
    page.keyboard.press("j")
    reset = page.locator("form.filters a.reset")
    reset.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/recordings/$"))
    assert console == []


def test_no_page_scrolls_sideways_on_a_phone(site: str, browser: Any) -> None:
    """At 400 px a wide table scrolls inside its own box; the page itself never scrolls sideways."""
    context = browser.new_context(viewport={"width": 400, "height": 800})
    page = context.new_page()
    stream = RecordingEntry.objects.filter(streaming=True).order_by("pk").first()
    test_id = RecordingEntry.objects.filter(test_id__contains=THREAD_TEST).values_list("test_id", flat=True).first()
    wide = {}
    for url in ("/", "/recordings/", f"/recordings/{stream.pk}/", "/tests/", f"/test/?{urlencode({'id': test_id})}",
                "/missing-usage/", "/cleanup/?reason=unreachable,superseded,name-mismatch", "/errors/", "/find/"):  # fmt: skip
        page.goto(site + url)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 402:
            culprits = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
                .filter((e) => e.getBoundingClientRect().right > 402 && !Array.from(e.children).some((c) => c.getBoundingClientRect().right > 402))
                .slice(0, 3).map((e) => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))""")
            wide[url] = (width, culprits)
    context.close()
    assert wide == {}


def test_keyboard_moves_through_rows_and_opens_one(site: str, page: Any, console: list[str]) -> None:
    page.goto(site + "/recordings/?sort=path")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    selected = page.locator("tr.selected")
    assert selected.count() == 1
    href = selected.locator("a[data-open]").get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(href)))
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.name") == "q"
    assert console == []


def test_thread_shows_each_tool_call_beside_its_result(site: str, page: Any, console: list[str], shot: Any) -> None:
    test_id = RecordingEntry.objects.filter(test_id__contains=THREAD_TEST).values_list("test_id", flat=True).first()
    page.goto(site + "/test/?" + urlencode({"id": test_id}))
    steps = page.locator("article.step")
    assert steps.count() == 3
    pairs = page.locator(".toolpair")
    assert pairs.count() == 2
    first = pairs.nth(0)
    assert "get_weather" in first.locator(".toolcall").inner_text()
    assert "sunny" in first.locator(".toolresult").inner_text()
    second = pairs.nth(1)
    assert "find_train" in second.locator(".toolcall").inner_text()
    assert "07:35" in second.locator(".toolresult").inner_text()
    assert "Tomorrow looks sunny" in steps.nth(2).inner_text()
    shot(page, "test-thread")
    assert console == []


def test_recording_page_tabs_and_script_payload_stays_text(site: str, page: Any, console: list[str], shot: Any) -> None:
    entry = RecordingEntry.objects.get(search_text__contains="onerror=alert")
    page.goto(f"{site}/recordings/{entry.pk}/")
    assert '<script>alert("xss")</script>' in page.locator(".response pre.text").first.inner_text()
    assert page.locator(".response script").count() == 0
    assert page.locator(".response img").count() == 0
    page.click("a.tab:has-text('Raw')")
    page.wait_for_selector("pre.raw")
    shot(page, "recording-raw")
    stream = RecordingEntry.objects.get(search_text__contains="Oslo")
    page.goto(f"{site}/recordings/{stream.pk}/")
    expect(page.locator("button.copy")).to_be_visible()  # hidden in the markup: shown by the script that works it
    shot(page, "recording")
    page.click("a.tab:has-text('Chunks')")
    page.wait_for_selector("table.chunks")
    assert page.locator("table.chunks tbody tr").count() == 11
    assert "no choices" in page.locator("table.chunks tbody tr").first.inner_text()
    assert console == []  # no dialog from alert(), no CSP violation, no error


def test_missing_usage_and_errors_pages(site: str, page: Any, console: list[str], shot: Any) -> None:
    page.goto(site + "/missing-usage/")
    assert "include_usage" in page.inner_text("main")
    shot(page, "missing-usage")
    page.goto(site + "/errors/")
    assert "not valid JSON" in page.inner_text("main")
    shot(page, "errors")
    page.goto(site + "/tests/")
    shot(page, "tests")
    assert console == []


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_every_field_never_runs_in_the_browser(
    live_server: Any, page: Any, console: list[str], tmp_path: Path
) -> None:
    import json

    from recorder_ui import indexer
    from tests.builders import stream_recording

    root = tmp_path / "recordings"
    root.mkdir()
    rec = stream_recording(test_id=f"tests/integration/a/test_{XSS}.py::test_{XSS}[{XSS}]", text=XSS,
                           tool=(f"tool{XSS}", json.dumps({"q": XSS})), model=f"model{XSS}")  # fmt: skip
    rec["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": XSS}, {"type": "image_url", "image_url": {"url": f"javascript:alert(1)//{XSS}"}}]}]  # fmt: skip
    (root / f"file{XSS.replace('/', '')}.json").write_text(json.dumps(rec))
    indexer.index_recordings(root=root, name=f"root{XSS}")
    entry = RecordingEntry.objects.get()
    site = str(live_server.url)
    for url in ("/", "/recordings/", f"/recordings/{entry.pk}/", "/test/?" + urlencode({"id": entry.test_id}), "/tests/",
                "/missing-usage/", "/recordings/?" + urlencode({"q": XSS})):  # fmt: skip
        page.goto(site + url)
        assert page.locator("img[src=x]").count() == 0, url
        assert page.locator("main script").count() == 0, url
    page.goto(f"{site}/recordings/{entry.pk}/")
    assert XSS in page.locator(".response pre.text").first.inner_text()
    page.click("a.tab:has-text('Chunks')")
    page.wait_for_selector("table.chunks")
    assert console == []  # no alert dialog, no CSP report, no error


def test_diff_page_loads_a_pair_view_when_opened(live_server: Any, page: Any, console: list[str], shot: Any,
                                                 tmp_path: Path, settings: Any) -> None:  # fmt: skip
    import json
    import subprocess

    from tests.builders import stream_recording

    repo = tmp_path / "checkout"
    folder = repo / "tests/integration/inference/recordings"
    folder.mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(repo), *args],
                       check=True, capture_output=True)  # fmt: skip

    test_id = "tests/integration/inference/test_chat.py::test_capital[txt=openai/gpt-4o-mini]"
    (folder / "a.json").write_text(
        json.dumps(stream_recording(test_id=test_id, text="The capital of France is Paris."))
    )
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "before")
    (folder / "a.json").write_text(json.dumps(stream_recording(test_id=test_id, text="The capital of France is Lyon.")))
    settings.RECORDINGS_DIR = folder
    page.goto(str(live_server.url) + "/diff/?" + urlencode({"base": "main", "head": "worktree"}))
    assert "content-changed" in page.inner_text("main")
    page.click("details.pair > summary")
    expect(page.locator("details.pair del")).to_have_text("Paris")
    expect(page.locator("details.pair ins")).to_have_text("Lyon")
    shot(page, "diff")
    assert console == []


def test_recording_tabs_switch_in_place_and_back(site: str, page: Any, console: list[str], shot: Any) -> None:
    stream = RecordingEntry.objects.get(search_text__contains="Oslo")
    page.goto(f"{site}/recordings/{stream.pk}/")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.click("a.tab:has-text('Chunks')")
    expect(page).to_have_url(re.compile(rf"/recordings/{stream.pk}/chunks/$"))
    expect(page.locator("a.tab[aria-selected=true]")).to_have_text(re.compile("^Chunks"))
    shot(page, "recording-chunks")
    page.click("a.tab:has-text('Conversation')")  # the first tab can be reopened
    expect(page).to_have_url(re.compile(rf"/recordings/{stream.pk}/$"))
    expect(page.locator(".response .toolpair")).to_have_count(2)
    page.click("a.tab:has-text('Raw')")
    expect(page.locator("pre.raw")).to_contain_text("ChatCompletionChunk")
    page.go_back()
    expect(page.locator(".response .toolpair")).to_have_count(2)
    page.go_back()
    expect(page.locator("table.chunks")).to_be_visible()
    assert page.evaluate("() => window.__marker") == "same page"  # htmx swapped the tabs: no reload
    assert console == []


def test_variants_fold_under_the_newest_step(live_server: Any, page: Any, console: list[str], shot: Any,
                                             tmp_path: Path) -> None:  # fmt: skip
    from recorder_ui import indexer
    from tests.test_selectors import WEATHER, weather_test

    weather_test(tmp_path)
    indexer.index_recordings(root=tmp_path, name="main")
    page.goto(str(live_server.url) + "/test/?" + urlencode({"id": WEATHER}))
    main_line = page.locator("section.thread > article.step")
    expect(main_line).to_have_count(2)
    assert "call_b" in main_line.nth(0).locator(":scope > .turn .toolcall").inner_text()
    assert "sunny, 21 C" in main_line.nth(0).locator(":scope > .turn .toolresult").inner_text()
    variants = page.locator("details.variants")
    expect(variants.locator(".variant")).not_to_be_visible()
    variants.locator("summary").click()
    expect(variants.locator(".variant article.step")).to_have_count(2)
    assert "call_a" in variants.locator(".toolcall").first.inner_text()
    page.locator("details.side-group summary").first.click()
    shot(page, "test-variants")
    assert console == []


def test_reindex_button_reports_without_leaving_the_page(site: str, page: Any, console: list[str]) -> None:
    page.goto(site + "/")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.click("button:has-text('Re-index now')")
    expect(page.locator("#refresh")).to_contain_text("samples: 0 added, 0 updated, 0 removed")
    assert page.evaluate("() => window.__marker") == "same page"
    assert console == []


def test_a_refused_request_says_so_instead_of_leaving_the_page_as_it_was(site: str, page: Any) -> None:
    """The form token gone (another tab logged out and in, a cookie cleared): the re-index button's POST gets a
    403, and the page says what to do; a request that succeeds afterwards takes the message away."""
    page.goto(site + "/")
    assert page.locator("#request-error").is_hidden()
    page.context.clear_cookies()
    page.click("button:has-text('Re-index now')")
    expect(page.locator("#request-error")).to_be_visible()
    expect(page.locator("#request-error")).to_contain_text("HTTP 403")
    expect(page.locator("#request-error")).to_contain_text("Reload the page")
    page.goto(site + "/recordings/")  # a new page: a new token
    failed: list[str] = []

    def fail_once(route: Any) -> None:
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.fulfill(status=500, body="boom")

    page.route("**/recordings/?*", fail_once)
    page.fill("[data-list-search]", "weather")
    expect(page.locator("#request-error")).to_contain_text("HTTP 500")
    page.fill("[data-list-search]", "weath")
    expect(page.locator("#request-error")).to_be_hidden()  # the next answer that succeeds clears it
    assert len(failed) == 1


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_pages_at_half_a_laptop_screen(site: str, browser: Any, scheme: str, shot: Any) -> None:
    context = browser.new_context(viewport={"width": 680, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    stream = RecordingEntry.objects.get(search_text__contains="Oslo")
    for name, url in (("overview", "/"), ("recordings", "/recordings/"), ("recording", f"/recordings/{stream.pk}/")):
        page.goto(site + url)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 680, (url, width)  # nothing forces a sideways scroll
        shot(page, f"{name}-narrow-{scheme}")
    context.close()
    assert errors == []


def test_sorting_swaps_the_results_and_filters_keep_it(site: str, page: Any, console: list[str]) -> None:
    page.goto(site + "/recordings/")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.click("thead a:has-text('tokens')")
    expect(page).to_have_url(re.compile(r"sort=-tokens"))
    expect(page.locator("thead th[aria-sort=descending]")).to_contain_text("tokens")
    page.select_option("select[name=kind]", "chat")
    expect(page).to_have_url(re.compile(r"kind=chat.*sort=-tokens|sort=-tokens.*kind=chat"))
    tokens = [
        int(t.replace(",", "")) for t in page.locator("#results tbody td:nth-child(6)").all_inner_texts() if t != "–"
    ]
    assert tokens and tokens == sorted(tokens, reverse=True)
    assert page.evaluate("() => window.__marker") == "same page"
    assert console == []


def test_names_without_spaces_wrap_instead_of_widening_the_page(live_server: Any, browser: Any, tmp_path: Path) -> None:
    """A 1,000-character tool name, a 500-character model and a 600-character test id (hostile or not) wrap at
    every width: neither the recording's page nor its test page scrolls sideways at 1280 or 400 px."""
    from tests.builders import stream_recording, write

    test_id = "tests/integration/inference/test_long.py::test_" + "y" * 600
    long = stream_recording(test_id=test_id, tool=("get_" + "w" * 1000, '{"city": "' + "z" * 800 + '"}'),
                            model="model-" + "B" * 500)  # fmt: skip
    write(tmp_path, "inference", long)
    call_command("index_recordings", str(tmp_path), "--name", "long", "--jobs", "1", verbosity=0)
    entry = RecordingEntry.objects.get(root__name="long")
    wide = {}
    for width in (1280, 400):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        for url in (f"/recordings/{entry.pk}/", f"/test/?{urlencode({'id': test_id})}"):
            page.goto(live_server.url + url)
            scrolled = page.evaluate("() => document.documentElement.scrollWidth")
            if scrolled > width + 2:
                wide[(width, url)] = scrolled
        context.close()
    assert wide == {}


def test_a_long_answer_opens_in_place_and_folds_back(live_server: Any, page: Any, tmp_path: Path) -> None:
    """A 5,000-character answer shows its first 600 and "show all"; opened, the whole text replaces the preview
    and the control offers to fold it again, rather than a stale "show all" above the text."""
    from tests.builders import stream_recording, write

    answer = "The first sentence. " + "word " * 1000 + "THE LAST WORDS."
    write(
        tmp_path, "inference", stream_recording(test_id="tests/integration/inference/test_x.py::test_long", text=answer)
    )
    call_command("index_recordings", str(tmp_path), "--name", "longtext", "--jobs", "1", verbosity=0)
    entry = RecordingEntry.objects.get(root__name="longtext")
    page.goto(live_server.url + f"/recordings/{entry.pk}/")
    long = page.locator("details.long").first
    control = long.locator("summary")
    assert control.locator(".more:visible").inner_text() == f"show all {len(answer):,} characters"
    assert not long.get_by_text("THE LAST WORDS.").is_visible()
    control.locator(".more:visible").click()
    assert long.get_by_text("THE LAST WORDS.").is_visible()
    assert control.locator(".more:visible").inner_text() == "show the first 600 only"
    assert not control.locator("pre").is_visible()  # the preview gives way to the whole text
    control.locator(".more:visible").click()
    assert not long.get_by_text("THE LAST WORDS.").is_visible()
