"""stream.reassemble: chunks become whole messages, per choice, through every provider quirk."""

from __future__ import annotations

from recorder_ui.domain import stream
from recorder_ui.domain.model import Kind
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


def test_tgi_repeats_id_zero_and_sends_no_finish_reason() -> None:
    [message] = stream.reassemble(_data(
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", "calc", '{"a"', "function")])]),
        chunk([delta(role="assistant", tool_calls=[frag(0, "0", None, ": 1}", "function")])]),
    ))  # fmt: skip
    [call] = message.tool_calls
    assert (call.id, call.parsed_arguments, message.finish_reason) == ("0", {"a": 1}, "")


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
