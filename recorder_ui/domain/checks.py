"""Lint rules over one recording: each rule is one small function listed in RULES."""

from __future__ import annotations

from collections.abc import Callable

from recorder_ui.domain import replay
from recorder_ui.domain.model import Finding, Kind, Recording

NOT_REQUESTED_WHY = (
    "No token usage: the request did not set stream_options.include_usage, so the provider sent no usage chunk."
)
RE_RECORD = "Re-record with it set to get token counts."  # the advice for a stream replay serves (a live one)
NOT_REQUESTED = f"{NOT_REQUESTED_WHY} {RE_RECORD}"  # the format doc's wording (section 6)
IGNORED = (
    "No token usage although the request asked for it. The provider ignored include_usage, or the stream was cut short."
)
FIX = (
    'Pass stream_options={"include_usage": True} in the test\'s streaming chat completion call '
    "(or let the client set it), then re-record this test."
)


def misses_usage(rec: Recording) -> bool:
    """A streamed chat completion whose chunks carry no non-null usage (format doc, section 6)."""
    if rec.kind != Kind.CHAT or not rec.streaming or rec.usage is not None:
        return False
    # No Usage was read; the rule is about chunks that send none, so a usage object without counts is not "missing".
    response = rec.raw.get("response") if isinstance(rec.raw, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    return not isinstance(body, list) or all(_usage_value(element) is None for element in body)


def _usage_value(element: object) -> object:
    data = element.get("__data__") if isinstance(element, dict) else None
    return data.get("usage") if isinstance(data, dict) else None


def missing_usage_reason(rec: Recording) -> str:
    """The section-6 explanation, or "" when the recording does not miss usage."""
    if not misses_usage(rec):
        return ""
    return IGNORED if rec.include_usage is True else NOT_REQUESTED


def without_advice(reason: str) -> str:
    """A missing-usage reason without its advice to re-record: for a file to delete instead (never replayed, or
    superseded by a variant with usage)."""
    return NOT_REQUESTED_WHY if reason == NOT_REQUESTED else reason


def missing_usage(rec: Recording) -> Finding | None:
    """Flag streamed replies that carry no usage chunk."""
    # Usage only arrives in a trailing chunk when the client asked for stream_options.include_usage.
    if misses_usage(rec):
        return Finding(rule="missing-usage", message=missing_usage_reason(rec))
    return None


def invalid_tool_arguments(rec: Recording) -> Finding | None:
    """Flag tool calls whose joined arguments are not valid JSON."""
    bad = [
        f"{call.name or f'call #{call.index}'} ({_excerpt(call.arguments)})"
        for choice in rec.choices
        for call in choice.tool_calls
        if not call.arguments_valid
    ]
    if bad:
        return Finding(rule="invalid-tool-arguments", message=f"tool arguments are not valid JSON: {', '.join(bad)}")
    return None


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_error(rec: Recording) -> Finding | None:
    """Flag files that are not readable recordings."""
    if rec.kind == Kind.INVALID:
        return Finding(rule="parse-error", message=rec.error or "not a readable recording")
    return None


def exception(rec: Recording) -> Finding | None:
    """Flag recorded provider exceptions: replay raises them again."""
    if rec.kind == Kind.EXCEPTION:
        return Finding(rule="exception", message=rec.summary or rec.error)
    return None


def http_error(rec: Recording) -> Finding | None:
    """Flag passthrough recordings whose HTTP status is an error."""
    if rec.kind != Kind.EXCEPTION and rec.status is not None and rec.status >= 400:
        return Finding(rule="http-error", message=rec.error or f"HTTP {rec.status}")
    return None


def unreachable(rec: Recording) -> Finding | None:
    """Flag files whose name carries an older rule's hash: today's replay never opens them (certain)."""
    key = replay.key_for(rec)
    if key.status != replay.OLDER_RULE:
        return None
    return Finding(
        rule="unreachable",
        message=f"no test reaches this file: its name carries the hash of an older rule ({key.rule}), while replay "
        f"looks this request up as {key.looked_up_as}. Delete it (git rm), or re-record the test if that file is "
        "missing too.",
    )


def name_mismatch(rec: Recording) -> Finding | None:
    """Flag files whose name no known rule gives for their request: edited after recording, or renamed."""
    key = replay.key_for(rec)
    if key.status != replay.MISMATCH:
        return None
    if key.rule == replay.RULE_NEWER:
        return Finding(
            rule="name-mismatch",
            message=f"the file name carries the hash of a newer recorder than this checkout's, which looks this "
            f"request up as {key.looked_up_as}: replay serves it once the checkout has the recorder of 2026-04-09 "
            "or later (rebase or merge it), so it is not dead.",
        )
    return Finding(
        rule="name-mismatch",
        message=f"the file name does not match its request: replay looks this request up as {key.looked_up_as}. "
        "The file was probably edited after recording (a test id or URL rewritten in place) or renamed by hand, "
        "so it is not known to be dead: re-record the test to get a file replay can find, and check that nothing "
        "needs this one before you delete it.",
    )


RULES: dict[str, Callable[[Recording], Finding | None]] = {
    "missing-usage": missing_usage,
    "invalid-tool-arguments": invalid_tool_arguments,
    "parse-error": parse_error,
    "exception": exception,
    "http-error": http_error,
    "unreachable": unreachable,
    "name-mismatch": name_mismatch,
}
# Rules over a whole folder rather than one file (linting.py runs them): names for --fail-on and summaries.
FOLDER_RULES = ("superseded",)
ALL_RULES = (*RULES, *FOLDER_RULES)


def run(rec: Recording) -> tuple[Finding, ...]:
    """Every finding of every rule for one recording."""
    found = (rule(rec) for rule in RULES.values())
    return tuple(f for f in found if f is not None)
