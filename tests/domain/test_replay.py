"""Replay keys (format doc 9.3) on hand-made recordings: each key kind and each status; and on the corpus,
against the doc's recipe written out independently here."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from recorder_ui.domain import hashed, jsontext, replay
from tests.domain.recs import chat_request

TID = "tests/integration/responses/test_file_search.py::test_search[txt=openai/gpt-4o]"


def _url(host: str, path: str) -> str:
    """A request's URL on a bare local host name: the keys read only its host and its path."""
    return urllib.parse.urlunsplit(("http", host, path, "", ""))


def H(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _chat(**body: Any) -> dict[str, Any]:
    return {"test_id": TID, "request": chat_request(**body), "response": {"body": None, "is_streaming": False}}


def test_a_name_with_todays_hash_is_current() -> None:
    rec = _chat(temperature=0.1234567)
    canon = {"method": "POST", "endpoint": "/v1/v1/chat/completions", "test_id": TID,
             "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.12346}}  # fmt: skip
    key = replay.key_of(rec, f"{H(canon)}.json")
    assert (key.status, key.rule, key.kind, key.hash) == ("current", replay.RULE_CURRENT, "inference", H(canon))
    assert key.looked_up_as == f"{H(canon)}.json" and key.reachable is True
    assert "this file" in key.why


def test_file_search_results_are_normalised_and_the_older_rule_is_named() -> None:
    text = "[1] document_id: 0b7e8a3c-1111-2222-3333-444455556666, score: 0.8123, attributes: {'a': 1} text <|0b7e8a3c-1111-2222-3333-444455556666|>"
    rec = _chat(messages=[{"role": "tool", "content": text}])
    today = "[1] document_id: __NORMALIZED__, score: __NORMALIZED__ text <|__NORMALIZED__|>"
    canon = {"method": "POST", "endpoint": "/v1/v1/chat/completions", "test_id": TID,
             "body": {"model": "m", "messages": [{"role": "tool", "content": today}]}}  # fmt: skip
    assert replay.key_of(rec, f"{H(canon)}.json").status == "current"
    older = text.replace("0.8123", "0.81230")  # long decimals were normalised already, file_search was not
    before = {**canon, "body": {"model": "m", "messages": [{"role": "tool", "content": older}]}}
    key = replay.key_of(rec, f"{H(before)}.json")
    assert (key.status, key.rule) == ("older-rule", replay.RULE_NO_FILE_SEARCH)
    assert key.hash == H(canon) and key.reachable is False
    assert "no test reaches it" in key.why and f"{H(canon)}.json" in key.why
    raw_body = {**canon, "body": {"model": "m", "messages": [{"role": "tool", "content": text}]}}
    assert replay.key_of(rec, f"{H(raw_body)}.json").rule == replay.RULE_RAW_BODY


def test_a_checkout_whose_recorder_predates_file_search_is_judged_by_it() -> None:
    """A release branch's own replay (its recorder without the file_search placeholders) opens the older rule's
    names: there they are current, and today's names are not known to be dead (served after a rebase)."""
    text = "[1] document_id: 0b7e8a3c-1111-2222-3333-444455556666, score: 0.8123 text"
    rec = _chat(messages=[{"role": "tool", "content": text}])
    today = {"method": "POST", "endpoint": "/v1/v1/chat/completions", "test_id": TID,
             "body": {"model": "m", "messages": [{"role": "tool", "content": "[1] document_id: __NORMALIZED__, "
                                                                             "score: __NORMALIZED__ text"}]}}  # fmt: skip
    older = {
        **today,
        "body": {"model": "m", "messages": [{"role": "tool", "content": text.replace("0.8123", "0.81230")}]},
    }
    own = replay.key_of(rec, f"{H(older)}.json", replay.BEFORE_FILE_SEARCH)
    assert (own.status, own.rule, own.hash, own.reachable) == ("current", replay.RULE_CHECKOUT, H(older), True)
    assert own.looked_up_as == f"{H(older)}.json" and "this checkout's recorder" in own.why
    newer = replay.key_of(rec, f"{H(today)}.json", replay.BEFORE_FILE_SEARCH)
    assert (newer.status, newer.rule, newer.reachable) == ("mismatch", replay.RULE_NEWER, None)
    assert "not known to be dead" in newer.why and f"{H(older)}.json" in newer.why
    # A request with nothing file_search rewrites hashes alike under both: current for either recorder.
    plain = _chat(temperature=0.5)
    canon = {"method": "POST", "endpoint": "/v1/v1/chat/completions", "test_id": TID,
             "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}}  # fmt: skip
    for recorder in replay.RECORDERS:
        assert replay.key_of(plain, f"{H(canon)}.json", recorder).status == "current"


def test_a_recorders_source_says_which_rule_it_hashes_by() -> None:
    before = "def _normalize_body_for_hash(value):\n    return round(value, 5)\n"
    assert replay.recorder_of(before) == replay.BEFORE_FILE_SEARCH
    after = before + 'SCORE = re.compile(r"score:...")  # -> "score: __NORMALIZED__"\n'
    assert replay.recorder_of(after) == replay.TODAY


def test_model_lists_leave_the_test_id_out_except_at_doubled_paths() -> None:
    plain = {"test_id": TID, "request": {"method": "POST", "url": _url("ollama", "/v1/models"), "headers": {},
             "body": {}, "endpoint": "/v1/models", "model": ""}, "response": {"body": [], "is_streaming": False}}  # fmt: skip
    name = H({"method": "POST", "endpoint": "/v1/models", "body": {}})
    key = replay.key_of(plain, f"models-{name}-abcd1234.json")
    assert key.status == "current" and key.looked_up_as == f"models-{name}-*.json"
    doubled = json.loads(json.dumps(plain))
    doubled["request"]["url"] = _url("openai", "/v1/v1/models")
    with_id = H({"method": "POST", "endpoint": "/v1/v1/models", "body": {}, "test_id": TID})
    assert replay.key_of(doubled, f"models-{with_id}-abcd1234.json").status == "current"


def test_bedrock_hosts_drop_stream_options() -> None:
    url = _url("bedrock", "/openai/v1/chat/completions")  # replay looks for "bedrock" in the host
    rec = _chat(url=url, stream=True, stream_options={"include_usage": True})
    canon = {"method": "POST", "endpoint": "/openai/v1/chat/completions", "test_id": TID,
             "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}}  # fmt: skip
    assert replay.key_of(rec, f"{H(canon)}.json").status == "current"


def test_http_and_tool_keys() -> None:
    http = {"test_id": TID, "request": {"method": "POST", "url": _url("anthropic", "/v1/messages"),
            "payload": {"model": "c", "temperature": 0.333333333}}, "response": {"body": {}, "status": 200}}  # fmt: skip
    name = H({"test_id": TID, "url": _url("anthropic", "/v1/messages"), "method": "POST",
              "payload": {"model": "c", "temperature": 0.33333}})  # fmt: skip
    assert (replay.key_of(http, f"{name}.json").status, replay.key_of(http, f"{name}.json").kind) == ("current", "http")
    tool = {"test_id": TID, "request": {"test_id": TID, "provider": "tavily", "tool_name": "web_search",
            "kwargs": {"query": "x", "score": 0.123456789}}, "response": {"body": {}}}  # fmt: skip
    name = H({"provider": "tavily", "tool_name": "web_search", "kwargs": {"query": "x", "score": 0.123456789}})
    key = replay.key_of(tool, f"{name}.json")
    assert (key.status, key.kind) == ("current", "tool")  # no test id, no normalisation


def test_mismatch_none_and_the_short_legacy_names() -> None:
    rec = _chat()
    key = replay.key_of(rec, "0" * 64 + ".json")
    assert key.status == "mismatch" and key.rule == "" and key.reachable is None
    assert "not known to be dead" in key.why
    renamed = replay.key_of(rec, "my-fixture.json")  # renamed by hand: never opened by its name, not known dead
    assert (renamed.status, renamed.rule) == ("mismatch", "") and "carries no hash" in renamed.why
    processor = {
        "test_id": TID,
        "request": {"api": "file_processors", "provider": "pypdf", "file_id": "f"},
        "response": {},
    }
    assert (replay.key_of(processor, "a" * 64 + ".json").status, replay.key_of(processor, "x.json").hash) == (
        "none",
        "",
    )
    assert replay.key_of(["not", "a", "dict"], "x.json").status == "none"
    short = H({"method": "POST", "endpoint": "/v1/v1/chat/completions", "body": chat_request()["body"]})[:12]
    key = replay.key_of(rec, f"{short}.json")
    assert (key.status, key.rule) == ("older-rule", replay.RULE_SHORT)


def _canon(content: str, test_id: str = TID, role: str = "tool", **body: Any) -> dict[str, Any]:
    messages = [{"role": role, "content": content}]
    return {"method": "POST", "endpoint": "/v1/v1/chat/completions", "test_id": test_id,
            "body": {"model": "m", "messages": messages, **body}}  # fmt: skip


def test_a_name_from_before_the_rename_is_a_mismatch_that_says_so() -> None:
    """The rename wrote ogx_client into test ids and OGX into texts in place; the name kept the old request's hash."""
    tid = "tests/integration/inference/test_openai_embeddings.py::test_single[ogx_client-emb=e]"
    now = "What is OGX? Use X-OGX-Provider-Data"
    rec = {"test_id": tid, "request": chat_request(messages=[{"role": "user", "content": now}]), "response": {}}
    before = _canon("What is Llama Stack? Use X-LlamaStack-Provider-Data", tid.replace("ogx_", "llama_stack_"), "user")
    key = replay.key_of(rec, f"{H(before)}.json")
    assert (key.status, key.rule, key.reachable) == ("mismatch", replay.RULE_BEFORE_RENAME, None)
    assert "ogx_client for llama_stack_client" in key.why and "OGX for Llama Stack" in key.why
    assert "X-OGX-Provider-Data for X-LlamaStack-Provider-Data" in key.why and "today's rule" in key.why
    assert key.hash != H(before)
    half = {**before, "test_id": tid}  # only one of the two edits undone: no explanation
    assert replay.key_of(rec, f"{H(half)}.json").rule == ""
    text = "[1] document_id: 0b7e8a3c-1111-2222-3333-444455556666, attributes: {'filename': 'ogx_and_models.pdf'}"
    rec = {"test_id": TID, "request": chat_request(messages=[{"role": "tool", "content": text}]), "response": {}}
    older = _canon(text.replace("ogx_", "llama_stack_"))  # the attributes count before 2026-04-09
    key = replay.key_of(rec, f"{H(older)}.json")
    assert key.rule == replay.RULE_BEFORE_RENAME and replay.RULE_NO_FILE_SEARCH in key.why


def test_a_name_under_score_and_attributes_placeholders_only_is_explained() -> None:
    uuid = "0b7e8a3c-1111-2222-3333-444455556666"
    text = f"[1] document_id: {uuid}, score: 0.8123, attributes: {{'a': 1}} cite as <|{uuid}|>"
    rec = _chat(messages=[{"role": "tool", "content": text}])
    canon = _canon(f"[1] document_id: {uuid}, score: __NORMALIZED__ cite as <|{uuid}|>")
    key = replay.key_of(rec, f"{H(canon)}.json")
    assert (key.status, key.rule) == ("mismatch", replay.RULE_SCORE_ATTRIBUTES)
    assert "not today's" in key.why and key.looked_up_as in key.why


def test_a_name_with_file_ids_numbered_is_explained() -> None:
    a, b = "file-" + "a" * 32, "file-" + "b" * 32
    text = f"[1] document_id: {b}, score: 0.77889709, (cite as <|{b}|>) [2] {a} again {b}"
    rec = _chat(messages=[{"role": "tool", "content": text}], temperature=0.123456789)
    numbered = _canon(text.replace(b, "file-1").replace(a, "file-2"), temperature=0.123456789)  # first seen first
    key = replay.key_of(rec, f"{H(numbered)}.json")
    assert (key.status, key.rule) == ("mismatch", replay.RULE_FILE_NUMBERS) and "file-1, file-2" in key.why
    swapped = _canon(text.replace(b, "file-2").replace(a, "file-1"), temperature=0.123456789)
    assert replay.key_of(rec, f"{H(swapped)}.json").rule == ""
    assert set(replay.EXPLANATIONS) == {
        replay.RULE_BEFORE_RENAME,
        replay.RULE_SCORE_ATTRIBUTES,
        replay.RULE_FILE_NUMBERS,
    }


def test_a_request_json_cannot_hash_is_none_not_a_crash() -> None:
    rec = _chat(temperature=float("nan"))
    rec["request"]["body"]["weird"] = {("tuple", "key"): 1}  # json.dumps refuses a tuple key
    assert replay.key_of(rec, "0" * 64 + ".json").status == "none"


def test_what_the_recorder_hashes_is_listed() -> None:
    parts = dict(hashed.hashed_parts(_chat(temperature=0.5)))
    assert parts["test_id"] == json.dumps(TID) and parts["body.temperature"] == "0.5"
    assert parts["endpoint (the URL's path)"] == '"/v1/v1/chat/completions"'


# The corpus, against the doc's recipe written out here on its own.


def _N(v: Any, root: bool = True, drop_stream_options: bool = False, file_search: bool = True) -> Any:
    if isinstance(v, dict):
        d = {k: _N(x, root=False, file_search=file_search) for k, x in v.items()}
        if drop_stream_options:
            d.pop("stream_options", None)
        for k in ("extra_body", "extra_query") if root else ():
            if isinstance(d.get(k), dict):
                d[k].pop("project_id", None)
        return d
    if isinstance(v, list):
        return [_N(x, file_search=file_search) for x in v]
    if isinstance(v, float):
        return round(v, 5)
    if isinstance(v, str):
        if file_search:
            v = re.sub(r"score:\s*[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", "score: __NORMALIZED__", v)
            v = re.sub(r",?\s*attributes:\s*\{[^}]*\}", "", v)
            v = re.sub(
                r"document_id:\s*[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
                "document_id: __NORMALIZED__",
                v,
            )
            v = re.sub(r"<\|[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\|>", "<|__NORMALIZED__|>", v)
        return re.sub(r"(-?\d+\.\d{4,})", lambda m: f"{float(m.group(0)):.5f}", v)
    return v


def _doc_hashes(raw: dict[str, Any]) -> dict[str, str]:
    request, test_id = raw["request"], raw.get("test_id")
    if "tool_name" in request:
        return {
            "current": H(
                {"provider": request["provider"], "tool_name": request["tool_name"], "kwargs": request["kwargs"]}
            )
        }
    if "payload" in request:
        return {
            "current": H(
                {"test_id": test_id, "url": request["url"], "method": "POST", "payload": _N(request["payload"])}
            )
        }
    if "body" not in request:
        return {}
    u = urllib.parse.urlparse(request["url"])
    out = {}
    for name, fs in (("current", True), ("older", False)):
        canon = {
            "method": "POST",
            "endpoint": u.path,
            "body": _N(request["body"], drop_stream_options="bedrock" in u.netloc, file_search=fs),
        }
        if u.path not in ("/api/tags", "/v1/models", "/v1/openai/v1/models"):
            canon["test_id"] = test_id
        out[name] = H(canon)
    return out


@pytest.mark.corpus
def test_the_corpus_statuses_agree_with_the_doc_recipe(corpus: Path) -> None:
    counts: dict[str, int] = {}
    explained: dict[str, int] = {}
    for path in sorted(corpus.rglob("recordings/*.json")):
        raw = jsontext.loads(path.read_bytes())
        key = replay.key_of(raw, path.name)
        named = re.fullmatch(r"(?:models-)?([0-9a-f]{64})(?:-[0-9a-f]{8})?\.json", path.name)
        hashes = _doc_hashes(raw)
        if named and hashes.get("current") == named.group(1):
            assert key.status == "current", path
        elif named and hashes.get("older") == named.group(1):
            assert (key.status, key.rule) == ("older-rule", replay.RULE_NO_FILE_SEARCH), path
        else:
            assert key.status != "current", path
        if hashes:
            assert key.hash == hashes["current"], path
        counts[key.status] = counts.get(key.status, 0) + 1
        if key.status == "mismatch" and key.rule:
            explained[key.rule] = explained.get(key.rule, 0) + 1
    # The measurement: 2,715 names carry today's hash, 288 the rule before 2026-04-09; of the rest,
    # 12 reproduce from the raw body (an older rule still), 4 have 12-hex names (dead: replay opens 64-hex names only)
    # and the 2 file-processor files have no hash. Of the 141 mismatches, docs/replay-keys.md explains 108
    # (tests/test_replay_research.py checks each count there).
    assert counts == {"current": 2715, "older-rule": 304, "mismatch": 141, "none": 2}  # 4 12-hex names: older
    assert explained == {replay.RULE_BEFORE_RENAME: 72, replay.RULE_SCORE_ATTRIBUTES: 26, replay.RULE_FILE_NUMBERS: 10}


@pytest.mark.parametrize(
    ("test_id", "folder", "found"),
    [
        (None, "tests/integration/common/recordings", True),  # outside a test: common/ is where replay looks
        (None, "tests/integration/responses/recordings", False),  # ... and nowhere else
        (TID, f"{TID.partition('::')[0].rsplit('/', 1)[0]}/recordings", True),  # beside its test
        (TID, "tests/integration/common/recordings", True),  # the fallback
        (TID, "tests/integration/agents/recordings", False),  # another test file's folder
        (None, "", True),  # a root that is the recordings folder itself: cannot be told, so not said
    ],
)
def test_a_current_name_outside_the_folders_replay_looks_in_is_said_so(
    test_id: str | None, folder: str, found: bool
) -> None:
    from recorder_ui.domain import loader

    raw = {**_chat(), "test_id": test_id}
    name = f"{replay.key_of(raw, 'x.json').hash}.json"
    rec = loader.parse(json.dumps(raw).encode(), path=f"{folder}/{name}" if folder else name)
    key = replay.key_for(rec)
    assert key.status == "current"  # the name is today's: what the file is called stays right
    assert ("does not open this file where it is" not in key.why) is found, key.why
    if not found:
        assert "but only in tests/integration/" in key.why and "Move it there, or delete it." in key.why


def test_a_12_hex_name_is_dead_whatever_hash_it_carries() -> None:
    """Today's replay opens `<64 hex>.json` and `models-<64 hex>-*.json` only: a 12-hex name is never opened."""
    rec = _chat()
    key = replay.key_of(rec, "0123456789ab.json")
    assert (key.status, key.rule) == ("older-rule", replay.RULE_SHORT_FORM) and "no test reaches it" in key.why


def test_a_name_in_the_other_form_is_not_the_file_replay_opens() -> None:
    """Replay opens `<hash>.json` for a request and globs `models-<hash>-*.json` for a model list: today's hash in
    the other form is a name replay never opens; any suffix after the model list's hash is one it merges."""
    chat = _chat()
    key = replay.key_of(chat, "x.json").hash
    wrong = replay.key_of(chat, f"models-{key}-deadbeef.json")
    assert (wrong.status, wrong.rule) == ("mismatch", replay.RULE_WRONG_FORM) and f"opens {key}.json" in wrong.why
    models = {"test_id": None, "request": {"method": "POST", "url": "http://localhost:11434/v1/v1/models",
              "headers": {}, "body": {}, "endpoint": "/v1/models", "model": ""},
              "response": {"body": [], "is_streaming": False}}  # fmt: skip
    listed = replay.key_of(models, "x.json").hash
    assert replay.key_of(models, f"models-{listed}-0b98574d.json").status == "current"
    assert replay.key_of(models, f"models-{listed}-local-copy.json").status == "current"  # the glob takes it
    assert replay.key_of(models, f"{listed}.json").rule == replay.RULE_WRONG_FORM
