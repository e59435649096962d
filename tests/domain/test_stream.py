"""stream.reassemble: chunks become whole messages, per choice, through every provider quirk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recorder_ui.domain import loader, stream
from recorder_ui.domain.model import Kind, Message, Recording
from recorder_ui.domain.usage import WrongType
from tests.domain.recs import chunk, delta, frag, parse, usage


def _data(*chunks):  # type: ignore[no-untyped-def]
    return [c["__data__"] for c in chunks]


def test_stream_reassemble_joins_text_and_keeps_the_last_finish_reason() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", content="")]), chunk([delta(content="Hel")]), chunk([delta(content="lo")]),
        chunk([delta(finish="stop")]),
    ))  # fmt: skip
    assert (message.role, message.content, message.finish_reason) == ("assistant", "Hello", "stop")


def test_stream_reassemble_joins_tool_call_argument_deltas() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", tool_calls=[frag(0, "call_1", "get_weather", "", "function")])]),
        chunk([delta(tool_calls=[frag(0, None, None, '{"ci')])]),
        chunk([delta(tool_calls=[frag(0, None, None, 'ty": "Paris"}')])]),
        chunk([delta(finish="tool_calls")]),
    ))  # fmt: skip
    [call] = message.tool_calls
    assert (call.id, call.name, call.parsed_arguments, call.arguments_valid) == (
        "call_1", "get_weather", {"city": "Paris"}, True)  # fmt: skip


def test_two_parallel_calls_keep_their_own_fragments() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(tool_calls=[frag(0, "a", "f", "")])]), chunk([delta(tool_calls=[frag(0, args='{"x": 1}')])]),
        chunk([delta(tool_calls=[frag(1, "b", "g", "")])]), chunk([delta(tool_calls=[frag(1, args='{"y": 2}')])]),
    ))  # fmt: skip
    assert [(c.id, c.name, c.parsed_arguments) for c in message.tool_calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {"y": 2}),
    ]


def test_invalid_arguments_are_kept_and_flagged() -> None:
    [message] = stream.reassemble(_data(chunk([delta(tool_calls=[frag(0, "a", "f", '{"x": ')])])))
    [call] = message.tool_calls
    assert (call.arguments, call.arguments_valid) == ('{"x": ', False)


def test_vllm_null_first_arguments_and_watsonx_empty_names_do_not_overwrite() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(tool_calls=[frag(0, "chatcmpl-tool-1", "lookup", None, "function")])]),
        chunk([delta(tool_calls=[frag(0, None, "", '{"q": "a"}')])]),
        chunk([delta(finish="tool_calls", tool_calls=[frag(0, None, "", "")])]),  # WatsonX trailing empty fragment
    ))  # fmt: skip
    [call] = message.tool_calls
    assert (call.id, call.name, call.parsed_arguments) == ("chatcmpl-tool-1", "lookup", {"q": "a"})


def _unindexed(id: str | None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": args}}


def test_fragments_without_an_index_and_with_one_never_share_a_call() -> None:
    """Fragments without an index: a new id starts a call, a known id continues its own, no id the last one.
    Beside indexed fragments they take slots of their own, so no call is merged into another or lost."""
    [message] = stream.reassemble(_data(
        chunk([delta(tool_calls=[frag(5, "call_a", "alpha", '{"x": 1}')])]),
        chunk([delta(tool_calls=[_unindexed("call_b", "beta", '{"y"')])]),
        chunk([delta(tool_calls=[_unindexed(None, None, ": 2}")])]),  # continues beta, the last one
        chunk([delta(tool_calls=[frag(1, "call_c", "gamma", '{"z": 3}')])]),
        chunk([delta(tool_calls=[_unindexed("call_b", None, "")])]),  # beta's id again: beta, not gamma
    ))  # fmt: skip
    calls = {c.name: (c.id, c.parsed_arguments, c.arguments_valid) for c in message.tool_calls}
    assert calls == {"alpha": ("call_a", {"x": 1}, True), "beta": ("call_b", {"y": 2}, True),
                     "gamma": ("call_c", {"z": 3}, True)}  # fmt: skip


def test_a_call_begun_without_an_index_goes_on_under_index_0() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(tool_calls=[_unindexed("call_a", "alpha", '{"x"')])]),
        chunk([delta(tool_calls=[frag(0, None, None, ": 1}")])]),
    ))  # fmt: skip
    [call] = message.tool_calls
    assert (call.id, call.name, call.parsed_arguments) == ("call_a", "alpha", {"x": 1})


def test_many_fragments_without_an_index_each_start_their_call() -> None:
    """Each fragment looks its id up once (the time it takes is in no test: 20,000 such fragments took 8 s when
    every call's id was gathered again for each)."""
    many = [chunk([delta(tool_calls=[_unindexed(f"x{n}", f"f{n}", "{}")])]) for n in range(5000)]
    [message] = stream.reassemble(_data(*many))
    assert [c.name for c in message.tool_calls] == [f"f{n}" for n in range(5000)]


def test_tgi_repeats_id_zero_and_sends_no_finish_reason() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", "calc", '{"a"', "function")])]),
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", None, ": 1}", "function")])]),
    ))  # fmt: skip
    [call] = message.tool_calls
    assert (call.id, call.parsed_arguments, message.finish_reason) == ("0", {"a": 1}, "")


def test_tgi_parallel_calls_that_both_say_id_zero_stay_two_calls() -> None:
    """Calls are keyed by their index: TGI's id "0" on every fragment of every call merges none of them."""
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", "a", '{"x"', "function")])]),
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", None, ": 1}", "function")])]),
        chunk([delta(role="assistant", tool_calls=[frag(1, "0", "b", '{"y"', "function")])]),
        chunk([delta(role="assistant", tool_calls=[frag(1, "0", None, ": 2}", "function")])]),
    ))  # fmt: skip
    assert [(c.index, c.name, c.parsed_arguments) for c in message.tool_calls] == [
        (0, "a", {"x": 1}),
        (1, "b", {"y": 2}),
    ]


def test_calls_sharing_index_0_with_their_own_ids_keep_their_later_fragments() -> None:
    """A stream that numbers every call 0 but gives each its id: a fragment without an id goes on with the last
    call begun at that index, not with the first."""
    [message] = stream.reassemble(_data(
        chunk([delta(tool_calls=[frag(0, "call_a", "a", '{"x": 1}')])]),
        chunk([delta(tool_calls=[frag(0, "call_b", "b", '{"y"')])]),
        chunk([delta(tool_calls=[frag(0, None, None, ": 2}")])]),
        chunk([delta(tool_calls=[frag(0, "call_a", None, "")])]),  # call_a's id again: still call_a's
    ))  # fmt: skip
    calls = {c.name: (c.id, c.parsed_arguments) for c in message.tool_calls}
    assert calls == {"a": ("call_a", {"x": 1}), "b": ("call_b", {"y": 2})}


def test_bedrock_several_fragments_in_one_delta_and_reasoning_tags() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(content="<reasoning>Need the tool.</reasoning>", obfuscation="zz")]),
        chunk([delta(tool_calls=[frag(0, "t1", "calc", '{"e": ', "function"), frag(0, None, None, '"1+1"}', "function")])]),
        chunk([delta(finish="tool_calls")]),
    ))  # fmt: skip
    assert message.reasoning == "Need the tool." and message.content == ""
    assert message.tool_calls[0].parsed_arguments == {"e": "1+1"}


def test_reasoning_fields_and_think_tags() -> None:
    [a] = stream.reassemble(
        _data(chunk([delta(reasoning="Think ", content="")]), chunk([delta(reasoning_content="more", content="42")]))
    )
    assert (a.reasoning, a.content) == ("Think more", "42")
    [b] = stream.reassemble(_data(chunk([delta(content="<think>hmm</think>")]), chunk([delta(content="Answer")])))
    assert (b.reasoning, b.content) == ("hmm", "Answer")


def test_n2_interleaved_choices_become_two_messages() -> None:
    messages = stream.reassemble(_data(
        chunk([delta(1, content="B1 ")]), chunk([delta(0, content="A1 ")]), chunk([delta(1, content="B2")]),
        chunk([delta(0, content="A2")]), chunk([delta(0, finish="stop")]), chunk([delta(1, finish="length")]),
    ))  # fmt: skip
    assert [(m.index, m.content, m.finish_reason) for m in messages] == [(0, "A1 A2", "stop"), (1, "B1 B2", "length")]


def test_ollama_whole_call_in_one_fragment_beside_empty_content() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", content="", tool_calls=[frag(0, "call_x", "f", '{"k": true}', "function")])]),
        chunk([delta(role="assistant", content="", finish="tool_calls")]),
    ))  # fmt: skip
    assert message.content == "" and message.tool_calls[0].parsed_arguments == {"k": True}


def test_logprobs_are_noticed() -> None:
    data = chunk(
        [{"index": 0, "finish_reason": None, "delta": {"content": "a"}, "logprobs": {"content": [{"token": "a"}]}}]
    )
    [message] = stream.reassemble([data["__data__"]])
    assert message.has_logprobs


def test_chunk_rows_describe_each_stream_element() -> None:
    rec = parse({
        "test_id": None,
        "request": {"method": "POST", "url": "https://r.openai.azure.com/openai/v1/v1/chat/completions", "headers": {},
                    "endpoint": "/v1/chat/completions", "model": "gpt-4o", "body": {"model": "gpt-4o", "messages": [], "stream": True}},
        "response": {"is_streaming": True, "body": [
            chunk([], prompt_filter_results=[]),
            chunk([delta(role="assistant", tool_calls=[frag(0, "c", "f", "")])]),
            chunk([delta(content="hi")]), chunk([delta(finish="stop")]), chunk([], usage(3, 4)),
        ]},
    })  # fmt: skip
    assert rec.kind == Kind.CHAT
    rows = stream.chunk_rows(rec)
    assert [r.index for r in rows] == [0, 1, 2, 3, 4]
    assert "Azure" in rows[0].note
    assert rows[1].tool_fragment.startswith("#0 f")
    assert rows[2].text == "hi" and rows[3].finish_reason == "stop"
    assert rows[4].usage is not None and rows[4].usage.total_tokens == 7 and rows[4].note == "usage chunk"


# Hand-made files, one per provider quirk ----------------------------------------------------------------

DATA = Path(__file__).parent.parent / "data"


def _load(name: str) -> Recording:
    return loader.load(DATA / name, name=name)


def _chunks(name: str) -> list[dict[str, Any]]:
    raw = json.loads((DATA / name).read_text())
    return [element["__data__"] for element in raw["response"]["body"]]


def _calls(message: Message) -> list[tuple[str, str, Any]]:
    return [(c.id, c.name, c.parsed_arguments) for c in message.tool_calls]


def test_azure_empty_first_chunk_is_skipped_and_filter_results_ignored() -> None:
    [message] = stream.reassemble(_chunks("azure_empty_first_chunk.json"))
    assert (message.role, message.content, message.finish_reason) == ("assistant", "Hello!", "stop")


def test_databricks_text_is_joined_once_although_usage_repeats() -> None:
    [message] = stream.reassemble(_chunks("databricks_cumulative_usage.json"))
    assert (message.content, message.finish_reason) == ("Hello! Nice to meet you.", "stop")


def test_tgi_id_zero_on_every_fragment_is_one_call_without_finish_reason() -> None:
    [message] = stream.reassemble(_chunks("tgi_tool_call.json"))
    assert _calls(message) == [("0", "add", {"a": 2, "b": 3})] and message.finish_reason == ""


def test_bedrock_reasoning_tags_and_fragments_sharing_one_delta() -> None:
    [message] = stream.reassemble(_chunks("bedrock_reasoning_tool_call.json"))
    assert (message.content, message.reasoning) == ("", "The user wants a product. Use the calculator.")
    assert _calls(message) == [("tooluse_Q1", "calculator", {"expression": "15 * 7"})]
    assert message.tool_calls[0].arguments == '{"expression": "15 * 7"}'


def test_watsonx_blank_names_and_trailing_empty_fragment_keep_the_first_name() -> None:
    [message] = stream.reassemble(_chunks("watsonx_tool_call.json"))
    assert _calls(message) == [("chatcmpl-tool-9f2", "get_weather", {"city": "Rome"})]


def test_ollama_whole_call_in_one_fragment_and_empty_content() -> None:
    [message] = stream.reassemble(_chunks("ollama_stream.json"))
    assert (message.content, message.finish_reason) == ("", "tool_calls")
    assert _calls(message) == [("call_u1x2y3z4", "get_weather", {"city": "Oslo"})]


def test_vllm_think_tags_move_to_reasoning() -> None:
    [message] = stream.reassemble(_chunks("vllm_think.json"))
    assert (message.content, message.reasoning) == ("2 + 2 = 4.", "Simple sum.")


def test_fireworks_n2_interleaved_file() -> None:
    first, second = stream.reassemble(_chunks("n2_interleaved.json"))
    assert (first.index, first.content, first.finish_reason) == (0, "Salve", "stop")
    assert (second.index, second.content, second.finish_reason) == (1, "The Latin word is salve.", "length")


def test_parallel_calls_file_and_openai_fragments() -> None:
    [message] = stream.reassemble(_chunks("streamed_parallel_tool_calls.json"))
    assert _calls(message) == [
        ("call_A", "get_weather", {"city": "Paris"}),
        ("call_B", "get_time", {"zone": "Asia/Tokyo"}),
    ]
    [single] = stream.reassemble(_chunks("streamed_tool_call.json"))
    assert single.tool_calls[0].arguments == '{"city":"Paris"}' and single.tool_calls[0].arguments_valid


def test_broken_arguments_are_kept_and_flagged() -> None:
    [message] = stream.reassemble(_chunks("invalid_tool_args.json"))
    [call] = message.tool_calls
    assert (call.name, call.arguments, call.arguments_valid, call.parsed_arguments) == (
        "lookup",
        '{"city": "Os',
        False,
        None,
    )


def test_empty_arguments_count_as_an_empty_object() -> None:
    [message] = stream.reassemble(_data(chunk([delta(tool_calls=[frag(0, "a", "ping", "")])])))
    assert (message.tool_calls[0].arguments_valid, message.tool_calls[0].parsed_arguments) == (True, {})


def test_refusal_is_joined() -> None:
    [message] = stream.reassemble(_data(chunk([delta(refusal="I can't ")]), chunk([delta(refusal="help.")])))
    assert message.refusal == "I can't help."


def test_quick_path_and_careful_loop_agree_on_every_hand_made_stream() -> None:
    for path in sorted(DATA.glob("*.json")):
        raw = json.loads(path.read_text())
        body = raw.get("response", {}).get("body") if isinstance(raw, dict) else None
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, dict) and str(first.get("__type__", "")).endswith("ChatCompletionChunk"):
            chunks = [element["__data__"] for element in body]
            if isinstance(chunks[-1].get("choices"), list):  # wrong_types.json is for the loader
                quick = stream._reassemble_quick(chunks)
                assert quick is None or quick == stream._reassemble_careful(chunks), path.name


def test_both_reasoning_fields_keep_their_chunk_order() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(reasoning="a")]), chunk([delta(reasoning_content="b")]), chunk([delta(reasoning="c")])))  # fmt: skip
    assert message.reasoning == "abc"


def test_split_reasoning_handles_both_tags_and_a_lone_closing_think() -> None:
    assert stream.split_reasoning("<reasoning>why</reasoning>Answer") == ("Answer", "why")
    assert stream.split_reasoning("<think>a</think>x<think>b</think>y") == ("xy", "a\n\nb")
    assert stream.split_reasoning("<think>never closed") == ("", "never closed")
    assert stream.split_reasoning("opened by the template</think>\n\n4") == ("4", "opened by the template")
    assert stream.split_reasoning("plain") == ("plain", "")


def test_wrong_types_raise_with_the_place() -> None:
    with pytest.raises(WrongType) as caught:
        stream.reassemble(
            [{"choices": [{"index": 0, "delta": {"content": "a"}}]}, {"choices": [{"index": "1", "delta": {}}]}]
        )
    assert caught.value.path == (1, "choices", 0, "index")
    with pytest.raises(WrongType) as caught:
        stream.reassemble([{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]}])
    assert (
        str(caught.value)
        == "wrong type at [0].choices[0].delta.tool_calls[0].function: expected an object, but it is a string"
    )


# Chunk rows (the Chunks tab) ------------------------------------------------------------------------------


def test_chunk_rows_of_a_streamed_tool_call() -> None:
    rows = stream.chunk_rows(_load("streamed_tool_call.json"))
    assert [r.index for r in rows] == [0, 1, 2, 3, 4]
    assert (rows[0].role, rows[0].tool_fragment) == ("assistant", "#0 get_weather")
    assert rows[1].tool_fragment == '#0 {"ci' and rows[3].finish_reason == "tool_calls"
    assert rows[4].note == "usage chunk" and rows[4].usage is not None and rows[4].usage.total_tokens == 84


def test_chunk_rows_notes_and_per_provider_fields() -> None:
    azure = stream.chunk_rows(_load("azure_empty_first_chunk.json"))
    assert azure[0].note == "no choices (Azure prompt filter)" and azure[2].text == "Hello!"
    bedrock = stream.chunk_rows(_load("bedrock_reasoning_tool_call.json"))
    assert bedrock[1].tool_fragment == '#0 calculator {"expr; #0 ession": '
    databricks = stream.chunk_rows(_load("databricks_cumulative_usage.json"))
    assert [r.usage.total_tokens for r in databricks if r.usage] == [17, 22, 23]
    vllm = stream.chunk_rows(_load("vllm_think.json"))
    assert vllm[1].text == "<think>\nSimple sum."  # rows show what was sent, before the split
    n2 = stream.chunk_rows(_load("n2_interleaved.json"))
    assert [r.choice_index for r in n2] == [1, 0, 1, 0, 1]


def test_chunk_rows_of_other_streams() -> None:
    completion = stream.chunk_rows(_load("completion_streamed.json"))
    assert [r.text for r in completion] == [" violets", " are blue", "."] and completion[2].finish_reason == "length"
    ollama = stream.chunk_rows(_load("ollama_generate_stream.json"))
    assert [r.text for r in ollama] == ["un", "safe\nS1", ""] and ollama[2].usage is not None
    assert ollama[2].usage.total_tokens == 220 and ollama[0].usage is None
    genai = stream.chunk_rows(_load("genai_stream.json"))
    assert [r.text for r in genai] == ["One, ", "two, ", "three."]
    assert [r.usage.total_tokens if r.usage else None for r in genai] == [None, None, 15]
    truncated = stream.chunk_rows(_load("truncated.json"))
    assert [r.text for r in truncated] == ["Once upon", " a time"]


def test_chunk_rows_of_sse_are_events() -> None:
    rows = stream.chunk_rows(_load("anthropic_sse.json"))
    assert rows[0].note == "event: message_start" and rows[0].usage is not None and rows[0].usage.prompt_tokens == 7
    assert rows[2].reasoning == "Need the" and rows[6].text == "Checking"
    assert rows[7].tool_fragment == "#2 get_weather" and rows[8].tool_fragment == '#2 {"city": '
    assert rows[10].note == "event: message_delta" and rows[10].finish_reason == "tool_use"
    assert rows[10].usage is not None and (rows[10].usage.prompt_tokens, rows[10].usage.completion_tokens) == (73, 64)
    gemini = stream.chunk_rows(_load("gemini_sse.json"))
    assert [r.note for r in gemini][-2:] == ["event: interaction.complete", "event: done"]
    assert [gemini[4].text, gemini[5].text, gemini[2].reasoning] == ["Hi", " there!", "(thought signature)"]
    assert gemini[6].finish_reason == "completed" and gemini[6].usage is not None and gemini[6].usage.total_tokens == 12


def test_not_streamed_recordings_have_no_rows() -> None:
    for name in ("not_streamed.json", "model_list.json", "exception.json", "anthropic_json.json", "wrong_types.json"):
        assert stream.chunk_rows(_load(name)) == (), name
