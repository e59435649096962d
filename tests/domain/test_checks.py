"""Lint rules: one recording that trips each rule and one that does not."""

from __future__ import annotations

from recorder_ui.domain import checks
from recorder_ui.domain.model import Kind, Recording
from tests.domain.recs import chunk, delta, frag, parse, stream, usage


def _rules(rec: Recording) -> set[str]:
    return {f.rule for f in checks.run(rec)}


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
    [finding] = checks.run(rec)
    assert finding.rule == "invalid-tool-arguments" and "lookup" in finding.message


def test_parse_error_exception_and_http_error() -> None:
    assert _rules(Recording(path="a", kind=Kind.INVALID, error="not valid JSON")) == {"parse-error"}
    assert _rules(Recording(path="a", kind=Kind.EXCEPTION, error="boom", status=400)) == {"exception"}
    assert _rules(Recording(path="a", kind=Kind.GEMINI_INTERACTIONS, status=400, error="HTTP 400")) == {"http-error"}
    assert set(checks.RULES) >= {"missing-usage", "invalid-tool-arguments", "parse-error"}
