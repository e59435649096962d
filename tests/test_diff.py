"""The semantic diff on real git repositories built in a temporary folder."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from recorder_ui import diff_render, diffing, presenters
from recorder_ui.domain import diff, gitsource
from tests.builders import chunk, stream_recording, write

AREA = "tests/integration/inference/recordings"
TID = "tests/integration/inference/test_chat.py::test_{}[txt=openai/gpt-4o-mini]"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", "-C", str(repo), *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _write(repo: Path, name: str, rec: dict[str, Any]) -> str:
    path = repo / AREA / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=2) + "\n")
    return f"{AREA}/{name}"


def _name(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest() + ".json"


def _rechunk(rec: dict[str, Any], size: int) -> dict[str, Any]:
    """The same answer cut at other chunk boundaries."""
    text = "".join(c["__data__"]["choices"][0]["delta"]["content"] or "" for c in rec["response"]["body"]
                   if c["__data__"]["choices"])  # fmt: skip
    new = copy.deepcopy(rec)
    body = [chunk(content=text[i : i + size]) for i in range(0, len(text), size)]
    body += [
        c
        for c in rec["response"]["body"]
        if not c["__data__"]["choices"] or c["__data__"]["choices"][0]["finish_reason"]
    ]
    new["response"]["body"] = body
    return new


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "llama-stack"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _write(root, _name("noise"), stream_recording(test_id=TID.format("noise"), text="Stable answer here."))
    _write(root, _name("chunks"), stream_recording(test_id=TID.format("chunks"), text="Cut in other places."))
    _write(root, _name("answer"), stream_recording(test_id=TID.format("answer"), text="The capital is Paris."))
    _write(
        root,
        _name("tool"),
        stream_recording(test_id=TID.format("tool"), text="", tool=("get_weather", '{"city": "Oslo"}')),
    )
    _write(root, _name("usage-old"), stream_recording(test_id=TID.format("usage"), text="Counted.", usage=False))
    _write(
        root,
        _name("deleted"),
        stream_recording(
            test_id=TID.format("deleted"), text="Soon gone.", messages=[{"role": "user", "content": "Old question"}]
        ),
    )
    _write(root, _name("dirty"), stream_recording(test_id=TID.format("dirty"), text="Committed text."))
    (root / "README.md").write_text("not a recording\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "before")
    _git(root, "checkout", "-q", "-b", "rerecord")
    noise = stream_recording(test_id=TID.format("noise"), text="Stable answer here.")
    for c in noise["response"]["body"]:
        c["__data__"]["obfuscation"] = "changed"
        c["__data__"]["system_fingerprint"] = "fp_new"
    _write(root, _name("noise"), noise)
    old_chunks = json.loads((root / AREA / _name("chunks")).read_text())
    _write(root, _name("chunks"), _rechunk(old_chunks, 2))
    _write(root, _name("answer"), stream_recording(test_id=TID.format("answer"), text="The capital is Lyon."))
    _write(
        root,
        _name("tool"),
        stream_recording(test_id=TID.format("tool"), text="", tool=("get_weather", '{"city": "Bergen"}')),
    )
    (root / AREA / _name("usage-old")).unlink()
    _write(root, _name("usage-new"), stream_recording(test_id=TID.format("usage"), text="Counted."))
    (root / AREA / _name("deleted")).unlink()
    _write(
        root,
        _name("added"),
        stream_recording(
            test_id=TID.format("added"), text="Brand new.", messages=[{"role": "user", "content": "New question"}]
        ),
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "re-record")
    # An uncommitted re-recording on top.
    _write(root, _name("dirty"), stream_recording(test_id=TID.format("dirty"), text="Uncommitted text."))
    return root


def _state(repo: Path) -> tuple[str, str, bytes]:
    return (
        _git(repo, "status", "--porcelain"),
        _git(repo, "rev-parse", "HEAD"),
        (repo / ".git" / "index").read_bytes(),
    )


def _by_test(report: diffing.DiffReport) -> dict[str, diff.RecordingDiff]:
    return {d.test_id.split("::test_")[1].split("[")[0]: d for d in report.diffs}


def test_diff_between_two_revisions_categorises_each_pair(repo: Path) -> None:
    before = _state(repo)
    report = diffing.diff_revisions(repo=repo, base="main", head="rerecord")
    assert _state(repo) == before  # read-only: no checkout, no index refresh
    found = _by_test(report)
    assert found["noise"].categories == ("noise-only",) and found["noise"].pairing == "same path"
    assert "system_fingerprint" in found["noise"].noise
    assert found["chunks"].categories == ("noise-only",)
    assert any("chunk boundaries" in n for n in found["chunks"].noise)
    assert found["answer"].categories == ("content-changed",)
    segments = found["answer"].text[0].segments
    assert ("-", "Paris") in segments and ("+", "Lyon") in segments
    assert found["tool"].categories == ("tool-calls-changed",)
    [change] = found["tool"].tool_changes
    assert (change.path, change.old, change.new) == ("tool_calls[0].arguments.city", "Oslo", "Bergen")
    usage = found["usage"]
    assert set(usage.categories) == {"usage-added", "request-changed"} and usage.pairing == "same request"
    assert usage.old_path.endswith(_name("usage-old")) and usage.new_path.endswith(_name("usage-new"))
    assert usage.request_fields == ("body.stream_options",)
    assert found["deleted"].categories == ("removed",) and found["added"].categories == ("added",)
    assert "dirty" not in found  # the uncommitted change is not in the commit
    assert report.summary.counts["noise-only"] == 2


def test_a_renamed_test_is_paired_by_request_content(repo: Path) -> None:
    moved = json.loads((repo / AREA / _name("answer")).read_text())
    moved["test_id"] = TID.format("answer_renamed")
    (repo / AREA / _name("answer")).unlink()
    _write(repo, _name("renamed"), moved)
    report = diffing.diff_revisions(repo=repo, base="rerecord", head=gitsource.WORKTREE)
    [renamed] = [d for d in report.diffs if "renamed" in d.test_id]
    assert renamed.pairing == "test renamed" and renamed.categories == ("request-changed",)
    assert renamed.request_fields == ("test_id",)


def test_diff_against_the_working_tree_sees_uncommitted_changes(repo: Path) -> None:
    before = _state(repo)
    report = diffing.diff_revisions(repo=repo, base="rerecord", head=gitsource.WORKTREE)
    assert _state(repo) == before
    [only] = report.diffs
    assert only.categories == ("content-changed",) and "dirty" in only.test_id
    untracked = repo / AREA / _name("untracked")
    untracked.write_text(json.dumps(stream_recording(test_id=TID.format("fresh"), text="Not added to git")))
    report = diffing.diff_revisions(repo=repo, base="rerecord", head=gitsource.WORKTREE)
    assert {d.categories for d in report.diffs} == {("content-changed",), ("added",)}


def test_bad_revisions_and_options_are_refused(repo: Path) -> None:
    for bad in ("--output=/tmp/x", "no-such-branch", "main\nHEAD", ""):
        with pytest.raises(diffing.DiffError):
            diffing.diff_revisions(repo=repo, base=bad, head="rerecord")
    with pytest.raises(diffing.DiffError, match="not a path"):
        diffing.diff_revisions(repo=repo, base="main", head="rerecord", subpath="../outside")


def test_word_and_json_diff() -> None:
    assert diff.word_diff("a b c", "a x c") == (("=", "a "), ("-", "b"), ("+", "x"), ("=", " c"))
    changes = diff.json_diff({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3], "c": True})
    assert [(c.path, c.old, c.new) for c in changes] == [("b[1]", 2, 3), ("c", None, True)]


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("diff_recordings", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_formats_and_fail_on(repo: Path) -> None:
    data = json.loads(_command("main", "rerecord", "--repo", str(repo), "--format", "json"))
    rows = {r["test_id"].split("::test_")[1].split("[")[0]: r for r in data["recordings"]}
    assert rows["usage"]["old_path"].endswith(_name("usage-old")) and rows["usage"]["new_path"].endswith(
        _name("usage-new")
    )
    assert rows["deleted"]["new_path"] is None and rows["added"]["old_path"] is None
    assert data["summary"]["counts"]["content-changed"] == 1
    markdown = _command("main", "rerecord", "--repo", str(repo), "--format", "markdown")
    assert "<details>" in markdown and "| content-changed | 1 |" in markdown and "+ The capital is Lyon." in markdown
    text = _command("main", "rerecord", "--repo", str(repo))
    assert "tool_calls[0].arguments.city" in text
    with pytest.raises(SystemExit) as failed:
        _command("main", "rerecord", "--repo", str(repo), "--fail-on", "content-changed")
    assert failed.value.code == 1
    _command("main", "rerecord", "--repo", str(repo), "--fail-on", "model-changed")  # absent: exit 0
    with pytest.raises(CommandError, match="unknown categories") as error:
        _command("main", "--repo", str(repo), "--fail-on", "everything")
    assert error.value.returncode == 2  # 1 says the recordings failed a gate; 2 that the command could not run
    with pytest.raises(CommandError, match="unknown revision") as error:
        _command("nope", "--repo", str(repo))
    assert error.value.returncode == 2
    with pytest.raises(CommandError, match="no path 'tests/integration/inferense' in either revision"):
        _command("main", "rerecord", "--repo", str(repo), "--path", "tests/integration/inferense", "--fail-on", "added")
    within = json.loads(
        _command("main", "rerecord", "--repo", str(repo), "--path", "tests/integration", "--format", "json")
    )
    assert within["recordings"] == data["recordings"]


def test_folder_mode(tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "recordings", tmp_path / "new" / "recordings"
    for folder, text in ((old, "one"), (new, "two")):
        folder.mkdir(parents=True)
        (folder / "a.json").write_text(json.dumps(stream_recording(test_id=TID.format("f"), text=text)))
    data = json.loads(_command(str(old), str(new), "--folders", "--format", "json"))
    assert [r["categories"] for r in data["recordings"]] == [["content-changed"]]


@pytest.mark.django_db
def test_diff_page_and_pair_view(repo: Path, client: Client, settings: Any) -> None:
    settings.RECORDINGS_DIR = repo
    page = client.get("/diff/", {"base": "main", "head": "rerecord"})
    body = page.content.decode()
    assert page.status_code == 200 and "content-changed" in body and "rerecord" in body
    assert re.search(r"\d+ recording files differ between|1 recording file differs between", body)
    assert 'hx-trigger="toggle once"' in body
    report = diffing.diff_revisions(repo=repo, base="main", head="rerecord")
    key = _by_test(report)["answer"].key
    pair = client.get(
        "/diff/pair/?" + urlencode({"base": "main", "head": "rerecord", "key": key}), HTTP_HX_REQUEST="true"
    )
    html = pair.content.decode()
    assert "<html" not in html and "<del>Paris</del>" in html and "<ins>Lyon</ins>" in html and "raw JSON diff" in html
    assert client.get("/diff.json", {"base": "main", "head": "rerecord"}).json()["summary"]["counts"]["added"] == 1
    asked = {"base": "main", "head": "rerecord"}
    assert client.get("/diff/", asked, HTTP_ACCEPT="application/json").json() == client.get("/diff.json", asked).json()
    assert client.get("/diff/", HTTP_ACCEPT="application/json").json() == client.get("/diff.json").json()  # HEAD
    form = client.get("/diff/").content.decode()
    assert '<option value="rerecord">' in form and '<option value="main">' in form
    assert client.get("/diff/", {"base": "--exec=x"}).status_code == 400
    refused = client.get("/diff.json", {"base": "--exec=x"})
    assert refused.status_code == 400 and set(refused.json()) == {"error"}
    assert client.get("/diff/pair/", {"base": "main", "head": "rerecord", "key": "nope"}).status_code == 404
    alone = client.get("/diff/pair/?" + urlencode({"base": "main", "head": "rerecord", "key": key})).content.decode()
    assert (
        '<a href="/diff/?base=main&amp;head=rerecord">← the whole diff</a>' in alone and "<h1>Change: <code>" in alone
    )


@pytest.mark.django_db
def test_diff_page_can_use_a_named_roots_repository(repo: Path, client: Client, tmp_path: Path) -> None:
    from recorder_ui import indexer

    other = tmp_path / "elsewhere" / "recordings"
    other.mkdir(parents=True)
    indexer.index_recordings(root=repo, name="checkout")
    indexer.index_recordings(root=other, name="elsewhere")
    page = client.get("/diff/", {"base": "main", "head": "rerecord", "root": "checkout"})
    assert page.status_code == 200 and "content-changed" in page.content.decode()
    assert '<option value="checkout" selected>' in page.content.decode()
    missing = client.get("/diff/", {"base": "main", "root": "nope"})
    assert missing.status_code == 400 and "no root named" in missing.content.decode()


@pytest.mark.django_db
def test_without_a_root_the_diff_compares_the_first_configured_root(repo: Path, client: Client, settings: Any) -> None:
    """A team server names its roots in RECORDER_UI_ROOTS: the Diff page, and diff_recordings without --repo,
    compare the first of them, never the checkout recorder-ui itself runs from."""
    settings.RECORDINGS_ROOTS = f"checkout={repo};other={repo.parent}"
    data = client.get("/diff.json", {"base": "main", "head": "rerecord"}).json()
    assert data["summary"]["counts"]["added"] == 1
    form = client.get("/diff/").content.decode()
    assert '<option value="rerecord">' in form and diffing.default_repo() == repo


@pytest.mark.django_db
def test_a_root_inside_a_larger_repository_compares_its_own_files(tmp_path: Path, client: Client) -> None:
    """A root that is a folder of a repository (a checkout's tests/integration, or one of several sample trees)
    compares its own files, not the whole repository's."""
    from recorder_ui import indexer

    repo = tmp_path / "monorepo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for folder in ("one", "two"):
        _write(repo / folder, _name(folder), stream_recording(test_id=TID.format(folder), text="Before."))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "before")
    for folder in ("one", "two"):
        _write(repo / folder, _name(folder), stream_recording(test_id=TID.format(folder), text="After."))
    indexer.index_recordings(root=repo / "one", name="one")
    data = client.get("/diff.json", {"base": "HEAD", "root": "one"}).json()
    assert [r["new_path"] for r in data["recordings"]] == [f"one/{AREA}/{_name('one')}"]
    page = client.get("/diff/", {"base": "HEAD", "root": "one"}).content.decode()
    assert "content-changed" in page and _name("two") not in page
    whole = client.get("/diff.json", {"base": "HEAD", "root": "one", "path": "two"}).json()  # asked for: kept
    assert [r["new_path"] for r in whole["recordings"]] == [f"two/{AREA}/{_name('two')}"]


@pytest.mark.django_db
def test_a_name_that_is_not_utf8_and_values_beyond_64_bits_diff_in_every_format(
    tmp_path: Path, client: Client, settings: Any
) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    folder = root / AREA
    folder.mkdir(parents=True)
    name = os.fsdecode(b"latin1-\xe9-name.json")
    rec = stream_recording(test_id=TID.format("odd"), text="Before.")
    (folder / name).write_text(json.dumps(rec))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    rec["response"]["body"][-1]["__data__"]["usage"]["prompt_tokens"] = 2**70
    rec["response"]["body"][0]["__data__"]["choices"][0]["delta"]["content"] = "After \ud800."
    (folder / name).write_text(json.dumps(rec))  # a lone surrogate, written as Python's json writes it
    _git(root, "commit", "-qam", "re-record")
    data = json.loads(_command("HEAD~1", "HEAD", "--repo", str(root), "--format", "json"))
    [row] = data["recordings"]
    assert row["new_path"] == f"{AREA}/latin1-\\xe9-name.json"
    assert "latin1-\\xe9-name.json" in _command("HEAD~1", "HEAD", "--repo", str(root))
    assert "+ After \\ud800." in _command("HEAD~1", "HEAD", "--repo", str(root), "--format", "markdown")
    # The web page and its pair view too: the pair's key carries the name escaped.
    settings.RECORDINGS_DIR = root
    page = client.get("/diff/", {"base": "HEAD~1", "head": "HEAD"})
    assert page.status_code == 200 and "latin1-\\xe9-name" in page.content.decode()
    report = diffing.diff_revisions(repo=root, base="HEAD~1", head="HEAD")
    [pair] = report.diffs
    assert pair.key == f"{AREA}/latin1-\\xe9-name.json|{AREA}/latin1-\\xe9-name.json"
    view = diffing.pair_view(repo=root, base="HEAD~1", head="HEAD", key=pair.key)
    assert view is not None and f"HEAD:{AREA}/latin1-\\xe9-name.json" in view.raw
    shown = client.get("/diff/pair/", {"base": "HEAD~1", "head": "HEAD", "key": pair.key})
    assert shown.status_code == 200 and "After \\ud800." in shown.content.decode()


def test_the_markdown_comment_keeps_markup_in_names_as_text(tmp_path: Path) -> None:
    """The <summary> line sits in an HTML block, where Markdown's code spans do not apply: names are escaped
    there. An added file's line must not read as a removed line of the diff block, and a long text says it is cut."""
    test_id = "tests/integration/inference/test_<b>bold</b>`x`.py::test_one[</details><img src=x>]"
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write(old_dir, "inference", stream_recording(test_id=test_id, text="Short."), name="a.json")
    write(new_dir, "inference", stream_recording(test_id=test_id, text="Long " * 300), name="a.json")
    write(new_dir, "inference", stream_recording(test_id=test_id, text="Brand new"), name="b.json")
    markdown = diff_render.as_markdown(diffing.diff_folders(old=old_dir, new=new_dir))
    [summary] = [line for line in markdown.splitlines() if line.startswith("<summary>")]
    assert "<b>" not in summary and "&lt;b&gt;bold&lt;/b&gt;" in summary and summary.endswith("</summary>")
    for line in markdown.splitlines():  # elsewhere the markup is inside code spans, which Markdown shows as text
        assert "<img" not in line or (line.startswith("- **") and line.endswith("`")), line
    lines = markdown.splitlines()
    assert lines.count("</details>") == lines.count("<details>") == 1  # the test id's own stay in code spans
    assert "(none) -> " in markdown and "\n  - -> " not in markdown
    assert "… (cut)" in markdown


def test_the_markdown_comment_puts_the_test_files_a_reviewer_must_read_first(tmp_path: Path) -> None:
    """A comment cut to fit GitHub's limit keeps the sections at its top: real changes, then files only added or
    removed, then noise."""
    from recorder_ui import diffing

    old_dir, new_dir = tmp_path / "old", tmp_path / "new"

    def tid(area: str) -> str:
        return f"tests/integration/{area}/test_{area}.py::test_x"

    noisy = stream_recording(test_id=tid("aaa"), text="Same.")
    write(old_dir, "aaa", noisy, name="n.json")
    again = json.loads(json.dumps(noisy))
    again["response"]["body"][0]["__data__"]["system_fingerprint"] = "fp_other"
    write(new_dir, "aaa", again, name="n.json")
    write(new_dir, "bbb", stream_recording(test_id=tid("bbb"), text="New."), name="added.json")
    write(old_dir, "zzz", stream_recording(test_id=tid("zzz"), text="Paris."), name="c.json")
    write(new_dir, "zzz", stream_recording(test_id=tid("zzz"), text="Lyon."), name="c.json")
    markdown = diff_render.as_markdown(diffing.diff_folders(old=old_dir, new=new_dir))
    order = [
        line.split("<code>")[1].split("</code>")[0] for line in markdown.splitlines() if line.startswith("<summary>")
    ]
    assert order == [tid(a).partition("::")[0] for a in ("zzz", "bbb", "aaa")]


TEST_ID = "tests/integration/inference/test_chat.py::test_long[txt=openai/gpt-4o-mini]"


def test_a_change_late_in_a_long_answer_shows_in_the_comment(tmp_path: Path) -> None:
    """The comment cuts long unchanged runs around the changes, not the text at 600 characters: a reviewer sees
    the one word that changed at the end of a long answer, in both lines of the diff block."""
    head = "The reasoning goes on. " * 60  # 1,380 characters the same on both sides
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write(old_dir, "inference", stream_recording(test_id=TEST_ID, text=head + "The answer is 42."), name="a.json")
    write(new_dir, "inference", stream_recording(test_id=TEST_ID, text=head + "The answer is 41."), name="a.json")
    markdown = diff_render.as_markdown(diffing.diff_folders(old=old_dir, new=new_dir))
    minus = [line.strip() for line in markdown.splitlines() if line.strip().startswith("- … ")]
    plus = [line.strip() for line in markdown.splitlines() if line.strip().startswith("+ … ")]
    assert minus and minus[0].endswith("The answer is 42.") and plus[0].endswith("The answer is 41."), markdown
    assert len(minus[0]) < 200  # the unchanged head is not repeated whole


def test_text_outputs_never_carry_a_ci_runner_command_from_a_recording(tmp_path: Path) -> None:
    """A test id or tool arguments with a line break and `::error ...` after it (GitHub's runner reads a line
    that starts with `::` as a command: a fake annotation, ::add-mask::, ::stop-commands::) stay on their line
    in the diff's text and Markdown; bidirectional controls are escaped too."""
    hostile = TEST_ID + "\n::error file=README.md::INJECTED\n  ##[warning]also"
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write(old_dir, "inference", stream_recording(test_id=hostile, text="Yes."), name="a.json")
    write(
        new_dir, "inference", stream_recording(test_id=hostile, text="No.\n::warning::x \u202egnp.exe"), name="a.json"
    )
    report = diffing.diff_folders(old=old_dir, new=new_dir)
    for text in (presenters.terminal_text(diff_render.as_text(report)), diff_render.as_markdown(report)):  # as printed
        assert not [line for line in text.splitlines() if line.lstrip().startswith(("::", "##["))], text
        assert "\u202e" not in text and "\\u202e" in text
    assert "INJECTED" in diff_render.as_text(report).splitlines()[4]  # on the test id's own line


def test_a_changed_recording_with_a_line_break_in_its_name_is_diffed(tmp_path: Path) -> None:
    """git allows any byte but NUL in a name; the blob reader asks for such a blob by its id, so the change is
    listed (it was dropped: the batch reads one request a line)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    odd = "new\nline$(touch PWNED).json"
    _write(repo, odd, stream_recording(test_id=TID.format("odd"), text="Yes."))
    _write(repo, _name("plain"), stream_recording(test_id=TID.format("plain"), text="Yes."))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    _write(repo, odd, stream_recording(test_id=TID.format("odd"), text="No."))
    _git(repo, "commit", "-q", "-am", "two")
    report = diffing.diff_revisions(repo=repo, base="HEAD~1", head="HEAD")
    [found] = report.diffs
    assert found.old_path == found.new_path == f"{AREA}/{odd}" and found.pairing == "same path"
    assert "content-changed" in found.categories
    assert not (repo / "PWNED").exists() and not Path("PWNED").exists()


def test_an_added_file_that_is_no_recording_says_so(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write(old_dir, "inference", stream_recording(test_id=TEST_ID, text="Yes."), name="a.json")
    write(new_dir, "inference", stream_recording(test_id=TEST_ID, text="Yes."), name="a.json")
    write(new_dir, "inference", "{not json", name="b.json")
    report = diffing.diff_folders(old=old_dir, new=new_dir)
    [added] = [d for d in report.diffs if d.categories == ("added",)]
    assert added.note.startswith("added file is no readable recording: not valid JSON")
    assert "unreadable: added file is no readable recording" in diff_render.as_text(report)
    [row] = [r for r in orjson.loads(diffing.as_json(report))["recordings"] if r["new_path"].endswith("b.json")]
    assert row["note"].startswith("added file is no readable recording")


def test_a_repository_another_user_owns_is_named_with_gits_own_advice(tmp_path: Path) -> None:
    """git refuses a repository another user owns ("dubious ownership"); the diff says so, with the command
    that trusts it, instead of "not inside a git repository"."""
    import os
    import pwd

    repo = tmp_path / "owned"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
        for folder, dirs, files in os.walk(repo):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.lchown(name, nobody, -1)
    except (KeyError, PermissionError):
        pytest.skip("needs to give a folder to another user (run as root, as CI does)")
    if os.geteuid() == nobody:
        pytest.skip("runs as the user the folder went to")
    with pytest.raises(diffing.DiffError, match=r"another user owns it.*safe\.directory .*owned"):
        diffing.diff_revisions(repo=repo, base="HEAD~1", head="HEAD")


def test_a_comment_kept_within_max_chars_cuts_between_changes_and_names_what_is_left_out(tmp_path: Path) -> None:
    """300 answers changed in one test file and a few in another: within 20,000 characters the comment keeps
    the first file's first changes, says how many more it has, and names the file left out; a report that fits
    is the same with or without the limit."""
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    for n in range(300):
        test_id = f"tests/integration/inference/test_big.py::test_case[{n}]"
        write(old_dir, "inference", stream_recording(test_id=test_id, text=f"Answer {n} is 42 🦙."), name=f"a{n}.json")
        write(new_dir, "inference", stream_recording(test_id=test_id, text=f"Answer {n} is 41 🦙."), name=f"a{n}.json")
    other = "tests/integration/agents/test_other.py::test_one"
    write(old_dir, "agents", stream_recording(test_id=other, text="Hi."), name="b.json")
    write(new_dir, "agents", stream_recording(test_id=other, text="Hi."), name="c.json")  # renamed: noise only
    report = diffing.diff_folders(old=old_dir, new=new_dir)
    whole = diff_render.as_markdown(report)
    assert len(whole) > 40_000
    cut = diff_render.as_markdown(report, max_chars=20_000)
    assert len(cut) + sum(1 for c in cut if c > "\uffff") <= 20_000  # an emoji counts as two
    assert "test_case[0]" in cut and "test_case[299]" not in cut
    shown = cut.count("- **content-changed**")
    assert 10 < shown < 300 and f"- … {300 - shown} more in this file, not shown here" in cut
    assert "1 more test file (1 changed recording): ` tests/integration/agents/test_other.py `" in cut
    assert cut.count("<details>") == cut.count("</details>") == 1
    fits = len(whole) + sum(1 for c in whole if c > "\uffff")
    assert diff_render.as_markdown(report, max_chars=fits) == whole


def test_the_text_formats_say_how_the_finish_and_each_count_moved(tmp_path: Path) -> None:
    """finish-changed names the reasons (length -> stop), and a usage change whose total stayed names the counts
    that moved (reasoning tokens taking completion tokens' place), in the text, the comment and the JSON."""
    old = stream_recording(test_id=TEST_ID, text="Same.")
    new = stream_recording(test_id=TEST_ID, text="Same.")
    old["response"]["body"][-2]["__data__"]["choices"][0]["finish_reason"] = "length"
    details = {"reasoning_tokens": 4}
    new["response"]["body"][-1]["__data__"]["usage"] = {"prompt_tokens": 10, "completion_tokens": 5,
                                                         "total_tokens": 15, "completion_tokens_details": details}  # fmt: skip
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write(old_dir, "inference", old, name="a.json")
    write(new_dir, "inference", new, name="a.json")
    report = diffing.diff_folders(old=old_dir, new=new_dir)
    [found] = report.diffs
    assert {"finish-changed", "usage-changed"} <= set(found.categories), found.categories
    for text in (diff_render.as_text(report), diff_render.as_markdown(report)):
        assert "finish: length -> stop" in text and "tokens 15 -> 15 (+0; reasoning_tokens +4)" in text, text
    [row] = orjson.loads(diffing.as_json(report))["recordings"]
    assert row["finish_before"] == ["length"] and row["finish_after"] == ["stop"]
    assert row["usage_delta"]["reasoning_tokens"] == 4 and row["usage_delta"]["total_tokens"] == 0
