"""Hostile input: a folder of bad files indexes to the end, each bad file listed with a clear error,
no page answers 500, nothing outside the root is read, and markup never runs."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from recorder_ui import indexer
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording

pytestmark = pytest.mark.django_db
SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _build(tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    root.mkdir()
    good = stream_recording(test_id="tests/integration/a/test_a.py::test_ok", text="fine")

    def put(name: str, data: bytes | str) -> None:
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode())

    put("empty.json", b"")
    put("truncated.json", json.dumps(good)[:200])
    put("binary.json", bytes(range(256)) * 4)
    put("latin1.json", '{"test_id": "caf\xe9"}'.encode("latin-1"))
    put("not-object.json", "[1, 2, 3]")
    put("wrong-types.json", json.dumps({"test_id": 5, "request": "x", "response": [], "id_normalization_mapping": 7}))
    wrong_inner = json.loads(json.dumps(good))
    wrong_inner["response"]["body"][0]["__data__"]["choices"] = {"not": "a list"}
    put("wrong-inner.json", json.dumps(wrong_inner))
    put("deep.json", "[" * 10_000 + "]" * 10_000)
    big = stream_recording(test_id="tests/x.py::test_big", text="short answer")
    big["request"]["body"]["messages"] = [{"role": "user", "content": "y" * (5 * 1024 * 1024)}]  # a 5 MB string
    put("big-string.json", json.dumps(big))
    put("nan.json", '{"test_id": "t", "request": {"body": {"temperature": NaN}}, "response": {"body": null}}')
    put("dupes.json", '{"test_id": "a", ' + json.dumps({**good, "test_id": "b"})[1:])
    put("bom.json", b"\xef\xbb\xbf" + json.dumps(good).encode())
    put("surrogate.json", '{"test_id": "\\ud800", "request": {}, "response": {"body": null}}')
    put("name with spaces ünïcødé.json", json.dumps(good))
    markup = stream_recording(test_id=f"tests/integration/a/test_{XSS}.py::test_{XSS}[{XSS}]", text=XSS,
                              tool=(f"tool{XSS}", json.dumps({"q": XSS})), model=f"model{XSS}")  # fmt: skip
    markup["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": XSS}, {"type": "image_url", "image_url": {"url": f"javascript:alert(1)//{XSS}"}},
        {"type": "image_url", "image_url": {"url": "https://tracker.example.org/pixel.png"}}]}]  # fmt: skip
    put(f"markup{XSS.replace('/', '')}.json", json.dumps(markup))
    (root / "x.json").mkdir()  # a directory with a recording's name
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(stream_recording(test_id="tests/x.py::test_secret", text=SECRET)))
    os.symlink(outside, root / "link-out.json")
    os.symlink(root / "loop", root / "loop")  # a symlink loop
    os.symlink(root, root / "subdir-loop")  # a folder loop
    huge = root / "huge.json"
    with open(huge, "wb") as handle:  # 60 MB, over the cap set below
        handle.write(b'{"test_id": "t", "pad": "')
        handle.write(b"z" * (60 * 1024 * 1024))
        handle.write(b'"}')
    return root


def test_a_folder_of_bad_files_indexes_to_the_end(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_RECORDING_BYTES = 20 * 1024 * 1024
    root = _build(tmp_path)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = indexer.index_recordings(root=root, name="hostile")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    failed = {f.path: f.error for f in report.failed}
    assert failed["empty.json"] == "empty file"
    assert "not valid JSON" in failed["truncated.json"]
    assert "not valid" in failed["binary.json"] and "UTF-8" in failed["latin1.json"]
    assert "top level is a list" in failed["not-object.json"]
    assert "is a number" in failed["wrong-types.json"] or "is not an object" in failed["wrong-types.json"]
    assert failed["wrong-inner.json"]
    assert "nested too deeply" in failed["deep.json"]
    assert "NaN" in failed["nan.json"]
    assert failed["surrogate.json"]
    assert failed["huge.json"].startswith("too large")
    assert grown_mb < 150  # the 60 MB file was never read whole
    for fine in ("bom.json", "dupes.json", "big-string.json", "name with spaces ünïcødé.json"):
        assert fine not in failed, fine
    skipped = {s.path: s.error for s in report.skipped}
    assert "outside the root" in skipped["link-out.json"]
    assert not RecordingEntry.objects.filter(path__in=["x.json", "link-out.json"]).exists()
    assert not RecordingEntry.objects.filter(search_text__contains=SECRET).exists()
    assert RecordingEntry.objects.get(path="dupes.json").test_id == "b"  # the last duplicate key wins, as in Python
    assert len(RecordingEntry.objects.get(path="big-string.json").search_text) <= indexer.SEARCH_TEXT_LIMIT


def test_no_page_answers_500_and_markup_never_runs(tmp_path: Path, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_RECORDING_BYTES = 20 * 1024 * 1024
    indexer.index_recordings(root=_build(tmp_path), name="hostile")
    pages = [
        "/",
        "/recordings/",
        "/recordings/?errors=yes",
        "/tests/",
        "/missing-usage/",
        "/errors/",
        "/recordings.json",
        "/recordings/?" + urlencode({"q": XSS}),
        "/recordings/?" + urlencode({"model": XSS, "sort": XSS, "page": XSS}),
    ]
    for entry in RecordingEntry.objects.all():
        pages += [
            f"/recordings/{entry.pk}/",
            f"/recordings/{entry.pk}.json",
            f"/recordings/{entry.pk}/chunks/",
            f"/recordings/{entry.pk}/raw/",
        ]
        if entry.test_id:
            pages += ["/test/?" + urlencode({"id": entry.test_id}), "/test.json?" + urlencode({"id": entry.test_id})]
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        body = response.content.decode("utf-8", "replace")
        assert SECRET not in body, url
        if response["Content-Type"].startswith("text/html"):
            assert "<script>alert" not in body and "<img src=x" not in body, url
            assert 'src="javascript:' not in body and 'tracker.example.org/pixel.png"' not in body.replace(
                'href="https://tracker.example.org/pixel.png"', ""
            )  # a link, never an <img src>
    markup = RecordingEntry.objects.get(path__startswith="markup")
    body = client.get(f"/recordings/{markup.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert '<img class="thumb"' not in body  # neither URL is a data: image


@pytest.mark.parametrize(
    "url",
    [
        "/recordings/../../../etc/passwd",
        "/recordings/%2e%2e%2f%2e%2e%2fetc%2fpasswd/",
        "/recordings/-1/",
        "/recordings/1%00/",
        "/recordings/" + "9" * 40 + "/",
        "/recordings/" + "9" * 40 + "/raw/",
        "/test/?id=" + quote("../../etc/passwd"),
        "/test/?id=%00",
        "/diff/pair/?base=..&head=..&key=../../etc/passwd",
        "/diff/?base=" + quote("--output=/tmp/pwned"),
        "/diff/?base=HEAD&path=" + quote("../../etc"),
        "/static/../settings.py",
        "/static/%2e%2e/manage.py",
    ],
)
def test_path_traversal_never_reads_outside(client: Client, url: str, tmp_path: Path) -> None:
    indexer.index_recordings(root=Path(__file__).resolve().parent.parent / "recordings", name="samples")
    response = client.get(url)
    assert response.status_code in (200, 400, 404), response.status_code
    body = response.content.decode("utf-8", "replace")
    assert "root:x:0:0" not in body and "SECRET_KEY" not in body and "import os" not in body
    assert not Path("/tmp/pwned").exists()


def test_a_row_whose_path_leaves_the_root_is_never_read(tmp_path: Path, client: Client) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    (root / "a.json").write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text="ok")))
    (tmp_path / "secret.json").write_text(json.dumps(stream_recording(test_id="tests/a.py::test_a", text=SECRET)))
    indexer.index_recordings(root=root, name="r")
    RecordingEntry.objects.update(path="../secret.json")  # a tampered or stale row
    entry = RecordingEntry.objects.get()
    for url in (f"/recordings/{entry.pk}/", f"/recordings/{entry.pk}/raw/", f"/recordings/{entry.pk}/raw/?download=1"):
        response = client.get(url)
        assert response.status_code in (200, 404) and SECRET not in response.content.decode()
