"""Hostile input: a folder of bad files indexes to the end, each bad file listed with a clear error,
no page answers 500, nothing outside the root is read, memory stays bounded, and markup never runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, get_resolver

from recorder_ui import indexer
from recorder_ui.domain import paths
from recorder_ui.indexer import entries, pool, writer
from recorder_ui.models import RecordingEntry
from tests import hostile
from tests.builders import stream_recording

pytestmark = pytest.mark.django_db
MiB = 1024 * 1024


def _everything_stored() -> str:
    """Every value of every row of every table, as one string: to prove what never got in."""
    values = []
    for model in apps.get_models():
        for row in model.objects.values_list():
            values.extend(str(value) for value in row)
    return "\n".join(values)


def test_a_folder_of_bad_files_indexes_to_the_end(tmp_path: Path) -> None:
    tree = hostile.build(tmp_path)
    with hostile.OpenWatch(tree.outside) as watch:
        report = indexer.index_recordings(root=tree.root, name="hostile", max_bytes=20 * MiB)
    failed = {Path(f.path).name: f.error for f in report.failed}
    for name, piece in tree.failing.items():
        assert name in failed, name
        assert piece in failed[name], (name, failed[name])
    for name, error in failed.items():
        assert error and "\n" not in error and len(error) < 400 and "Traceback" not in error, (name, error)
    for name in tree.readable:
        assert name not in failed, (name, failed.get(name))

    # A value of the wrong type anywhere: the file is indexed, either as read or with an error naming the field.
    for name, field in tree.wrong_types.items():
        if name in failed:
            assert failed[name].startswith("wrong type at "), (field, failed[name])
            assert field.rsplit(".", 1)[-1].removeprefix("__") in failed[name], (field, failed[name])
    assert {tree.wrong_types[n] for n in failed.keys() & tree.wrong_types.keys()} >= {"test_id", "request", "response"}
    indexed = {Path(p).name for p in RecordingEntry.objects.values_list("path", flat=True)}
    assert set(tree.wrong_types) <= indexed

    skipped = {Path(s.path).name: s.error for s in report.skipped}
    assert "outside the root" in skipped["link-out.json"]
    assert "loop.json" in skipped  # a symlink to itself: listed, not followed
    assert not indexed & {"x.json", "link-out.json", "loop.json"}
    assert not any(
        "folder-out" in p or "subdir-loop" in p for p in RecordingEntry.objects.values_list("path", flat=True)
    )

    assert watch.opened == []  # the file outside the root was never even opened
    assert hostile.SECRET not in _everything_stored()
    assert RecordingEntry.objects.get(path__endswith="dupes.json").test_id == "b"  # the last duplicate key wins
    assert len(RecordingEntry.objects.get(path__endswith="big-string.json").search_text) <= indexer.SEARCH_TEXT_LIMIT


def _huge_only(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    root.mkdir(parents=True)
    with open(root / "huge.json", "wb") as handle:
        handle.write(b'{"test_id": "t", "pad": "')
        for _ in range(60):
            handle.write(b"z" * MiB)
        handle.write(b'"}')
    return root


@pytest.mark.parametrize("how", ["argument", "setting"])
def test_a_file_over_the_cap_is_refused_without_being_read_whole(tmp_path: Path, settings, how: str) -> None:  # type: ignore[no-untyped-def]
    root = _huge_only(tmp_path)
    settings.MAX_RECORDING_BYTES = 1 * MiB if how == "setting" else 20 * MiB
    tracemalloc.start()
    try:
        report = indexer.index_recordings(root=root, name="huge", max_bytes=1 * MiB if how == "argument" else None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    [failure] = report.failed
    assert failure.error.startswith("too large")
    assert peak < 8 * MiB, peak  # at most the cap (1 MiB) was read, never the 60 MiB


def _page_urls(entry: RecordingEntry) -> list[str]:
    """Every URL of the app that takes a recording id, for this entry; found from the URLconf, so new pages count."""
    urls = []
    for pattern in get_resolver().url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "<int:pk>" in route:
            urls.append("/" + route.replace("<int:pk>", str(entry.pk)))
    return urls


LIST_PAGES = [
    "/",
    "/overview.json",
    "/recordings/",
    "/recordings.json",
    "/recordings/?errors=yes",
    "/recordings/?missing=yes",
    "/recordings/?sort=-tokens",
    "/tests/",
    "/tests.json",
    "/missing-usage/",
    "/missing-usage.json",
    "/errors/",
    "/errors.json",
    "/recordings/?" + urlencode({"q": hostile.XSS}),
    "/recordings.json?" + urlencode({"q": hostile.XSS}),
    "/recordings/?" + urlencode({"model": hostile.XSS, "sort": hostile.XSS, "page": hostile.XSS}),
    "/tests/?" + urlencode({"q": hostile.XSS, "page": "-1"}),
]


def _check(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    body = response.content.decode("utf-8", "replace")
    assert hostile.SECRET not in body, url
    content_type = response["Content-Type"]
    if content_type.startswith("text/html"):
        assert "<script>alert" not in body and hostile.markup_problems(body) == [], url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
    else:
        assert content_type.startswith("application/json"), (url, content_type)  # never sniffed as HTML
        assert response["X-Content-Type-Options"] == "nosniff", url
    return body


def test_no_page_answers_500_and_markup_never_runs(tmp_path: Path, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_RECORDING_BYTES = 1 * MiB
    tree = hostile.build(tmp_path)
    indexer.index_recordings(root=tree.root, name="hostile")
    urls = list(LIST_PAGES)
    for entry in RecordingEntry.objects.all():
        urls += _page_urls(entry)
        if entry.test_id:
            urls += ["/test/?" + urlencode({"id": entry.test_id}), "/test.json?" + urlencode({"id": entry.test_id})]
            urls += ["/recordings/?" + urlencode({"test_id": entry.test_id, "suite": entry.suite})]
    assert len(urls) > 500
    with hostile.OpenWatch(tree.outside) as watch:
        for url in urls:
            _check(client, url)
    assert watch.opened == []

    markup = RecordingEntry.objects.get(path__contains="/markup")
    body = client.get(f"/recordings/{markup.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert '<img class="thumb"' not in body  # neither URL is a data: image
    raw = client.get(f"/recordings/{markup.pk}/raw/").content.decode()
    assert "&lt;script&gt;" in raw and "<script>alert" not in raw


def test_pages_for_a_file_that_grew_past_the_cap_stay_small(tmp_path: Path, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_RECORDING_BYTES = 1 * MiB
    root = tmp_path / "recordings"
    root.mkdir()
    path = root / "a.json"
    path.write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text="small")))
    indexer.index_recordings(root=root, name="r")
    entry = RecordingEntry.objects.get()
    path.unlink()
    _huge_only(tmp_path / "later")
    os.rename(tmp_path / "later" / "recordings" / "huge.json", path)  # grown since it was indexed
    tracemalloc.start()
    try:
        for url in _page_urls(entry) + [f"/recordings/{entry.pk}/raw/?download=1"]:
            assert client.get(url).status_code in (200, 404), url
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, peak


def _git_root(tmp_path: Path) -> Path:
    """The hostile tree committed to a git repository, so the diff pages have revisions to be attacked with."""
    tree = hostile.build(tmp_path, huge=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hostile"]):
        subprocess.run([*git, *args], cwd=tree.root, check=True, capture_output=True, timeout=60)
    indexer.index_recordings(root=tree.root, name="hostile")
    return tree.root


TRAVERSALS = [
    "../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "\\\\server\\share",
    "file:///etc/passwd",
    "--output=/tmp/recorder-ui-pwned",
    "-c core.pager=touch /tmp/recorder-ui-pwned",
    "HEAD:../../../etc/passwd",
    "HEAD~99999999999999999999",
    "9" * 300,
    "x" * 5000,
    "é\u202e\ufeff",
]
PATH_URLS = [
    "/recordings/{}/",
    "/recordings/{}.json",
    "/recordings/{}/raw/",
    "/recordings/{}/raw.json",
    "/recordings/{}/chunks/",
]
QUERY_URLS = [
    "/test/?id={}",
    "/test.json?id={}",
    "/test/?id=x&root={}",
    "/recordings/?root={}",
    "/recordings/?test_file={}",
    "/recordings/?page={}",
    "/diff/?base={}",
    "/diff/?base=HEAD&head={}",
    "/diff/?base=HEAD&path={}",
    "/diff/?base=HEAD&root={}",
    "/diff.json?base={}",
    "/diff.json?base=HEAD&path={}",
    "/diff/pair/?base=HEAD&head=HEAD&key={}",
    "/diff/pair/?base={}&head=HEAD&key=x",
    "/static/{}",
]


def test_path_traversal_never_reads_outside(tmp_path: Path, client: Client) -> None:
    _git_root(tmp_path)
    urls = [template.format(quote(attack, safe="")) for template in PATH_URLS for attack in TRAVERSALS]
    urls += [template.format(quote(attack, safe="")) for template in QUERY_URLS for attack in TRAVERSALS]
    urls += [template.format(attack) for template in PATH_URLS for attack in ("..", "../..", "-1", "0x10", "1e3")]
    urls += [
        "/recordings/../../../etc/passwd",
        "/static/../recorder_ui/settings.py",
        "/static/%2e%2e/manage.py",
        "/recordings/1%00/",
        "/test/?id=%00",
        "/diff/?base=HEAD%00",
        "/recordings/" + "9" * 40 + "/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        body = response.content.decode("utf-8", "replace")
        assert "root:x:0:0" not in body and "SECRET_KEY" not in body and "[fonts]" not in body, url
        assert hostile.SECRET not in body, url
    assert not Path("/tmp/recorder-ui-pwned").exists()


def test_a_row_whose_path_leaves_the_root_is_never_read(tmp_path: Path, client: Client) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    (root / "a.json").write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text="ok")))
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text=hostile.SECRET)))
    indexer.index_recordings(root=root, name="r")
    RecordingEntry.objects.update(path="../secret.json")  # a tampered or stale row
    entry = RecordingEntry.objects.get()
    with hostile.OpenWatch(secret) as watch:
        for url in _page_urls(entry) + [f"/recordings/{entry.pk}/raw/?download=1", "/test/?id=tests/a.py::test_a"]:
            response = client.get(url)
            assert response.status_code in (200, 404), url
            assert hostile.SECRET not in response.content.decode(), url
    assert watch.opened == []


@pytest.mark.parametrize("swap", ["file", "folder"])
def test_a_file_swapped_for_a_link_out_after_the_check_is_not_read_by_pages(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """The race a page could lose: the file (or its folder) becomes a link out of the root between the path
    check and the open. What is opened is checked, not what was looked at."""
    root = tmp_path / "recordings"
    (root / "sub").mkdir(parents=True)
    victim = root / "sub" / "a.json"
    victim.write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text="inside")))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.json").write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text=hostile.SECRET)))
    indexer.index_recordings(root=root, name="r")
    entry = RecordingEntry.objects.get()
    real_read = entries._read

    def swapped_then_read(path: Path, limit: int, real_root: Path):  # type: ignore[no-untyped-def]
        if swap == "file" and not victim.is_symlink():
            victim.unlink()
            victim.symlink_to(outside / "a.json")
        elif swap == "folder" and not victim.parent.is_symlink():
            victim.unlink()
            victim.parent.rmdir()
            victim.parent.symlink_to(outside, target_is_directory=True)
        return real_read(path, limit, real_root)

    monkeypatch.setattr(entries, "_read", swapped_then_read)  # what read_entry calls
    with hostile.OpenWatch(outside / "a.json") as watch:
        for url in _page_urls(entry) + [f"/recordings/{entry.pk}/raw/?download=1", "/test/?id=tests/a.py::test_a"]:
            response = client.get(url)
            assert response.status_code in (200, 404), url
            assert hostile.SECRET not in response.content.decode(), url
    assert watch.opened == []


def test_the_markup_check_sees_what_could_run() -> None:
    assert hostile.markup_problems(hostile.XSS) and hostile.markup_problems('<a href=" JavaScript:x">')
    assert hostile.markup_problems('<img src="https://tracker.example.org/p.png">')
    assert not hostile.markup_problems('<pre>&lt;script&gt;</pre><script src="/static/x.js"></script>')


def test_a_file_turned_into_a_symlink_loop_after_indexing_gets_a_clear_error(tmp_path: Path, client: Client) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    victim = root / "a.json"
    victim.write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text="ok")))
    indexer.index_recordings(root=root, name="r")
    entry = RecordingEntry.objects.get()
    victim.unlink()
    victim.symlink_to(root / "b.json")
    (root / "b.json").symlink_to(victim)
    for url in _page_urls(entry) + ["/test/?id=tests/a.py::test_a"]:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
    body = client.get(f"/recordings/{entry.pk}/").content.decode()
    assert "symlink loop" in body


def test_names_that_are_not_text_are_each_their_own_entry_and_open_their_own_file(
    tmp_path: Path, client: Client
) -> None:
    tree = hostile.build(tmp_path, huge=False)
    report = indexer.index_recordings(root=tree.root, name="hostile")
    rows = {e.path: e for e in RecordingEntry.objects.all()}
    folder = "tests/integration/hostile/recordings/"
    for name in tree.odd_names:
        shown = paths.escape(name)
        assert folder + shown in rows, shown  # one entry each: NFC and NFD twins, 0x80..0xff, newline, ".json"
        assert shown.isprintable() and paths.unescape(shown) == name
        entry = rows[folder + shown]
        assert not entry.parse_error, (shown, entry.parse_error)
        on_disk = (tree.recordings / name).read_bytes()
        download = client.get(f"/recordings/{entry.pk}/raw/?download=1")
        assert download.status_code == 200 and download.content == on_disk
        listed = client.get(f"/recordings/{entry.pk}.json").json()
        assert listed["path"] == folder + shown
    assert len({paths.escape(n) for n in tree.odd_names}) == len(tree.odd_names)
    latin1 = folder + "latin1-\\xe9-name.json"
    assert latin1 in rows and folder + "back\\\\slash-\\\\xe9.json" in rows  # look alike, but two files
    assert "latin1-\\xe9-name.json" in client.get(f"/recordings/{rows[latin1].pk}/").content.decode()
    assert all(f.path.isprintable() for f in (*report.failed, *report.skipped))


def test_values_no_column_holds_are_kept_and_flagged_not_clamped(tmp_path: Path, client: Client) -> None:
    tree = hostile.build(tmp_path, huge=False)
    indexer.index_recordings(root=tree.root, name="hostile")
    rows = {Path(e.path).name: e for e in RecordingEntry.objects.all()}
    assert set(tree.extreme) <= set(rows)  # every file has its row, whatever it holds
    big = [n for n, f in tree.extreme.items() if f.endswith("usage.prompt_tokens=1180591620717411303424")]
    assert big, "the sweep reaches the usage chunk"
    for name in big:
        entry = rows[name]
        assert entry.prompt_tokens is None and entry.completion_tokens == 5  # left out of totals, not clamped
        assert "1180591620717411303424" in entry.error and "beyond" in entry.error
        page = client.get(f"/recordings/{entry.pk}/").content.decode()
        assert "1180591620717411303424" in page or "1,180,591,620,717,411,303,424" in page  # shown as recorded
        assert "<strong>In the index:</strong> usage prompt_tokens is 1180591620717411303424: beyond" in page
        assert client.get(f"/recordings/{entry.pk}.json").json()["usage"]["prompt_tokens"] == 2**70
    negative = [n for n, f in tree.extreme.items() if f.endswith("usage.prompt_tokens=-1180591620717411303424")]
    assert negative, "the sweep gives the usage chunk a negative count too"
    for name in negative:  # no real count is negative: out of every total, and said so
        assert rows[name].prompt_tokens is None and "no real count is negative" in rows[name].error
    lone = [n for n, f in tree.extreme.items() if f.startswith("test_id=") and "ud800" in f]
    assert lone and not rows[lone[0]].parse_error
    assert "\\ud800" in rows[lone[0]].test_id  # kept, as visible text
    nul = [n for n, f in tree.extreme.items() if f.startswith("test_id=") and "x00" in f]
    assert nul and "\x00" not in rows[nul[0]].test_id and "\\x00" in rows[nul[0]].test_id
    overview = client.get("/overview.json")
    assert overview.status_code == 200


@pytest.mark.parametrize("when", ["new", "changed"])
def test_a_row_the_database_refuses_becomes_an_error_row_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    for number in range(5):
        (root / f"r{number}.json").write_text(json.dumps(stream_recording(test_id=f"tests/t.py::t{number}")))
    real = pool.entry_values

    def refused(rec, *, rel_path):  # type: ignore[no-untyped-def]
        values = real(rec, rel_path=rel_path)
        if rel_path == "r2.json" and not rec.error:  # the error row that replaces it is storable
            values["chunk_count"] = 2**70  # what no integer column takes: the driver raises OverflowError
        return values

    if when == "changed":  # indexed as it is first, then refused when its changed bytes are written over it
        indexer.index_recordings(root=root, name="r")
        (root / "r2.json").write_text(json.dumps(stream_recording(test_id="tests/t.py::t2", text="Changed")))
    monkeypatch.setattr(pool, "entry_values", refused)  # the parse
    monkeypatch.setattr(writer, "entry_values", refused)  # the error row that replaces a refused one
    report = indexer.index_recordings(root=root, name="r")
    monkeypatch.undo()
    assert RecordingEntry.objects.count() == 5
    bad = RecordingEntry.objects.get(path="r2.json")
    assert bad.parse_error.startswith("cannot be stored in the index") and bad.kind == "invalid"
    assert bad.parsed_by == ""  # not what a parse of its bytes gives: never copied to another root
    assert [f.path for f in report.failed] == ["r2.json"]
    assert all(not e.parse_error for e in RecordingEntry.objects.exclude(path="r2.json"))


def _commands_env() -> dict[str, str]:
    return {**os.environ, "RECORDER_UI_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "recorder_ui.settings"}


PROJECT = Path(__file__).resolve().parent.parent


def test_commands_on_hostile_files_never_print_a_traceback(tmp_path: Path) -> None:
    """Every hostile file through show_recording (text and JSON) and check_recordings --format json, in one
    process for speed; then a sample of them through manage.py itself, one process a command."""
    tree = hostile.build(tmp_path, huge=False)
    files = sorted(p for p in tree.recordings.iterdir() if p.is_file() and not p.is_symlink())
    assert len(files) > 350  # every bad file, odd name and extreme value the builder makes
    run = subprocess.run(
        [sys.executable, "-m", "tests.run_commands", *(os.fsencode(p).hex() for p in files)],
        env=_commands_env(), capture_output=True, timeout=600, cwd=PROJECT,
    )  # fmt: skip
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    out = run.stdout.decode("utf-8")  # all of it is text: nothing undecodable is ever printed
    assert "latin1-\\x80-name.json" in out

    sample = [tree.recordings / n for n in (*tree.odd_names[:2], *tree.odd_names[-4:])]
    sample += [tree.recordings / n for n in (*list(tree.extreme)[::40], "empty.json", "binary.json", "deep.json")]
    for path in sample:
        for options in (["--format", "json"], []):
            one = subprocess.run(
                [sys.executable, "manage.py", "show_recording", os.fsencode(path), *options],
                env=_commands_env(), capture_output=True, timeout=120, cwd=PROJECT,
            )  # fmt: skip
            assert one.returncode in (0, 1) and b"Traceback" not in one.stderr, (path, one.stderr[-2000:])
            text = one.stdout.decode("utf-8")
            if options:  # exit 1 exactly when the file is no readable recording
                assert (one.returncode == 1) == (_strict(text)["kind"] == "invalid"), (path, text[:500])


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_the_raw_twin_is_json_whatever_the_file_holds(tmp_path: Path, client: Client) -> None:
    """The file itself when it is strict JSON; what it holds, written as every twin writes it, when only Python's
    reader takes it (NaN, huge integers); else an object with the error and the text. The download stays the file."""
    tree = hostile.build(tmp_path, huge=False)
    indexer.index_recordings(root=tree.root, name="hostile")
    kinds = set()
    for entry in RecordingEntry.objects.all():
        response = client.get(f"/recordings/{entry.pk}/raw.json")
        if response.status_code == 404:
            continue  # a file the safe read refuses (a link out of the root): no twin to give
        body = _strict(response.content.decode())
        on_disk = (tree.root / paths.unescape(entry.path)).read_bytes()
        if response.content == on_disk:
            kinds.add("as it is")
        elif isinstance(body, dict) and "error" in body and set(body) == {"path", "error", "text"}:
            kinds.add("error")
            assert body["error"].startswith("not valid JSON")
        else:
            kinds.add("rewritten")
        download = client.get(f"/recordings/{entry.pk}/raw/", {"download": "1"})
        assert b"".join(download) == on_disk
    assert kinds == {"as it is", "error", "rewritten"}


def test_the_longest_values_the_index_keeps_are_found_by_their_links(tmp_path: Path, client: Client) -> None:
    """A query value is cut beyond what any column keeps, never shorter: a 512-character model picked in the
    filter finds its recording, and a test id over 2,400 bytes finds its test whole or as the index keeps it."""
    from tests.builders import stream_recording, write

    long_id = "tests/integration/inference/test_long.py::test_x[" + "é" * 2500 + "]"
    recording = stream_recording(test_id=long_id, text="Long.", model="m" * 512)
    write(tmp_path, "inference", recording)
    indexer.index_recordings(root=tmp_path, name="long")
    entry = RecordingEntry.objects.get()
    assert len(entry.test_id.encode()) <= 2400 and entry.model == "m" * 512
    assert client.get("/recordings.json", {"model": "m" * 512}).json()["total"] == 1
    for asked in (long_id, entry.test_id):
        page = client.get("/test.json", {"id": asked})
        assert page.status_code == 200 and page.json()["recordings"] == 1, len(asked)
    assert client.get("/recordings.json", {"test_id": entry.test_id}).json()["total"] == 1
    assert client.get("/recordings.json", {"test_id": long_id}).json()["total"] == 1
