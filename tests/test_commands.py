"""The command-line contract: index_recordings, show_recording, check_recordings."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, write

TEST_ID = "tests/integration/inference/test_chat.py::test_stream[txt=openai/gpt-4o-mini]"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    write(root, "inference", stream_recording(test_id=TEST_ID, text="With usage"), name="a" * 64 + ".json")
    write(root, "inference", stream_recording(test_id=TEST_ID, text="No usage", usage=False), name="b" * 64 + ".json")
    write(
        root, "inference", stream_recording(test_id=TEST_ID, text="", tool=("calc", '{"x": 1')), name="c" * 64 + ".json"
    )
    write(root, "inference", "{not json", name="d" * 64 + ".json")
    return root


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_index_recordings_prints_a_closing_report(tree: Path) -> None:
    out = _run("index_recordings", str(tree), "--name", "ci")
    assert "4 added, 0 updated, 0 removed, 0 unchanged in " in out
    assert "; 1 of the files read are not readable recordings" in out  # among the 4, indexed with its error
    assert "  unreadable: " in out and "dddd" in out  # the unreadable file is named
    assert RecordingEntry.objects.count() == 4
    assert "0 added, 0 updated, 0 removed, 4 unchanged" in _run("index_recordings", str(tree), "--name", "ci")


@pytest.mark.django_db
def test_index_recordings_rejects_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a folder"):
        _run("index_recordings", str(tmp_path / "missing"))


def test_show_recording_json_contract(tree: Path) -> None:
    path = tree / "tests/integration/inference/recordings" / ("a" * 64 + ".json")
    data = json.loads(_run("show_recording", str(path), "--format", "json"))
    for key in ("path", "test_id", "kind", "endpoint", "model", "provider", "streaming", "usage", "choices", "error"):
        assert key in data
    assert data["kind"] == "chat" and data["streaming"] is True and data["test_id"] == TEST_ID
    assert data["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "cached_tokens": None,
        "reasoning_tokens": None,
    }
    [choice] = data["choices"]
    assert choice["content"] == "With usage" and choice["finish_reason"] == "stop" and choice["role"] == "assistant"
    assert set(choice) >= {"index", "role", "content", "reasoning", "refusal", "tool_calls", "finish_reason"}
    assert data["error"] is None


def test_show_recording_text_shows_the_tool_call(tree: Path) -> None:
    out = _run("show_recording", str(tree / "tests/integration/inference/recordings" / ("c" * 64 + ".json")))
    assert "tool call call_1: calc(" in out and "not valid JSON" in out


def test_show_recording_of_a_broken_file_reports_the_error_and_exits_1(tree: Path) -> None:
    broken = str(next(tree.rglob("dddd*.json")))
    for options in ((), ("--format", "json")):
        out = io.StringIO()
        with pytest.raises(SystemExit) as exited:
            call_command("show_recording", broken, *options, stdout=out, stderr=io.StringIO())
        assert exited.value.code == 1  # a script sees it is no recording
        assert "not valid JSON" in out.getvalue()  # and still reads why
    data = json.loads(out.getvalue())
    assert data["kind"] == "invalid" and data["error"].startswith("not valid JSON")
    assert _run("show_recording", str(next(tree.rglob("aaaa*.json"))))  # a readable one exits 0


def test_check_recordings_json_lists_findings_and_errors(tree: Path) -> None:
    data = json.loads(_run("check_recordings", str(tree), "--format", "json"))
    assert data["files"] == 4
    assert [e["path"].split("/")[-1][:4] for e in data["errors"]] == ["dddd"]
    rules = {(f["rule"], f["path"].split("/")[-1][:4]) for f in data["findings"]}
    assert ("missing-usage", "bbbb") in rules
    assert ("invalid-tool-arguments", "cccc") in rules
    assert ("parse-error", "dddd") in rules
    missing = next(f for f in data["findings"] if f["rule"] == "missing-usage")
    assert missing["test_id"] == TEST_ID and "include_usage" in missing["message"]
    assert data["summary"]["missing-usage"] == 1 and data["summary"]["parse-error"] == 1


def test_check_recordings_fails_only_on_named_rules(tree: Path) -> None:
    _run("check_recordings", str(tree), "--format", "json")  # no --fail-on: exit 0
    with pytest.raises(SystemExit) as exit_info:
        _run("check_recordings", str(tree), "--fail-on", "missing-usage")
    assert exit_info.value.code == 1
    clean = tree / "tests/integration/inference/recordings" / ("a" * 64 + ".json")
    _run("check_recordings", str(clean), "--fail-on", "missing-usage,parse-error")


def test_check_recordings_rejects_unknown_rules(tree: Path) -> None:
    with pytest.raises(CommandError, match="unknown rule"):
        _run("check_recordings", str(tree), "--fail-on", "no-such-rule")


@pytest.mark.django_db
def test_a_failure_of_the_database_itself_is_one_line_not_a_traceback(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from recorder_ui.indexer import writer

    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("disk I/O error\nthe rest of a long driver message")

    monkeypatch.setattr(writer, "_insert", broken)  # not a value problem: the run must fail, not carry on
    with pytest.raises(CommandError) as failed:
        _run("index_recordings", str(tree), "--name", "main")
    assert str(failed.value) == "the index database failed: disk I/O error"
    assert not RecordingEntry.objects.exists()  # the run's transaction was rolled back whole


def test_text_output_shows_a_recordings_control_characters_as_escapes(tmp_path: Path) -> None:
    """A file's text could clear the terminal, set its title or overwrite a line (hiding a finding in a CI log)."""
    evil = "\x1b[2J\x1b]0;owned\x07gone\rover\x08"
    rec = stream_recording(test_id=f"tests/integration/a/test_a.py::test_{evil}", text=f"Hi {evil}", usage=False)
    rec["request"]["body"]["model"] = f"gpt-{evil}"
    path = write(tmp_path, "inference", rec, name="a" * 64 + ".json")
    outputs = [_run("show_recording", str(path)), _run("check_recordings", str(tmp_path))]
    diff_out = io.StringIO()
    (tmp_path / "empty").mkdir()
    call_command("diff_recordings", "--folders", str(tmp_path / "empty"), str(tmp_path), stdout=diff_out)
    outputs.append(diff_out.getvalue())
    for out in outputs:
        assert not any(c in out for c in "\x1b\x07\r\x08"), out
    for out in (outputs[0], outputs[2]):  # the lint's messages quote none of these values
        assert "\\x1b[2J\\x1b]0;owned\\x07gone\\x0dover\\x08" in out


@pytest.mark.django_db
def test_a_roots_name_must_be_printable_and_fit_every_link(tree: Path) -> None:
    for bad in ("r" * 201, "main\x1b[2J", "tab\there"):
        with pytest.raises(CommandError, match="a root's name must be 1 to 200 printable characters"):
            _run("index_recordings", str(tree), "--name", bad)
    _run("index_recordings", str(tree), "--name", "r" * 200)
    assert RecordingEntry.objects.filter(root__name="r" * 200).exists()


@pytest.mark.parametrize(
    ("command", "status"), [(("find_recording", "a" * 64), 3), (("index_recordings", "recordings"), 1)]
)
def test_commands_on_a_database_never_migrated_say_to_migrate(
    tmp_path: Path, command: tuple[str, ...], status: int
) -> None:
    """A fresh checkout whose database was never migrated: one line that says what to run, no traceback."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "RECORDER_UI_DB": str(tmp_path / "never-migrated.sqlite3")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "manage.py", *command], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr and "run `python manage.py migrate` first" in done.stderr


def test_check_recordings_text_keeps_a_finding_on_its_line_and_no_runner_command(tmp_path: Path) -> None:
    """Tool arguments with a line break and `::error ...` after it: the invalid-arguments finding quotes them on
    its own line, so a CI log shows no command a runner would act on (a fake annotation, ::add-mask::)."""
    args = '{"q": broken\n::error file=README.md::INJECTED\r\n##[error]too'
    write(
        tmp_path,
        "inference",
        stream_recording(test_id=TEST_ID, text="", tool=("search", args)),
        name="e" * 64 + ".json",
    )
    out = io.StringIO()
    call_command("check_recordings", str(tmp_path), stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("::", "##["))], lines
    [finding] = [line for line in lines if ": invalid-tool-arguments: " in line]
    assert "INJECTED" in finding and "\\x0a" in finding


@pytest.mark.django_db
def test_dropping_a_root_the_settings_still_name_says_it_comes_back(tree: Path, settings: Any) -> None:
    settings.RECORDINGS_ROOTS = f"ci={tree}"
    _run("index_recordings")
    err = io.StringIO()
    call_command("index_recordings", "--drop", "ci", stdout=io.StringIO(), stderr=err)
    assert "still a root of the settings" in err.getvalue() and "restart the server" in err.getvalue()
    assert not RecordingEntry.objects.exists()
    settings.RECORDINGS_ROOTS = ""
    _run("index_recordings", str(tree), "--name", "other")
    err = io.StringIO()
    call_command("index_recordings", "--drop", "other", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""  # a root no setting names: dropped for good
