"""Selectors on hand-made recordings indexed into the test database: pages, threads, variants, missing usage."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.http import Http404

from recorder_ui import indexer, search, selectors
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, todays_name, write

pytestmark = pytest.mark.django_db

COMPLETION = "openai.types.chat.chat_completion.ChatCompletion"
WEATHER = "tests/integration/agents/test_weather.py::test_weather[txt=openai/gpt-4o]"
USER = {"role": "user", "content": "What is the weather in Oslo?"}
SAFETY = "Task: Check if there is unsafe content in 'User' messages in conversations according to our policy."


def chat(
    *,
    test_id: str | None,
    messages: list[dict[str, Any]],
    text: str | None = None,
    call: tuple[str, str, dict[str, Any]] | None = None,
    tokens: int = 20,
    model: str = "gpt-4o",
    params: dict[str, Any] | None = None,
    newer: bool = True,
) -> dict[str, Any]:
    """A non-streamed chat completion; `newer` adds the keys later writers add (format doc, section 8)."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "tool_calls": None}
    if call:
        call_id, name, args = call
        message["tool_calls"] = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]  # fmt: skip
    recording: dict[str, Any] = {
        "test_id": test_id,
        "request": {"method": "POST", "url": "https://api.openai.com/v1/v1/chat/completions", "headers": {},
                    "endpoint": "/v1/chat/completions", "model": model,
                    "body": {"model": model, "messages": messages, "stream": False, **(params or {})}},
        "response": {"is_streaming": False, "body": {"__type__": COMPLETION, "__data__": {
            "id": "rec-0", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "tool_calls" if call else "stop", "message": message}],
            "usage": {"prompt_tokens": tokens - 5, "completion_tokens": 5, "total_tokens": tokens}}}},
    }  # fmt: skip
    if newer:
        recording["id_normalization_mapping"] = {}
    return recording


def asked(call_id: str) -> dict[str, Any]:
    """The assistant message a later request repeats for a tool call."""
    return {"role": "assistant", "content": "", "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}  # fmt: skip


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 C"}


def weather_test(root: Path) -> dict[str, Path]:
    """One test recorded twice: an old variant (A) and a newer one with parallel_tool_calls (B), two steps each."""
    new = {"parallel_tool_calls": True}
    files = {
        "a1": chat(test_id=WEATHER, messages=[USER], call=("call_a", "get_weather", {"city": "Oslo"}), newer=False),
        "a2": chat(test_id=WEATHER, messages=[USER, asked("call_a"), result("call_a")], text="Sunny.", newer=False),
        "b1": chat(test_id=WEATHER, messages=[USER], call=("call_b", "get_weather", {"city": "Oslo"}), params=new),
        "b2": chat(test_id=WEATHER, messages=[USER, asked("call_b"), result("call_b")], text="Sunny!", params=new,
                   tokens=30),
        "safe": chat(test_id=WEATHER, model="llama-guard3:1b", text="safe", tokens=300,
                     messages=[{"role": "user", "content": SAFETY + " User: What is the weather in Oslo? " * 3}]),
        "unsafe": chat(test_id=WEATHER, model="llama-guard3:1b", text="unsafe\nS1", tokens=200,
                       messages=[{"role": "user", "content": SAFETY + " User: hi"}]),
    }  # fmt: skip
    return {key: write(root, "agents", rec, name=f"{key}.json") for key, rec in files.items()}


@pytest.fixture
def weather(tmp_path: Path) -> dict[str, Path]:
    paths = weather_test(tmp_path)
    indexer.index_recordings(root=tmp_path, name="main")
    return paths


def _name(view: selectors.StepView) -> str:
    return Path(view.step.recording.path).stem


def test_thread_follows_the_newest_variant_and_folds_the_other(weather: dict[str, Path]) -> None:
    detail = selectors.test_get(test_id=WEATHER)
    [thread] = detail.thread_views
    assert [_name(v) for v in thread.steps] == ["b1", "b2"]
    [variant] = thread.steps[0].variants
    assert [_name(v) for v in variant.steps] == ["a1", "a2"]  # the old step 1 and what followed it
    assert "parallel_tool_calls" in variant.label
    assert all(v.in_variant and v.indent == 0 for v in variant.steps)  # a straight chain does not indent
    assert thread.steps[1].variants == ()
    assert (thread.tokens, variant.tokens, thread.all_tokens) == (50, 40, 90)
    [turn] = thread.steps[0].step.answer
    [(call, answer)] = turn.results
    assert call.id == "call_b" and answer is not None and answer.content == "sunny, 21 C"


def test_side_calls_group_by_kind_with_safety_verdicts_in_conversation_order(weather: dict[str, Path]) -> None:
    detail = selectors.test_get(test_id=WEATHER)
    [group] = detail.side_groups
    assert group.label == "safety check" and group.tokens == 500
    assert [row["text"] for row in group.calls] == ["unsafe S1", "safe"]  # the shorter conversation was checked first
    assert dict(group.verdicts) == {"safe": 1, "unsafe S1": 1}
    assert all(row["pk"] for row in group.calls)


def test_a_test_in_two_roots_shows_one_root_at_a_time(weather: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "agents", chat(test_id=WEATHER, messages=[USER], text="Rain."), name="only.json")
    indexer.index_recordings(root=other, name="branch")
    first = selectors.test_get(test_id=WEATHER)
    assert (first.root, first.roots, first.recordings) == ("branch", ("branch", "main"), 1)
    assert selectors.test_get(test_id=WEATHER, root="main").recordings == 6
    with pytest.raises(Http404):
        selectors.test_get(test_id=WEATHER, root="nope")
    with pytest.raises(Http404):
        selectors.test_get(test_id="")


def test_a_stitched_test_is_kept_until_one_of_its_own_files_changes(weather: dict[str, Path], tmp_path: Path) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = selectors.test_get(test_id=WEATHER)
    with CaptureQueriesContext(connection) as same_generation:
        again = selectors.test_get(test_id=WEATHER)
    assert again.stitched is first.stitched and len(same_generation) == 1  # the roots, with their generations
    write(tmp_path, "agents", chat(test_id="tests/other.py::test_other", messages=[USER], text="Hi."), name="x.json")
    indexer.index_recordings(root=tmp_path, name="main")  # another test's file: a new generation
    with CaptureQueriesContext(connection) as other_file:
        after_other = selectors.test_get(test_id=WEATHER)
    assert after_other.stitched is first.stitched and len(other_file) == 2  # and the test's own (row, sha256)s
    changed = chat(test_id=WEATHER, messages=[USER, asked("call_b"), result("call_b")], text="Stormy!",
                   params={"parallel_tool_calls": True}, tokens=30)  # fmt: skip
    write(tmp_path, "agents", changed, name="b2.json")
    indexer.index_recordings(root=tmp_path, name="main")
    rebuilt = selectors.test_get(test_id=WEATHER)
    assert rebuilt.stitched is not first.stitched
    [thread] = rebuilt.thread_views
    assert [t.message.content for t in thread.steps[1].step.answer] == ["Stormy!"]


def test_recording_links_a_tool_call_to_the_request_that_carries_its_result(weather: dict[str, Path]) -> None:
    step1 = RecordingEntry.objects.get(path__endswith="b1.json")
    step2 = RecordingEntry.objects.get(path__endswith="b2.json")
    detail = selectors.recording_get(pk=step1.pk)
    assert detail.result_pks == {"call_b": step2.pk}
    assert detail.tab == "conversation" and detail.chunks == () and detail.raw_text == ""


def test_recording_tabs_fill_only_what_they_show(weather: dict[str, Path], tmp_path: Path, settings: Any) -> None:
    write(tmp_path, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_s", text="Hello"),
          name="stream.json")  # fmt: skip
    indexer.index_recordings(root=tmp_path, name="main")
    entry = RecordingEntry.objects.get(path__endswith="stream.json")
    chunks = selectors.recording_get(pk=entry.pk, tab="chunks")
    assert chunks.tab == "chunks" and len(chunks.chunks) == entry.chunk_count > 0
    raw = selectors.recording_get(pk=entry.pk, tab="raw")
    assert raw.raw_state == "shown" and '"test_id"' in raw.raw_text
    assert selectors.recording_get(pk=entry.pk, tab="bogus").tab == "conversation"
    settings.RAW_VIEW_MAX_BYTES = 10
    assert selectors.recording_get(pk=entry.pk, tab="raw").raw_state == "too-large"
    settings.RAW_VIEW_MAX_BYTES = 10**6
    (tmp_path / entry.path).unlink()
    gone = selectors.recording_get(pk=entry.pk, tab="raw")
    assert gone.raw_state == "missing" and gone.recording.kind == "invalid"
    with pytest.raises(Http404):
        selectors.recording_get(pk=10**9)


def test_tests_page_groups_by_file_and_pages(weather: dict[str, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for n in range(3):
        test_id = f"tests/integration/inference/test_many.py::test_case[p{n}]"
        write(tmp_path, "inference", chat(test_id=test_id, messages=[{"role": "user", "content": f"q{n}"}]),
              name=f"many{n}.json")  # fmt: skip
    indexer.index_recordings(root=tmp_path, name="main")
    monkeypatch.setattr(selectors.cases, "TEST_PAGE_SIZE", 2)
    first = selectors.test_page(params={})
    assert (first.total, first.pages, first.next_query) == (4, 2, "page=2")
    assert [(g.test_file, len(g.tests)) for g in first.groups] == [
        ("tests/integration/agents/test_weather.py", 1), ("tests/integration/inference/test_many.py", 1)]  # fmt: skip
    second = selectors.test_page(params={"page": "2"})
    [many] = [g for g in second.groups if g.test_file.endswith("test_many.py")]
    assert many.continued and many.test_count == 3 and len(many.tests) == 2  # whole-file totals on every page
    assert selectors.test_page(params={"q": "weather"}).total == 1
    assert selectors.test_page(params={"suite": "inference", "page": "x"}).total == 3
    assert selectors.test_page(params={"missing": "yes"}).total == 0


def test_missing_usage_says_what_to_change_per_group(tmp_path: Path) -> None:
    test_id = "tests/integration/inference/test_stream.py::test_stream[txt=openai/gpt-4o-mini]"
    live_id = "tests/integration/inference/test_live.py::test_live[txt=openai/gpt-4o-mini]"
    write(tmp_path, "inference", stream_recording(test_id=test_id, usage=False), name="old.json")
    newer = stream_recording(test_id=test_id, usage=True)
    new_name = todays_name(newer)  # replay serves it: only such a variant supersedes another
    write(tmp_path, "inference", newer, name=new_name)
    write(tmp_path, "inference", stream_recording(test_id=live_id, usage=False), name="live.json")
    write(tmp_path, "common", stream_recording(test_id=None, usage=False, text="Other"), name="setup.json")
    indexer.index_recordings(root=tmp_path, name="main")
    data = selectors.missing_usage_list()
    assert (data.total, data.test_files, data.with_variant) == (3, 2, 1)
    assert data.by_provider == (("openai", 3),)
    assert data.fates == {"never-replayed": 0, "superseded": 1, "live": 2}
    by_file = {g.test_file: g for g in data.groups}
    superseded = by_file["tests/integration/inference/test_stream.py"]
    assert superseded.fate == "superseded" and "Delete these old variants" in superseded.fix
    assert superseded.provider == "openai (api.openai.com)"
    [row] = superseded.rows
    new_pk = RecordingEntry.objects.get(path__endswith=new_name).pk
    assert row["variant_with_usage"] == new_pk and row["superseded_by"] == new_pk
    live = by_file["tests/integration/inference/test_live.py"]
    assert live.fate == "live" and live.fix.startswith(
        "In tests/integration/inference/test_live.py, pass stream_options"
    )
    assert by_file[""].fate == "live" and "outside any test" in by_file[""].fix
    assert [g.fate for g in data.groups] == sorted(
        (g.fate for g in data.groups), key=["never-replayed", "superseded", "live"].index
    )


def test_a_variant_with_usage_is_only_named_from_the_same_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same calls without usage in two checkouts, of which only one also holds variants with usage: each
    row names the variant of its own root, and the other none (replay in that checkout has no such file).
    The calls are looked up CALLS at a time: one a statement gives the same answer."""
    tests = [f"tests/integration/inference/test_stream.py::test_stream_{n}[txt=openai/gpt-4o-mini]" for n in (1, 2)]
    newest: dict[int, str] = {}
    for name, files in (("main", ("old", "new")), ("branch", ("old",))):
        for n, test_id in enumerate(tests):
            for file in files:
                rec = stream_recording(test_id=test_id, usage=file == "new", text=f"call {n}")
                if file == "new":  # named as replay serves it: only such a variant supersedes another
                    newest[n] = todays_name(rec)
                write(tmp_path / name, "inference", rec, name=newest[n] if file == "new" else f"{file}{n}.json")
        indexer.index_recordings(root=tmp_path / name, name=name)

    def variants() -> dict[tuple[str, str], Any]:
        data = selectors.missing_usage_list()
        return {(row["root__name"], row["path"]): row["variant_with_usage"] for g in data.groups for row in g.rows}

    new = {n: RecordingEntry.objects.get(root__name="main", path__endswith=newest[n]).pk for n in (0, 1)}
    found = variants()
    assert {key: pk for key, pk in found.items() if key[0] == "main"} == {
        ("main", f"tests/integration/inference/recordings/old{n}.json"): new[n] for n in (0, 1)
    }
    assert [pk for key, pk in found.items() if key[0] == "branch"] == [None, None]
    from recorder_ui.selectors import missing_usage

    monkeypatch.setattr(missing_usage, "CALLS", 1)
    selectors.clear_caches()
    assert variants() == found


def test_missing_usage_lists_a_file_several_roots_hold_once_with_the_other_roots(client: Any, tmp_path: Path) -> None:
    """Five checkouts of one repository hold the same two streams without usage, one of them with other bytes
    in one checkout: the group lists each file once, naming the roots that hold the same bytes (three of
    them linked, then how many more), and counts none of them as more streams of the group."""
    test_id = "tests/integration/inference/test_stream.py::test_stream[txt=openai/gpt-4o-mini]"
    roots = ("main", "pr-<b>7</b>", "rc-1", "rc-2", "release")  # in name order
    for root in roots:
        for n in (1, 2):
            rec = stream_recording(test_id=f"{test_id}{n}", usage=False, text=f"call {n}")
            write(tmp_path / root, "inference", rec, name=f"s{n}.json")
    edited = tmp_path / "pr-<b>7</b>" / "tests/integration/inference/recordings/s2.json"
    edited.write_text(edited.read_text() + "\n")
    for root in roots:
        indexer.index_recordings(root=tmp_path / root, name=root)
    [group] = selectors.missing_usage_list().groups
    assert group.count == 10 and group.more == 0
    shown = {
        (row["root__name"], row["path"].rsplit("/", 1)[1]): [o["root"] for o in row["also_in"]] for row in group.rows
    }
    assert shown == {
        ("main", "s1.json"): ["pr-<b>7</b>", "rc-1", "rc-2", "release"],
        ("main", "s2.json"): ["rc-1", "rc-2", "release"],
        ("pr-<b>7</b>", "s2.json"): [],
    }
    body = client.get("/missing-usage/").content.decode()
    assert body.count("data-copies") == 2 and body.count(" and 1 more root<") == 1
    assert "pr-&lt;b&gt;7&lt;/b&gt;" in body and "pr-<b>" not in body
    data = client.get("/missing-usage.json").json()
    assert sorted(len(row["also_in"]) for g in data["groups"] for row in g["rows"]) == [0, 3, 4]


def test_overview_counts_and_error_list(weather: dict[str, Path], tmp_path: Path) -> None:
    write(tmp_path, "inference", "{not json", name="broken.json")
    indexer.index_recordings(root=tmp_path, name="main")
    data = selectors.overview()
    assert (data.recordings, data.tests, data.parse_errors, data.errors) == (7, 1, 1, 1)
    assert data.tokens == 20 + 20 + 20 + 30 + 300 + 200
    assert data.by_suite[0].label == "agents" and data.by_suite[0].query == "suite=agents"
    errors = selectors.error_list()
    assert [e["path"] for e in errors.errors] == ["tests/integration/inference/recordings/broken.json"]
    assert errors.recorded_errors == 0


def test_search_needs_every_word(weather: dict[str, Path]) -> None:
    everything = RecordingEntry.objects.all()
    assert selectors.search(everything, "Oslo").count() == 5  # all but the safety check of "hi"
    assert {Path(e.path).stem for e in selectors.search(everything, 'oslo "Sunny!"')} == {"b2"}
    assert selectors.search(everything, "   ").count() == 6
    page = selectors.recording_page(params={"q": "sunny", "sort": "-tokens", "kind": "chat", "page": "1"})
    assert set(page.permalink.split("&")) == {"q=sunny", "sort=-tokens", "kind=chat"}
    assert [row["total_tokens"] for row in page.rows] == sorted(
        (row["total_tokens"] for row in page.rows), reverse=True
    )


def test_a_parsed_file_is_reused_until_it_changes_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_a", text="Tallinn"))
    indexer.index_recordings(root=tmp_path, name="main")
    entry = RecordingEntry.objects.get()
    reads: list[str] = []
    real = indexer.load_entry
    monkeypatch.setattr(indexer, "load_entry", lambda e: reads.append(e.path) or real(e))
    assert selectors.recording_get(pk=entry.pk).recording.choices[0].content == "Tallinn"
    assert selectors.recording_get(pk=entry.pk, tab="chunks").chunks
    assert len(reads) == 1  # the second page came from the parsed copy
    edited = stream_recording(test_id="tests/integration/a.py::test_a", text="Tartu, not Tallinn")
    write(tmp_path, "inference", edited, name=path.name)  # edited in place, not yet re-indexed
    assert selectors.recording_get(pk=entry.pk).recording.choices[0].content == "Tartu, not Tallinn"
    assert len(reads) == 2
    path.unlink()
    gone = selectors.recording_get(pk=entry.pk)
    assert gone.recording.kind == "invalid" and "No such file" in gone.recording.error


def test_a_kept_recording_page_outlives_its_parsed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other files opened since push the parsed file out of its cache: the page, kept without the file's
    whole JSON, is still served from one query and one stat, until the file changes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recorder_ui.selectors import cache

    path = write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_a", text="Riga"))
    indexer.index_recordings(root=tmp_path, name="main")
    entry = RecordingEntry.objects.get()
    first = selectors.recording_get(pk=entry.pk)
    assert first.recording.raw is None and first.recording.choices[0].content == "Riga"
    cache._parsed.clear()
    reads: list[str] = []
    real = indexer.load_entry
    monkeypatch.setattr(indexer, "load_entry", lambda e: reads.append(e.path) or real(e))
    with CaptureQueriesContext(connection) as warm:
        assert selectors.recording_get(pk=entry.pk) is first
    assert reads == [] and len(warm) == 1  # the roots' generations
    write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_a", text="Vilnius"),
          name=path.name)  # fmt: skip
    assert selectors.recording_get(pk=entry.pk).recording.choices[0].content == "Vilnius" and len(reads) == 1


def test_a_kept_recording_page_follows_the_files_it_read_for_tool_results(weather: dict[str, Path]) -> None:
    step1 = RecordingEntry.objects.get(path__endswith="b1.json")
    step2 = RecordingEntry.objects.get(path__endswith="b2.json")
    assert selectors.recording_get(pk=step1.pk).result_pks == {"call_b": step2.pk}
    # The next step, re-recorded on disk (no index run yet) without that tool result: the link goes.
    params = {"parallel_tool_calls": True}
    weather["b2"].write_text(json.dumps(chat(test_id=WEATHER, messages=[USER, USER, USER], text="?", params=params)))
    assert selectors.recording_get(pk=step1.pk).result_pks == {}


def test_a_test_pages_batch_read_gives_what_each_file_read_alone_gives(tmp_path: Path) -> None:
    """The test page reads its files in one batch (the root resolved once, one folder handle): every row must
    come back as load_entry reads it, a vanished file, a non-UTF-8 name and a link out of the root included."""
    test_id = "tests/integration/a.py::test_a"
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps(stream_recording(test_id=test_id, text="SECRET")))
    kept = write(root, "inference", stream_recording(test_id=test_id, text="Riga"), name="a.json")
    write(root, "inference", stream_recording(test_id=test_id, text="Vilnius"), name="b.json")
    gone = write(root, "inference", stream_recording(test_id=test_id, text="Tartu"), name="c.json")
    odd = kept.parent / os.fsdecode(b"d-\xff.json")
    odd.write_text(json.dumps(stream_recording(test_id=test_id, text="Kaunas")))
    linked = write(root, "inference", stream_recording(test_id=test_id, text="Narva"), name="e.json")
    indexer.index_recordings(root=root, name="main")
    gone.unlink()
    linked.unlink()
    linked.symlink_to(outside / "secret.json")  # swapped for a link out of the root after the index run
    entries = list(RecordingEntry.objects.select_related("root").order_by("path"))
    assert len(entries) == 5
    batch = indexer.load_entries(entries, entries[0].root.path)
    alone = [indexer.load_entry(entry) for entry in entries]
    assert [(r.path, r.kind, r.choices[0].content if r.choices else r.error[:20]) for r in batch] == [
        (r.path, r.kind, r.choices[0].content if r.choices else r.error[:20]) for r in alone
    ]
    contents = [r.choices[0].content for r in batch if r.choices]
    assert contents == ["Riga", "Vilnius", "Kaunas"]
    assert [r.kind for r in batch].count("invalid") == 2
    assert all("SECRET" not in (r.error or "") for r in batch)


def test_a_broad_filter_under_the_path_sort_reads_its_rows_in_order_through_its_own_index(tmp_path: Path) -> None:
    """A filter that keeps many rows, whose first rows lie late in path order (here: one model's files, all in
    the last folder): its page comes from the (model, path) index in the list's order, on SQLite never from a
    walk of the path index over every row before them (which ten roots make ten times as long)."""
    from django.db import connection

    for area, model, count in (("agents", "gpt-4o", 30), ("zz_vision", "gpt-4o-mini", 12)):
        for n in range(count):
            test_id = f"tests/integration/{area}/test_x.py::test_{n}"
            write(tmp_path, area, stream_recording(test_id=test_id, model=model, text=f"answer {n}"))
    indexer.index_recordings(root=tmp_path, name="main")
    mini = sorted(RecordingEntry.objects.filter(model="gpt-4o-mini").values_list("path", flat=True))
    queries: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        page = selectors.recording_page(params={"model": "gpt-4o-mini"})
    assert [row["path"] for row in page.rows] == mini and page.total == 12
    if connection.vendor != "sqlite":
        return  # PostgreSQL's planner weighs the indexes by its own statistics
    [(sql, params)] = [(s, p) for s, p in queries if "LIMIT 50" in s and "recordingentry" in s]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "entry_model_path" in plan and "SCAN" not in plan, plan


def test_a_test_page_seeks_its_rows_in_one_root_and_probes_the_others(tmp_path: Path) -> None:
    """Three checkouts hold the same test: the page lists the three roots and the chosen root's rows, read
    through the (test id, root) index, on SQLite never by a pass over the test's rows in every root."""
    from django.db import connection

    test_id = "tests/integration/inference/test_t.py::test_t[<b>]"
    for root in ("main", "pr-1", "rc"):
        for n in range(3):
            write(
                tmp_path / root, "inference", stream_recording(test_id=test_id, text=f"{root} {n}"), name=f"t{n}.json"
            )
        for n in range(60):  # other tests' rows, as a root has hundreds of tests
            other = stream_recording(test_id=f"{test_id[:-4]}{n}]", text=f"{root} {n}")
            write(tmp_path / root, "inference", other, name=f"o{n}.json")
        indexer.index_recordings(root=tmp_path / root, name=root)
    search.settle()  # as after a bulk load: the planner's statistics
    queries: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        detail = selectors.test_get(test_id=test_id, root="pr-1")
    assert detail.roots == ("main", "pr-1", "rc") and detail.root == "pr-1" and detail.recordings == 3
    assert sorted(detail.pk_by_path) == sorted(
        RecordingEntry.objects.filter(root__name="pr-1", test_id=test_id).values_list("path", flat=True)
    )
    with pytest.raises(Http404):
        selectors.test_get(test_id=test_id, root="elsewhere")
    if connection.vendor != "sqlite":
        return  # PostgreSQL's planner weighs the indexes by its own statistics
    plans = []
    with connection.cursor() as cursor:
        for sql, params in queries:
            if "recordingentry" in sql:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    assert plans and all("entry_test_root (test_id=? AND root_id=?)" in plan for plan in plans), plans


def test_many_side_calls_show_the_first_fifty_then_all_of_them_however_often_asked(tmp_path: Path, client: Any) -> None:
    """A test with 53 safety checks: the page lists 50 with a "show all" link, `side=all` lists every one;
    each way is rendered once per process and kept, and neither is ever served for the other."""
    weather_test(tmp_path)
    for n in range(51):
        prompt = SAFETY + f" User: check <b>{n}</b>" + " more" * n
        rec = chat(
            test_id=WEATHER,
            model="llama-guard3:1b",
            text="safe",
            tokens=10,
            messages=[{"role": "user", "content": prompt}],
        )
        write(tmp_path, "agents", rec, name=f"check-{n:02d}.json")
    indexer.index_recordings(root=tmp_path, name="main")
    [group] = selectors.test_get(test_id=WEATHER).side_groups
    assert len(group.calls) == 53
    for _ in range(2):
        for asked, rows, link in (({}, 50, True), ({"side": "all"}, 53, False), ({}, 50, True)):
            body = client.get("/test/", {"id": WEATHER, **asked}).content.decode()
            section = body[body.index('<section class="side">') :]
            assert section.count("<tr><td>") == rows, asked
            assert ("show all 53 safety checks" in section) is link
            assert "<b>" not in body
