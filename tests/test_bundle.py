"""The static HTML diff bundle (diff_recordings --format html) on a real git repository in a temporary folder."""

from __future__ import annotations

import io
import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from recorder_ui import bundle, diffing
from recorder_ui.domain import gitsource
from tests.builders import stream_recording

AREA = "tests/integration/inference/recordings"
TID = "tests/integration/inference/test_chat.py::test_{}[txt=openai/gpt-4o-mini]"
HOSTILE_TID = "tests/integration/inference/test_chat.py::test_<script>alert('id')</script>"
ODD_NAME = os.fsdecode(b"latin1-\xe9-name.json")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", "-C", str(repo), *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _write(repo: Path, name: str, rec: dict[str, Any]) -> None:
    path = repo / AREA / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=2) + "\n")


def _noisy(rec: dict[str, Any]) -> dict[str, Any]:
    for c in rec["response"]["body"]:
        c["__data__"]["obfuscation"] = "changed"
        c["__data__"]["system_fingerprint"] = "fp_new"
    return rec


def build_repo(root: Path) -> Path:
    """main, then rerecord: a noise-only pair, a changed answer, a hostile test id and answer, a tool call,
    a file whose name is not UTF-8, a removed and an added file; one uncommitted re-recording on top."""
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _write(root, "noise.json", stream_recording(test_id=TID.format("noise"), text="Stable answer here."))
    _write(root, "answer.json", stream_recording(test_id=TID.format("answer"), text="The capital is Paris."))
    _write(root, "hostile.json", stream_recording(test_id=HOSTILE_TID, text="Plain words."))
    _write(root, "tool.json", stream_recording(test_id=TID.format("tool"), text="", tool=("get_weather", '{"c": 1}')))
    _write(root, ODD_NAME, stream_recording(test_id=TID.format("odd"), text="Before."))
    gone = [{"role": "user", "content": "Old question"}]
    _write(root, "deleted.json", stream_recording(test_id=TID.format("deleted"), text="Gone.", messages=gone))
    _write(root, "dirty.json", stream_recording(test_id=TID.format("dirty"), text="Committed text."))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "before")
    _git(root, "checkout", "-q", "-b", "rerecord")
    _write(root, "noise.json", _noisy(stream_recording(test_id=TID.format("noise"), text="Stable answer here.")))
    _write(root, "answer.json", stream_recording(test_id=TID.format("answer"), text="The capital is Lyon."))
    hostile = "<script>alert('answer')</script><img src=x onerror=alert(1)> http://example.org/x"
    _write(root, "hostile.json", stream_recording(test_id=HOSTILE_TID, text=hostile))
    _write(root, "tool.json", stream_recording(test_id=TID.format("tool"), text="", tool=("get_weather", '{"c": 2}')))
    _write(root, ODD_NAME, stream_recording(test_id=TID.format("odd"), text="After \ud800."))
    (root / AREA / "deleted.json").unlink()
    new = [{"role": "user", "content": "New question"}]
    _write(root, "added.json", stream_recording(test_id=TID.format("added"), text="Brand new.", messages=new))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "re-record")
    _write(root, "dirty.json", stream_recording(test_id=TID.format("dirty"), text="Uncommitted text."))
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return build_repo(tmp_path / "llama-stack")


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("diff_recordings", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _bundle(repo: Path, out: Path, *args: str) -> str:
    return _command("main", "rerecord", "--repo", str(repo), "--format", "html", "--output", str(out), *args)


def _files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


class _Page(HTMLParser):
    """Every tag's attributes, and each link's href with whether a closed <details> holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.links: list[tuple[str, bool]] = []
        self._details: list[bool] = []  # open or not, innermost last

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "details":
            self._details.append("open" in dict(attrs))
        elif tag == "a" and (href := dict(attrs).get("href")):
            self.links.append((href, not all(self._details)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self._details:
            self._details.pop()


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))  # the bundle is UTF-8 through and through
    return page


def test_bundle_has_an_index_a_stylesheet_and_a_page_for_every_pair(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "artifact" / "diff"  # created, parents too
    said = _bundle(repo, out)
    report = diffing.diff_revisions(repo=repo, base="main", head="rerecord")
    pages = {f"pairs/{n:04d}.html" for n in range(1, len(report.diffs) + 1)}
    assert len(report.diffs) == 7 and _files(out) == {"index.html", "bundle.css", *pages}
    assert f"and {len(pages)} pair pages (1 noise-only)" in said
    index = _parse(out / "index.html")
    assert {href for href, _ in index.links} == pages | {"index.html"}
    for name in pages:
        page = _parse(out / name)
        hrefs = {href for href, _ in page.links}
        assert "../index.html" in hrefs, name
        assert all((out / name).parent.joinpath(h).resolve().is_file() for h in hrefs), name
    assert ("link", {"rel": "stylesheet", "href": "../bundle.css"}) in _parse(out / "pairs/0001.html").tags
    assert (out / "bundle.css").read_text().startswith(f"/* {bundle.MARK} */")
    assert ".worddiff del" in (out / "bundle.css").read_text()  # the app's stylesheet, copied in


def test_bundle_pages_show_the_semantic_view_of_their_pair(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _bundle(repo, out)
    pages = {p.name: p.read_text() for p in (out / "pairs").iterdir()}
    [answer] = [t for t in pages.values() if "test_answer" in t]
    assert "<del>Paris</del>" in answer and "<ins>Lyon</ins>" in answer and "raw JSON diff" in answer
    [tool] = [t for t in pages.values() if "test_tool" in t]
    assert "tool_calls[0].arguments.c" in tool
    [odd] = [t for t in pages.values() if "test_odd" in t]
    assert "latin1-\\xe9-name.json" in odd  # the escaped name as text; the page itself has a generated name
    assert "<ins>After \\ud800</ins>" in odd  # a lone surrogate, which UTF-8 cannot hold, written as text
    assert all(n[:4].isdigit() for n in pages)


def test_noise_only_pairs_are_folded_and_counted_but_linked(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _bundle(repo, out)
    text = (out / "index.html").read_text()
    assert "1 noise-only pair folded" in text and "noise-only 1" in text
    links = dict(_parse(out / "index.html").links)
    report = diffing.diff_revisions(repo=repo, base="main", head="rerecord")
    folded = {href for href, closed in links.items() if closed}
    assert len(folded) == 1
    [noise_page] = folded
    assert "test_noise" in (out / noise_page).read_text() and "Only noise differs" in (out / noise_page).read_text()
    assert len(links) - 2 == len(report.changed())  # the others are in view (less index.html and the noise one)


def test_recorded_markup_is_escaped_everywhere(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _bundle(repo, out)
    for name in _files(out) - {"bundle.css"}:
        page = _parse(out / name)
        assert not [t for t, _ in page.tags if t in ("script", "img", "iframe", "object", "embed")], name
        assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")], name
    index = (out / "index.html").read_text()
    assert "test_&lt;script&gt;alert(&#x27;id&#x27;)&lt;/script&gt;" in index
    [hostile] = [p.read_text() for p in (out / "pairs").iterdir() if "alert(&#x27;answer&#x27;)" in p.read_text()]
    assert "<ins>&lt;script&gt;alert(&#x27;answer&#x27;)&lt;/script&gt;&lt;img</ins>" in hostile
    assert "onerror=alert(1)&gt;" in hostile
    assert "<script" not in hostile and "<img" not in hostile


def test_no_file_refers_to_anything_outside_the_bundle(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _bundle(repo, out)
    css = (out / "bundle.css").read_text().lower()
    assert "url(" not in css and "@import" not in css and "http" not in css
    for name in _files(out) - {"bundle.css"}:
        page = _parse(out / name)
        refs = [v or "" for _, attrs in page.tags for k, v in attrs.items() if k in ("href", "src", "action")]
        assert refs and all(":" not in r and not r.startswith("/") for r in refs), (name, refs)
        [csp] = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in csp and "script-src" not in csp
        # Recorded text may name a URL (the request's, or an answer's): as text only, never as an attribute.
        assert "://" not in "".join(str(v) for _, attrs in page.tags for v in attrs.values())


def test_head_defaults_to_the_working_tree_and_folders_work(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "worktree"
    _command("rerecord", "--repo", str(repo), "--format", "html", "--output", str(out))
    assert _files(out) == {"index.html", "bundle.css", "pairs/0001.html"}
    assert "<ins>Uncommitted</ins> text." in (out / "pairs/0001.html").read_text()
    assert "<code>worktree</code>" in (out / "index.html").read_text()
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, text in ((old, "one"), (new, "two")):
        folder.mkdir()
        (folder / "a.json").write_text(json.dumps(stream_recording(test_id=TID.format("f"), text=text)))
    _command(str(old), str(new), "--folders", "--format", "html", "--output", str(tmp_path / "folders"))
    assert "<del>one</del><ins>two</ins>" in (tmp_path / "folders" / "pairs/0001.html").read_text()


def test_a_previous_bundle_is_replaced_and_a_fail_on_still_writes(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _bundle(repo, out)
    assert len(_files(out)) == 9
    before = gitsource.WORKTREE  # a smaller diff into the same folder: no page of the old one is left
    said = _command("rerecord", before, "--repo", str(repo), "--format", "html", "--output", str(out))
    assert "the previous bundle was replaced" in said and _files(out) == {"index.html", "bundle.css", "pairs/0001.html"}
    with pytest.raises(SystemExit) as failed:
        _bundle(repo, out, "--fail-on", "content-changed")
    assert failed.value.code == 1 and len(_files(out)) == 9


def test_bad_outputs_are_refused_and_left_alone(repo: Path, tmp_path: Path) -> None:
    for args, message in (
        (("--format", "html"), "needs --output"),
        (("--output", str(tmp_path / "x")), "only for --format html"),
        (("--format", "json", "--output", str(tmp_path / "x")), "only for --format html"),
    ):
        with pytest.raises(CommandError, match=message):
            _command("main", "rerecord", "--repo", str(repo), *args)
    assert not (tmp_path / "x").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match="not empty and does not hold a previous bundle"):
        _bundle(repo, mine)
    assert _files(mine) == {"notes.txt"}
    out = tmp_path / "out"
    _bundle(repo, out)
    (out / "pairs" / "9999.html").write_text("<p>not from a bundle</p>")  # a page name without the mark
    with pytest.raises(CommandError, match="pairs/9999.html"):
        _bundle(repo, out)
    assert len(_files(out)) == 10
    (tmp_path / "file").write_text("")
    with pytest.raises(CommandError, match="not a folder"):
        _bundle(repo, tmp_path / "file")
    with pytest.raises(CommandError, match="inside a recordings folder"):
        _bundle(repo, repo / AREA / "review")
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    with pytest.raises(CommandError, match="inside the recordings folder"):
        _command(str(old), str(new), "--folders", "--format", "html", "--output", str(new / "review"))
    assert not (repo / AREA / "review").exists() and not (new / "review").exists()
    with pytest.raises(CommandError, match="unknown revision"):
        _command("nope", "--repo", str(repo), "--format", "html", "--output", str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
