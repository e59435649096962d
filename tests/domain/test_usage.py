"""Usage: the last non-null usage object, never a sum; every provider's field names mapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder_ui.domain import loader, usage
from recorder_ui.domain.model import Kind, Usage
from recorder_ui.domain.usage import WrongType
from tests.domain.recs import chunk, delta, parse, stream
from tests.domain.recs import usage as u


def test_databricks_cumulative_usage_takes_the_last_not_the_sum() -> None:
    rec = parse(stream([chunk([delta(content="Hello! ")], u(14, 3)), chunk([delta(content="Bye")], u(14, 6)),
                        chunk([delta(finish="stop")], u(14, 9))]))  # fmt: skip
    assert rec.usage == Usage(prompt_tokens=14, completion_tokens=9, total_tokens=23)


def test_usage_on_the_finish_chunk_and_azure_empty_first_chunk() -> None:
    rec = parse(stream([chunk([], None, prompt_filter_results=[]), chunk([delta(content="x")]),
                        chunk([delta(content="", finish="stop")], u(42, 24))]))  # fmt: skip
    assert rec.usage is not None and rec.usage.total_tokens == 66 and rec.choices[0].content == "x"


def test_total_is_the_sum_only_when_missing() -> None:
    assert usage.openai({"prompt_tokens": 3, "completion_tokens": 4}) == Usage(3, 4, 7)
    assert usage.openai({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 9}) == Usage(3, 4, 9)
    assert usage.openai({}) is None and usage.openai(None) is None


def test_provider_field_names() -> None:
    assert usage.ollama({"prompt_eval_count": 216, "eval_count": 2}) == Usage(216, 2, 218)
    assert usage.anthropic({"input_tokens": 73, "output_tokens": 64, "cache_read_input_tokens": 5}) == Usage(
        73, 64, 137, 5
    )
    later = usage.anthropic({"output_tokens": 10}, Usage(7, 0, 7))
    assert later == Usage(7, 10, 17)
    assert usage.gemini_interactions({"total_input_tokens": 58, "total_output_tokens": 15, "total_tokens": 73,
                                      "total_thought_tokens": 2}) == Usage(58, 15, 73, None, 2)  # fmt: skip
    assert usage.genai({"usage_metadata": {"traffic_type": "ON_DEMAND"}}) is None
    assert usage.genai(
        {"usage_metadata": {"prompt_token_count": 1, "candidates_token_count": 2, "total_token_count": 3}}
    ) == Usage(1, 2, 3)


def test_details_are_read_when_present() -> None:
    found = usage.openai({**u(10, 5), "prompt_tokens_details": {"cached_tokens": 4},
                                "completion_tokens_details": {"reasoning_tokens": 3}})  # fmt: skip
    assert found == Usage(10, 5, 15, 4, 3)
    assert usage.openai({**u(1, 1), "prompt_tokens_details": None}) == Usage(1, 1, 2)


# usage.extract on the hand-made files: section 5, shape by shape -------------------------------------------

DATA = Path(__file__).parent.parent / "data"


def _extract(name: str) -> Usage | None:
    rec = loader.load(DATA / name, name=name)
    found = usage.extract(rec)
    assert found == rec.usage  # the loader fills Recording.usage with the same rules
    return found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("streamed_tool_call.json", Usage(67, 17, 84, 0, 0)),
        ("streamed_parallel_tool_calls.json", Usage(80, 40, 120, 64, None)),  # completion details null
        ("azure_empty_first_chunk.json", Usage(9, 2, 11, 0, 0)),
        ("databricks_cumulative_usage.json", Usage(14, 9, 23)),  # the last, not 17 + 22 + 23
        ("n2_interleaved.json", Usage(20, 181, 201)),  # the last non-null, never the sum of both choices
        ("not_streamed.json", Usage(66, 17, 83, 0, 0)),
        ("embeddings.json", Usage(7, None, 7)),
        ("rerank.json", Usage(14, None, 14)),
        ("ollama_generate_stream.json", Usage(216, 4, 220)),
        ("ollama_chat.json", Usage(18, 56, 74)),
        ("anthropic_json.json", Usage(144, 42, 186)),
        ("anthropic_sse.json", Usage(73, 64, 137)),  # message_start said 7 in, message_delta 73: the last wins
        ("gemini_interactions.json", Usage(58, 15, 73, 0, 4)),
        ("gemini_sse.json", Usage(2, 10, 12, 0, 0)),
        ("genai.json", Usage(116, 22, 138, 100, 5)),
        ("genai_stream.json", Usage(9, 6, 15)),  # only the last element has token counts
        ("streamed_no_usage.json", None),
        ("tgi_tool_call.json", None),
        ("completion_streamed.json", None),
        ("exception.json", None),
        ("truncated.json", None),
        ("http_400.json", None),
        ("model_list.json", None),
        ("ollama_ps.json", None),
        ("tool_web_search.json", None),
        ("file_processor.json", None),
    ],
)
def test_extract_per_shape(name: str, expected: Usage | None) -> None:
    assert _extract(name) == expected


def test_anthropic_sse_fields_left_out_of_message_delta_keep_message_start_values() -> None:
    lines = [
        "event: message_start",
        'data: {"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1,"cache_read_input_tokens":3}}}',
        "",
        "event: message_delta",
        'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":64}}',
        "",
    ]
    assert usage.for_body(kind=Kind.ANTHROPIC_MESSAGES, body=lines) == Usage(7, 64, 71, 3)


def test_ollama_embed_has_input_tokens_only() -> None:
    body = {"__type__": "ollama._types.EmbedResponse", "__data__": {"embeddings": [[0.1]], "prompt_eval_count": 6}}
    assert usage.for_body(kind=Kind.OLLAMA_EMBED, body=body) == Usage(prompt_tokens=6, total_tokens=6)


def test_wrong_token_types_name_the_place() -> None:
    with pytest.raises(WrongType) as caught:
        usage.openai({"prompt_tokens": "12", "completion_tokens": 1})
    assert str(caught.value) == "wrong type at usage.prompt_tokens: expected a whole number, but it is a string"
    with pytest.raises(WrongType):
        usage.openai({"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": True}})
    assert usage.openai({"prompt_tokens": 3.0, "completion_tokens": 1}) == Usage(
        3, 1, 4
    )  # an integral float is a count


def test_a_stream_usage_of_the_wrong_type_makes_the_recording_invalid() -> None:
    rec = parse(
        stream(
            [chunk([delta(content="x")]), chunk([], {"prompt_tokens": 1, "completion_tokens": "2", "total_tokens": 3})]
        )
    )
    assert (
        rec.error
        == "wrong type at response.body[1].__data__.usage.completion_tokens: expected a whole number, but it is a string"
    )


@pytest.mark.parametrize(("count", "said"), [(1.5, "the number 1.5"), (float("nan"), "NaN"), ("12", "a string")])
def test_a_count_that_is_no_whole_number_says_what_it_is(count: object, said: str) -> None:
    rec = parse(stream([chunk([delta(content="hi")]), chunk([], usage=u(10, 5, 15) | {"prompt_tokens": count})]))
    assert rec.error.endswith(f"expected a whole number, but it is {said}"), rec.error


def test_an_sse_usage_event_with_a_number_orjson_refuses_is_read_not_dropped() -> None:
    """1e400 and integers beyond 64 bits are JSON: an SSE event holding one is read (as a file holding one is),
    so its usage shows or its error says why, never a usage silently gone."""
    data = json.loads((Path(__file__).resolve().parents[1] / "data" / "anthropic_sse.json").read_text())
    lines = data["response"]["body"]
    at = next(i for i, line in enumerate(lines) if '"message_delta"' in line)
    huge = lines[at].replace('"output_tokens":64', f'"output_tokens":{2**70}')
    rec = loader.parse(
        json.dumps({**data, "response": {**data["response"], "body": [*lines[:at], huge, *lines[at + 1 :]]}}).encode(),
        path="x.json",
    )
    assert rec.usage is not None and rec.usage.completion_tokens == 2**70  # read; the index flags it beyond 2**40
    overflow = lines[at].replace('"output_tokens":64', '"output_tokens":1e400')
    rec = loader.parse(
        json.dumps(
            {**data, "response": {**data["response"], "body": [*lines[:at], overflow, *lines[at + 1 :]]}}
        ).encode(),
        path="x.json",
    )
    assert "output_tokens" in rec.error and "inf" in rec.error


def test_a_diffs_tokens_leave_out_what_is_no_real_count() -> None:
    """The diff's token figures add up as the index's totals do: no real count (negative, beyond 2**40) is 0."""
    from recorder_ui.domain import diff

    item = diff.RecordingDiff(key="a|b", old_path="a", new_path="b", test_id="t", pairing="same path",
                              categories=("usage-changed",), usage_old=Usage(total_tokens=10**30),
                              usage_new=Usage(total_tokens=42))  # fmt: skip
    assert (item.tokens_old, item.tokens_new) == (0, 42)
    assert usage.counted(2**40) == 2**40 and usage.counted(2**40 + 1) is None and usage.counted(-1) is None
