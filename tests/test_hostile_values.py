"""Values a hostile or odd recording holds, where they once cost a page, a verdict or a run: integers beyond 64 bits
in tool arguments, JSON nested deeper than a recursive writer goes, a mapping that would grow a file without
bound, a pasted log with a URL no parser takes, control characters bound for a pull-request comment."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client

from recorder_ui import diff_render, diffing, indexer
from recorder_ui.domain import diff, jsontext, loader, miss_report, misses, rawdiff
from recorder_ui.indexer import RootError
from recorder_ui.indexer.roots import check_name
from tests.builders import stream_recording, write

TID = "tests/integration/inference/test_tools.py::test_big[txt=openai/gpt-4o]"


def _parse(rec: dict[str, Any] | bytes) -> Any:
    return loader.parse(rec if isinstance(rec, bytes) else json.dumps(rec).encode(), path="p.json")


def test_tool_arguments_keep_integers_beyond_64_bits_so_a_diff_sees_them_change() -> None:
    old = stream_recording(test_id=TID, tool=("count", '{"n": 18446744073709551617}'))
    new = stream_recording(test_id=TID, tool=("count", '{"n":18446744073709551618}'))  # and other spacing
    [call] = _parse(old).choices[0].tool_calls
    assert call.parsed_arguments == {"n": 18446744073709551617}  # exact, not 1.8446744073709552e+19
    assert "tool-calls-changed" in diff.compare(_parse(old), _parse(new)).categories
    same_number = stream_recording(test_id=TID, tool=("count", '{"n":18446744073709551617}'))
    assert diff.compare(_parse(old), _parse(same_number)).categories == ("noise-only",)  # spacing alone is noise


def test_the_raw_diff_shows_what_changed_however_deep_or_large() -> None:
    deep_a, deep_b = "[" * 300 + "]" * 300, "[" * 301 + "]" * 301
    lines = rawdiff.raw_diff(deep_a.encode(), deep_b.encode()).splitlines()
    assert any(line.startswith("+ ") for line in lines) and lines[:2] == ["--- old", "+++ new"]
    big_a, big_b = b'{"audio_tokens": 18446744073709551617}', b'{"audio_tokens": 18446744073709551618}'
    changed = rawdiff.raw_diff(big_a, big_b).splitlines()[2:]
    assert {line.replace(" ", "") for line in changed if line[:1] in "+-"} == {
        '-"audio_tokens":18446744073709551617',
        '+"audio_tokens":18446744073709551618',
    }  # fmt: skip


def test_json_nested_as_deep_as_the_parser_reads_is_written_back_exactly() -> None:
    deep: Any = []
    for _ in range(1_000):
        deep = [deep, {"n": 2**70}]
    text = jsontext.dumps(deep)
    assert json.loads(text) == json.loads(json.dumps(deep))
    indented = jsontext.dumps({"b": [1, {}], "a": []}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    assert indented == json.dumps({"a": [], "b": [1, {}]}, indent=2).encode()  # the layout orjson would write
    assert jsontext.dumps({"x": "\ud800", 1: float("nan")}) == b'{"x":"\\ud800","1":null}'


def test_a_mapping_that_would_grow_a_file_without_bound_is_refused(tmp_path: Path, db: None) -> None:
    good = stream_recording(test_id=TID, text="fine")
    bomb = {**copy.deepcopy(good), "pad": "e" * 200_000, "id_normalization_mapping": {"Z" * 100_000: "e"}}
    rec = _parse(bomb)
    assert rec.kind == "invalid" and "id_normalization_mapping would grow the file" in rec.error
    modest = {**copy.deepcopy(good), "id_normalization_mapping": {"rec-" + "a" * 40: "fine"}}
    assert _parse(modest).kind == "chat"  # a real mapping of a short id to a longer one is applied
    write(tmp_path, "inference", bomb, name="bomb.json")
    write(tmp_path, "inference", good, name="good.json")
    report = indexer.index_recordings(root=tmp_path, name="main")
    assert report.added == 2 and [Path(f.path).name for f in report.failed] == ["bomb.json"]


@pytest.mark.parametrize(
    "line",
    [
        "RuntimeError: Recording not found for rerank request | URL: http://[::1/v1/rerank",
        "RuntimeError: Recording not found for httpx POST http://[::1/v1/x",
        "RuntimeError: Recording not found for request hash: " + "a" * 64,
    ],
)
def test_a_pasted_url_no_parser_takes_is_a_miss_like_any_other(line: str, client: Client, db: None) -> None:
    log = line if "hash" not in line else line + "\nModel: gpt-4o | Request: POST http://[::1/v1/chat/completions"
    parsed = misses.parse(log)
    assert parsed.misses and all(isinstance(m.url_path, str) for m in parsed.misses)
    for miss in parsed.misses:
        miss_report.looked_for(miss)  # where replay looked, in words: no exception
    response = client.get("/find.json", {"q": log})
    assert response.status_code == 200 and response.json()["misses"]
    assert client.post("/find/", {"q": log}).status_code == 200


def test_a_pull_request_comment_shows_control_characters_as_text(tmp_path: Path) -> None:
    old = stream_recording(test_id=TID, text="plain")
    new = stream_recording(test_id=TID, text="a\x1b[31mred\x07\x08\x00\r")
    for folder, rec in (("a", old), ("b", new)):
        write(tmp_path / folder, "inference", rec, name="same.json")
    report = diffing.diff_folders(old=tmp_path / "a", new=tmp_path / "b")
    comment = diff_render.as_markdown(report)
    assert "red" in comment and not any(c in comment for c in "\x1b\x07\x08\x00\r")
    assert "\\x1b[31mred\\x07" in comment


def test_a_json_twin_answers_json_to_a_url_it_cannot_read(client: Client) -> None:
    response = client.get("/tests.json", {"q": "\x00"})
    assert response.status_code == 400 and response.json() == {"error": "bad request: NUL character in the URL"}
    page = client.get("/tests/", {"q": "\x00"})
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("name", [" ", " main", "main ", "\t"])
def test_a_root_name_with_space_at_an_end_is_refused(name: str) -> None:
    with pytest.raises(RootError, match="no space at either end"):
        check_name(name)
    assert check_name("main branch") == "main branch"
