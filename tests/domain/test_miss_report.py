"""What a replay miss means: where replay looks, which hashed parts of a candidate cannot match, the ranking
newest first, and the words; plus git's commit times for many files in one log."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

from recorder_ui.domain import gitsource, lifecycle, miss_report, misses, replay
from recorder_ui.domain.miss_report import Candidate, MissReport
from recorder_ui.domain.misses import Miss
from tests.domain.recs import chat_request

TID = "tests/integration/inference/test_chat.py::test_chat[txt=openai/gpt-4o]"
URL = "https://api.openai.com/v1/v1/chat/completions"


def _raw(test_id: str | None = TID, url: str = URL, **body: object) -> dict[str, object]:
    request = chat_request(url, **body)
    request["body"]["model"] = body.get("model", "gpt-4o")
    return {"test_id": test_id, "request": request, "response": {"body": None, "is_streaming": False}}


def _miss(**fields: object) -> Miss:
    values: dict[str, object] = {"kind": misses.INFERENCE, "hash": "a" * 64, "model": "gpt-4o", "method": "POST",
                                 "url": URL, "test_id": TID}  # fmt: skip
    return Miss(**{**values, **fields})  # type: ignore[arg-type]


def _candidate(path: str, **fields: object) -> Candidate:
    values: dict[str, object] = {"pk": 1, "root": "main", "path": path, "test_id": TID, "model": "gpt-4o",
                                 "kind": "chat", "replay_hash": "b" * 64, "replay_status": "current",
                                 "replay_rule": replay.RULE_CURRENT, "replay_name": "b" * 64 + ".json"}  # fmt: skip
    return Candidate(**{**values, **fields})  # type: ignore[arg-type]


def test_replay_looks_in_the_test_folder_then_common() -> None:
    assert miss_report.lookup_folders(_miss()) == ("tests/integration/inference/recordings/", miss_report.COMMON)
    assert miss_report.lookup_folders(_miss(test_id="", no_test=True)) == (miss_report.COMMON,)
    assert miss_report.lookup_folders(_miss(test_id="")) == ()  # unknown
    assert miss_report.looked_for(_miss()) == "a" * 64 + ".json"
    models = _miss(url="http://localhost:11434/v1/models")
    assert miss_report.looked_for(models) == f"models-{'a' * 64}-*.json"
    assert miss_report.looked_for(_miss(hash="abcdef12", prefix=True)) == ""


def test_a_file_is_in_replays_folder_whatever_the_root() -> None:
    folders = miss_report.lookup_folders(_miss())
    assert miss_report.in_folders("tests/integration/inference/recordings/x.json", folders) is True
    assert miss_report.in_folders("inference/recordings/x.json", folders) is True  # root = tests/integration
    assert miss_report.in_folders("checkout/tests/integration/common/recordings/x.json", folders) is True
    assert miss_report.in_folders("tests/integration/agents/recordings/x.json", folders) is False
    assert miss_report.in_folders("x.json", folders) is None  # the root is the recordings folder itself
    assert miss_report.in_folders("tests/integration/agents/recordings/x.json", ()) is None


def test_compare_marks_the_parts_that_cannot_match() -> None:
    raw = _raw(model="gpt-4o-mini", temperature=0.5)
    parts, differs = miss_report.compare(raw, _miss())
    verdicts = {p.name: p.verdict for p in parts}
    assert verdicts["body.model"] == miss_report.DIFFERS and differs == ("body.model",)
    assert verdicts["test_id"] == verdicts["endpoint (the URL's path)"] == verdicts["method"] == miss_report.SAME
    assert verdicts["body.messages"] == verdicts["body.temperature"] == miss_report.UNKNOWN
    model = next(p for p in parts if p.name == "body.model")
    assert (model.value, model.miss_value) == ('"gpt-4o-mini"', '"gpt-4o"')
    _, differs = miss_report.compare(_raw(test_id="tests/x.py::test_other", url="http://0.0.0.0:11434/v1/chat/completions"), _miss())  # fmt: skip
    assert differs == ("endpoint (the URL's path)", "test_id")  # the host is not hashed: only the path counts
    _, differs = miss_report.compare(_raw(test_id=None), _miss(test_id="", no_test=True))
    assert differs == ()


def test_compare_by_section_header_and_for_tools() -> None:
    header = _miss(test_id="", test_name="test_chat[txt=openai/gpt-4o]")
    assert miss_report.compare(_raw(), header)[1] == ()
    tool_raw = {"test_id": TID, "request": {"test_id": TID, "provider": "tavily", "tool_name": "web_search",
                "kwargs": {"query": "Paris", "max_results": 3}}, "response": {"body": None}}  # fmt: skip
    tool = Miss(misses.TOOL, "", tool="tavily.web_search", kwargs="{'query': 'Paris', 'max_results': 3}")
    parts, differs = miss_report.compare(tool_raw, tool)
    assert differs == () and {p.name: p.verdict for p in parts}["kwargs"] == miss_report.SAME
    other = Miss(misses.TOOL, "", tool="tavily.web_search", kwargs="{'query': 'Lyon', 'max_results': 3}")
    assert miss_report.compare(tool_raw, other)[1] == ("kwargs",)
    assert miss_report.compare(_raw(), tool)[1][0] == "kind"  # a chat request is never the tool call


def test_rank_puts_the_work_tree_first_then_commits_then_content_hints() -> None:
    old_rule = _candidate("c.json", hints=miss_report.hints(status="older-rule", lineage=None))
    newer_sdk = lifecycle.Lineage({"stream": True}, True, True, (2, 31, 0))
    content = _candidate("d.json", hints=miss_report.hints(status="current", lineage=newer_sdk))
    committed_old = _candidate("e.json", recency=miss_report.GIT, recorded_at=1_700_000_000)
    committed_new = _candidate("f.json", recency=miss_report.GIT, recorded_at=1_800_000_000)
    dirty = _candidate("g.json", recency=miss_report.WORK_TREE, recorded_at=1_600_000_000)
    touched = _candidate("b.json", hints=miss_report.hints(status="current", lineage=newer_sdk, mtime_ns=5))
    ranked = miss_report.rank([old_rule, committed_old, content, dirty, committed_new, touched])
    assert [c.path for c in ranked] == ["g.json", "f.json", "e.json", "b.json", "d.json", "c.json"]
    assert miss_report.recorded_words(miss_report.GIT, 1_800_000_000, ()) == "committed 2027-01-15 08:00 UTC"
    assert "older rule" in miss_report.recorded_words(miss_report.CONTENT, None, old_rule.hints)
    assert "SDK 2.31.0" in miss_report.recorded_words(miss_report.CONTENT, None, content.hints)


def _report(miss: Miss, **fields: object) -> MissReport:
    values: dict[str, object] = {"miss": miss, "url_path": miss.url_path, "looked_for": miss_report.looked_for(miss),
                                 "folders": miss_report.lookup_folders(miss), "found": (), "candidates": (),
                                 "candidate_total": 0, "candidates_of": "the test", "ranked_by": "", "resolved": False,
                                 "summary": ""}  # fmt: skip
    return miss_report.finish(MissReport(**{**values, **fields}))  # type: ignore[arg-type]


def test_summary_names_where_replay_looked_and_what_differs() -> None:
    miss = _miss()
    parts, differs = miss_report.compare(_raw(model="gpt-4o-mini"), miss)
    newest = _candidate("tests/integration/inference/recordings/n.json", recorded="committed 2026-03-02", parts=parts,
                        differs=differs, recency=miss_report.GIT, recorded_at=1_772_409_600)  # fmt: skip
    parts, differs = miss_report.compare(_raw(), miss)
    close = _candidate("tests/integration/inference/recordings/o.json", recorded="committed 2026-01-01", parts=parts,
                       differs=differs, recency=miss_report.GIT, recorded_at=1_767_225_600)  # fmt: skip
    text = _report(miss, candidates=(newest, close), candidate_total=4).summary
    assert text.startswith(f"Replay looked for {'a' * 64}.json in tests/integration/inference/recordings/ and "
                           "tests/integration/common/recordings/; no file in the index carries it.")  # fmt: skip
    assert (
        "The test has 4 recordings; the newest (committed 2026-03-02, tests/integration/inference/recordings/n.json) differs in body.model"
        in text
    )
    assert "The newest that matches everything the log shows is tests/integration/inference/recordings/o.json" in text
    assert "a part the log does not show: body.messages" in text
    # The same commit time for both: the first is ranked by content hints, and the summary does not call it newest.
    tied = _report(miss, candidates=(newest, dataclasses.replace(close, recorded_at=newest.recorded_at))).summary
    assert "; the newest-looking (they share one time, so ranked by what their content hints) (committed" in tied
    nothing = _report(miss).summary
    assert "no recording of the test" in nothing and "record-if-missing" in nothing


def test_summary_for_a_file_found_under_an_older_rules_name() -> None:
    miss = _miss()
    found = _candidate("tests/integration/inference/recordings/" + "c" * 64 + ".json", replay_hash="a" * 64,
                       replay_status="older-rule", replay_rule=replay.RULE_RAW_BODY, replay_name="a" * 64 + ".json")  # fmt: skip
    text = _report(miss, found=(found,), resolved=True).summary
    assert f"No file is named {'a' * 64}.json" in text and "older rule (no body normalisation)" in text
    assert (
        f"Rename it to {'a' * 64}.json in tests/integration/inference/recordings/ (or tests/integration/common/recordings/)"
        in text
    )
    named = _candidate("tests/integration/inference/recordings/" + "a" * 64 + ".json", in_lookup_folder=True)
    assert "replay finds it there" in _report(miss, found=(named,), resolved=True).summary
    elsewhere = _candidate("tests/integration/agents/recordings/" + "a" * 64 + ".json", in_lookup_folder=False)
    moved = _report(miss, found=(elsewhere,), resolved=True).summary
    assert "move it to tests/integration/inference/recordings/ (or tests/integration/common/recordings/)." in moved
    prefix = Miss(misses.HASH, "aaaaaaaa", prefix=True)
    two = _report(prefix, found=(named, elsewhere), resolved=True).summary
    assert two.startswith("The prefix aaaaaaaa matches 2 recordings")


def _git(repo: Path, *args: str, when: str = "") -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True, env=env)  # fmt: skip


def test_commit_times_and_dirty_paths_from_one_log(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a").mkdir()
    for name in ("x.json", 'we ird"[q].json', "y.json"):
        (tmp_path / "a" / name).write_text("1")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one", when="2026-01-01T00:00:00Z")
    (tmp_path / "a" / "x.json").write_text("2")
    _git(tmp_path, "commit", "-qam", "two", when="2026-02-01T00:00:00Z")
    (tmp_path / "a" / "y.json").write_text("changed")
    (tmp_path / "a" / "new.json").write_text("new")
    names = ["a/x.json", 'a/we ird"[q].json', "a/y.json", "a/new.json", "a/gone.json"]
    times = gitsource.commit_times(tmp_path, names)
    assert times == {"a/x.json": 1769904000, 'a/we ird"[q].json': 1767225600, "a/y.json": 1767225600}
    assert gitsource.dirty_paths(tmp_path, names) == {"a/y.json", "a/new.json"}
    assert gitsource.commit_times(tmp_path, []) == {}


def test_copies_of_a_file_in_other_roots_are_grouped_under_its_newest_and_others_stay_apart() -> None:
    ranked = [
        _candidate(pk=1, root="pr-7", path="a.json", sha256="s1"),
        _candidate(pk=2, root="pr-7", path="b.json", sha256="s2"),
        _candidate(pk=3, root="main", path="a.json", sha256="s1"),  # a copy of pk 1
        _candidate(pk=4, root="main", path="a.json", sha256="s9"),  # same path, other bytes
        _candidate(pk=5, root="main", path="b.json", sha256=""),  # bytes unknown: never grouped
        _candidate(pk=6, root="release", path="b.json", sha256=""),
        _candidate(pk=7, root="release", path="a.json", sha256="s1"),
        _candidate(pk=8, root="release", path="c.json", sha256="s1"),  # same bytes, other path
    ]
    grouped = miss_report.group_copies(ranked)
    assert [c.pk for c in grouped] == [1, 2, 4, 5, 6, 8]
    assert grouped[0].also_in == (miss_report.Copy("main", 3), miss_report.Copy("release", 7))
    assert all(not c.also_in for c in grouped[1:])
    assert miss_report.roots_words(grouped[0]) == "root pr-7, and the same file in main, release"
    assert miss_report.roots_words(grouped[1]) == "root pr-7"
