"""Usage: the last non-null usage object, never a sum; every provider's field names mapped."""

from __future__ import annotations

from recorder_ui.domain import usage
from recorder_ui.domain.model import Usage
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
    assert usage.from_mapping({"prompt_tokens": 3, "completion_tokens": 4}) == Usage(3, 4, 7)
    assert usage.from_mapping({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 9}) == Usage(3, 4, 9)
    assert usage.from_mapping({}) is None and usage.from_mapping(None) is None


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
    found = usage.from_mapping({**u(10, 5), "prompt_tokens_details": {"cached_tokens": 4},
                                "completion_tokens_details": {"reasoning_tokens": 3}})  # fmt: skip
    assert found == Usage(10, 5, 15, 4, 3)
    assert usage.from_mapping({**u(1, 1), "prompt_tokens_details": None}) == Usage(1, 1, 2)
