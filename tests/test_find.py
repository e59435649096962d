"""The replay-miss finder on hand-made recordings indexed into the test database: the selector, the Find page
and its JSON twin, and find_recording (in process, and once through manage.py for the exit codes)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from recorder_ui import indexer, selectors
from recorder_ui.domain import hashing, replay
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, write

pytestmark = pytest.mark.django_db

TEST = "tests/integration/inference/test_chat.py::test_chat[txt=openai/gpt-4o]"
OTHER = "tests/integration/inference/test_chat.py::test_other[txt=openai/gpt-4o]"
XSS_TEST = 'tests/integration/agents/test_x.py::test_x[<script>alert("x")</script>]'
URL = "https://api.openai.com/v1/v1/chat/completions"
ABSENT = "e" * 64
TOOL_KWARGS = {"query": "What is the capital of France?", "max_results": 3}
HTMX = {"HTTP_HX_REQUEST": "true"}


def _chat(test_id: str | None, prompt: str, model: str = "gpt-4o", **body: Any) -> dict[str, Any]:
    rec = stream_recording(test_id=test_id, messages=[{"role": "user", "content": prompt}], model=model)
    rec["request"]["body"].update(body)
    return rec


def _key(rec: dict[str, Any]) -> str:
    return replay.key_of(rec, "x.json").hash


def _put(root: Path, area: str, rec: dict[str, Any], name: str = "") -> str:
    """Write a recording named by its replay key (or by name), and return its key."""
    key = _key(rec)
    write(root, area, rec, name=name or f"{key}.json")
    return key


def _git(repo: Path, *args: str, when: str = "") -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True, env=env)  # fmt: skip


def _commit(repo: Path, when: str) -> None:
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", f"recorded {when}", when=when)


def _tool() -> dict[str, Any]:
    request = {"test_id": OTHER, "provider": "tavily-search", "tool_name": "web_search", "kwargs": TOOL_KWARGS}
    body = {"__type__": "ogx_api.tools.ToolInvocationResult",
            "__data__": {"content": '{"results": []}', "error_message": None, "error_code": None, "metadata": None}}  # fmt: skip
    return {"test_id": OTHER, "request": request, "response": {"body": body, "is_streaming": False}}


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, str]:
    """A checkout in git: one test recorded four times over three commits and the work tree, plus odd cases."""
    root = tmp_path / "checkout"
    root.mkdir()
    _git(root, "init", "-q")
    keys = {}
    keys["mini"] = _put(root, "inference", _chat(TEST, "Say hello", model="gpt-4o-mini"))
    _commit(root, "2026-01-01T09:00:00Z")
    keys["first"] = _put(root, "inference", _chat(TEST, "Say hello"))
    keys["tool"] = _put(root, "tool_runtime", _tool())
    _commit(root, "2026-01-10T09:00:00Z")
    keys["second"] = _put(root, "inference", _chat(TEST, "Say hello twice"))
    # The rule before body normalisation: the float is hashed as written, so the name is an older rule's.
    older = _chat(OTHER, "Round me", temperature=0.1234567)
    canon = {
        "method": "POST",
        "endpoint": "/v1/v1/chat/completions",
        "body": older["request"]["body"],
        "test_id": OTHER,
    }
    keys["older"] = _put(root, "inference", older, name=f"{hashing.digest(canon)}.json")
    keys["older_name"] = hashing.digest(canon)
    _commit(root, "2026-02-20T09:00:00Z")
    keys["dirty"] = _put(root, "inference", _chat(TEST, "Say hello, thrice"))  # not committed: the newest
    # Two files whose names share a prefix (names no rule gives: mismatch), and markup in a test id.
    _put(root, "agents", _chat(XSS_TEST, "one"), name="deadbeef" + "0" * 55 + "1.json")
    _put(root, "agents", _chat(XSS_TEST, "two"), name="deadbeef" + "0" * 55 + "2.json")
    indexer.index_recordings(root=root, name="main")
    return keys


def _miss_log(digest: str, test_id: str = TEST, model: str = "gpt-4o", url: str = URL) -> str:
    lines = [f"E   RuntimeError: Recording not found for request hash: {digest}",
             f"E   Model: {model} | Request: POST {url}", "E",
             "E   Run './scripts/integration-tests.sh --inference-mode record-if-missing' with required API keys to generate."]  # fmt: skip
    if test_id:
        lines.append(f"FAILED {test_id} - RuntimeError: Recording not found for request hash: {digest}")
    return "\n".join(lines) + "\n"


def _path_of(key: str) -> str:
    return RecordingEntry.objects.get(replay_hash=key).path


# The selector.


def test_a_hash_that_exists_is_found_where_replay_looks(tree: dict[str, str]) -> None:
    report = selectors.find_misses(text=_miss_log(tree["first"]))
    [item] = report.misses
    assert report.resolved == 1 and report.unresolved == 0 and item.resolved
    [found] = item.found
    assert found.path == f"tests/integration/inference/recordings/{tree['first']}.json"
    assert found.replay_status == "current" and found.in_lookup_folder is True
    assert found.recency == "git" and found.recorded == "committed 2026-01-10 09:00 UTC"
    assert "replay finds it there" in item.summary and item.candidates == ()


def test_a_prefix_finds_its_recording_and_one_shared_by_two_lists_both(tree: dict[str, str]) -> None:
    [item] = selectors.find_misses(text=tree["second"][:10]).misses
    assert [c.path for c in item.found] == [_path_of(tree["second"])]
    assert item.summary.startswith(f"The prefix {tree['second'][:10]} matches")
    [both] = selectors.find_misses(text="DEADBEEF").misses
    assert len(both.found) == 2 and {c.replay_status for c in both.found} == {"mismatch"}
    assert both.summary.startswith("The prefix deadbeef matches 2 recordings")


def test_a_miss_of_a_test_with_other_recordings_lists_them_newest_first(tree: dict[str, str]) -> None:
    [item] = selectors.find_misses(text=_miss_log(ABSENT)).misses
    assert not item.resolved and item.found == () and item.candidates_of == "the test"
    assert item.folders == ("tests/integration/inference/recordings/", "tests/integration/common/recordings/")
    order = [c.replay_hash for c in item.candidates]
    assert order == [tree["dirty"], tree["second"], tree["first"], tree["mini"]] and item.candidate_total == 4
    dirty, second, _, mini = item.candidates
    assert dirty.recency == "work tree" and dirty.recorded.startswith("not committed")
    assert second.recorded == "committed 2026-02-20 09:00 UTC"
    assert mini.differs == ("body.model",)  # the log says gpt-4o
    assert dirty.differs == () and {p.name: p.verdict for p in dirty.parts}["body.messages"] == "unknown"
    assert item.summary.startswith(f"Replay looked for {ABSENT}.json in tests/integration/inference/recordings/ "
                                   "and tests/integration/common/recordings/; no file in the index carries it.")  # fmt: skip
    assert "The test has 4 recordings; the newest (not committed" in item.summary
    assert "a part the log does not show: body.messages" in item.summary


def test_a_miss_without_a_test_id_offers_the_models_recordings_at_that_path(tree: dict[str, str]) -> None:
    [item] = selectors.find_misses(text=_miss_log(ABSENT, test_id="")).misses
    assert item.candidates_of == "model gpt-4o at api.openai.com/v1/v1/chat/completions"  # same server first
    paths = {c.path for c in item.candidates}
    assert _path_of(tree["mini"]) not in paths and _path_of(tree["first"]) in paths
    assert all("test_id" not in c.differs for c in item.candidates)  # the test is unknown, so never judged
    assert item.folders == () and "the test's own recordings/ folder" in item.summary
    [elsewhere] = selectors.find_misses(
        text=_miss_log(ABSENT, test_id="", url="http://vllm:8000/v1/chat/completions")
    ).misses
    assert elsewhere.candidates_of == "model gpt-4o at /v1/chat/completions"  # no recording from that host
    assert all(c.differs == ("endpoint (the URL's path)",) for c in elsewhere.candidates if c.parts)


def test_a_file_under_an_older_rules_name_is_found_and_the_rename_said(tree: dict[str, str]) -> None:
    [item] = selectors.find_misses(text=_miss_log(tree["older"], test_id=OTHER)).misses
    [found] = item.found
    assert found.path.endswith(f"/{tree['older_name']}.json") and found.replay_status == "older-rule"
    assert item.resolved and f"Rename it to {tree['older']}.json" in item.summary


def test_a_tool_miss_is_found_by_the_hash_of_its_logged_kwargs(tree: dict[str, str]) -> None:
    log = f"E   RuntimeError: Recording not found for tavily-search.web_search | Request: {TOOL_KWARGS!r}\n"
    [item] = selectors.find_misses(text=log).misses
    assert [c.replay_hash for c in item.found] == [tree["tool"]]
    other = log.replace("France", "Peru")
    [missed] = selectors.find_misses(text=other).misses
    assert not missed.resolved and missed.candidates_of == "the tool tavily-search.web_search"
    assert [c.differs for c in missed.candidates] == [("kwargs",)]
    # Named by its test (whose chat calls are indexed too), a tool miss still compares with the tool's runs.
    [named] = selectors.find_misses(text=other + f"FAILED {TEST} - RuntimeError: Recording not found\n").misses
    assert named.miss.test_id == TEST and named.candidates_of == "the tool tavily-search.web_search"
    assert [c.replay_hash for c in named.candidates] == [tree["tool"]]


GENAI_TEST = (
    "tests/integration/responses/test_basic.py::test_basic[txt=vertexai/publishers/google/models/gemini-2.0-flash]"
)
GENAI_MODEL = "publishers/google/models/gemini-2.0-flash"


def _genai(prompt: str) -> dict[str, Any]:
    """A Google genai recording as the recorder writes it (format doc 4.10): a vertexai:// URL, raw dicts."""
    return {
        "test_id": GENAI_TEST,
        "request": {"method": "POST", "url": "vertexai:///generate_content", "headers": {},
                    "endpoint": "/generate_content", "model": GENAI_MODEL,
                    "provider_metadata": {"provider": "vertexai"},
                    "body": {"model": GENAI_MODEL, "contents": [{"role": "user", "parts": [{"text": prompt}]}]}},
        "response": {"is_streaming": False, "body": {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Paris."}]}, "finish_reason": "STOP"}],
            "usage_metadata": {"prompt_token_count": 9, "candidates_token_count": 2, "total_token_count": 11}}},
    }  # fmt: skip


def _genai_log(digest: str) -> str:
    return (
        f"E   RuntimeError: Recording not found for genai request hash: {digest}\n"
        f"E   Model: {GENAI_MODEL} | Endpoint: /generate_content\n"
        f"FAILED {GENAI_TEST} - RuntimeError: Recording not found for genai request hash: {digest}\n"
    )


def test_a_genai_miss_is_found_and_its_test_named(tmp_path: Path) -> None:
    """The recorder's genai message (`genai request hash`, `Model: ... | Endpoint: ...`) is a miss like any other."""
    key = _put(tmp_path, "responses", _genai("What is the capital of France?"))
    indexer.index_recordings(root=tmp_path, name="main")
    [item] = selectors.find_misses(text=_genai_log(key)).misses
    assert item.resolved and [c.replay_hash for c in item.found] == [key]
    other = replay.key_of(_genai("What is the capital of Peru?"), "x.json").hash
    [missed] = selectors.find_misses(text=_genai_log(other)).misses
    assert not missed.resolved and missed.candidates_of == "the test"
    [candidate] = missed.candidates
    assert candidate.replay_hash == key
    assert "endpoint (the URL's path)" not in candidate.differs and "body.model" not in candidate.differs


def test_a_paste_reads_a_bounded_number_of_files(tree: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from recorder_ui.selectors import find

    monkeypatch.setattr(find, "READ_BUDGET", 2)
    report = selectors.find_misses(text=_miss_log(ABSENT))
    [item] = report.misses
    assert [bool(c.parts) for c in item.candidates] == [True, True, False, False]
    assert item.candidates[-1].note == find.NOT_READ and "were not read" in report.notes[-1]
    assert selectors.find_misses(text=_miss_log(tree["first"])).notes == ()


def test_an_empty_index_says_so() -> None:
    report = selectors.find_misses(text=ABSENT)
    assert report.index_empty and report.unresolved == 1


# The page and its JSON twin.


def test_find_page_form_nav_and_twin(client: Client, tree: dict[str, str]) -> None:
    page = client.get("/find/")
    body = page.content.decode()
    assert page.status_code == 200 and '<textarea id="find-q" name="q"' in body and "csrfmiddlewaretoken" in body
    assert 'href="/find/" aria-current="page">Find</a>' in body and 'rel="alternate" type="application/json"' in body
    assert 'id="results"' in body and "data-miss" not in body


def test_find_by_get_links_a_hash_and_every_recording(client: Client, tree: dict[str, str]) -> None:
    body = client.get("/find/", {"q": tree["first"]}).content.decode()
    entry = RecordingEntry.objects.get(replay_hash=tree["first"])
    assert f'href="/recordings/{entry.pk}/"' in body and "1 resolved to a file" in body
    assert f'href="/find/?q={tree["first"]}">link to this lookup' in body
    data = client.get("/find.json", {"q": tree["first"]}).json()
    assert data["resolved"] == 1 and data["misses"][0]["found"][0]["pk"] == entry.pk
    assert client.get("/find/", {"q": tree["first"]}, HTTP_ACCEPT="application/json").json() == data


def test_find_by_post_with_csrf_renders_candidates_and_the_htmx_partial(tree: dict[str, str]) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/find/", {"q": _miss_log(ABSENT)}).status_code == 403
    form = strict.get("/find/")
    token = form.cookies["csrftoken"].value
    page = strict.post("/find/", {"q": _miss_log(ABSENT), "csrfmiddlewaretoken": token})
    body = page.content.decode()
    assert page.status_code == 200 and "<html" in body and "no recording" in body
    assert body.count("data-candidate") == 4 and "differs in <code>body.model</code>" in body
    partial = strict.post("/find/", {"q": _miss_log(ABSENT)}, HTTP_X_CSRFTOKEN=token, **HTMX)
    text = partial.content.decode()
    assert "<html" not in text and text.lstrip().startswith('<section id="results"') and "HX-Request" in partial["Vary"]
    data = strict.post("/find.json", {"q": _miss_log(ABSENT)}, HTTP_X_CSRFTOKEN=token).json()
    assert data["unresolved"] == 1 and len(data["misses"][0]["candidates"]) == 4


def test_bad_input_is_a_message_on_the_page_and_a_400_in_json(client: Client, tree: dict[str, str]) -> None:
    for query in ("abc", "x" * 50, "a" * 65):
        page = client.get("/find/", {"q": query})
        assert page.status_code == 200 and "data-find-error" in page.content.decode()
        data = client.get("/find.json", {"q": query})
        assert data.status_code == 400 and data.json()["error"]
    assert client.get("/find.json").status_code == 400
    assert client.put("/find/").status_code == 405


def test_a_huge_paste_is_cut_and_said_so(client: Client, tree: dict[str, str]) -> None:
    paste = _miss_log(tree["first"]) + "garbage line\n" * 30_000
    page = client.post("/find/", {"q": paste})
    body = page.content.decode()
    assert page.status_code == 200 and "cut at 200,000 characters" in body and "1 resolved to a file" in body
    # A paste of several MB (gh run view --log-failed) is read and cut the same way, not refused.
    big = _miss_log(tree["first"]) + ("log line " * 9 + "\n") * 40_000  # about 3.7 MB
    assert len(big) > 2.5 * 2**20  # over Django's default limit of a form's body
    page = client.post("/find/", {"q": big})
    assert page.status_code == 200 and "1 resolved to a file" in page.content.decode()


def test_a_paste_beyond_the_body_limit_is_refused_with_a_page_that_says_why(tree: dict[str, str], settings) -> None:  # type: ignore[no-untyped-def]
    """With the CSRF check a real server makes (it reads the form first): a paste of several MB is read, one
    beyond the limit is a 400 whose page says why, not a bare "Bad Request"."""
    settings.DEBUG = False
    browser = Client(enforce_csrf_checks=True)
    browser.get("/find/")
    token = browser.cookies["csrftoken"].value
    big = _miss_log(tree["first"]) + ("log line " * 9 + "\n") * 40_000  # about 3.7 MB
    page = browser.post("/find/", {"q": big, "csrfmiddlewaretoken": token})
    assert page.status_code == 200 and "1 resolved to a file" in page.content.decode()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    refused = browser.post("/find/", {"q": big, "csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and "too large" in refused.content.decode()


def test_markup_in_a_test_id_and_in_the_paste_stays_text(client: Client, tree: dict[str, str]) -> None:
    paste = _miss_log(ABSENT, test_id=XSS_TEST, model='<img src=x onerror="alert(1)">')
    body = client.post("/find/", {"q": paste}).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body and body.count("data-candidate") == 2
    data = client.post("/find.json", {"q": paste}).json()
    assert data["misses"][0]["miss"]["test_id"] == XSS_TEST


# The command.


def _find(*args: str, stdin: io.TextIOBase | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", stdin)
    try:
        call_command("find_recording", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    except CommandError as exc:
        code, err = exc.returncode, io.StringIO(str(exc))
    return code, out.getvalue(), err.getvalue()


def test_find_recording_exit_status_and_text(tree: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    code, out, _ = _find(tree["first"])
    assert code == 0 and "replay finds it there" in out and "1 resolved to a file, 0 with no recording." in out
    code, out, err = _find("-", stdin=io.TextIOWrapper(io.BytesIO(_miss_log(ABSENT).encode())), monkeypatch=monkeypatch)
    assert code == 1 and "1 of 1 misses have no recording" in err
    assert f"Miss 1: {ABSENT}" in out and "candidates, newest first:" in out and "differs in: body.model" in out
    log = tmp_path / "ci.log"
    log.write_text(_miss_log(tree["first"]) + _miss_log(ABSENT))
    code, out, _ = _find("--log", str(log), "--format", "json")
    data = json.loads(out)
    assert code == 1 and (data["resolved"], data["unresolved"]) == (1, 1) and data["input_kind"] == "log"


def test_find_recording_refuses_bad_input_with_status_2(tree: dict[str, str], tmp_path: Path) -> None:
    for args in (("abc",), ("hello",), (), ("--log", str(tmp_path / "missing.log")), (ABSENT, "--log", "x")):
        code, _, err = _find(*args)
        assert code == 2 and err, args


def test_find_recording_on_an_empty_index_says_run_index_recordings() -> None:
    code, out, err = _find(ABSENT, "--format", "json")
    assert code == 1 and json.loads(out)["index_empty"] is True and "run `python manage.py index_recordings`" in err


def test_find_recording_through_manage_py(tree: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, "RECORDER_UI_DB": str(tmp_path / "cli.sqlite3"), "RECORDER_UI_REFRESH_IN_BACKGROUND": "0"}
    manage = [sys.executable, str(Path(__file__).resolve().parent.parent / "manage.py")]

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*manage, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)

    assert run("migrate", "-v0").returncode == 0
    assert run("index_recordings", str(tmp_path / "checkout"), "--name", "main", "-v0").returncode == 0
    assert run("find_recording", tree["first"]).returncode == 0
    missed = run("find_recording", "-", stdin=_miss_log(ABSENT))
    assert missed.returncode == 1 and "no file in the index carries it" in missed.stdout
    bad = run("find_recording", "xyz")
    assert bad.returncode == 2 and "CommandError" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.django_db(transaction=True)
def test_the_name_hash_column_is_filled_by_its_migration_as_the_indexer_fills_it(tmp_path: Path) -> None:
    """Find looks a key up in name_hash (the hash a file's name carries); rows indexed before that column
    existed get it from their path when migration 0011 runs, the same values the indexer gives."""
    root = tmp_path / "checkout"
    listed = "a1b2c3d4" * 8
    _put(root, "inference", _chat(TEST, "Say hello"))
    _put(root, "inference", _chat(TEST, "Models"), name=f"models-{listed}-0f0f0f0f.json")
    _put(root, "inference", _chat(TEST, "Odd"), name="not-a-hash.json")
    indexer.index_recordings(root=root, name="main")
    given = dict(RecordingEntry.objects.values_list("path", "name_hash"))
    assert sorted(given.values()) == sorted(["", listed, _key(_chat(TEST, "Say hello"))])
    try:
        call_command("migrate", "recorder_ui", "0010", verbosity=0)
    finally:
        call_command("migrate", "recorder_ui", verbosity=0)
    assert dict(RecordingEntry.objects.values_list("path", "name_hash")) == given
    [item] = selectors.find_misses(text=listed).misses
    assert [c.path for c in item.found] == [p for p, h in given.items() if h == listed]
    [item] = selectors.find_misses(text=listed[:12]).misses  # a prefix: a range over the index
    assert len(item.found) == 1


def test_the_same_fixture_in_several_checkouts_is_one_file_with_its_copies_and_compared_once(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team catalog holds one fixture in several checkouts: Find lists the file once, naming the other roots
    that hold the same bytes, and reads its hashed parts from one parse. A root whose file at that path has
    other bytes keeps its own row: its request, and so its verdict, may differ."""
    rec = _chat(TEST, "Say hello")
    for name in ("main", "release", "pr-7"):
        key = _put(tmp_path / name, "inference", rec)
    edited = tmp_path / "pr-7" / "tests/integration/inference/recordings" / f"{key}.json"
    edited.write_text(edited.read_text() + "\n")  # same name and request, other bytes
    _put(tmp_path / "release", "inference", _chat(TEST, "Say hello twice"))
    for name in ("main", "release", "pr-7"):
        indexer.index_recordings(root=tmp_path / name, name=name)
    from recorder_ui.domain import loader

    parses: list[str] = []
    real = loader.parse
    monkeypatch.setattr(loader, "parse", lambda data, *, path: parses.append(path) or real(data, path=path))
    [item] = selectors.find_misses(text=_miss_log(key)).misses
    assert len(item.found) == 2 and len(parses) == 2  # main's and release's bytes once, pr-7's once
    [same] = [c for c in item.found if c.also_in]
    [other] = [c for c in item.found if not c.also_in]
    assert {same.root, *(o.root for o in same.also_in)} == {"main", "release"} and other.root == "pr-7"
    assert {o.pk for o in same.also_in} | {same.pk} == set(
        RecordingEntry.objects.filter(root__name__in=["main", "release"], replay_hash=key).values_list("pk", flat=True)
    )
    assert same.parts and same.sha256 != other.sha256
    assert "2 recordings carry" in item.summary and ", and the same file in " in item.summary

    # One root less: a single file, and the summary that explains it, naming the copy.
    RecordingEntry.objects.filter(root__name="pr-7").delete()
    [item] = selectors.find_misses(text=_miss_log(key)).misses
    [found] = item.found
    copy = found.also_in[0]
    assert f"(root {found.root}, and the same file in {copy.root})" in item.summary
    assert "replay finds it there" in item.summary
    body = client.get("/find/", {"q": key}).content.decode()
    assert body.count("data-candidate") == 1
    assert f'the same file in 1 more root: <a href="/recordings/{copy.pk}/">{copy.root}</a>' in body
    data = client.get("/find.json", {"q": key}).json()
    assert data["misses"][0]["found"][0]["also_in"] == [{"root": copy.root, "pk": copy.pk}]
    text = io.StringIO()
    call_command("find_recording", key, stdout=text)
    assert f"the same file in: {copy.root}" in text.getvalue()

    # A miss with no recording: the test's files are ranked and counted once each, whatever roots hold them.
    [item] = selectors.find_misses(text=_miss_log(ABSENT)).misses
    assert item.candidate_total == 2 == len(item.candidates)
    assert sorted(len(c.also_in) for c in item.candidates) == [0, 1]


def test_a_folder_outside_git_is_known_without_starting_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recorder_ui.domain import gitsource

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError("git was started")

    monkeypatch.setattr(gitsource.subprocess, "run", no_git)
    with pytest.raises(gitsource.GitError, match="not inside a git repository"):
        gitsource.repo_root(tmp_path)
    (tmp_path / ".git").mkdir()  # something git may take for a repository: then git is asked
    with pytest.raises(AssertionError, match="git was started"):
        gitsource.repo_root(tmp_path / ".git")


def test_a_file_in_the_other_name_form_is_not_what_replay_finds(tmp_path: Path) -> None:
    """A chat recording saved under a model list's name (models-<hash>-*.json) carries its request's hash, yet
    replay opens only <hash>.json for it: Find says rename it, not that replay finds it there."""
    root = tmp_path / "checkout"
    rec = _chat(TEST, "Say hello")
    key = _put(root, "inference", rec, name=f"models-{_key(rec)}-deadbeef.json")
    indexer.index_recordings(root=root, name="main")
    [item] = selectors.find_misses(text=_miss_log(key)).misses
    [found] = item.found
    assert found.replay_rule == replay.RULE_WRONG_FORM
    assert "replay finds it there" not in item.summary
    assert "other name form" in item.summary and f"Rename it to {key}.json" in item.summary


def test_a_test_renamed_since_it_was_recorded_is_found_by_its_request(tmp_path: Path) -> None:
    """The log's hash is that of a request the index holds under the test's old id (a parameter id changed):
    Find names that file and says the test was renamed, instead of "no recording of the test"."""
    import hashlib

    root = tmp_path / "checkout"
    old_id, new_id = TEST, TEST.replace("[txt=openai/gpt-4o]", "[txt=openai/gpt-4o-2024]")
    rec = _chat(old_id, "Say hello")
    old_key = _put(root, "inference", rec)
    _put(root, "inference", _chat(old_id, "Something else"))  # same model and endpoint, another request
    indexer.index_recordings(root=root, name="main")
    canon = {"method": "POST", "endpoint": "/v1/v1/chat/completions", "body": rec["request"]["body"], "test_id": new_id}
    new_key = hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()
    [item] = selectors.find_misses(text=_miss_log(new_key, test_id=new_id)).misses
    assert not item.found and [c.path for c in item.renamed_from] == [_path_of(old_key)]
    assert f"recorded under the test id {old_id}" in item.summary and "The test was renamed" in item.summary
    [other] = selectors.find_misses(text=_miss_log("f" * 64, test_id=new_id)).misses
    assert other.renamed_from == () and "renamed" not in other.summary  # no file's request gives that hash
