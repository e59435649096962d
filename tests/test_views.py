"""Each page with the test client: the full page, the htmx partial, and the JSON twin."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from recorder_ui import indexer
from recorder_ui.models import RecordingEntry

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "recordings"
HTMX = {"HTTP_HX_REQUEST": "true"}
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def indexed() -> None:
    indexer.index_recordings(root=SAMPLES, name="samples")


def _entry(text: str) -> RecordingEntry:
    return RecordingEntry.objects.get(search_text__contains=text)


def test_overview_page_partial_free_and_json(client: Client, indexed: None) -> None:
    page = client.get("/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<html" in body and "Tokens per suite" in body
    assert 'rel="alternate" type="application/json"' in body
    data = client.get("/overview.json").json()
    assert data["recordings"] == RecordingEntry.objects.count() == 19
    assert data["missing_usage"] == 2 and data["parse_errors"] == 1
    assert data["tokens"] == sum(e.total_tokens or 0 for e in RecordingEntry.objects.all())
    assert {bar["label"] for bar in data["by_suite"]} >= {"agents", "inference"}
    assert client.get("/", **JSON).json()["recordings"] == 19
    # A re-index that reads nothing leaves the unreadable file unreadable: the Index table says so.
    assert indexer.index_recordings(root=SAMPLES, name="samples").failed == ()
    [root] = client.get("/overview.json").json()["roots"]
    assert root["unreadable"] == 1
    assert '<td class="n"><a href="/errors/">1</a></td>' in client.get("/").content.decode()


def test_overview_says_when_a_roots_folder_is_gone_and_how_this_server_re_indexes(
    client: Client, tmp_path: Path
) -> None:
    """A root moved or unmounted after its run: its rows stay, the Index table says the folder is missing (the
    scheduled runs fail on it); the status line says how the index refreshes, the background re-scan only when on."""
    import shutil

    from tests.builders import stream_recording, write

    write(tmp_path / "pr", "inference", stream_recording(test_id="tests/integration/inference/test_a.py::test_a"))
    indexer.index_recordings(root=tmp_path / "pr", name="pr")
    page = client.get("/").content.decode()
    assert "folder missing: not indexed since" not in page  # tests run with auto refresh off
    from django.template.loader import render_to_string

    quiet = {"running": False, "finished_at": None}
    assert "in the background" in render_to_string(
        "recordings/overview.html#refresh", {"state": {**quiet, "auto_seconds": 5}}
    )
    assert "when asked" in render_to_string("recordings/overview.html#refresh", {"state": {**quiet, "auto_seconds": 0}})
    shutil.move(tmp_path / "pr", tmp_path / "moved")
    assert "folder missing: not indexed since" in client.get("/").content.decode()
    [root] = client.get("/overview.json").json()["roots"]
    assert root["missing"] is True and root["recordings"] == 1


def test_recording_list_filters_search_sort_and_partial(client: Client, indexed: None) -> None:
    full = client.get("/recordings/", {"kind": "chat", "streaming": "yes"})
    assert full.status_code == 200 and "<html" in full.content.decode()
    partial = client.get("/recordings/", {"kind": "chat", "streaming": "yes"}, **HTMX)
    assert "<html" not in partial.content.decode() and 'id="results"' in partial.content.decode()
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    data = client.get("/recordings.json", {"kind": "chat", "streaming": "yes"}).json()
    assert data["total"] == RecordingEntry.objects.filter(kind="chat", streaming=True).count() > 0
    assert all(row["kind"] == "chat" and row["streaming"] for row in data["rows"])
    searched = client.get("/recordings.json", {"q": "Titan"}).json()
    # streaming_01 and its older variant, recorded before the test asked for usage
    assert [row["test_params"].endswith("streaming_01") for row in searched["rows"]] == [True, True]
    tools = client.get("/recordings.json", {"q": "Lucerne", "tools": "yes", "sort": "-tokens"}).json()
    tokens = [row["total_tokens"] for row in tools["rows"]]
    assert len(tokens) == 2 and tokens == sorted(tokens, reverse=True)
    missing = client.get("/recordings.json", {"missing": "yes"}).json()
    assert missing["total"] == 2 and all(row["missing_usage"] for row in missing["rows"])
    errors = client.get("/recordings.json", {"errors": "yes"}).json()
    assert {row["kind"] for row in errors["rows"]} == {"invalid", "exception"}
    assert "q=Lucerne" in tools["permalink"] and "sort=-tokens" in tools["permalink"]


def test_recording_list_paginates(client: Client, indexed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from recorder_ui import selectors

    monkeypatch.setattr(selectors.recording_list, "PAGE_SIZE", 5)
    first = client.get("/recordings.json").json()
    assert first["pages"] == 4 and len(first["rows"]) == 5 and first["next_query"].startswith("page=2&after=")
    for sort in selectors.recording_list.SORTS:  # walking the next links (keyset) gives what page numbers give
        by_number = [
            r["pk"]
            for n in range(1, 5)
            for r in client.get("/recordings.json", {"sort": sort, "page": n}).json()["rows"]
        ]
        walked, query = [], f"sort={sort}"
        while query:
            page = client.get("/recordings.json?" + query).json()
            walked += [r["pk"] for r in page["rows"]]
            query = page["next_query"]
        assert walked == by_number and len(set(walked)) == 19, sort
    for bad in ("x", "WzFd", "WyJcdTAwMDAiLDFd", "bnVsbA", "W251bGwsbnVsbF0", "WyJhIiwxLjVd"):  # not ours: counted
        assert client.get("/recordings.json", {"page": "2", "after": bad}).json()["rows"] == first_two(client)
    last = client.get("/recordings.json", {"page": "99"}).json()
    assert last["number"] == 4 and len(last["rows"]) == 4
    assert client.get("/recordings.json", {"page": "x"}).json()["number"] == 1


def first_two(client: Client) -> list[dict[str, object]]:
    return client.get("/recordings.json", {"page": "2"}).json()["rows"]


def test_recording_detail_shows_the_reassembled_answer(client: Client, indexed: None) -> None:
    entry = _entry("Oslo")
    page = client.get(f"/recordings/{entry.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "get_weather" in body and "&quot;city&quot;: &quot;Oslo&quot;" in body and "&quot;Lima&quot;" in body
    data = client.get(f"/recordings/{entry.pk}.json").json()
    assert data["usage"]["total_tokens"] == 117
    [choice] = data["choices"]
    assert [c["arguments"] for c in choice["tool_calls"]] == [{"city": "Oslo"}, {"city": "Lima"}]
    chunks = client.get(f"/recordings/{entry.pk}/chunks/", **HTMX).content.decode()
    assert "<html" not in chunks and chunks.count("<tr>") == 12  # header row + 11 chunks
    raw = client.get(f"/recordings/{entry.pk}/raw/").content.decode()
    assert "ChatCompletionChunk" in raw
    download = client.get(f"/recordings/{entry.pk}/raw/", {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment") and json.loads(download.content)["test_id"]


def test_raw_tab_offers_a_download_above_the_cap(client: Client, indexed: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RAW_VIEW_MAX_BYTES = 100
    entry = _entry("Oslo")
    body = client.get(f"/recordings/{entry.pk}/raw/").content.decode()
    assert "too large to show" in body and "download=1" in body


def test_previous_and_next_link_the_same_tests_recordings(client: Client, indexed: None) -> None:
    """In the conversation's order: the sample's trip planner steps carry 1, 3 and 5 messages (by file name: 5, 1, 3)."""
    rows = list(RecordingEntry.objects.filter(test_id__contains="trip_planner").order_by("message_count", "path"))
    assert [r.message_count for r in rows] == sorted(r.message_count for r in rows) and len(rows) == 3
    data = client.get(f"/recordings/{rows[1].pk}.json").json()
    assert (data["prev"], data["next"]) == (rows[0].pk, rows[2].pk)


def test_script_in_content_is_escaped(client: Client, indexed: None) -> None:
    entry = _entry("onerror=alert")
    body = client.get(f"/recordings/{entry.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in body
    assert '<script>alert("xss")' not in body and "<img src=x" not in body
    listing = client.get("/recordings/", {"q": "html_snippet"}).content.decode()
    assert "html_snippet&lt;b&gt;" in listing and "html_snippet<b>" not in listing


def test_search_results_show_why_they_matched(client: Client, indexed: None) -> None:
    body = client.get("/recordings/", {"q": "Titan"}, **HTMX).content.decode()
    excerpts = re.findall(r'<div class="snippet">(.*?)</div>', body, re.S)
    assert len(excerpts) == 2 and all("<mark>Titan</mark>" in excerpt for excerpt in excerpts)
    row = client.get("/recordings.json", {"q": "Titan"}).json()["rows"][0]
    assert [text for text, hit in row["snippet"]["parts"] if hit] == ["Titan"]
    # Markup around a match is text in the excerpt too; a page without a query has no excerpts.
    hostile = client.get("/recordings/", {"q": "onerror"}).content.decode()
    assert '<div class="snippet">' in hostile and "<mark>onerror</mark>" in hostile
    [excerpt] = re.findall(r'<div class="snippet">(.*?)</div>', hostile, re.S)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img <mark>onerror</mark>&gt;" in excerpt
    assert "<script>" not in excerpt and "<img" not in excerpt
    assert '<div class="snippet">' not in client.get("/recordings/").content.decode()


def test_page_has_a_strict_content_security_policy(client: Client, indexed: None) -> None:
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_tests_list_groups_by_file_and_test_page_stitches_threads(client: Client, indexed: None) -> None:
    groups = client.get("/tests.json").json()["groups"]
    files = {g["test_file"] for g in groups}
    assert "tests/integration/agents/test_openai_responses.py" in files
    partial = client.get("/tests/", {"q": "trip"}, **HTMX).content.decode()
    assert "<html" not in partial and "trip_planner" in partial and "test_safety" not in partial
    test_id = RecordingEntry.objects.filter(test_id__contains="trip_planner").first().test_id  # type: ignore[union-attr]
    page = client.get("/test/", {"id": test_id})
    assert page.status_code == 200 and page.content.decode().count('class="toolpair"') == 2
    for step in RecordingEntry.objects.filter(test_id=test_id):  # each step's file name opens its recording
        assert f'<a href="/recordings/{step.pk}/" class="file">' in page.content.decode()
    data = client.get("/test.json", {"id": test_id}).json()
    [thread] = data["threads"]
    assert [step["link"] for step in thread] == ["root", "exact", "exact"]
    assert [call["name"] for step in thread for call in step["tool_calls"]] == ["get_weather", "find_train"]
    assert thread[0]["tool_calls"][0]["result"] == '{"forecast": "sunny", "high_c": 21}'
    assert data["tokens"] == 540


def test_missing_usage_and_errors_pages(client: Client, indexed: None) -> None:
    page = client.get("/missing-usage/").content.decode()
    assert "stream_options.include_usage" in page and "streaming_02" in page
    data = client.get("/missing-usage.json").json()
    [group] = [g for g in data["groups"] if g["fate"] == "live"]
    assert [g["fate"] for g in data["groups"]] == ["superseded", "live"]
    assert (
        group["provider"] == "openai (api.openai.com)" and "include_usage" in group["rows"][0]["missing_usage_reason"]
    )
    errors = client.get("/errors.json").json()["errors"]
    assert len(errors) == 1 and "not valid JSON" in errors[0]["parse_error"]
    assert "not valid JSON" in client.get("/errors/").content.decode()


def test_unreadable_and_vanished_files_never_give_a_500(client: Client, tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    (root / "broken.json").write_text("{")
    (root / "gone.json").write_text('{"request": {}, "response": {"body": null}}')
    indexer.index_recordings(root=root)
    (root / "gone.json").unlink()
    for entry in RecordingEntry.objects.all():
        for url in (f"/recordings/{entry.pk}/", f"/recordings/{entry.pk}.json", f"/recordings/{entry.pk}/chunks/"):
            assert client.get(url).status_code == 200, url
        assert client.get(f"/recordings/{entry.pk}/raw/").status_code in (200, 404)
        assert "could not be read as a recording" in client.get(f"/recordings/{entry.pk}/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/recordings/999999/",
        "/recordings/99999999999999999999999/",
        "/recordings/999999.json",
        "/recordings/999999/raw/",
        "/recordings/../../etc/passwd",
        "/test/?" + urlencode({"id": "../../etc/passwd"}),
        "/test/",
        "/test.json?id=nope",
    ],
)
def test_unknown_ids_and_paths_are_404(client: Client, indexed: None, url: str) -> None:
    assert client.get(url).status_code == 404


def test_reindex_button_and_health(client: Client, indexed: None) -> None:
    response = client.post("/reindex/", **HTMX)
    assert response.status_code == 200 and 'id="refresh"' in response.content.decode()
    assert "<html" not in response.content.decode()
    plain = client.post("/reindex/")
    assert plain.status_code == 302 and plain["Location"] == "/"
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["recordings"] == 19


def test_every_page_answers_head_as_it_answers_get(client: Client, indexed: None) -> None:
    """Uptime checks, load balancers and link checkers send HEAD: the same status and headers, no body."""
    pk = RecordingEntry.objects.order_by("pk").values_list("pk", flat=True).first()
    test_id = RecordingEntry.objects.exclude(test_id="").values_list("test_id", flat=True).first()
    urls = ["/", "/overview.json", "/recordings/", "/recordings.json", f"/recordings/{pk}/", f"/recordings/{pk}.json",
            f"/recordings/{pk}/chunks/", f"/recordings/{pk}/raw/", "/tests/", "/tests.json",
            f"/test/?{urlencode({'id': test_id})}", "/missing-usage/", "/cleanup/", "/find/", "/errors/",
            "/healthz", "/reindex/status/"]  # fmt: skip
    for url in urls:
        got, head = client.get(url), client.head(url)
        assert got.status_code == 200, url
        assert head.status_code == 200 and head.content == b"", url
        assert head["Content-Type"] == got["Content-Type"], url


def test_recording_tabs_are_pages_and_htmx_swaps_only_the_tab(client: Client, indexed: None) -> None:
    entry = _entry("Oslo")
    for suffix, selected in (("", "Conversation"), ("chunks/", "Chunks"), ("raw/", "Raw")):
        full = client.get(f"/recordings/{entry.pk}/{suffix}").content.decode()
        assert "<html" in full and 'id="file-path"' in full, suffix
        assert re.search(rf'aria-selected="true">{selected}\b', full), suffix
        partial = client.get(f"/recordings/{entry.pk}/{suffix}", **HTMX)
        body = partial.content.decode()
        assert '<div id="tabs"' in body and "<html" not in body and 'id="file-path"' not in body, suffix
        assert "HX-Request" in partial["Vary"]
    restore = client.get(
        f"/recordings/{entry.pk}/chunks/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()  # the back button after a cache miss needs the whole page
    rows = client.get(f"/recordings/{entry.pk}/chunks/", **JSON).json()["chunks"]
    assert len(rows) == entry.chunk_count == 11
    assert client.get(f"/recordings/{entry.pk}/raw/", {"download": "1"})["Content-Type"] == "application/json"


def test_tool_call_links_the_request_that_carries_its_result(client: Client, indexed: None) -> None:
    rows = list(RecordingEntry.objects.filter(test_id__contains="trip_planner").order_by("message_count"))
    body = client.get(f"/recordings/{rows[0].pk}/").content.decode()
    assert f'href="/recordings/{rows[1].pk}/">in the next request of this test' in body


def test_test_page_folds_variants_and_groups_side_calls(client: Client, tmp_path: Path) -> None:
    from tests.test_selectors import WEATHER, weather_test

    weather_test(tmp_path)
    indexer.index_recordings(root=tmp_path, name="main")
    body = client.get("/test/", {"id": WEATHER}).content.decode()
    assert body.count('<details class="variants">') == 1 and "1 other variant of step 1" in body
    assert body.index("agents/b1") < body.index('<details class="variants">') < body.index("agents/a1")
    assert "2 safety checks" in body and "unsafe S1 × 1" in body
    data = client.get("/test.json", {"id": WEATHER}).json()
    assert [Path(p).stem for p in data["main_lines"][0]] == ["b1", "b2"]
    assert data["root"] == "main" and data["roots"] == ["main"]
    assert client.get("/test/", {"id": WEATHER, "root": "elsewhere"}).status_code == 404


def test_tests_list_pages_and_filters(client: Client, indexed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from recorder_ui import selectors

    monkeypatch.setattr(selectors.cases, "TEST_PAGE_SIZE", 3)
    data = client.get("/tests.json").json()
    assert data["pages"] > 1 and data["next_query"] == "page=2" and sum(len(g["tests"]) for g in data["groups"]) == 3
    partial = client.get("/tests/", {"missing": "yes"}, **HTMX).content.decode()
    assert "<html" not in partial and "streaming_02" in partial and "trip_planner" not in partial
    page = client.get("/tests/", {"page": "2"}).content.decode()
    assert "<html" in page and "page 2 of" in page


def test_missing_usage_page_says_how_to_fix_each_group(client: Client, indexed: None) -> None:
    body = client.get("/missing-usage/").content.decode()
    assert "<strong>Fix:</strong> In tests/integration/inference/" in body and "include_usage not requested" in body
    data = client.get("/missing-usage/", **JSON).json()
    live = [g for g in data["groups"] if g["fate"] == "live"]
    assert data["total"] == 2 and live[0]["fix"].startswith("In tests/integration/inference/")
    assert "Delete these old variants" in body


def test_every_missing_usage_group_links_exactly_its_streams(client: Client, tmp_path: Path) -> None:
    """A group of streams outside any test has no test file: its link asks for that, not for every test file."""
    from tests.builders import stream_recording, write

    for n in range(3):  # two outside any test (session fixtures), one in a test: same provider and model
        test_id = None if n < 2 else "tests/integration/inference/test_chat.py::test_x[txt=openai/gpt-4o-mini]"
        write(tmp_path, "inference", stream_recording(test_id=test_id, text=f"No usage {n}", usage=False))
    indexer.index_recordings(root=tmp_path, name="t")
    groups = client.get("/missing-usage.json").json()["groups"]
    assert sorted(g["count"] for g in groups) == [1, 2]
    for group in groups:
        listed = client.get(f"/recordings.json?{group['list_query']}").json()
        assert listed["total"] == group["count"] == len(listed["rows"]), group["list_query"]
    page = client.get("/recordings/?test_file=-").content.decode()
    assert re.search(r"<option value=\"-\" selected>\(no test\)</option>", page)
    page = client.get("/recordings/?model=-").content.decode()  # kept in the form, so the next filter keeps it
    assert re.search(r"<option value=\"-\" selected>\(no model\)</option>", page)


def test_reindex_status_shows_progress_while_running(
    client: Client, indexed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {
        "running": True,
        "root": "samples",
        "done": 3,
        "total": 16,
        "reports": [],
        "error": "",
        "finished_at": None,
    }
    monkeypatch.setattr(indexer, "refresh_state", lambda: dict(state))
    body = client.get("/reindex/status/", **HTMX).content.decode()
    assert "Re-indexing samples" in body and '3</span> of <span class="num">16' in body
    assert 'hx-trigger="every 1s"' in body  # keeps polling until the run is over
    page = client.get("/").content.decode()  # the whole page shows the run too (where the button sends you back)
    assert "Re-indexing samples" in page and "Reload the page to follow it." in page
    state.update(running=False, finished_at="2026-01-02T03:04:05+00:00", changed=True,
                 reports=[{"root": "samples", "added": 1, "updated": 0, "removed": 0, "failed": []}])  # fmt: skip
    done = client.get("/reindex/status/", **HTMX).content.decode()
    assert "every 1s" not in done and "2026-01-02 03:04:05 UTC" in done and "samples: 1 added" in done
    assert "samples: 1 added" in client.get("/").content.decode()
    # The background re-scan every few seconds that only stats the files, and finds nothing, is not news.
    state.update(running=True, done=0, total=0, forced=False, finished_at=None, changed=False, auto_seconds=5)
    quiet = client.get("/").content.decode()
    assert "Re-indexing" not in quiet and "refreshes itself in the background" in quiet
    state.update(forced=True)  # the button's run is followed from the start
    assert "looking for changed files" in client.get("/reindex/status/", **HTMX).content.decode()
    state.update(running=False, forced=False, finished_at="2026-01-02T03:04:06+00:00",
                 reports=[{"root": "samples", "added": 0, "updated": 0, "removed": 0, "failed": []}])  # fmt: skip
    assert "Last re-index finished" not in client.get("/").content.decode()


def test_a_re_scan_that_changes_nothing_keeps_the_last_change_on_the_overview(client: Client, tmp_path: Path) -> None:
    from tests.builders import stream_recording, write

    write(tmp_path, "inference", stream_recording(test_id="tests/integration/inference/test_a.py::test_a"))
    indexer.index_recordings(root=tmp_path, name="main")
    indexer.index_recordings(root=tmp_path, name="main")  # nothing changed
    [root] = client.get("/overview.json").json()["roots"]
    assert root["last_report"]["added"] == 1  # the run that added it, not "0 added" from the re-scan


def test_display_filters() -> None:
    from recorder_ui.templatetags import recorder as filters

    assert filters.image_kind("data:image/png;base64,AAAA") == "data"
    assert filters.image_kind("https://example.org/cat.png") == "web"
    assert filters.image_kind("javascript:alert(1)") == filters.image_kind("data:text/html,<b>") == "other"
    assert filters.clip("abcdef", 4) == "abc…" and filters.clip("abc", 4) == "abc" and filters.clip(None, 3) == ""
    assert filters.num(1234567) == "1,234,567" and filters.num(None) == "–"
    assert filters.size(2048) == "2.0 KB" and filters.iso_time("nope") == "nope"


def test_recording_links_are_the_reversed_url_under_any_script_prefix() -> None:
    """The lists link recordings through `recording_url` (reversed once per prefix), not `{% url %}`."""
    from django.urls import reverse, set_script_prefix

    from recorder_ui.templatetags import recorder as filters

    try:
        for prefix in ("/", "/team/catalog/"):
            set_script_prefix(prefix)
            for pk in (1, 7, 98_765, 9_876_543_210, "42"):
                assert filters.recording_url(pk) == reverse("recording_detail", args=[pk])
            assert filters.recording_url(5).startswith(prefix)
        assert filters.recording_url(None) == filters.recording_url("<b>") == ""
    finally:
        set_script_prefix("/")


def test_keep_renders_a_fragment_once_per_object_escaped_and_not_one_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.template import Context, Template

    from recorder_ui.templatetags import recorder as tags

    page = Template('{% load recorder %}{% keep obj "t" %}{% for x in obj %}{{ x }};{% endfor %}{% endkeep %}')
    obj = ["<b>"]
    assert page.render(Context({"obj": obj})) == "&lt;b&gt;;"
    obj.append("more")  # the same object: its fragment was rendered once, and is given again as it was
    assert page.render(Context({"obj": obj})) == "&lt;b&gt;;"
    other = ["<b>", "more"]
    assert page.render(Context({"obj": other})) == "&lt;b&gt;;more;"
    assert page.render(Context({"obj": []})) == ""  # empty: rendered every time, never kept
    monkeypatch.setattr(tags, "KEPT_MARKUP_BYTES", 400)  # a fragment over a quarter of the whole is not kept
    big = ["x" * 200]
    assert page.render(Context({"obj": big})) == "x" * 200 + ";"
    big.append("y")
    assert page.render(Context({"obj": big})) == "x" * 200 + ";y;"


def test_a_non_web_image_url_is_text_not_a_link(client: Client, tmp_path: Path) -> None:
    from tests.builders import stream_recording, write

    rec = stream_recording(test_id="tests/integration/inference/test_v.py::test_v", text="A cat.")
    rec["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "javascript:alert(1)"}},
        {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]  # fmt: skip
    write(tmp_path, "inference", rec, name="vision.json")
    indexer.index_recordings(root=tmp_path, name="main")
    body = client.get(f"/recordings/{RecordingEntry.objects.get().pk}/").content.decode()
    assert 'href="javascript:' not in body and "image: javascript:alert(1)" in body
    assert 'href="https://example.org/cat.png"' in body and '<img class="thumb" src="data:image/png;base64,' in body
    assert '<img class="thumb" src="https://' not in body  # remote images are never fetched


VARIANT_TEST = (
    "tests/integration/responses/test_tool_responses.py::test_response_streaming_multi_turn_tool_execution"
    "[client_with_models-txt=openai/gpt-4o-user_permissions_workflow]"
)
HEAVY_TEST = (
    "tests/integration/agents/test_openai_responses.py::test_output_safety_guardrails_unsafe_content"
    "[openai_client-txt=ollama/llama3.2:3b-instruct-fp16-False]"
)


@pytest.mark.corpus
def test_corpus_pages_and_the_four_variant_thread(client: Client, corpus: Path) -> None:
    indexer.index_recordings(root=corpus, name="corpus", jobs=indexer.default_jobs())
    largest = RecordingEntry.objects.order_by("-size").first()
    assert largest is not None
    for url in ("/", "/recordings/?sort=-tokens", "/recordings/?q=get_weather", "/tests/", "/missing-usage/", "/errors/",
                "/cleanup/", "/cleanup/?reason=name-mismatch", "/recordings/?replay=older-rule",
                f"/recordings/{largest.pk}/", f"/recordings/{largest.pk}/chunks/", f"/recordings/{largest.pk}/raw/",
                "/test/?" + urlencode({"id": HEAVY_TEST})):  # fmt: skip
        assert client.get(url).status_code == 200, url
    # Format doc, section 8, example 3: four recordings of one 4-step chain; D (the newest) shares C's first step.
    data = client.get("/test.json", {"id": VARIANT_TEST}).json()
    [main_line] = data["main_lines"]
    assert [Path(p).name[:12] for p in main_line] == ["8386feb54a0f", "9558f7f7b27a", "a7d1731a9e1a", "1d26abcfafb8"]
    heavy = client.get("/test.json", {"id": HEAVY_TEST}).json()
    assert heavy["recordings"] == 331 and heavy["tokens"] == 144_034
    assert sum(1 for s in heavy["side_calls"] if s["label"] == "safety check") == 330


def test_chunks_and_raw_have_json_twins(client: Client, indexed: None) -> None:
    entry = _entry("Oslo")
    assert len(client.get(f"/recordings/{entry.pk}/chunks.json").json()["chunks"]) == 11
    raw = client.get(f"/recordings/{entry.pk}/raw.json")
    assert raw["Content-Type"] == "application/json" and "Content-Disposition" not in raw
    assert json.loads(raw.content)["test_id"] == entry.test_id
    assert client.get(f"/recordings/{entry.pk}/raw/", **JSON).content == raw.content
    assert client.get("/recordings/999999/raw.json").status_code == 404
    assert client.get("/recordings/999999/chunks.json").status_code == 404


def test_download_name_is_header_safe(client: Client, tmp_path: Path) -> None:
    from tests.builders import stream_recording

    (tmp_path / 'we"ird name;\\.json').write_text(json.dumps(stream_recording(test_id=None)))
    indexer.index_recordings(root=tmp_path, name="main")
    response = client.get(f"/recordings/{RecordingEntry.objects.get().pk}/raw/", {"download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="we_ird_name__.json"'
    (tmp_path / ("x" * 240 + ".json")).write_text(json.dumps(stream_recording(test_id=None)))
    indexer.index_recordings(root=tmp_path, name="main")
    long = RecordingEntry.objects.get(path__startswith="xxx")
    response = client.get(f"/recordings/{long.pk}/raw/", {"download": "1"})
    assert response["Content-Disposition"] == f'attachment; filename="{"x" * 195}.json"'  # 200, the extension kept


def test_the_copy_button_is_hidden_until_a_script_can_work_it(client: Client, indexed: None) -> None:
    """Without JavaScript (or a clipboard) a copy button would do nothing: the markup hides it."""
    page = client.get(f"/recordings/{_entry('Oslo').pk}/").content.decode()
    assert re.search(r'<button type="button" class="copy" data-copy="#file-path" [^>]*hidden>copy</button>', page)


def test_a_recordings_link_to_its_test_keeps_its_root(client: Client, tmp_path: Path) -> None:
    """Two roots hold the test: the recording's crumb opens the test in the recording's own root."""
    from tests.builders import stream_recording, write

    test_id = "tests/integration/inference/test_c.py::test_d[txt=openai/gpt-4o]"
    for name in ("alpha", "beta"):
        write(tmp_path / name, "inference", stream_recording(test_id=test_id, text=f"In {name}."))
        indexer.index_recordings(root=tmp_path / name, name=name)
    entry = RecordingEntry.objects.get(root__name="beta")
    page = client.get(f"/recordings/{entry.pk}/").content.decode()
    assert f'<a href="/test/?id={quote(test_id, safe="")}&amp;root=beta">' in page


def test_whole_index_pages_are_kept_until_an_index_run_changes_rows(
    client: Client, tmp_path: Path, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import stream_recording, write

    write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_a", text="Reykjavik"))
    indexer.index_recordings(root=tmp_path, name="t")
    urls = ["/recordings.json", "/recordings.json?q=reykjavik", "/tests.json", "/missing-usage.json", "/errors.json"]
    first = {url: client.get(url).json() for url in urls}
    assert first["/recordings.json"]["total"] == 1 and first["/recordings.json?q=reykjavik"]["total"] == 1
    pages = ["/recordings/", "/recordings/?q=reykjavik", "/tests/", "/missing-usage/", "/cleanup/"]

    def main(url: str) -> str:  # the page's own markup (the head carries a new CSP nonce each time)
        markup = client.get(url).content.decode()
        return markup[markup.index("<main") : markup.index("</main>")]

    html = {url: main(url) for url in pages}  # kept with the page it shows
    assert all("test_b" not in markup for markup in html.values()) and "test_a" in html["/recordings/"]
    assert {url: main(url) for url in pages} == html
    for url in urls:
        with django_assert_max_num_queries(1):  # the roots' generations, and nothing else
            assert client.get(url).json() == first[url]
    assert indexer.index_recordings(root=tmp_path, name="t").changed is False  # a re-scan that finds nothing
    with django_assert_max_num_queries(1):
        client.get("/recordings.json")
    write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_b", text="Reykjavik again"))
    indexer.index_recordings(root=tmp_path, name="t")
    assert client.get("/recordings.json").json()["total"] == 2
    assert client.get("/recordings.json?q=reykjavik").json()["total"] == 2
    assert len([t for g in client.get("/tests.json").json()["groups"] for t in g["tests"]]) == 2
    for url in pages[:3]:  # the markup follows the page it shows
        assert "test_b" in main(url), url
    overview = client.get("/overview.json").json()
    assert overview["recordings"] == 2 and overview["roots"][0]["recordings"] == 2


def test_recording_page_is_kept_until_its_file_or_the_index_changes(
    client: Client, tmp_path: Path, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import stream_recording, write

    test_id = "tests/integration/a.py::test_kept"
    path = write(tmp_path, "inference", stream_recording(test_id=test_id, text="<script>alert(1)</script> Riga"))
    indexer.index_recordings(root=tmp_path, name="t")
    pk = RecordingEntry.objects.get().pk
    first = client.get(f"/recordings/{pk}/").content.decode()
    with django_assert_max_num_queries(1):  # the roots' generations, and nothing else
        kept = client.get(f"/recordings/{pk}/").content.decode()
    for body in (first, kept):  # the kept markup is escaped as the first was
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Riga" in body and "<script>alert(1)" not in body
    assert "next recording of this test" not in kept
    tab = client.get(f"/recordings/{pk}/raw/", headers={"HX-Request": "true"}).content.decode()
    assert "<!doctype" not in tab and 'id="tabs"' in tab
    with django_assert_max_num_queries(1):
        assert client.get(f"/recordings/{pk}/raw/", headers={"HX-Request": "true"}).content.decode() == tab
    # The file rewritten in place, before any index run: the page reads it again.
    write(tmp_path, "inference", stream_recording(test_id=test_id, text="Vilnius and more"), name=path.name)
    assert "Vilnius and more" in client.get(f"/recordings/{pk}/").content.decode()
    assert client.get(f"/recordings/{pk}/raw/", headers={"HX-Request": "true"}).content.decode() != tab
    # Rewritten again with the same size and its mtime put back (cp -p, rsync -t): the ctime tells.
    before = path.stat()
    assert '"Viln"' in path.read_text()  # the first of the stream's chunks
    path.write_text(path.read_text().replace('"Viln"', '"Kaun"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert "Kaunius and more" in client.get(f"/recordings/{pk}/").content.decode()
    # Another recording of the test, indexed: the page links it.
    write(tmp_path, "inference", stream_recording(test_id=test_id, text="Tallinn"), name="zzzz.json")
    indexer.index_recordings(root=tmp_path, name="t")
    assert "next recording of this test" in client.get(f"/recordings/{pk}/").content.decode()


def test_test_page_threads_follow_a_changed_file(client: Client, tmp_path: Path) -> None:
    from tests.builders import stream_recording, write

    test_id = "tests/integration/a.py::test_threads_kept"
    path = write(tmp_path, "inference", stream_recording(test_id=test_id, text="<b>Oslo</b>"))
    indexer.index_recordings(root=tmp_path, name="t")
    url = "/test/?" + urlencode({"id": test_id})
    first, again = client.get(url).content.decode(), client.get(url).content.decode()
    for body in (first, again):  # the kept threads are escaped as the first render was
        assert "&lt;b&gt;Oslo&lt;/b&gt;" in body and "<b>Oslo" not in body
    assert first[first.index('<section class="thread">') :] == again[again.index('<section class="thread">') :]
    write(tmp_path, "inference", stream_recording(test_id=test_id, text="Bergen"), name=path.name)
    indexer.index_recordings(root=tmp_path, name="t")
    body = client.get(url).content.decode()
    assert "Bergen" in body and "Oslo" not in body


def test_a_thread_follows_the_variant_replay_serves_and_the_exact_link(client: Client, tmp_path: Path) -> None:
    """Of two variants of a step, the main line takes the one replay serves over a newer-looking one whose name
    no lookup reaches, and an exact link over a newer-looking probable one."""
    from tests.builders import stream_recording, write
    from tests.test_lifecycle import current_name

    test_id = "tests/integration/responses/test_x.py::test_y[txt=openai/gpt-4o]"
    user = {"role": "user", "content": "Weather?"}
    parent = stream_recording(test_id=test_id, text="Sunny.", usage=False, messages=[user])
    write(tmp_path, "responses", parent, name=current_name(parent))
    follow = [user, {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "Tomorrow?"}]
    served = stream_recording(test_id=test_id, text="Rain.", usage=False, messages=follow)
    edited = stream_recording(test_id=test_id, text="Snow.", usage=True, messages=follow)  # newer-looking
    write(tmp_path, "responses", served, name=current_name(served))
    write(tmp_path, "responses", edited, name="ab" * 32 + ".json")  # a name no rule gives: replay never opens it
    indexer.index_recordings(root=tmp_path, name="main")
    [main_line] = client.get("/test.json", {"id": test_id}).json()["main_lines"]
    assert [Path(p).name for p in main_line] == [current_name(parent), current_name(served)]

    # A newer-looking child whose history is not the parent's answer (a probable link) against an exact one.
    drifted = [user, {"role": "assistant", "content": "Cloudy."}, {"role": "user", "content": "Tomorrow?"}]
    probable = stream_recording(test_id=test_id, text="Hail.", usage=True, messages=drifted)
    write(tmp_path, "responses", probable, name=current_name(probable))
    (tmp_path / "tests/integration/responses/recordings" / ("ab" * 32 + ".json")).unlink()
    indexer.index_recordings(root=tmp_path, name="main")
    [main_line] = client.get("/test.json", {"id": test_id}).json()["main_lines"]
    assert [Path(p).name for p in main_line] == [current_name(parent), current_name(served)]


def test_a_filter_value_no_recording_has_stays_shown_as_chosen(client: Client, indexed: None) -> None:
    """A typed URL (or a root since dropped) filters by a value none of the choices has: the form shows that
    value chosen, so the empty list says what it was filtered by; a provider's host is a choice like its name."""
    params = {"model": "zzz<b>", "kind": "bogus", "root": "nosuch", "provider": "api.openai.com"}
    data = client.get("/recordings.json", params).json()
    assert data["total"] == 0 and data["unknown"] == {"model": "zzz<b>", "kind": "bogus", "root": "nosuch"}
    page = client.get("/recordings/", params).content.decode()
    shown = '<option value="zzz&lt;b&gt;" selected title="no indexed recording has zzz&lt;b&gt;">'
    assert shown + "not indexed: zzz&lt;b&gt;</option>" in page  # the note first: a narrow select cuts the end
    assert '<select name="root"' in page and '<option value="nosuch" selected title=' in page
    assert client.get("/recordings.json", {"provider": "openai"}).json()["unknown"] == {}


def test_the_errors_pages_count_is_what_its_link_lists(client: Client, tmp_path: Path) -> None:
    """The Errors page's "see them in the list" counts what the list's errors filter gives, readable rows: bad
    tool arguments and the index's notes (a count left out of totals) as well as recorded exceptions."""
    from tests.builders import stream_recording, write

    write(tmp_path, "inference", stream_recording(test_id=None, text="x", tool=("f", '{"broken": ')))
    huge = stream_recording(test_id=None, text="y")
    huge["response"]["body"][-1]["__data__"]["usage"]["prompt_tokens"] = 2**70
    write(tmp_path, "inference", huge)
    write(tmp_path, "inference", "{not json", name="broken.json")
    write(tmp_path, "inference", stream_recording(test_id=None, text="fine"))
    indexer.index_recordings(root=tmp_path, name="main")
    data = client.get("/errors.json").json()
    listed = client.get("/recordings.json", {"errors": "yes"}).json()["total"]
    assert (len(data["errors"]), data["flagged"], listed) == (1, 2, 3)
    assert "2 readable recordings are flagged" in client.get("/errors/").content.decode()


def test_previous_and_next_follow_the_conversation_not_the_file_names(client: Client, tmp_path: Path) -> None:
    """A test's three steps whose file names sort against the conversation: next goes to the step whose request
    carries more messages, whatever its name."""
    from tests.builders import stream_recording, write

    test_id = "tests/integration/agents/test_turns.py::test_turns[txt=openai/gpt-4o]"
    history = [{"role": "user", "content": "Plan a trip"}]
    names = {}
    for step, name in ((1, "c" * 64), (2, "a" * 64), (3, "b" * 64)):  # step 1 sorts last by name
        write(tmp_path, "agents", stream_recording(test_id=test_id, text=f"step {step}", messages=list(history)),
              name=f"{name}.json")  # fmt: skip
        names[step] = f"{name}.json"
        history += [{"role": "assistant", "content": f"step {step}"}, {"role": "user", "content": "and then?"}]
    indexer.index_recordings(root=tmp_path, name="main")
    pk = {step: RecordingEntry.objects.get(path__endswith=name).pk for step, name in names.items()}
    first = client.get(f"/recordings/{pk[1]}/").content.decode()
    assert f'href="/recordings/{pk[2]}/" rel="next"' in first and 'rel="prev"' not in first
    middle = client.get(f"/recordings/{pk[2]}/").content.decode()
    assert f'href="/recordings/{pk[1]}/" rel="prev"' in middle and f'href="/recordings/{pk[3]}/" rel="next"' in middle
