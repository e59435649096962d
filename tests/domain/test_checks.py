"""Lint rules: one recording that trips each rule and one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder_ui.domain import checks, loader
from recorder_ui.domain.model import Kind, Recording
from tests.domain.recs import chunk, delta, frag, parse, stream, usage


def _run(rec: Recording) -> tuple[checks.Finding, ...]:
    """The findings but name-mismatch: these files are named for the reader (a.json, vllm_think.json), not by the
    hash replay opens, which test_a_name_that_is_no_hash_is_a_name_mismatch checks apart."""
    return tuple(f for f in checks.run(rec) if f.rule != "name-mismatch")


def _rules(rec: Recording) -> set[str]:
    return {f.rule for f in _run(rec)}


def test_a_name_that_is_no_hash_is_a_name_mismatch() -> None:
    """Replay opens <hash>.json only: a file renamed by hand (a.json, -rf.json) is never opened by its name, but
    it is not known to be dead (it may be renamed back, or the test re-recorded)."""
    rec = parse(stream([chunk([delta(content="x")]), chunk([], usage(1, 1))], stream_options={"include_usage": True}))
    [finding] = (f for f in checks.run(rec) if f.rule != "missing-usage")
    assert finding.rule == "name-mismatch" and "not known to be dead" in finding.message


def test_missing_usage_says_whether_include_usage_was_requested() -> None:
    plain = parse(stream([chunk([delta(content="x")])]))
    assert _rules(plain) == {"missing-usage"}
    assert "did not set stream_options.include_usage" in checks.missing_usage_reason(plain)
    asked = parse(stream([chunk([delta(content="x")])], stream_options={"include_usage": True}))
    assert "although the request asked for it" in checks.missing_usage_reason(asked)
    fine = parse(stream([chunk([delta(content="x")]), chunk([], usage(1, 1))], stream_options={"include_usage": True}))
    assert _rules(fine) == set() and checks.missing_usage_reason(fine) == ""


def test_non_chat_streams_do_not_miss_usage() -> None:
    rec = Recording(path="a", kind=Kind.COMPLETION, streaming=True)
    assert "missing-usage" not in _rules(rec)


def test_invalid_tool_arguments_names_the_tool() -> None:
    rec = parse(stream([chunk([delta(tool_calls=[frag(0, "a", "lookup", '{"q": ')])]), chunk([], usage(1, 1))]))
    [finding] = _run(rec)
    assert finding.rule == "invalid-tool-arguments" and "lookup" in finding.message


def test_parse_error_exception_and_http_error() -> None:
    assert _rules(Recording(path="a", kind=Kind.INVALID, error="not valid JSON")) == {"parse-error"}
    assert _rules(Recording(path="a", kind=Kind.EXCEPTION, error="boom", status=400)) == {"exception"}
    assert _rules(Recording(path="a", kind=Kind.GEMINI_INTERACTIONS, status=400, error="HTTP 400")) == {"http-error"}
    assert set(checks.RULES) >= {"missing-usage", "invalid-tool-arguments", "parse-error"}


# The hand-made files ---------------------------------------------------------------------------------------

DATA = Path(__file__).parent.parent / "data"


def _file_rules(name: str) -> set[str]:
    return _rules(loader.load(DATA / name, name=name))


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        ("streamed_no_usage.json", {"missing-usage"}),
        ("ollama_stream.json", {"missing-usage"}),
        ("tgi_tool_call.json", {"missing-usage"}),  # TGI never sends usage
        ("vllm_think.json", {"missing-usage"}),
        ("streamed_tool_call.json", set()),
        ("databricks_cumulative_usage.json", set()),  # usage unasked, on every chunk
        ("completion_streamed.json", set()),  # streamed legacy completions are out of the rule's scope
        ("genai_stream.json", set()),
        ("invalid_tool_args.json", {"invalid-tool-arguments"}),
        ("exception.json", {"exception"}),
        ("truncated.json", {"exception"}),
        ("http_400.json", {"http-error"}),
        ("not_an_object.json", {"parse-error"}),
        ("wrong_types.json", {"parse-error"}),
        ("unknown_typed.json", set()),
    ],
)
def test_rules_on_hand_made_files(name: str, rules: set[str]) -> None:
    assert _file_rules(name) == rules


def test_missing_usage_reason_uses_the_format_doc_wording() -> None:
    rec = loader.load(DATA / "streamed_no_usage.json")
    assert checks.missing_usage_reason(rec) == (
        "No token usage: the request did not set stream_options.include_usage, so the provider sent no usage chunk. "
        "Re-record with it set to get token counts."
    )
    [finding] = _run(rec)
    assert finding.message == checks.missing_usage_reason(rec)
    assert checks.missing_usage_reason(loader.load(DATA / "streamed_tool_call.json")) == ""


def test_findings_carry_the_error_text() -> None:
    [error] = _run(loader.load(DATA / "wrong_types.json"))
    assert error.message == "wrong type at response.body[1].__data__.choices: expected a list, but it is a string"
    [http] = _run(loader.load(DATA / "http_400.json"))
    assert http.message == "HTTP 400: Model 'nope' is not supported."
    [bad] = _run(loader.load(DATA / "invalid_tool_args.json"))
    assert bad.message == 'tool arguments are not valid JSON: lookup ({"city": "Os)'


def test_a_usage_object_without_counts_is_not_missing_usage() -> None:
    rec = parse(stream([chunk([delta(content="x")]), chunk([], {"prompt_tokens": None, "completion_tokens": None})]))
    assert rec.usage is None and _rules(rec) == set()
