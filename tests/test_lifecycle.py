"""Fixture lifecycle end to end on hand-made recordings: replay keys in the index, superseded variants, the
Cleanup page and its twin, the recording page's replay box, the list filter, the lint rules and the commands."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from recorder_ui import indexer
from recorder_ui.domain import lifecycle, providers
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, write

pytestmark = pytest.mark.django_db

AREA = "responses"
TID = "tests/integration/responses/test_search.py::test_{}[openai_client-txt=openai/gpt-4o]"
ROOT = Path(__file__).resolve().parent.parent


def H(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _canon(rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "endpoint": "/v1/v1/chat/completions", "body": body, "test_id": rec["test_id"]}


def current_name(rec: dict[str, Any]) -> str:
    """The name today's recorder gives (these bodies hold nothing N would change)."""
    return H(_canon(rec, rec["request"]["body"])) + ".json"


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 5) if isinstance(value, float) else value


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """One file of each replay status, a superseded variant with its successor, and two intended branches."""
    root = tmp_path / "checkout"
    (root / ".git").mkdir(parents=True)  # a git checkout: Cleanup gives git rm commands
    files: dict[str, Path] = {}
    # The same request twice: under today's name, and under the name of the rule without normalisation.
    request = stream_recording(test_id=TID.format("score"), text="Found it.", usage=True)
    request["request"]["body"]["temperature"] = 0.123456789
    files["current"] = write(
        root, AREA, request, name=H(_canon(request, _rounded(request["request"]["body"]))) + ".json"
    )
    stale = copy.deepcopy(request)
    files["older"] = write(root, AREA, stale, name=H(_canon(stale, stale["request"]["body"])) + ".json")
    edited = stream_recording(test_id=TID.format("edited<script>alert(1)</script>"), text="Hand edited.")
    files["mismatch"] = write(root, AREA, edited, name="ab" * 32 + ".json")
    old = stream_recording(test_id=TID.format("usage"), text="Old.", usage=False)
    new = stream_recording(test_id=TID.format("usage"), text="New.", usage=True)
    files["old"] = write(root, AREA, old, name=current_name(old))
    files["new"] = write(root, AREA, new, name=current_name(new))
    parallel, sequential = (stream_recording(test_id=TID.format("branch"), text=t) for t in ("A", "B"))
    parallel["request"]["body"]["parallel_tool_calls"] = True
    sequential["request"]["body"]["parallel_tool_calls"] = False
    files["parallel"] = write(root, AREA, parallel, name=current_name(parallel))
    files["sequential"] = write(root, AREA, sequential, name=current_name(sequential))
    return files


def _pk(path: Path) -> int:
    return RecordingEntry.objects.get(path__endswith=path.name).pk


def test_provider_names_from_the_host_then_the_test_id() -> None:
    name = providers.name_of
    assert (
        name(url="https://api.openai.com/v1/v1/chat/completions", host="api.openai.com", test_id="x[txt=ollama/m]")
        == "openai"
    )
    assert name(url="https://ogx-test.openai.azure.com/openai/v1", host="", test_id="") == "azure"
    assert name(url="https://bedrock-mantle.us-east-2.api.aws/v1", host="", test_id="") == "bedrock"
    assert name(url="https://us-south.ml.cloud.ibm.com/ml/v1", host="", test_id="") == "watsonx"
    assert (
        name(url="http://0.0.0.0:11434/v1/chat/completions", host="0.0.0.0:11434", test_id="t[txt=ollama/llama3.2:3b]")
        == "ollama"
    )
    assert (
        name(url="http://localhost:8000/v1/models", host="localhost:8000", test_id="t[client-txt=vllm/Qwen/Qwen3-0.6B]")
        == "vllm"
    )
    assert name(url="http://localhost:8000/v1/models", host="localhost:8000", test_id="") == "vllm"  # the port's server
    assert name(url="http://localhost:8080/v1/models", host="localhost:8080", test_id="") == "local"
    assert name(url="", host="vertexai", test_id="t[txt=vertexai/gemini]") == "vertexai"
    assert name(url="", host="tavily", test_id="") == "tavily"
    assert name(url="not a url at all <script>", host="", test_id="") == ""
    assert (
        providers.label("ollama", "0.0.0.0:11434") == "ollama (0.0.0.0:11434)"
        and providers.label("tavily", "tavily") == "tavily"
    )


def _lineage(params: dict[str, Any], mapping: bool = True, sdk: tuple[int, ...] = (2, 5)) -> lifecycle.Lineage:
    return lifecycle.Lineage(params, mapping, True, sdk)


def test_what_supersedes_what() -> None:
    usage = {"stream_options": {"include_usage": True}}
    assert lifecycle.supersedes(_lineage(usage), _lineage({}))  # re-recorded with include_usage
    assert not lifecycle.supersedes(_lineage({}), _lineage(usage))
    assert lifecycle.supersedes(_lineage({**usage, "service_tier": "default"}), _lineage(usage))
    assert not lifecycle.supersedes(_lineage({"parallel_tool_calls": False}), _lineage({"parallel_tool_calls": True}))
    assert not lifecycle.supersedes(_lineage(usage), _lineage(usage))  # the same parameters: nothing more
    assert not lifecycle.supersedes(_lineage(usage, mapping=False), _lineage({}, mapping=True))  # looks older
    assert not lifecycle.supersedes(_lineage(usage, sdk=(1, 9)), _lineage({}, sdk=(2, 5)))  # an older SDK
    assert lifecycle.usage_fate(replay_status="older-rule", superseded_by=None) == lifecycle.NEVER_REPLAYED
    item = lifecycle.Superseded("a", "b", ("stream_options",), True)
    assert lifecycle.usage_fate(replay_status="current", superseded_by=item) == lifecycle.SUPERSEDED
    assert lifecycle.usage_fate(replay_status="current", superseded_by=None) == lifecycle.LIVE


def test_a_branch_in_another_parameter_or_a_dead_successor_supersedes_nothing() -> None:
    """Only a re-recording supersedes: the same other parameters (max_tokens, top_p, ...), and a successor replay
    serves. A variant with another max_tokens is another call; one replay never opens is no live successor."""
    usage = {"stream_options": {"include_usage": True}}
    old = lifecycle.Lineage({}, True, True, (), "", {"max_tokens": "aa"})
    assert lifecycle.supersedes(lifecycle.Lineage(usage, True, True, (), "", {"max_tokens": "aa", "seed": "bb"}), old)
    assert not lifecycle.supersedes(lifecycle.Lineage(usage, True, True, (), "", {"max_tokens": "cc"}), old)
    assert not lifecycle.supersedes(lifecycle.Lineage(usage, True, True, (), "", {}), old)  # max_tokens dropped
    assert lifecycle.supersedes(lifecycle.Lineage(usage, True, True, (), "", None), old)  # an older row: not known
    group = ("root", "t", "chat", "streamed", "gpt-4o", "api.openai.com", "m")
    newer = lifecycle.Lineage(usage, True, True, (), "", {})
    found = lifecycle.superseded([
        lifecycle.Candidate("old.json", group, lifecycle.Lineage({}, True, True, (), "", {}), False),
        lifecycle.Candidate("dead.json", group, newer, True, served=False),
    ])  # fmt: skip
    assert found == {}


def test_a_streamed_call_does_not_supersede_the_same_call_not_streamed(tmp_path: Path) -> None:
    plain = stream_recording(test_id=TID.format("compact"), text="Done.", usage=False)
    plain["request"]["body"]["stream"] = False
    plain["response"] = {"body": {"__type__": "openai.types.chat.chat_completion.ChatCompletion", "__data__": {
        "id": "rec-1", "object": "chat.completion", "created": 1, "model": "gpt-4o", "choices": [{"index": 0,
        "finish_reason": "stop", "message": {"role": "assistant", "content": "Done."}}]}}, "is_streaming": False}  # fmt: skip
    streamed = stream_recording(test_id=TID.format("compact"), text="Done.", usage=True)
    capped = stream_recording(test_id=TID.format("compact"), text="Done.", usage=False)
    capped["request"]["body"]["max_tokens"] = 50  # another call of the test, not the usage one's older self
    for rec in (plain, streamed, capped):
        write(tmp_path, AREA, rec, name=current_name(rec))
    indexer.index_recordings(root=tmp_path, name="main")
    assert RecordingEntry.objects.exclude(superseded_by=None).count() == 0
    rows = dict(RecordingEntry.objects.filter(missing_usage=True).values_list("streaming", "usage_fate"))
    assert rows == {True: lifecycle.LIVE}  # the capped stream: its own fix, not "delete, superseded"


def test_a_superseding_variant_that_offers_other_tools_says_so() -> None:
    """The verdict weighs the parameters; the tools the newer variant offers are said when they differ (a test
    that renamed a tool, or dropped a `strict: null`), and not when a row's lineage predates them."""
    usage = {"stream_options": {"include_usage": True}}
    group = ("root", "t", "chat", "gpt-4o", "m")

    def candidate(path: str, params: dict[str, Any], tools: str | None) -> lifecycle.Candidate:
        return lifecycle.Candidate(path, group, lifecycle.Lineage(params, True, True, (), tools), bool(params))

    found = lifecycle.superseded([candidate("old.json", {}, "aaaa"), candidate("new.json", usage, "bbbb")])
    assert found["old.json"].added == ("stream_options", lifecycle.OTHER_TOOLS)
    assert "sets stream_options, and offers other tools;" in lifecycle.describe(found["old.json"])
    same = lifecycle.superseded([candidate("old.json", {}, "aaaa"), candidate("new.json", usage, "aaaa")])
    unknown = lifecycle.superseded([candidate("old.json", {}, None), candidate("new.json", usage, "bbbb")])
    assert same["old.json"].added == unknown["old.json"].added == ("stream_options",)
    restored = lifecycle.Lineage.from_json(lifecycle.Lineage({}, True, True, (), "").as_json())
    assert restored is not None and restored.tools == ""  # "" (no tools) is known, unlike an older row's None


def test_the_index_keeps_each_files_replay_key_and_provider(tree: dict[str, Path]) -> None:
    indexer.index_recordings(root=tree["current"].parents[4], name="checkout")
    status = {key: RecordingEntry.objects.get(path__endswith=path.name).replay_status for key, path in tree.items()}
    assert status == {"current": "current", "older": "older-rule", "mismatch": "mismatch", "old": "current",
                      "new": "current", "parallel": "current", "sequential": "current"}  # fmt: skip
    older = RecordingEntry.objects.get(path__endswith=tree["older"].name)
    assert older.replay_rule == "no body normalisation" and older.replay_name == tree["current"].name
    assert older.provider_name == "openai" and older.provider == "api.openai.com"
    superseded = dict(RecordingEntry.objects.exclude(superseded_by=None).values_list("pk", "superseded_by"))
    assert superseded == {_pk(tree["old"]): _pk(tree["new"])}  # the branches supersede nothing


def test_cleanup_page_and_its_twin(tree: dict[str, Path], client: Client) -> None:
    indexer.index_recordings(root=tree["current"].parents[4], name="checkout")
    data = client.get("/cleanup.json").json()
    assert data["counts"] == {"unreachable": 1, "superseded": 1, "name-mismatch": 1}
    assert data["reasons"] == ["unreachable", "superseded"] and data["total"] == 2
    assert data["size"] == tree["older"].stat().st_size + tree["old"].stat().st_size
    assert sorted(data["paths"]) == sorted(
        f"tests/integration/{AREA}/recordings/{tree[k].name}" for k in ("older", "old")
    )
    [command] = data["commands"]
    assert command.startswith("git -C ") and f" rm -- tests/integration/{AREA}/recordings/" in command
    assert {(g["reason"], len(g["rows"])) for g in data["groups"]} == {("unreachable", 1), ("superseded", 1)}
    only = client.get("/cleanup.json", {"reason": "name-mismatch"}).json()
    assert only["reasons"] == ["name-mismatch"] and [r["path"] for g in only["groups"] for r in g["rows"]] == [
        f"tests/integration/{AREA}/recordings/{tree['mismatch'].name}"
    ]
    page = client.get("/cleanup/", {"reason": "name-mismatch"}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "git -C" in client.get("/cleanup/").content.decode()
    assert (
        client.get("/cleanup/", HTTP_HX_REQUEST="true")
        .content.decode()
        .lstrip()
        .startswith('<div id="cleanup-results">')
    )
    assert sum(1 for _ in tree["current"].parent.iterdir()) == len(tree)  # nothing deleted, nothing written


def test_cleanup_commands_remove_exactly_the_files_listed(tmp_path: Path, client: Client) -> None:
    """git reads `[12]` in a path as a pattern and the shell needs a name's very bytes: each command, run, removes
    the listed files and nothing else, and the certain verdicts get a command apart from the inferred ones."""
    root = tmp_path / "checkout"
    old = stream_recording(test_id=TID.format("usage"), text="Old.", usage=False)
    new = stream_recording(test_id=TID.format("usage"), text="New.", usage=True)
    odd = os.fsdecode(b"old[12] \xe9 'q'.json")  # a pattern, a byte that is not UTF-8, a space and quotes
    write(root, AREA, old, name=odd)
    write(root, AREA, new, name=current_name(new))
    for decoy in (b"old1 \xe9 'q'.json", b"old2 \xe9 'q'.json"):  # what old[12] matches as a pattern
        write(root, AREA, new, name=os.fsdecode(decoy))
    stale = stream_recording(test_id=TID.format("stale"), text="Stale.")
    stale["request"]["body"]["temperature"] = 0.123456789
    write(root, AREA, stale, name=H(_canon(stale, stale["request"]["body"])) + ".json")  # older rule: unreachable
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run([*git, "init", "-q", str(root)], check=True, env=env)
    subprocess.run([*git, "-C", str(root), "add", "."], check=True, env=env)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "r"], check=True, env=env)
    indexer.index_recordings(root=root, name="checkout")
    data = client.get("/cleanup.json").json()
    assert data["counts"]["superseded"] == 1 and data["counts"]["unreachable"] == 1
    by_reason = data["commands_by_reason"]
    assert list(by_reason) == ["unreachable", "superseded"] and sum(map(len, by_reason.values())) == 2
    assert all(" --literal-pathspecs rm -- " in c for c in data["commands"])
    folder = root / "tests" / "integration" / AREA / "recordings"
    before = set(os.listdir(os.fsencode(folder)))
    [superseded] = by_reason["superseded"]
    subprocess.run(["bash", "-c", superseded], check=True, env=env, capture_output=True)
    assert before - set(os.listdir(os.fsencode(folder))) == {b"old[12] \xe9 'q'.json"}
    [unreachable] = by_reason["unreachable"]
    subprocess.run(["bash", "-c", unreachable], check=True, env=env, capture_output=True)
    left = set(os.listdir(os.fsencode(folder)))
    assert len(before - left) == 2 and {b"old1 \xe9 'q'.json", b"old2 \xe9 'q'.json"} <= left
    page = client.get("/cleanup/").content.decode()
    assert 'data-reason="unreachable"' in page and 'data-reason="superseded"' in page
    assert "unreachable: certain" in page and "superseded: an inference, check first" in page


def test_the_recording_page_says_how_replay_finds_it(tree: dict[str, Path], client: Client) -> None:
    indexer.index_recordings(root=tree["current"].parents[4], name="checkout")
    older = client.get(f"/recordings/{_pk(tree['older'])}/").content.decode()
    assert f"replay looks this request up as <code>{tree['current'].name}</code>" in older
    assert "so no test reaches it" in older and f'href="/recordings/{_pk(tree["current"])}/"' in older
    data = client.get(f"/recordings/{_pk(tree['older'])}.json").json()
    assert data["replay"]["status"] == "older-rule" and data["replay"]["looked_up_as"] == tree["current"].name
    assert data["replay_file"] == _pk(tree["current"]) and data["provider_name"] == "openai"
    old = client.get(f"/recordings/{_pk(tree['old'])}/").content.decode()
    assert "Superseded:" in old and f'href="/recordings/{_pk(tree["new"])}/"' in old
    assert "Supersedes:" in client.get(f"/recordings/{_pk(tree['new'])}/").content.decode()
    assert "not known to be dead" in client.get(f"/recordings/{_pk(tree['mismatch'])}/").content.decode()
    rows = client.get("/recordings.json", {"replay": "older-rule"}).json()["rows"]
    assert [r["path"] for r in rows] == [f"tests/integration/{AREA}/recordings/{tree['older'].name}"]
    assert client.get("/recordings.json", {"provider": "openai"}).json()["total"] == len(tree)


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_lint_rules_and_fail_on_unreachable(tree: dict[str, Path]) -> None:
    folder = str(tree["current"].parents[4])
    done = _manage("check_recordings", folder, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {k: v for k, v in report["summary"].items() if v} == {
        "unreachable": 1,
        "name-mismatch": 1,
        "superseded": 1,
        "missing-usage": 1,
    }
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert (
        by_rule["unreachable"]["path"].endswith(tree["older"].name) and "Delete it" in by_rule["unreachable"]["message"]
    )
    assert "does not match its request" in by_rule["name-mismatch"]["message"]
    assert tree["new"].name in by_rule["superseded"]["message"]
    assert by_rule["missing-usage"]["message"].startswith(
        f"superseded by a variant with usage (tests/integration/{AREA}/recordings/{tree['new'].name})"
    )
    assert "Re-record" not in by_rule["missing-usage"]["message"]  # one advice: delete it, not re-record it too
    failing = _manage("check_recordings", folder, "--fail-on", "unreachable")
    assert failing.returncode == 1 and "failing: unreachable (1)" in failing.stderr
    assert _manage("check_recordings", folder, "--fail-on", "parse-error").returncode == 0
    shown = json.loads(_manage("show_recording", str(tree["older"]), "--format", "json").stdout)
    assert shown["replay"]["status"] == "older-rule" and shown["replay"]["looked_up_as"] == tree["current"].name
    assert len(shown["replay"]["hash"]) == 64 and shown["replay"]["rule"] == "no body normalisation"


def test_calls_outside_tests_have_variants_at_the_same_host_only(tmp_path: Path, client: Client) -> None:
    """A call made outside any test (test_id null, common/recordings) is superseded by a newer variant of it as a
    test's call is, but only at the same host: the same messages sent to Azure with usage are another call, and
    the page neither calls the OpenAI stream superseded nor links the Azure one as its variant with usage."""
    root = tmp_path / "checkout"
    plain = stream_recording(test_id=None, text="Hi.", usage=False, model="gpt-4o")
    azure = stream_recording(test_id=None, text="Hi.", usage=True, model="gpt-4o")
    azure["request"]["url"] = "https://lls-test.openai.azure.com/openai/v1/v1/chat/completions"
    plain_file = write(root, "common", plain, name=current_name(plain))
    write(root, "common", azure, name=current_name(azure))
    indexer.index_recordings(root=root, name="checkout")
    [row] = client.get("/missing-usage.json").json()["groups"][0]["rows"]
    assert row["path"].endswith(plain_file.name) and row["fate"] == lifecycle.LIVE
    assert row["variant_with_usage"] is None and client.get("/missing-usage.json").json()["with_variant"] == 0

    again = stream_recording(test_id=None, text="Hello.", usage=True, model="gpt-4o")  # the same host, with usage
    again_file = write(root, "common", again, name=current_name(again))
    indexer.index_recordings(root=root, name="checkout")
    missing = client.get("/missing-usage.json").json()
    [row] = missing["groups"][0]["rows"]
    assert row["fate"] == lifecycle.SUPERSEDED and missing["with_variant"] == 1
    assert row["superseded_by"] == row["variant_with_usage"] == _pk(again_file)
    folder = str(root)
    findings = json.loads(_manage("check_recordings", folder, "--format", "json").stdout)["findings"]
    assert [f["path"].rsplit("/", 1)[-1] for f in findings if f["rule"] == "superseded"] == [plain_file.name]


def test_the_recording_page_gives_one_advice_for_a_stream_without_usage(tree: dict[str, Path], client: Client) -> None:
    """A superseded stream without usage is to be deleted; a live one to be re-recorded with include_usage."""
    indexer.index_recordings(root=tree["current"].parents[4], name="checkout")
    old = client.get(f"/recordings/{_pk(tree['old'])}/").content.decode()
    assert "A variant with usage supersedes it (below): delete this one" in old and "Re-record with it set" not in old
    live = stream_recording(test_id=TID.format("live"), text="Live.", usage=False)
    write(tree["current"].parents[4], AREA, live, name=current_name(live))
    indexer.index_recordings(root=tree["current"].parents[4], name="checkout")
    page = client.get(f"/recordings/{RecordingEntry.objects.get(test_id=live['test_id']).pk}/").content.decode()
    assert "Re-record with it set to get token counts." in page and "How to fix" in page


def test_cleanup_of_a_folder_outside_git_gives_rm_and_an_unknown_root_is_said(tmp_path: Path, client: Client) -> None:
    stale = stream_recording(test_id=TID.format("copied"), text="Old.")
    stale["request"]["body"]["temperature"] = 0.123456789
    write(tmp_path / "copied", AREA, stale, name=H(_canon(stale, stale["request"]["body"])) + ".json")  # older rule
    indexer.index_recordings(root=tmp_path / "copied", name="copied")
    data = client.get("/cleanup.json").json()
    [command] = data["commands"]
    assert command.startswith("cd ") and " && rm -- tests/integration/" in command and "git" not in command
    assert data["judged_by"].startswith("today's recorder")
    unknown = client.get("/cleanup.json", {"root": "nosuch"}).json()
    assert unknown["unknown_root"] == "nosuch" and unknown["total"] == 0
    assert "No root is named <code>nosuch</code>" in client.get("/cleanup/", {"root": "nosuch"}).content.decode()
