"""Reassemble streamed chat chunks into one assistant message per choice."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from recorder_ui.domain import usage as usage_mod
from recorder_ui.domain.model import Chunk, Message, ToolCall, Usage

_REASONING_TAGS = re.compile(r"<(think|reasoning)>(.*?)(?:</\1>|$)", re.DOTALL)


@dataclass(slots=True)
class _CallParts:
    index: int
    id: str = ""
    name: str = ""
    pieces: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceParts:
    index: int
    role: str = ""
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _CallParts] = field(default_factory=dict)
    finish: str = ""
    logprobs: bool = False


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def tool_call(*, index: int, id: str, name: str, arguments: Any) -> ToolCall:
    """A ToolCall with its arguments parsed: a JSON string, or an object some providers send as is."""
    if isinstance(arguments, (dict, list)):
        return ToolCall(
            id=id, name=name, arguments=orjson.dumps(arguments).decode(), parsed_arguments=arguments, index=index
        )
    raw = _text(arguments)
    if not raw.strip():
        return ToolCall(id=id, name=name, arguments=raw, parsed_arguments={}, index=index)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ToolCall(id=id, name=name, arguments=raw, arguments_valid=False, index=index)
    return ToolCall(id=id, name=name, arguments=raw, parsed_arguments=parsed, index=index)


def split_reasoning(content: str) -> tuple[str, str]:
    """Move <think>...</think> and <reasoning>...</reasoning> out of the answer text."""
    if "<think>" not in content and "<reasoning>" not in content:
        return content, ""
    found = [m.group(2).strip() for m in _REASONING_TAGS.finditer(content)]
    rest = _REASONING_TAGS.sub("", content)
    # vLLM Qwen3 may send only the closing tag when the chat template opened <think> itself.
    return rest.strip(), "\n\n".join(part for part in found if part)


def reassemble(chunks: Sequence[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Join chat chunk __data__ dicts into one assistant message per choice index."""
    choices: dict[int, _ChoiceParts] = {}
    for data in chunks:
        for choice in data.get("choices") or ():
            index = choice.get("index") or 0
            parts = choices.get(index)
            if parts is None:
                parts = choices[index] = _ChoiceParts(index=index)
            delta = choice.get("delta") or {}
            if not parts.role and delta.get("role"):
                parts.role = delta["role"]
            content = delta.get("content")
            if content:
                parts.content.append(content)
            for key in ("reasoning", "reasoning_content"):
                value = delta.get(key)
                if value:
                    parts.reasoning.append(value)
            refusal = delta.get("refusal")
            if refusal:
                parts.refusal.append(refusal)
            for call in delta.get("tool_calls") or ():
                _add_fragment(parts, call)
            finish = choice.get("finish_reason")
            if finish:
                parts.finish = finish
            logprobs = choice.get("logprobs")
            if isinstance(logprobs, dict) and logprobs.get("content") is not None:
                parts.logprobs = True
    return tuple(_message(parts) for _, parts in sorted(choices.items()))


def _add_fragment(parts: _ChoiceParts, call: Mapping[str, Any]) -> None:
    index = call.get("index")
    if not isinstance(index, int):
        index = len(parts.calls) if call.get("id") and call.get("id") not in {c.id for c in parts.calls.values()} else 0
    entry = parts.calls.get(index)
    if entry is None:
        entry = parts.calls[index] = _CallParts(index=index)
    if not entry.id and call.get("id"):
        entry.id = call["id"]
    function = call.get("function") or {}
    if not entry.name and function.get("name"):
        entry.name = function["name"]
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        entry.pieces.append(arguments)
    elif isinstance(arguments, (dict, list)):
        entry.pieces.append(orjson.dumps(arguments).decode())


def _message(parts: _ChoiceParts) -> Message:
    content, tagged = split_reasoning("".join(parts.content))
    reasoning = "".join(parts.reasoning)
    if tagged:
        reasoning = f"{reasoning}\n\n{tagged}".strip() if reasoning else tagged
    calls = tuple(
        tool_call(index=c.index, id=c.id, name=c.name, arguments="".join(c.pieces))
        for _, c in sorted(parts.calls.items())
    )
    return Message(
        role=parts.role or "assistant",
        content=content,
        reasoning=reasoning,
        refusal="".join(parts.refusal),
        tool_calls=calls,
        index=parts.index,
        finish_reason=parts.finish,
        has_logprobs=parts.logprobs,
    )


def chat_message(choice: Mapping[str, Any]) -> Message:
    """The assistant message of one non-streamed chat choice."""
    message = choice.get("message") or {}
    content, tagged = split_reasoning(_content_text(message.get("content")))
    reasoning = _text(message.get("reasoning")) or _text(message.get("reasoning_content"))
    if tagged:
        reasoning = f"{reasoning}\n\n{tagged}".strip() if reasoning else tagged
    calls = []
    for position, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        calls.append(
            tool_call(
                index=position,
                id=_text(call.get("id")),
                name=_text(function.get("name")),
                arguments=function.get("arguments"),
            )
        )
    logprobs = choice.get("logprobs")
    return Message(
        role=_text(message.get("role")) or "assistant",
        content=content,
        reasoning=reasoning,
        refusal=_text(message.get("refusal")),
        tool_calls=tuple(calls),
        index=choice.get("index") or 0,
        finish_reason=_text(choice.get("finish_reason")),
        has_logprobs=isinstance(logprobs, dict) and logprobs.get("content") is not None,
    )


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text(part.get("text")) for part in content if isinstance(part, dict))
    return ""


def chunk_rows(recording: Any) -> tuple[Chunk, ...]:
    """One row per stream element of a recording, for the Chunks tab."""
    raw = getattr(recording, "raw", None)
    if not isinstance(raw, dict):
        return ()
    response = raw.get("response") or {}
    body = response.get("body")
    if not isinstance(body, list) or not (response.get("is_streaming") or response.get("is_exception")):
        return ()
    rows: list[Chunk] = []
    for number, element in enumerate(body):
        if isinstance(element, str):
            rows.append(Chunk(index=number, note=element[:200] if element else "(blank line)"))
            continue
        if not isinstance(element, dict):
            rows.append(Chunk(index=number, note=f"unexpected {type(element).__name__}"))
            continue
        data = element.get("__data__", element)
        if not isinstance(data, dict):
            rows.append(Chunk(index=number, note="unexpected element"))
            continue
        rows.append(_chunk_row(number, data, usage_mod.from_mapping(data.get("usage"))))
    return tuple(rows)


def _chunk_row(number: int, data: Mapping[str, Any], usage: Usage | None) -> Chunk:
    choices = data.get("choices")
    if isinstance(choices, list) and choices:
        choice = choices[0] if isinstance(choices[0], dict) else {}
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else None
        if delta is None:  # a streamed legacy completion
            return Chunk(
                index=number,
                choice_index=choice.get("index"),
                text=_text(choice.get("text")),
                finish_reason=_text(choice.get("finish_reason")),
                usage=usage,
            )
        fragments = []
        for call in delta.get("tool_calls") or ():
            if not isinstance(call, dict):
                continue
            function = call.get("function") or {}
            head = f"#{call.get('index', 0)}"
            if function.get("name"):
                head += f" {function['name']}"
            args = function.get("arguments")
            fragments.append(f"{head} {args if isinstance(args, str) else ''}".rstrip())
        note = f"{len(choices)} choices" if len(choices) > 1 else ""
        return Chunk(
            index=number,
            choice_index=choice.get("index"),
            role=_text(delta.get("role")),
            text=_text(delta.get("content")),
            reasoning=_text(delta.get("reasoning")) or _text(delta.get("reasoning_content")),
            tool_fragment="; ".join(fragments),
            finish_reason=_text(choice.get("finish_reason")),
            usage=usage,
            note=note,
        )
    if "candidates" in data:  # Google genai
        texts = []
        for candidate in data.get("candidates") or ():
            for part in ((candidate or {}).get("content") or {}).get("parts") or ():
                if isinstance(part, dict):
                    texts.append(_text(part.get("text")))
        return Chunk(index=number, text="".join(texts), usage=usage_mod.genai(data), note="genai")
    if "done" in data:  # Ollama native
        message = data.get("message") or {}
        return Chunk(
            index=number,
            text=_text(data.get("response")) or _text(message.get("content")),
            finish_reason=_text(data.get("done_reason")),
            usage=usage_mod.ollama(data) if data.get("done") else None,
        )
    if usage is not None:
        return Chunk(index=number, usage=usage, note="usage chunk")
    if isinstance(choices, list):
        return Chunk(
            index=number, note="no choices (Azure prompt filter)" if "prompt_filter_results" in data else "no choices"
        )
    return Chunk(index=number, note="unrecognised element")
