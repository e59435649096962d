"""Reachability judged by the recorder of the root's own checkout: a release branch whose recorder predates the
file_search placeholders (2026-04-09) serves that rule's names, so its files are not called dead, and a rebase onto
a newer recorder re-judges every file of the root."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from recorder_ui import indexer
from recorder_ui.domain import checkout, replay
from recorder_ui.indexer import writer
from recorder_ui.models import RecordingEntry, Root
from tests.builders import stream_recording, write

pytestmark = pytest.mark.django_db

AREA = "responses"
TID = "tests/integration/responses/test_file_search.py::test_search[openai_client-txt=openai/gpt-4o]"
RESULT = "[1] document_id: 0b7e8a3c-1111-2222-3333-444455556666 The answer is 42."
NORMALISED = "[1] document_id: __NORMALIZED__ The answer is 42."
OLD_RECORDER = "def _normalize_body_for_hash(value, exclude_stream_options=False):\n    return round(value, 5)\n"
NEW_RECORDER = OLD_RECORDER + '_DOCUMENT_ID = re.compile(r"document_id: ...")  # -> "document_id: __NORMALIZED__"\n'
ROOT = Path(__file__).resolve().parent.parent


def H(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _name(rec: dict[str, Any], tool_text: str) -> str:
    body = {**rec["request"]["body"], "messages": [{"role": "tool", "content": tool_text}]}
    return H({"method": "POST", "endpoint": "/v1/v1/chat/completions", "body": body, "test_id": rec["test_id"]})


def _checkout(top: Path, recorder: str | None) -> dict[str, Path]:
    """A checkout with a file named as the recorder before 2026-04-09 names it, and one as today's does."""
    if recorder is not None:
        source = top / "src" / "llama_stack" / "testing" / "api_recorder.py"
        source.parent.mkdir(parents=True)
        source.write_text(recorder)
    (top / ".git").mkdir(parents=True, exist_ok=True)
    older = stream_recording(test_id=TID, text="42.", messages=[{"role": "tool", "content": RESULT}])
    newer = stream_recording(test_id=TID, text="It is 42.", messages=[{"role": "tool", "content": RESULT}])
    newer["request"]["body"]["temperature"] = 0.5
    return {
        "older": write(top, AREA, older, name=_name(older, RESULT) + ".json"),
        "newer": write(top, AREA, newer, name=_name(newer, NORMALISED) + ".json"),
    }


def _status(root: str) -> dict[str, tuple[str, str]]:
    rows = RecordingEntry.objects.filter(root__name=root).values_list("path", "replay_status", "replay_rule")
    return {path.rsplit("/", 1)[-1]: (status, rule) for path, status, rule in rows}


def test_the_checkouts_recorder_is_found_from_any_folder_of_it(tmp_path: Path) -> None:
    files = _checkout(tmp_path / "release", OLD_RECORDER)
    for folder in (tmp_path / "release", files["older"].parent, files["older"].parents[2]):
        found = checkout.find(folder)
        assert (found.recorder, found.source) == (replay.BEFORE_FILE_SEARCH, "src/llama_stack/testing/api_recorder.py")
        assert "before 2026-04-09" in found.describe()
    _checkout(tmp_path / "main", NEW_RECORDER)
    assert checkout.find(tmp_path / "main" / "tests").recorder == replay.TODAY
    _checkout(tmp_path / "copied", None)  # a folder of recordings with no recorder beside them: today's judges
    assert checkout.find(tmp_path / "copied") == checkout.CheckoutRecorder(replay.TODAY, "")
    # The search stops at the checkout's top: a recorder above it belongs to another project.
    nested = tmp_path / "release" / "vendor" / "other"
    _checkout(nested, None)
    assert checkout.find(nested / "tests").source == ""


def test_an_old_checkouts_files_are_not_called_dead(tmp_path: Path, client: Client) -> None:
    files = _checkout(tmp_path / "release", OLD_RECORDER)
    report = indexer.index_recordings(root=tmp_path / "release", name="release")
    older, newer = files["older"].name, files["newer"].name
    assert _status("release") == {older: ("current", replay.RULE_CHECKOUT), newer: ("mismatch", replay.RULE_NEWER)}
    assert "src/llama_stack/testing/api_recorder.py" in report.judged_by
    assert Root.objects.get(name="release").recorder == replay.BEFORE_FILE_SEARCH
    cleanup = client.get("/cleanup.json").json()
    assert cleanup["counts"]["unreachable"] == 0 and cleanup["total"] == 0
    lint = subprocess.run(
        [sys.executable, "manage.py", "check_recordings", str(tmp_path / "release"), "--format", "json",
         "--fail-on", "unreachable"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stderr
    findings = {(Path(f["path"]).name, f["rule"]): f["message"] for f in json.loads(lint.stdout)["findings"]}
    assert (older, "unreachable") not in findings and "not dead" in findings[(newer, "name-mismatch")]


def test_a_copy_of_changed_files_is_judged_by_the_checkout_it_came_from(tmp_path: Path) -> None:
    """CI lints a pull request's changed recordings copied into a scratch folder, where no recorder lies beside
    them: `--checkout` names the checkout whose recorder judges them, so an old branch's new files are not
    failed as unreachable by today's rule."""
    files = _checkout(tmp_path / "release", OLD_RECORDER)
    scratch = tmp_path / "scratch" / AREA
    scratch.mkdir(parents=True)
    shutil.copy2(files["older"], scratch / files["older"].name)

    def lint(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check_recordings", str(tmp_path / "scratch"), "--format", "json",
             "--fail-on", "unreachable", *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    alone = lint()
    assert alone.returncode == 1 and "unreachable (1)" in alone.stderr  # today's rule: an older name
    assert json.loads(alone.stdout)["judged_by"].startswith("today's recorder")
    judged = lint("--checkout", str(tmp_path / "release"))
    assert judged.returncode == 0, judged.stderr
    report = json.loads(judged.stdout)
    assert report["findings"] == [] and "src/llama_stack/testing/api_recorder.py" in report["judged_by"]
    missing = lint("--checkout", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_a_rebase_onto_a_newer_recorder_re_judges_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files do not change, the recorder does: the run re-parses them all. A second checkout with the other
    recorder takes no row of the first as a copy, though its files' paths and bytes are the same."""
    monkeypatch.setattr(writer, "COPY_MIN_FILES", 1)
    files = _checkout(tmp_path / "release", OLD_RECORDER)
    indexer.index_recordings(root=tmp_path / "release", name="release")
    shutil.copytree(tmp_path / "release", tmp_path / "main")
    (tmp_path / "main" / "src" / "llama_stack" / "testing" / "api_recorder.py").write_text(NEW_RECORDER)
    copied = indexer.index_recordings(root=tmp_path / "main", name="main")
    assert copied.copied == 0 and copied.added == 2
    older, newer = files["older"].name, files["newer"].name
    today = {older: ("older-rule", replay.RULE_NO_FILE_SEARCH), newer: ("current", replay.RULE_CURRENT)}
    assert _status("main") == today
    (tmp_path / "release" / "src" / "llama_stack" / "testing" / "api_recorder.py").write_text(NEW_RECORDER)
    rebased = indexer.index_recordings(root=tmp_path / "release", name="release")
    assert rebased.updated == 2 and _status("release") == today
    assert Root.objects.get(name="release").recorder == replay.TODAY
    again = indexer.index_recordings(root=tmp_path / "release", name="release")
    assert not again.changed  # judged once: the next re-scan is the usual no-change one
