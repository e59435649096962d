"""The four verdict rules the upstream history asked for, each on a real-shaped git repository in a temporary folder.

1. Any request difference outside the 9.1 noise (the URL host too) is request-changed, never noise-only.
2. Model lists and Ollama `/api/ps` compare as sets: order alone is noise.
3. Approximate pairing only at the same step of a test.
4. A step recorded more than once: the most similar request wins, and the pairing says it was ambiguous.
And the renames: a test renamed, a model renamed in its test id.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from recorder_ui import diff_render, diffing
from recorder_ui.domain import diff, rawdiff, worddiff
from tests.builders import stream_recording

AREA = "tests/integration/inference/recordings"
TID = "tests/integration/inference/test_chat.py::test_{}[txt=openai/gpt-4o-mini]"
Files = dict[str, dict[str, Any]]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", "-C", str(repo), *args],
        check=True, capture_output=True,
    )  # fmt: skip


def _name(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest() + ".json"


def _commit(repo: Path, files: Files, message: str) -> None:
    folder = repo / AREA
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, rec in files.items():
        (folder / name).write_text(json.dumps(rec, indent=2) + "\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def rerecord(tmp_path: Path) -> Callable[[Files, Files], diffing.DiffReport]:
    """Commit `before`, then `after` (files not named are deleted), and diff the two commits."""

    def run(before: Files, after: Files) -> diffing.DiffReport:
        repo = tmp_path / f"repo{len(list(tmp_path.iterdir()))}"  # a test may re-record more than once
        repo.mkdir()
        _git(repo, "init", "-q", "-b", "main")
        _commit(repo, before, "before")
        _commit(repo, after, "after")
        return diffing.diff_revisions(repo=repo, base="HEAD~1", head="HEAD")

    return run


def _only(report: diffing.DiffReport) -> diff.RecordingDiff:
    [found] = report.diffs
    return found


def _json(report: diffing.DiffReport) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = orjson.loads(diffing.as_json(report))["recordings"]
    return data


# 1. Request changes are never noise.


def test_a_url_host_rewritten_in_place_is_a_request_change(rerecord: Any) -> None:
    old = stream_recording(test_id=TID.format("host"), text="Same answer.")
    new = copy.deepcopy(old)
    new["request"]["url"] = "https://gateway.example.org/v1/v1/chat/completions"  # the host is not hashed
    report = rerecord({_name("host"): old}, {_name("host"): new})
    found = _only(report)
    assert found.pairing == "same path"
    assert found.categories == ("request-changed",) and found.primary == "request-changed"
    assert found.request_fields == ("url",)
    [row] = _json(report)
    assert row["primary"] == "request-changed" and row["categories"] == ["request-changed"]


def test_headers_and_body_fields_are_request_changes_with_their_paths(rerecord: Any) -> None:
    old = stream_recording(test_id=TID.format("fields"), text="Same answer.")
    new = copy.deepcopy(old)
    new["request"]["headers"] = {"X-Tenant": "blue"}
    new["request"]["body"]["temperature"] = 0.2
    report = rerecord({_name("fields"): old}, {_name("fields"): new})
    found = _only(report)
    assert found.categories == ("request-changed",)
    assert found.request_fields == ("body.temperature", "headers.X-Tenant")
    [row] = _json(report)
    assert row["primary"] == "request-changed" and row["request_fields"] == ["body.temperature", "headers.X-Tenant"]


def test_only_noise_is_noise_only_and_says_which(rerecord: Any) -> None:
    """Fingerprints, obfuscation, ids and tool-call ids in the request change; nothing else does."""
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_AAA", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_AAA", "content": "Sunny"},
    ]  # fmt: skip
    old = stream_recording(test_id=TID.format("noise"), text="It is sunny.", messages=messages)
    new = copy.deepcopy(old)
    new["request"]["body"]["messages"][1]["tool_calls"][0]["id"] = "call_BBB"
    new["request"]["body"]["messages"][2]["tool_call_id"] = "call_BBB"
    for element in new["response"]["body"]:
        element["__data__"]["obfuscation"] = "zz"
        element["__data__"]["system_fingerprint"] = "fp_other"
        element["__data__"]["id"] = "rec-other"
    found = _only(rerecord({_name("noise"): old}, {_name("noise"): new}))
    assert found.categories == ("noise-only",) and found.request_fields == ()
    assert {"tool-call ids", "obfuscation", "system_fingerprint", "ids"} <= set(found.noise)


def test_a_tool_call_id_that_breaks_the_pairing_of_call_and_result_is_a_change(rerecord: Any) -> None:
    """Ids are noise by position: a tool result answering another call than before is a real change."""
    calls = [
        {"id": "call_A", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_B", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    messages = [
        {"role": "user", "content": "Do both"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_A", "content": "one"},
    ]
    old = stream_recording(test_id=TID.format("calls"), text="Done.", messages=messages)
    new = copy.deepcopy(old)
    new["request"]["body"]["messages"][2]["tool_call_id"] = "call_B"
    found = _only(rerecord({_name("calls"): old}, {_name("calls"): new}))
    assert found.categories == ("request-changed",)
    assert found.request_fields == ("body.messages[2].tool_call_id",)


def test_another_response_field_is_a_response_change(rerecord: Any) -> None:
    old = stream_recording(test_id=TID.format("tier"), text="Same answer.")
    new = copy.deepcopy(old)
    for element in new["response"]["body"]:
        element["__data__"]["service_tier"] = "priority"
    found = _only(rerecord({_name("tier"): old}, {_name("tier"): new}))
    assert found.categories == ("response-changed",)
    assert found.response_fields == ("body[].service_tier",)


def _chat_answer(test: str) -> dict[str, Any]:
    """A non-streamed chat completion with one tool call, as the recorder writes it."""
    rec = stream_recording(test_id=TID.format(test), text="")
    rec["request"]["body"]["stream"] = False
    message = {
        "role": "assistant",
        "content": "Checking.",
        "refusal": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    }
    rec["response"] = {
        "is_streaming": False,
        "body": {
            "__type__": "openai.types.chat.chat_completion.ChatCompletion",
            "__data__": {
                "id": "rec-1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": 5,
                    "total_tokens": 15,
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
                },
            },
        },
    }
    return rec  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["choices"][0]["message"].__setitem__("role", "tool"), "body.choices[0].message.role"),
        (lambda d: d["choices"][0]["message"]["tool_calls"][0].__setitem__("type", "custom"),
         "body.choices[0].message.tool_calls[0].type"),
        (lambda d: d["choices"][0]["message"].__setitem__("function_call", {"name": "f", "arguments": "{}"}),
         "body.choices[0].message.function_call"),
        (lambda d: d["usage"]["completion_tokens_details"].__setitem__("audio_tokens", 7),
         "body.usage.completion_tokens_details"),  # its zeros read as no detail at all
        (lambda d: d["choices"][0]["message"].__setitem__("thinking", "hidden"), "body.choices[0].message.thinking"),
    ],
)  # fmt: skip
def test_a_change_no_category_reads_is_named_never_noise(rerecord: Any, change: Any, field: str) -> None:
    """noise-only must be certain: a field the semantic categories do not compare still counts, by its path."""
    old = _chat_answer("certain")
    new = copy.deepcopy(old)
    change(new["response"]["body"]["__data__"])
    found = _only(rerecord({_name("certain"): old}, {_name("certain"): new}))
    assert found.categories == ("response-changed",) and found.response_fields == (field,)


def test_a_stream_change_no_category_reads_is_named_and_a_key_at_the_top_too(rerecord: Any) -> None:
    old = stream_recording(test_id=TID.format("streamed"), text="Same answer.")
    refused = copy.deepcopy(old)
    refused["response"]["body"][1]["__data__"]["choices"][0]["delta"]["refusal"] = "No."
    found = _only(rerecord({_name("s"): old}, {_name("s"): refused}))
    assert found.categories == ("response-changed",) and found.response_fields == ("body[].choices[].delta.refusal",)
    extra = copy.deepcopy(old)
    extra["recorded_with"] = "a key no shape has"
    found = _only(rerecord({_name("s"): old}, {_name("s"): extra}))
    assert found.categories == ("response-changed",) and found.response_fields == ("recorded_with",)


def _token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}


def _with_logprobs(rec: dict[str, Any], per_chunk: list[list[dict[str, Any]]]) -> dict[str, Any]:
    for item, tokens in zip(rec["response"]["body"], per_chunk, strict=False):
        item["__data__"]["choices"][0]["logprobs"] = {"content": tokens, "refusal": None}
    return rec


def test_logprobs_that_move_between_tokens_are_a_change_and_rechunked_ones_noise(rerecord: Any) -> None:
    """A stream's leaves compare as a set, so chunk boundaries never count; a token's logprob stays with its token:
    the same text with the two tokens' logprobs swapped is a response change, never noise-only."""
    old = stream_recording(test_id=TID.format("logprobs"), text="Yes no", usage=False)
    chunks = len(old["response"]["body"])
    tokens = [[_token("Yes", -0.1)], [_token(" no", -2.5)]] + [[]] * (chunks - 2)
    swapped = [[_token("Yes", -2.5)], [_token(" no", -0.1)]] + [[]] * (chunks - 2)
    before = _with_logprobs(copy.deepcopy(old), tokens)
    found = _only(rerecord({_name("lp"): before}, {_name("lp"): _with_logprobs(copy.deepcopy(old), swapped)}))
    assert found.categories == ("response-changed",)
    assert found.response_fields == ("body[].choices[].logprobs.content[]",)
    both_in_one = [[_token("Yes", -0.1), _token(" no", -2.5)]] + [[]] * (chunks - 1)  # re-chunked: noise
    found = _only(rerecord({_name("lp"): before}, {_name("lp"): _with_logprobs(copy.deepcopy(old), both_in_one)}))
    assert found.categories == ("noise-only",)
    twice = [[_token("Yes", -0.1)], [_token(" no", -2.5), _token(" no", -2.5)]] + [[]] * (chunks - 2)
    found = _only(rerecord({_name("lp"): before}, {_name("lp"): _with_logprobs(copy.deepcopy(old), twice)}))
    assert found.categories == ("response-changed",)  # a token sent twice is not the same as once


def test_noise_only_always_names_its_noise(rerecord: Any) -> None:
    """Arguments written with other spaces, or a file written with other formatting: noise, and said which."""
    old = _chat_answer("spacing")
    new = copy.deepcopy(old)
    new["response"]["body"]["__data__"]["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = (
        '{"city":"Oslo"}'
    )
    found = _only(rerecord({_name("spacing"): old}, {_name("spacing"): new}))
    assert found.categories == ("noise-only",) and found.noise == (
        "the spacing of tool-call arguments (the same JSON)",
    )
    reasoning_zero = copy.deepcopy(old)  # a count or detail reported as null or as 0 is the same count
    old["response"]["body"]["__data__"]["usage"]["completion_tokens_details"] = None
    found = _only(rerecord({_name("zero"): old}, {_name("zero"): reasoning_zero}))
    assert found.categories == ("noise-only",) and found.usage_delta is None


def _embedding(test: str, vector: list[float], prompt_tokens: int) -> dict[str, Any]:
    return {
        "test_id": TID.format(test),
        "request": {"method": "POST", "url": "https://api.openai.com/v1/v1/embeddings", "headers": {},
                    "body": {"model": "text-embedding-3-small", "input": ["hello"]},
                    "endpoint": "/v1/embeddings", "model": "text-embedding-3-small"},
        "response": {"is_streaming": False, "body": {
            "__type__": "openai.types.create_embedding_response.CreateEmbeddingResponse",
            "__data__": {"data": [{"embedding": vector, "index": 0, "object": "embedding"}],
                         "model": "text-embedding-3-small", "object": "list",
                         "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}}},
    }  # fmt: skip


def test_an_embeddings_usage_alone_is_a_usage_change_and_its_result_names_the_field(rerecord: Any) -> None:
    """Usage is compared by the usage categories in every shape: a usage change alone is not content-changed
    (which --fail-on content-changed would fail on); a result that changed names what changed."""
    old = _embedding("embed", [0.1, 0.2], 2)
    found = _only(rerecord({_name("e"): old}, {_name("e"): _embedding("embed", [0.1, 0.2], 5)}))
    assert found.categories == ("usage-changed",) and found.usage_delta["prompt_tokens"] == 3
    found = _only(rerecord({_name("e"): old}, {_name("e"): _embedding("embed", [0.1, 0.7], 2)}))
    assert found.categories == ("content-changed",) and found.response_fields == ("body.data[0].embedding[1]",)


def test_an_answer_and_its_reasoning_that_both_changed_show_both_diffs(rerecord: Any) -> None:
    def thinking(text: str, reasoning: str) -> dict[str, Any]:
        rec = stream_recording(test_id=TID.format("think"), text=text)
        rec["response"]["body"][0]["__data__"]["choices"][0]["delta"]["reasoning_content"] = reasoning
        return rec

    found = _only(
        rerecord({_name("t"): thinking("Paris.", "It is Paris.")}, {_name("t"): thinking("Lyon.", "Hmm, Lyon.")})
    )
    assert [t.part for t in found.text] == ["answer", "reasoning"]
    assert ("+", "Lyon") in found.text[0].segments and ("+", "Hmm,") in found.text[1].segments


DATA = Path(__file__).resolve().parent / "data"


def test_other_chunk_boundaries_are_noise_whatever_key_the_text_or_the_running_usage_sits_under(
    rerecord: Any,
) -> None:
    """Ollama's /api/generate streams its text under "response"; Databricks repeats a running usage total on
    every chunk: cut in other places, both say the same."""
    generate = json.loads((DATA / "ollama_generate_stream.json").read_text())
    moved = copy.deepcopy(generate)
    first, second = (moved["response"]["body"][i]["__data__"] for i in (0, 1))
    first["response"], second["response"] = "uns", "afe\nS1"
    assert (generate["response"]["body"][0]["__data__"]["response"], generate["response"]["body"][1]["__data__"]
            ["response"]) == ("un", "safe\nS1")  # fmt: skip
    assert _only(rerecord({_name("g"): generate}, {_name("g"): moved})).categories == ("noise-only",)
    running = json.loads((DATA / "databricks_cumulative_usage.json").read_text())
    merged = copy.deepcopy(running)
    chunks = merged["response"]["body"]
    head = chunks[0]["__data__"]["choices"][0]["delta"]
    head["content"] += chunks[1]["__data__"]["choices"][0]["delta"]["content"]
    del chunks[1]  # two chunks' text in one, its running total gone with the second
    found = _only(rerecord({_name("d"): running}, {_name("d"): merged}))
    assert found.categories == ("noise-only",) and any("chunk boundaries" in n for n in found.noise)


# 2. Listings compare as sets.


def _model_list(ids: list[str], created: int = 1700000000) -> dict[str, Any]:
    entries = [
        {"__type__": "openai.types.model.Model",
         "__data__": {"id": i, "created": created + n, "object": "model", "owned_by": "system"}}
        for n, i in enumerate(ids)
    ]  # fmt: skip
    return {
        "test_id": None,
        "request": {"method": "POST", "url": "https://api.openai.com/v1/v1/models", "headers": {}, "body": {},
                    "endpoint": "/v1/models", "model": ""},
        "response": {"body": entries, "is_streaming": False},
        "id_normalization_mapping": {},
    }  # fmt: skip


def _ps(names: list[str], expires: str) -> dict[str, Any]:
    models = [
        {"model": n, "name": n, "size": 100, "expires_at": expires, "details": {"family": "llama"}} for n in names
    ]
    return {
        "test_id": None,
        "request": {"method": "POST", "url": "http://localhost:11434/api/ps", "headers": {}, "body": {},
                    "endpoint": "/api/ps", "model": ""},
        "response": {"body": {"__type__": "ollama._types.ProcessResponse", "__data__": {"models": models}},
                     "is_streaming": False},
        "id_normalization_mapping": {},
    }  # fmt: skip


def test_a_reordered_model_list_is_noise(rerecord: Any) -> None:
    name = "models-" + _name("list")[:64] + "-abcd1234.json"
    old = _model_list(["gpt-4o", "gpt-4o-mini", "o3"])
    new = _model_list(["o3", "gpt-4o", "gpt-4o-mini"], created=1800000000)
    found = _only(rerecord({name: old}, {name: new}))
    assert found.categories == ("noise-only",)
    assert "order of entries" in found.noise and "created" in found.noise


def test_a_model_list_shows_the_models_added_and_removed(rerecord: Any) -> None:
    name = "models-" + _name("list")[:64] + "-abcd1234.json"
    report = rerecord({name: _model_list(["gpt-4o", "o3"])}, {name: _model_list(["o4-mini", "gpt-4o"])})
    found = _only(report)
    assert found.categories == ("content-changed",)
    assert (found.listing.added, found.listing.removed) == (("o4-mini",), ("o3",))
    [row] = _json(report)
    assert (row["models_added"], row["models_removed"]) == (["o4-mini"], ["o3"])


def test_ollama_ps_compares_as_a_set_and_its_expiry_is_noise(rerecord: Any) -> None:
    old = _ps(["llama3.2:3b", "llama-guard3:1b"], "2026-01-01T00:00:00Z")
    moved = _ps(["llama-guard3:1b", "llama3.2:3b"], "2026-02-02T00:00:00Z")
    found = _only(rerecord({_name("ps"): old}, {_name("ps"): moved}))
    assert found.categories == ("noise-only",) and "expires_at" in found.noise


def test_a_listing_entry_with_other_details_is_a_response_change_and_named(rerecord: Any) -> None:
    old = _ps(["llama3.2:3b"], "2026-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    new["response"]["body"]["__data__"]["models"][0]["size"] = 200
    found = _only(rerecord({_name("ps"): old}, {_name("ps"): new}))
    assert found.categories == ("response-changed",) and found.listing.changed == ("llama3.2:3b: size",)


# 3. Approximate pairs stay at one step.


def _chat(test: str, messages: list[dict[str, Any]], text: str, **params: Any) -> dict[str, Any]:
    rec = stream_recording(test_id=TID.format(test), text=text, messages=messages)
    rec["request"]["body"].update(params)
    return rec


ONE = [{"role": "user", "content": "Plan a trip to Rome"}]
THREE = [*ONE, {"role": "assistant", "content": "Sure: when?"}, {"role": "user", "content": "In May"}]


def test_different_steps_are_a_removed_and_an_added_file(rerecord: Any) -> None:
    """A one-message request and a three-message one open alike, but are not the same call."""
    report = rerecord({_name("one"): _chat("trip", ONE, "Sure: when?")}, {_name("three"): _chat("trip", THREE, "Ok.")})
    assert sorted(d.categories for d in report.diffs) == [("added",), ("removed",)]
    assert all(d.pairing == "" and not d.candidates for d in report.diffs)


def test_the_same_step_with_a_changed_last_turn_pairs_approximately(rerecord: Any) -> None:
    changed = [*THREE[:2], {"role": "user", "content": "In June"}]
    report = rerecord({_name("a"): _chat("trip", THREE, "May is fine.")}, {_name("b"): _chat("trip", changed, "June.")})
    found = _only(report)
    assert found.pairing == "approximate" and not found.ambiguous
    assert set(found.categories) == {"request-changed", "content-changed"}
    assert found.request_fields == ("body.messages[2].content",)


def test_equally_good_candidates_stay_unpaired_and_list_each_other(rerecord: Any) -> None:
    first = [*THREE[:2], {"role": "user", "content": "In June"}]
    second = [*THREE[:2], {"role": "user", "content": "In July"}]
    before = {_name("old"): _chat("trip", THREE, "May.")}
    after = {_name("june"): _chat("trip", first, "June."), _name("july"): _chat("trip", second, "July.")}
    report = rerecord(before, after)
    by_side = {d.categories[0]: [] for d in report.diffs}
    for d in report.diffs:
        by_side[d.categories[0]].append(d)
    [removed] = by_side["removed"]
    assert removed.ambiguous and len(removed.candidates) == 2
    assert all(d.candidates == (removed.old_path,) for d in by_side["added"])
    rows = _json(report)
    assert {len(r["candidates"]) for r in rows} == {1, 2} and all(r["pairing"] is None for r in rows)


def test_a_tie_partner_that_a_later_rule_pairs_is_no_partner_any_more(rerecord: Any) -> None:
    """The old file ties for two new ones of its step (none chosen), then pairs as a renamed test: the two new
    files are simply added, not ambiguous with a file that has its partner."""
    first = [*THREE[:2], {"role": "user", "content": "In June"}]
    second = [*THREE[:2], {"role": "user", "content": "In July"}]
    before = {_name("old"): _chat("trip", THREE, "May.")}
    renamed = _chat("trip", THREE, "May.")
    renamed["test_id"] = TID.format("journey")
    after = {_name("june"): _chat("trip", first, "June."), _name("july"): _chat("trip", second, "July."),
             _name("renamed"): renamed}  # fmt: skip
    report = rerecord(before, after)
    [moved] = [d for d in report.diffs if d.pairing == "test renamed"]
    added = [d for d in report.diffs if d.categories == ("added",)]
    assert moved.old_path.endswith(_name("old")) and len(added) == 2
    assert moved.test_id_old == TID.format("trip") and moved.test_id == TID.format("journey")
    assert f"test id was: {TID.format('trip')}" in diff_render.as_markdown(report)
    assert {r["test_id_old"] for r in _json(report)} == {None, TID.format("trip")}
    assert all(not d.ambiguous and d.candidates == () for d in added)


def test_a_test_renamed_needs_the_same_tools_offered(rerecord: Any) -> None:
    """The same prompt sent by another test with other tools (or none) is another test's call, not a rename."""
    before = stream_recording(test_id=TID.format("old_name"), text="Sunny.", tool=("get_weather", '{"city": "Oslo"}'))
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    before["request"]["body"]["tools"] = [weather]
    renamed = copy.deepcopy(before)
    renamed["test_id"] = TID.format("new_name")
    [moved] = rerecord({_name("a"): before}, {_name("b"): renamed}).diffs
    assert moved.pairing == "test renamed"
    other = copy.deepcopy(renamed)
    other["request"]["body"]["tools"] = []
    report = rerecord({_name("a"): before}, {_name("b"): other})
    assert sorted(d.categories[0] for d in report.diffs) == ["added", "removed"]


BEDROCK = "tests/integration/inference/test_openai_completion.py::test_store[client_with_models-txt=bedrock/{}-{}]"


def _bedrock(model: str, flag: str, host: str, text: str) -> dict[str, Any]:
    rec = stream_recording(test_id=BEDROCK.format(model, flag), text=text, model=model, usage=False)
    rec["request"]["url"] = f"https://{host}/v1/v1/chat/completions"
    return rec


def test_a_model_renamed_in_its_test_id_pairs_and_says_what_the_test_was(rerecord: Any) -> None:
    """A suite moves a test to a new model id (and endpoint): each old file pairs with the new one of its own
    parametrisation, as a model change; a model the test id does not name never pairs across test ids."""
    old_model, new_model = "openai.gpt-oss-20b-1:0", "openai.gpt-oss-20b"
    before = {_name(f"old{f}"): _bedrock(old_model, f, "bedrock-runtime.example", "Hi.") for f in ("True", "False")}
    after = {_name(f"new{f}"): _bedrock(new_model, f, "bedrock-mantle.example", "Hello!") for f in ("True", "False")}
    report = rerecord(before, after)
    assert sorted(d.pairing for d in report.diffs) == ["model renamed", "model renamed"]
    for d in report.diffs:
        flag = "True" if d.old_path.endswith(_name("oldTrue")) else "False"
        assert d.new_path.endswith(_name(f"new{flag}")) and not d.ambiguous
        assert d.primary == "model-changed" and {"request-changed", "content-changed"} <= set(d.categories)
        assert d.test_id_old == BEDROCK.format(old_model, flag) and d.test_id == BEDROCK.format(new_model, flag)
    # Another prompt, or a test id that does not name the model, is no rename.
    other = {_name("x"): _bedrock(new_model, "True", "bedrock-mantle.example", "Hello!")}
    other[_name("x")]["request"]["body"]["messages"] = [{"role": "user", "content": "Something else"}]
    assert {d.categories[0] for d in rerecord({_name("a"): before[_name("oldTrue")]}, other).diffs} == {
        "added", "removed"
    }  # fmt: skip
    unnamed = _bedrock(new_model, "True", "bedrock-mantle.example", "Hello!")
    unnamed["test_id"] = BEDROCK.format("the-new-one", "True")
    assert {d.categories[0] for d in rerecord({_name("a"): before[_name("oldTrue")]}, {_name("b"): unnamed}).diffs} == {
        "added", "removed"
    }  # fmt: skip


def test_two_models_renamed_at_once_tie_and_stay_unpaired(rerecord: Any) -> None:
    """Two models of one parametrisation both replaced by two others: which new one follows which old one is not
    known, so none is paired and each lists the others."""
    before = {_name(m): _bedrock(m, "True", "h.example", "Hi.") for m in ("model-a", "model-b")}
    after = {_name(m): _bedrock(m, "True", "h.example", "Hi.") for m in ("model-c", "model-d")}
    report = rerecord(before, after)
    assert sorted(d.categories[0] for d in report.diffs) == ["added", "added", "removed", "removed"]
    assert [(d.ambiguous, len(d.candidates)) for d in report.diffs] == [(True, 2)] * 4
    for d in report.diffs:  # a removed file's partners are new files, an added one's old files
        assert d.candidate_sides == (("new",) * 2 if d.categories == ("removed",) else ("old",) * 2)


def _session_call(host: str, prompt: str, model: str = "gpt-4o") -> dict[str, Any]:
    """A call made outside any test (a session fixture's): a null test id, stored in common/."""
    rec = stream_recording(test_id=None, text="Hi.", messages=[{"role": "user", "content": prompt}], model=model)
    rec["request"]["url"] = f"https://{host}/v1/v1/chat/completions"
    return rec


def test_calls_outside_any_test_pair_only_with_the_same_server_and_never_by_step(rerecord: Any) -> None:
    """A null test id is shared by every call outside a test: Azure's call is not OpenAI's, and two prompts to
    the same server are two calls."""
    before = {_name("azure"): _session_call("x.openai.azure.com", "Which planet?"),
              _name("ollama"): _session_call("localhost:11434", "Trace one", model="llama3.2:3b")}  # fmt: skip
    after = {_name("openai"): _session_call("api.openai.com", "Which planet?"),
             _name("ollama2"): _session_call("localhost:11434", "Trace two", model="llama3.2:3b")}  # fmt: skip
    report = rerecord(before, after)
    assert sorted(d.categories[0] for d in report.diffs) == ["added", "added", "removed", "removed"]
    again = {_name("azure2"): _session_call("x.openai.azure.com", "Which planet?")}
    [same] = rerecord({_name("azure"): before[_name("azure")]}, again).diffs
    assert same.pairing == "same request" and same.categories == ("noise-only",)


# 4. A step recorded more than once.


def test_the_most_similar_of_several_candidates_wins_and_is_marked_ambiguous(rerecord: Any) -> None:
    """Two old recordings of one step (other temperatures); the re-recording keeps temperature 0."""
    before = {
        _name("t0"): _chat("trip", THREE, "May is fine.", temperature=0.0),
        _name("t7"): _chat("trip", THREE, "May is lovely!", temperature=0.7),
    }
    changed = [*THREE[:2], {"role": "user", "content": "In June"}]
    after = {_name("new"): _chat("trip", changed, "June.", temperature=0.0)}
    report = rerecord(before, after)
    [paired] = [d for d in report.diffs if d.pairing]
    assert paired.pairing == "approximate" and paired.ambiguous
    assert paired.old_path.endswith(_name("t0")) and paired.candidates == (f"{AREA}/{_name('t7')}",)
    [left] = [d for d in report.diffs if not d.pairing]
    assert left.categories == ("removed",) and left.old_path.endswith(_name("t7"))
    [row] = [r for r in _json(report) if r["pairing"]]
    assert row["ambiguous"] is True and row["candidates"] == [f"{AREA}/{_name('t7')}"]
    assert row["candidate_sides"] == ["old"] and paired.sided_candidates == (("old", f"{AREA}/{_name('t7')}"),)
    assert f"the others, closest first: old {AREA}/{_name('t7')}" in diff_render.as_text(report)


@pytest.mark.parametrize("budget", [400_000, 4])
def test_the_word_diff_always_gives_back_both_texts(budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever way the middle is matched (word by word, or lines first for long answers)."""
    import random

    monkeypatch.setattr(worddiff, "_WORD_BUDGET", budget)
    words = ["alpha", "beta", "gamma", "Paris", ",", ".", "\n", "  ", "é"]
    rng = random.Random(7)
    for _ in range(300):
        a = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        segments = diff.word_diff(a, b)
        assert "".join(t for op, t in segments if op != "+") == a
        assert "".join(t for op, t in segments if op != "-") == b
        assert all(t for _, t in segments) and all(x[0] != y[0] for x, y in zip(segments, segments[1:], strict=False))
    long_old = "\n".join(f"line {i} of the answer" for i in range(3000))
    long_new = long_old.replace("line 1500 of", "line 1500 (changed) of")
    assert [s for s in diff.word_diff(long_old, long_new) if s[0] != "="] == [("+", "(changed) ")]


def _apply(lines: list[str], patch: str) -> list[str]:
    """Apply a unified diff to lines, checking every context and removed line against them."""
    out: list[str] = []
    pos = 0
    body = patch.splitlines(keepends=True)[2:]
    for line in body:
        if line.startswith("@@"):
            start, _, length = line.split()[1][1:].partition(",")
            first = int(start) - 1 if length != "0" else int(start)
            out += lines[pos:first]
            pos = first
        elif line.startswith((" ", "-")):
            assert lines[pos] == line[1:]
            pos += 1
            if line.startswith(" "):
                out.append(line[1:])
        elif line.startswith("+"):
            out.append(line[1:])
    return out + lines[pos:]


def test_the_raw_diff_is_a_patch_that_turns_the_old_file_into_the_new() -> None:
    import random

    rng = random.Random(5)
    for _ in range(500):
        old = ["q"] + [rng.choice(["a", "b", "c", "x{", "}", "        deep", "  {"]) for _ in range(rng.randint(0, 40))]
        new = list(old)
        for _ in range(rng.randint(1, 5)):
            where = rng.randrange(len(new) + 1)
            new[where : where + rng.randint(0, 2)] = [rng.choice(["x", "y", "a"])] * rng.randint(0, 2)
        if not new or new[0] != "q":
            new.insert(0, "q")
        a, b = [f"{line}\n" for line in old], [f"{line}\n" for line in new]
        patch = rawdiff.raw_diff("".join(a).encode(), "".join(b).encode())
        assert (patch == "") == (a == b)
        if patch:
            assert patch.startswith("--- old\n+++ new\n@@ ") and _apply(a, patch) == b


def test_the_raw_diff_of_real_shaped_streams_applies_too() -> None:
    """Pretty JSON is matched block by block (stream elements) first: the patch must still be exact."""
    import random

    rng = random.Random(11)
    for _ in range(60):
        old = stream_recording(
            test_id=TID.format("raw"), text=" ".join(rng.choice(["Paris", "is", "big", "."]) for _ in range(30))
        )
        new = copy.deepcopy(old)
        for element in new["response"]["body"]:
            if rng.random() < 0.3:
                element["__data__"]["obfuscation"] = "o" * rng.randint(1, 5)
        if rng.random() < 0.5:
            del new["response"]["body"][rng.randrange(len(new["response"]["body"]))]
        if rng.random() < 0.5:
            new["request"]["body"]["temperature"] = 0.5
        a_bytes, b_bytes = json.dumps(old).encode(), json.dumps(new).encode()
        pretty = [orjson.dumps(json.loads(x), option=orjson.OPT_INDENT_2).decode() for x in (a_bytes, b_bytes)]
        a, b = (text.splitlines(keepends=True) for text in pretty)
        a[-1], b[-1] = a[-1] + "\n", b[-1] + "\n"  # the patch marks the missing final newline; compare whole lines
        patch = rawdiff.raw_diff(a_bytes, b_bytes).replace("\n\\ No newline at end of file\n", "\n")
        assert (patch == "") == (a == b)
        if patch:
            assert _apply(a, patch) == b


def test_review_findings_unreadable_logprobs_duplicates_and_nan(rerecord: Any) -> None:
    """Never noise when a side cannot be read; logprobs, a duplicated model id and NaN are compared right."""
    from recorder_ui.domain import loader

    def parse(data: bytes) -> Any:
        return loader.parse(data, path="p.json")

    assert diff.compare(parse(b"[1]"), parse(b"[2]"), how="same path").categories == ("unreadable",)
    old = stream_recording(test_id=TID.format("logprobs"), text="Same.")
    new = copy.deepcopy(old)
    for rec, value in ((old, -0.1), (new, -5.0)):
        rec["response"]["body"][0]["__data__"]["choices"][0]["logprobs"] = {
            "content": [{"token": "S", "logprob": value}]
        }
    assert diff.compare(parse(json.dumps(old).encode()), parse(json.dumps(new).encode())).categories == (
        "response-changed",
    )
    twice = _model_list(["gpt-4o", "gpt-4o"])
    twice["response"]["body"][0]["__data__"]["owned_by"] = "someone else"
    found = diff.compare(
        parse(json.dumps(_model_list(["gpt-4o", "gpt-4o"])).encode()), parse(json.dumps(twice).encode())
    )
    assert found.categories != ("noise-only",)
    nan = (
        json.dumps(old).replace('"Same.', '"Same.').encode().replace(b'"stream": true', b'"stream": true, "score": NaN')
    )
    assert diff.compare(parse(nan), parse(nan)).categories == ("noise-only",)
