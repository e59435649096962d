"""Describe each stream element of a recording, one Chunk row each, for the Chunks tab."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recorder_ui.domain import jsontext
from recorder_ui.domain import usage as usage_mod
from recorder_ui.domain.model import Chunk, Kind, Recording, Usage
from recorder_ui.domain.readers import _as_dict
from recorder_ui.domain.usage import WrongType


def chunk_rows(recording: Recording) -> tuple[Chunk, ...]:
    """One row per stream element of a recording, for the Chunks tab; () when it was not streamed."""
    raw = recording.raw
    response = raw.get("response") if isinstance(raw, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    if not isinstance(body, list) or not body or recording.kind in (Kind.MODEL_LIST, Kind.INVALID):
        return ()
    if not (recording.streaming or recording.kind == Kind.EXCEPTION):
        return ()
    if all(isinstance(line, str) for line in body):
        return _event_rows(recording.kind, body)
    return tuple(_element_row(number, element) for number, element in enumerate(body))


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _element_row(number: int, element: Any) -> Chunk:
    if not isinstance(element, dict):
        return Chunk(index=number, note=f"unexpected {usage_mod.type_name(element)}")
    data = element.get("__data__", element)
    if not isinstance(data, dict):
        return Chunk(index=number, note="unexpected element")
    try:
        return _data_row(number, data)
    except (WrongType, TypeError, AttributeError, ValueError):
        return Chunk(index=number, note="element of an unexpected shape")


def _data_row(number: int, data: Mapping[str, Any]) -> Chunk:
    if "candidates" in data or "usage_metadata" in data:  # Google genai
        texts, calls = [], []
        for candidate in data.get("candidates") or ():
            content = candidate.get("content") if isinstance(candidate, dict) else None
            for part in (content.get("parts") if isinstance(content, dict) else None) or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                if isinstance(part, dict) and isinstance(part.get("function_call"), dict):
                    call = part["function_call"]
                    calls.append(f"{call.get('name') or ''} {jsontext.dumps(call.get('args') or {}).decode()}")
        finish = next((c.get("finish_reason") for c in data.get("candidates") or () if isinstance(c, dict)), "")
        return Chunk(
            index=number,
            text="".join(texts),
            tool_fragment="; ".join(calls),
            finish_reason=finish if isinstance(finish, str) else "",
            usage=usage_mod.genai(data),
        )
    if "done" in data:  # Ollama native
        message = _as_dict(data.get("message"))
        return Chunk(
            index=number,
            role=_s(message.get("role")),
            text=_s(data.get("response")) or _s(message.get("content")),
            reasoning=_s(data.get("thinking")) or _s(message.get("thinking")),
            finish_reason=_s(data.get("done_reason")),
            usage=usage_mod.ollama(data) if data.get("done") else None,
        )
    found: Usage | None = usage_mod.openai(data.get("usage"))
    choices = data.get("choices")
    if not choices:
        if found is not None:
            return Chunk(index=number, usage=found, note="usage chunk")
        if "prompt_filter_results" in data:
            return Chunk(index=number, note="no choices (Azure prompt filter)")
        return Chunk(index=number, note="no choices")
    choice = choices[0]
    note = f"{len(choices)} choices in one chunk" if len(choices) > 1 else ""
    if found is not None:
        note = f"{note}; usage" if note else "usage on this chunk"
    delta = choice.get("delta")
    if not isinstance(delta, dict):  # a streamed legacy completion
        return Chunk(
            index=number,
            choice_index=index if isinstance(index := choice.get("index"), int) else None,
            text=_s(choice.get("text")),
            finish_reason=_s(choice.get("finish_reason")),
            usage=found,
            note=note,
        )
    fragments = []
    for call in delta.get("tool_calls") or ():
        function = call.get("function") or {}
        head = f"#{call.get('index', 0)}"
        if function.get("name"):
            head += f" {function['name']}"
        arguments = function.get("arguments")
        if isinstance(arguments, (dict, list)):
            arguments = jsontext.dumps(arguments).decode()
        fragments.append(f"{head} {arguments}" if arguments else head)  # the fragment exactly, spaces included
    return Chunk(
        index=number,
        choice_index=index if isinstance(index := choice.get("index"), int) else None,
        role=_s(delta.get("role")),
        text=_s(delta.get("content")),
        reasoning=_s(delta.get("reasoning")) or _s(delta.get("reasoning_content")),
        tool_fragment="; ".join(fragments),
        finish_reason=_s(choice.get("finish_reason")),
        usage=found,
        note=note,
    )


def _event_rows(kind: Kind, lines: Sequence[Any]) -> tuple[Chunk, ...]:
    """SSE passthrough: one row per event, with its name and what it adds."""
    try:
        events = usage_mod.sse_events(lines)
    except WrongType:
        return ()
    rows = []
    anthropic: Usage | None = None
    for number, (name, data) in enumerate(events):
        text = reasoning = fragment = finish = ""
        found: Usage | None = None
        if isinstance(data, dict):
            delta = _as_dict(data.get("delta"))
            kind_of_delta = delta.get("type")
            if kind_of_delta in ("text_delta", "text"):
                text = str(delta.get("text") or "")
            elif kind_of_delta == "thinking_delta":
                reasoning = str(delta.get("thinking") or "")
            elif kind_of_delta == "thought_signature":
                reasoning = "(thought signature)"
            elif kind_of_delta == "input_json_delta":
                partial = delta.get("partial_json")
                fragment = f"#{data.get('index', 0)} {partial}" if partial else f"#{data.get('index', 0)}"
            elif kind_of_delta == "function_call":
                arguments = jsontext.dumps(delta.get("arguments") or {}).decode()
                fragment = f"{delta.get('name') or ''} {arguments}"
            block = data.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                fragment = f"#{data.get('index', 0)} {block.get('name') or ''}"
            finish = str(delta.get("stop_reason") or "")
            try:
                if kind == Kind.ANTHROPIC_MESSAGES and name in ("message_start", "message_delta"):
                    message = data.get("message") if name == "message_start" else data
                    if isinstance(message, dict) and message.get("usage") is not None:
                        found = anthropic = usage_mod.anthropic(message.get("usage"), anthropic)
                elif isinstance(data.get("interaction"), dict):
                    found = usage_mod.gemini_interactions(data["interaction"].get("usage"))
                    status = data["interaction"].get("status")
                    finish = status if name == "interaction.complete" and isinstance(status, str) else finish
            except WrongType:
                found = None
        rows.append(
            Chunk(
                index=number,
                text=text,
                reasoning=reasoning,
                tool_fragment=fragment,
                finish_reason=finish,
                usage=found,
                note=f"event: {name}" if name else "event without a name",
            )
        )
    return tuple(rows)
