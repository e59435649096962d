"""The indexer: one row per file, incremental by (size, mtime, ctime), read-only on the recordings."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from recorder_ui import indexer
from recorder_ui.domain import loader, replay
from recorder_ui.indexer import pool, writer
from recorder_ui.models import RecordingEntry, Root
from tests.builders import stream_recording, write

pytestmark = pytest.mark.django_db

TEST_ID = "tests/integration/inference/test_chat.py::TestChat::test_stream[client-txt=openai/gpt-4o-mini]"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    write(root, "inference", stream_recording(test_id=TEST_ID, text="Paris is the capital."))
    write(root, "inference", stream_recording(test_id=TEST_ID, text="No usage here", usage=False))
    write(root, "responses", stream_recording(test_id=None, tool=("get_weather", '{"city": "Tokyo"}')))
    write(root, "responses", '{"test_id": "x", "request": {', name="f" * 64 + ".json")  # truncated
    (root / "package.json").write_text("{}")  # outside any recordings/ folder: not a recording
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_index_recordings_adds_one_row_per_recording_file(tree: Path) -> None:
    before = _snapshot(tree)
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.removed) == (4, 0, 0)
    assert [f.path for f in report.failed] == ["tests/integration/responses/recordings/" + "f" * 64 + ".json"]
    assert "JSON" in report.failed[0].error or "json" in report.failed[0].error
    assert _snapshot(tree) == before  # nothing written into the recordings
    rows = {row.path.split("/")[2]: row for row in RecordingEntry.objects.all()}
    assert set(rows) == {"inference", "responses"}
    streamed = RecordingEntry.objects.get(search_text__contains="Paris is the capital.")
    assert streamed.suite == "inference"
    assert streamed.test_file == "tests/integration/inference/test_chat.py"
    assert streamed.test_name == "TestChat::test_stream"
    assert streamed.test_params == "client-txt=openai/gpt-4o-mini"
    assert (streamed.kind, streamed.provider, streamed.model) == ("chat", "api.openai.com", "gpt-4o-mini")
    assert (streamed.prompt_tokens, streamed.completion_tokens, streamed.total_tokens) == (10, 5, 15)
    assert streamed.streaming and not streamed.missing_usage and streamed.include_usage is True
    assert len(streamed.sha256) == 64
    no_usage = RecordingEntry.objects.get(search_text__contains="No usage here")
    assert no_usage.missing_usage and no_usage.total_tokens is None
    assert "include_usage" in no_usage.missing_usage_reason
    tool = RecordingEntry.objects.get(tool_call_count=1)
    assert tool.tool_names == "get_weather" and tool.finish_reason == "tool_calls" and tool.test_id == ""
    assert "Tokyo" in tool.search_text
    broken = RecordingEntry.objects.get(kind="invalid")
    assert broken.parse_error and broken.suite == "responses"
    assert Root.objects.get(name="main").last_indexed_at is not None


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the loader parses from now on."""
    parsed: list[str] = []
    real = loader.parse
    monkeypatch.setattr(loader, "parse", lambda data, *, path: parsed.append(path) or real(data, path=path))
    return parsed


def test_second_run_reads_nothing_when_nothing_changed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    indexer.index_recordings(root=tree, name="main")
    parsed = _parses(monkeypatch)
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert parsed == []


def test_changed_new_and_deleted_files_are_found(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    ids = dict(RecordingEntry.objects.values_list("path", "pk"))
    victim = tree / RecordingEntry.objects.get(search_text__contains="No usage here").path
    victim.unlink()
    changed = tree / RecordingEntry.objects.get(search_text__contains="Paris is the capital.").path
    write(tree, "inference", stream_recording(test_id=TEST_ID, text="Lyon is not the capital."), name=changed.name)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    write(tree, "agents", stream_recording(test_id=TEST_ID, text="A new one"))
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    rel = changed.relative_to(tree).as_posix()
    row = RecordingEntry.objects.get(path=rel)
    assert row.pk == ids[rel]  # permalinks survive a change
    assert "Lyon" in row.search_text
    assert RecordingEntry.objects.count() == 4


def test_touched_but_identical_file_is_not_reparsed(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    path = next(tree.rglob("recordings/*.json"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5 * 10**9))
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)
    assert RecordingEntry.objects.get(path=path.relative_to(tree).as_posix()).mtime_ns == path.stat().st_mtime_ns


def test_a_rewrite_that_keeps_size_and_mtime_is_found_by_its_ctime(tree: Path) -> None:
    """cp -p, rsync -t and touch -r put the mtime back; the size may stay; the ctime still moves."""
    indexer.index_recordings(root=tree, name="main")
    row = RecordingEntry.objects.get(search_text__contains="Paris is the capital.")
    path = tree / row.path
    before = path.stat()
    text = path.read_text()
    assert '"gpt-4o-mini"' in text
    path.write_text(text.replace('"gpt-4o-mini"', '"gpt-4o-mino"'))  # other bytes, the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != row.ctime_ns  # what the row kept, and what the new bytes now carry
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    assert RecordingEntry.objects.get(pk=row.pk).model == "gpt-4o-mino"
    assert RecordingEntry.objects.get(pk=row.pk).ctime_ns == after.st_ctime_ns


def test_rows_without_a_ctime_are_hashed_again_once_not_parsed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows written before migration 0021 have ctime 0: the next run reads and hashes each file, keeps its ctime
    and parses none; the run after reads nothing."""
    indexer.index_recordings(root=tree, name="main")
    RecordingEntry.objects.update(ctime_ns=0)
    Root.objects.filter(name="main").update(generation=777)  # as the migration leaves them: kept stamps stale
    parsed = _parses(monkeypatch)
    report = indexer.index_recordings(root=tree, name="main")
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert parsed == []
    ctimes = dict(RecordingEntry.objects.values_list("path", "ctime_ns"))
    assert ctimes == {rel: (tree / rel).stat().st_ctime_ns for rel in ctimes}
    assert not indexer.index_recordings(root=tree, name="main").changed


def test_full_reindex_rereads_every_file(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    report = indexer.index_recordings(root=tree, name="main", full=True)
    assert report.updated == 4 and report.added == 0


def test_two_roots_are_kept_apart(tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "safety", stream_recording(test_id=TEST_ID, text="Second root"))
    indexer.index_recordings(root=tree, name="main")
    indexer.index_recordings(root=other, name="branch")
    assert RecordingEntry.objects.filter(root__name="branch").count() == 1
    assert RecordingEntry.objects.filter(root__name="main").count() == 4
    indexer.drop_root(name="branch")
    assert RecordingEntry.objects.count() == 4


def test_a_recordings_folder_as_root_takes_every_json(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "a.json").write_text('{"request": {}, "response": {"body": null, "is_streaming": false}}')
    report = indexer.index_recordings(root=folder)
    assert report.added == 1 and Root.objects.get().name == "recordings"


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(indexer.RootError, match="is not a folder"):
        indexer.index_recordings(root=tmp_path / "nope")


def test_entry_path_never_leaves_the_root(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    row = RecordingEntry.objects.first()
    assert row is not None
    assert indexer.entry_path(row) == (tree / row.path).resolve()
    row.path = "../../etc/passwd"
    assert indexer.entry_path(row) is None


@pytest.mark.parametrize(
    ("test_id", "expected"),
    [
        ("tests/integration/a/test_x.py::test_y", ("tests/integration/a/test_x.py", "test_y", "")),
        ("tests/a.py::C::test_y[p-q[1]]", ("tests/a.py", "C::test_y", "p-q[1]")),
        ("", ("", "", "")),
    ],
)
def test_split_test_id(test_id: str, expected: tuple[str, str, str]) -> None:
    assert indexer.split_test_id(test_id) == expected


def test_suite_comes_from_the_area_folder() -> None:
    assert indexer.suite_for("tests/integration/providers/nvidia/recordings/a.json", "") == "providers/nvidia"
    assert indexer.suite_for("a.json", "tests/integration/safety/test_s.py") == "safety"


def test_refresh_if_stale_picks_up_a_new_file(tree: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AUTO_REFRESH_SECONDS = 0.001
    indexer.index_recordings(root=tree, name="main")
    write(tree, "agents", stream_recording(test_id=TEST_ID, text="Arrived later"))
    assert indexer.refresh_if_stale(wait=True, force=True)
    assert RecordingEntry.objects.filter(search_text__contains="Arrived later").exists()
    assert indexer.refresh_state()["running"] is False


@pytest.mark.corpus
def test_index_the_whole_corpus_and_read_the_doc_figures_from_the_index(corpus: Path) -> None:
    from django.db.models import Count, Q, Sum

    report = indexer.index_recordings(root=corpus, name="corpus", jobs=2)
    assert (report.added, report.failed, report.skipped) == (3162, (), ())
    rows = RecordingEntry.objects.filter(root__name="corpus")
    streams = rows.filter(kind="chat", streaming=True)
    figures = streams.aggregate(
        all=Count("pk"),
        usage=Count("pk", filter=Q(total_tokens__isnull=False)),
        missing=Count("pk", filter=Q(missing_usage=True)),
        tools=Count("pk", filter=Q(tool_call_count__gt=0)),
    )
    assert figures == {"all": 1634, "usage": 1451, "missing": 183, "tools": 422}
    kinds = dict(rows.values_list("kind").annotate(n=Count("pk")))
    assert kinds["chat"] == 2600 and kinds["model-list"] == 228 and kinds["genai"] == 151 and kinds["embeddings"] == 63
    assert rows.aggregate(t=Sum("total_tokens"))["t"] == 1_036_178
    assert rows.values("test_id").exclude(test_id="").distinct().count() == 858
    suites = dict(rows.values_list("suite").annotate(n=Count("pk")))
    assert suites["responses"] == 1867 and suites["agents"] == 864 and suites["providers/nvidia"] == 1
    again = indexer.index_recordings(root=corpus, name="corpus")
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 3162)


@pytest.mark.corpus
def test_missing_usage_links_variants_that_have_usage(corpus: Path) -> None:
    from recorder_ui import selectors

    indexer.index_recordings(root=corpus, name="corpus")
    data = selectors.missing_usage_list()
    assert data.total == 183 == sum(group.count for group in data.groups)
    assert all(len(group.rows) == min(group.count, 5) for group in data.groups)  # the rest: a link to the list
    # The format doc counts 61 with byte-equal messages; matching messages normalised as section 8 prescribes
    # (empty values dropped, text parts joined, whitespace stripped) finds 2 more real variants; and one of the
    # 61 is another call: made outside any test to OpenAI, its "variant" with usage went to Azure.
    assert data.with_variant == 62
    example = RecordingEntry.objects.get(
        path__endswith="d1c19e856c523b3f52754ce4c79690a12c451726e76c7f51d623804405234402.json"
    )
    from recorder_ui.selectors.missing_usage import _variants_with_usage

    found = _variants_with_usage([{"root_id": example.root_id, "test_id": example.test_id,
                                   "request_key": example.request_key}])  # fmt: skip
    variant = RecordingEntry.objects.get(
        pk=found[(example.root_id, example.test_id, example.provider, example.request_key)]
    )
    assert variant.path.endswith("313ecfe661c7fafd3e6938d5a3b66aabdbe02bb183275bac85d65a5c3c345750.json")
    # The split: 26 streams replay never serves (10 named by the rule before 2026-04-09, 12 by the raw body, 4 with
    # 12-hex names), 61 superseded by a variant recorded with usage (every parameter kept, include_usage added),
    # 96 live.
    assert data.fates == {"never-replayed": 26, "superseded": 61, "live": 96}
    never = [r for g in data.groups if g.fate == "never-replayed" for r in g.rows]
    assert {RecordingEntry.objects.get(pk=r["pk"]).replay_rule for r in never} == {
        "before 2026-04-09: no file_search placeholders",
        "no body normalisation",
        replay.RULE_SHORT_FORM,
    }
    cleanup = selectors.cleanup(params={})
    # 156 superseded, each by a variant replay serves (77ceceaa..., whose newer variant carries an older rule's
    # name, is not); one of the 141 names no rule explains is superseded too (counted there: it says more).
    assert cleanup.counts == {"unreachable": 304, "superseded": 156, "name-mismatch": 140}
    assert cleanup.total == 460 and len(cleanup.paths) == 460
    assert RecordingEntry.objects.get(path__contains="/recordings/77ceceaa").superseded_by is None


@pytest.mark.django_db(transaction=True)
def test_worker_processes_give_the_same_rows_as_one_process(tree: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The parallel path (forked parsers, rows written while they parse) against the serial one, on a tree
    large enough to take it: the same rows, the same failures, progress for every file, in order."""
    monkeypatch.setattr(pool, "PARALLEL_MIN_FILES", 5)
    monkeypatch.setattr(writer, "INSERT_BATCH", 4)  # several batches written while the workers go on
    for n in range(10):
        write(tree, "agents", stream_recording(test_id=f"{TEST_ID[:-1]}-{n}]", text=f"Answer number {n}"))
    seen: list[tuple[int, int]] = []
    report = indexer.index_recordings(root=tree, name="forked", jobs=2, progress=lambda i, t: seen.append((i, t)))
    assert (report.added, report.updated, len(report.failed)) == (14, 0, 1)
    assert seen == [(i, 14) for i in range(1, 15)]
    serial = indexer.index_recordings(root=tree, name="serial", jobs=1)
    assert (serial.added, len(serial.failed)) == (14, 1)
    columns = ("path", "sha256", "kind", "test_id", "total_tokens", "missing_usage", "search_text", "parse_error")

    def rows(name: str) -> list[tuple[object, ...]]:
        return list(RecordingEntry.objects.filter(root__name=name).order_by("path").values_list(*columns))

    assert rows("forked") == rows("serial") and len(rows("forked")) == 14
    # A second run that adds one file and removes another goes through the same path.
    victim = sorted(tree.rglob("recordings/*.json"))[0]
    victim.unlink()
    write(tree, "agents", stream_recording(test_id=TEST_ID, text="One more"))
    again = indexer.index_recordings(root=tree, name="forked", jobs=2)
    assert (again.added, again.removed, again.unchanged) == (1, 1, 13)


@pytest.mark.django_db(transaction=True)
def test_a_background_rescan_of_300_changed_files_forks_nothing_and_warns_nothing(
    tmp_path: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    import time
    import warnings

    folder = tmp_path / "recordings"
    folder.mkdir()
    for number in range(300):
        (folder / f"r{number:03d}.json").write_text(json.dumps(stream_recording(test_id=f"{TEST_ID}{number}")))
    indexer.index_recordings(root=tmp_path, name="served")
    for number in range(300):
        (folder / f"r{number:03d}.json").write_text(
            json.dumps(stream_recording(test_id=f"{TEST_ID}{number}", text=f"changed {number}"))
        )
    settings.REFRESH_IN_BACKGROUND = True  # as in a running server: the re-scan runs in a thread of its own
    settings.RECORDINGS_ROOTS = f"served={tmp_path}"  # the root configured, as a team server's are
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    os.fork = counting_fork  # type: ignore[assignment]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert indexer.refresh_if_stale(force=True)
            deadline = time.monotonic() + 120
            while indexer.refresh_state()["running"] and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        os.fork = real_fork  # type: ignore[assignment]
    state = indexer.refresh_state()
    assert state["running"] is False and state["error"] == "", state
    assert [r["updated"] for r in state["reports"]] == [300]  # type: ignore[index, union-attr]
    assert RecordingEntry.objects.filter(search_text__contains="changed").count() == 300
    assert forks == [] and [str(w.message) for w in caught] == []


def test_parses_overlapping_in_two_threads_put_the_collectors_thresholds_back_when_the_last_ends():
    import gc
    import threading

    before = gc.get_threshold()
    entered, release_first = threading.Event(), threading.Event()
    seen: dict[str, tuple[int, ...]] = {}

    def first() -> None:
        with pool._fewer_collections():
            entered.set()
            release_first.wait(10)
        seen["after first"] = gc.get_threshold()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    with pool._fewer_collections():
        assert gc.get_threshold() == pool.PARSE_GC_THRESHOLD
        release_first.set()
        thread.join(10)
        # The first parse ended while this one goes on: its thresholds stay those of a parse.
        assert seen["after first"] == pool.PARSE_GC_THRESHOLD
        assert gc.get_threshold() == pool.PARSE_GC_THRESHOLD
    assert gc.get_threshold() == before


def test_a_negative_token_count_is_no_count_and_stays_out_of_totals(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    rec = stream_recording(test_id=TEST_ID, text="Odd usage")
    rec["response"]["body"][-1]["__data__"]["usage"].update(prompt_tokens=-101, total_tokens=-96)
    write(tmp_path, "inference", rec)
    write(tmp_path, "inference", stream_recording(test_id=TEST_ID, text="Fine usage"))
    indexer.index_recordings(root=tmp_path, name="main")
    odd = RecordingEntry.objects.get(search_text__contains="Odd usage")
    assert odd.prompt_tokens is None and odd.total_tokens is None and odd.completion_tokens == 5
    assert "usage prompt_tokens is -101, usage total_tokens is -96: no real count is negative" in odd.error
    assert client.get("/overview.json").json()["tokens"] == 15  # the other recording's alone


def test_configured_roots_the_button_and_a_folder_name_two_checkouts_share(
    tmp_path: Path,
    client: Client,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The re-index button (the background re-scan) indexes the configured roots as `index_recordings` does, a
    new one too; a missing folder is said and the other roots go on; a name taken from a folder never takes over
    another folder's root of that name; a name pointed elsewhere on purpose counts the old rows as removed."""
    main, release = tmp_path / "a" / "llama-stack", tmp_path / "b" / "llama-stack"
    write(main, "inference", stream_recording(test_id=TEST_ID, text="On main."))
    for text in ("On release.", "Also on release."):
        write(release, "inference", stream_recording(test_id=TEST_ID, text=text))
    settings.RECORDINGS_ROOTS = f"main={main};gone={tmp_path / 'nowhere'};release={release}"
    assert indexer.refresh_if_stale(wait=True, force=True)
    state = indexer.refresh_state()
    assert [r["root"] for r in state["reports"]] == ["main", "release"]  # type: ignore[index, union-attr]
    [line] = state["missing"]  # type: ignore[misc]
    assert line.startswith("the root 'gone': ") and line.endswith("is not a folder") and state["error"] == ""
    assert '<span class="badge bad">not indexed</span> the root &#x27;gone&#x27;: ' in client.get("/").content.decode()
    assert sorted(Root.objects.values_list("name", flat=True)) == ["main", "release"]
    out = io.StringIO()  # the command: every other root indexed and said, then the run fails naming the missing one
    with pytest.raises(CommandError, match=r"^the root 'gone': .* is not a folder$"):
        call_command("index_recordings", stdout=out)
    assert [line.split(" (")[0] for line in out.getvalue().splitlines()] == ["main", "release"]

    settings.RECORDINGS_ROOTS = f"main={main};main={release}"
    with pytest.raises(indexer.RootError, match="names the root 'main' twice"):
        indexer.index_configured_roots()

    assert indexer.index_recordings(root=release).root == "release"  # a folder a root indexes: that root
    indexer.drop_root(name="main")
    indexer.drop_root(name="release")
    indexer.index_recordings(root=main)  # named "llama-stack", after its folder
    with pytest.raises(indexer.RootError, match="a root named 'llama-stack' already indexes"):
        indexer.index_recordings(root=release)  # the other checkout's folder has the same name
    assert Root.objects.get(name="llama-stack").entries.count() == 1  # the first folder's rows kept
    moved = indexer.index_recordings(root=release, name="llama-stack")  # on purpose: the name now points here
    assert (moved.added, moved.removed) == (2, 1)


def test_every_worker_answers_the_progress_poll_with_the_run_another_worker_does(
    tree: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """gunicorn's workers share no memory: each says what its re-index does in a file of its own, and any
    worker's answer is the running run's (else the last finished); a file that says running but stopped
    being written is a worker that died mid-run."""
    import time

    from recorder_ui.indexer import refresh

    settings.RECORDINGS_ROOTS = f"main={tree}"
    assert indexer.refresh_if_stale(wait=True, force=True)
    mine = list(Path(settings.REFRESH_STATE_DIR).glob("recorder-ui-refresh-*.json"))
    assert [p.name.endswith(f"-{os.getpid()}.json") for p in mine] == [True]
    written = json.loads(mine[0].read_bytes())
    assert written["running"] is False and [r["root"] for r in written["reports"]] == ["main"]

    other = mine[0].with_name(mine[0].name.replace(f"-{os.getpid()}.json", "-999999999.json"))
    running = {"running": True, "root": "main", "done": 5, "total": 10, "reports": [], "missing": [], "error": "",
               "finished_at": None, "beat": time.time()}  # fmt: skip
    other.write_bytes(json.dumps(running).encode())
    state = indexer.refresh_state()
    assert (state["running"], state["done"], state["total"]) == (True, 5, 10) and "beat" not in state
    other.write_bytes(json.dumps({**running, "beat": time.time() - refresh.STALE_SECONDS - 1}).encode())
    state = indexer.refresh_state()  # died mid-run: the last finished run is the answer
    assert state["running"] is False and state["finished_at"] == written["finished_at"]
    later = {**running, "running": False, "finished_at": "9999-01-01T00:00:00+00:00", "reports": [{"root": "x"}]}
    other.write_bytes(json.dumps(later).encode())
    assert indexer.refresh_state()["reports"] == [{"root": "x"}]  # another worker's run, finished after ours


def test_recordings_dir_takes_a_free_name_when_another_folder_has_its_own(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """`make run` indexes RECORDINGS_DIR after someone indexed another `recordings/` folder by hand: the
    default root gets the first free name ("recordings-2"), and the other folder's root keeps its rows."""
    other, sample = tmp_path / "elsewhere" / "recordings", tmp_path / "sample" / "recordings"
    (other / "a").mkdir(parents=True)
    (sample / "b").mkdir(parents=True)
    (other / "a" / "x.json").write_text(json.dumps(stream_recording(test_id=TEST_ID, text="Elsewhere.")))
    (sample / "b" / "y.json").write_text(json.dumps(stream_recording(test_id=TEST_ID, text="Sample.")))
    indexer.index_recordings(root=other)  # named "recordings", after its folder
    settings.RECORDINGS_ROOTS, settings.RECORDINGS_DIR = "", sample
    [report] = indexer.index_configured_roots()[:1]
    assert (report.root, report.added) == ("recordings-2", 1)
    assert dict(Root.objects.values_list("name", "entries__path")) == {
        "recordings": "a/x.json",
        "recordings-2": "b/y.json",
    }
    again = indexer.index_configured_roots()  # the folder is found by its path from then on
    assert [(r.root, r.unchanged) for r in again] == [("recordings-2", 1), ("recordings", 1)]


def test_a_refresh_that_cannot_say_everything_still_ends_and_frees_the_next(tree: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """A malformed RECORDER_UI_ROOTS is said and the catalog's roots are still refreshed; a root's path that is
    not UTF-8 is written to the state file as every JSON is; a state folder others may write is not trusted, nor
    a file that says it was written in the future."""
    import time

    from recorder_ui.indexer import refresh

    indexer.index_recordings(root=tree, name="main")
    write(tree, "agents", stream_recording(test_id=TEST_ID, text="Arrived later"))
    settings.RECORDINGS_ROOTS = f"gone={tree.parent / 'caf\udce9'};broken"  # a lone surrogate, a malformed entry
    assert indexer.refresh_if_stale(wait=True, force=True)
    state = indexer.refresh_state()
    assert "is not of the form name=path" in " ".join(state["missing"])  # type: ignore[arg-type]
    assert RecordingEntry.objects.filter(search_text__contains="Arrived later").exists()  # main refreshed
    settings.RECORDINGS_ROOTS = f"gone={tree.parent / 'caf\udce9'}"
    assert indexer.refresh_if_stale(wait=True, force=True)
    assert "caf" in " ".join(indexer.refresh_state()["missing"])  # type: ignore[arg-type]
    assert not refresh._refresh_lock.locked() and indexer.refresh_if_stale(wait=True, force=True)
    [written] = Path(settings.REFRESH_STATE_DIR).glob("recorder-ui-refresh-*.json")
    assert "\\udce9" in written.read_text()
    page = Client().get("/")  # the overview says it, as text any page can hold
    assert page.status_code == 200 and "caf\\udce9" in page.content.decode()

    future = written.with_name(written.name.rsplit("-", 1)[0] + "-999999999.json")
    future.write_text(json.dumps({"running": True, "done": 1, "total": 2, "beat": time.time() + 3600}))
    assert indexer.refresh_state()["running"] is False  # a beat in the future: not believed
    open_folder = Path(settings.REFRESH_STATE_DIR)
    open_folder.chmod(0o777)  # anyone may write here: neither read nor written
    refresh._checked.clear()  # as a new process finds it
    try:
        assert refresh._state_folder() is None and indexer.refresh_state()["running"] is False
    finally:
        open_folder.chmod(0o700)
