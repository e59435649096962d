"""Plain-data views of domain values for the command line and JSON: the scripting contract."""

from __future__ import annotations

import re
from typing import Any

from recorder_ui.domain import providers, replay
from recorder_ui.domain.model import Message, Recording, Usage


def usage_dict(usage: Usage | None) -> dict[str, int | None] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def message_dict(message: Message) -> dict[str, Any]:
    return {
        "index": message.index,
        "role": message.role,
        "content": message.content,
        "reasoning": message.reasoning,
        "refusal": message.refusal,
        "tool_calls": [
            {
                "id": call.id,
                "name": call.name,
                "arguments": call.parsed_arguments if call.arguments_valid else call.arguments,
                "arguments_valid": call.arguments_valid,
            }
            for call in message.tool_calls
        ],
        "finish_reason": message.finish_reason or None,
    }


def recording_summary(rec: Recording) -> dict[str, Any]:
    """The reassembled recording as show_recording --format json prints it."""
    return {
        "path": rec.path,
        "test_id": rec.test_id,
        "kind": str(rec.kind),
        "endpoint": rec.endpoint,
        "model": rec.model,
        "provider": rec.provider,
        "provider_name": providers.name_of(url=rec.url, host=rec.provider, test_id=rec.test_id or "") or None,
        "streaming": rec.streaming,
        "chunks": rec.chunk_count,
        "usage": usage_dict(rec.usage),
        "include_usage": rec.include_usage,
        "messages": len(rec.request_messages),
        "tools": list(rec.tools),
        "choices": [message_dict(choice) for choice in rec.choices],
        "summary": rec.summary or None,
        "status": rec.status,
        "error": rec.error or None,
        "replay": replay_dict(rec),
    }


def replay_dict(rec: Recording) -> dict[str, Any]:
    """The replay key as show_recording and the JSON twins give it (format doc 9.3)."""
    key = replay.key_for(rec)
    return {
        "hash": key.hash or None,
        "status": key.status,
        "rule": key.rule or None,
        "looked_up_as": key.looked_up_as or None,
        "why": key.why,
    }


def recording_text(data: dict[str, Any]) -> str:
    """A human reading of recording_summary()."""
    lines = [
        f"path:      {data['path']}",
        f"test:      {data['test_id'] or '(no test)'}",
        f"kind:      {data['kind']}" + (f" (streamed, {data['chunks']} chunks)" if data["streaming"] else ""),
        f"endpoint:  {data['endpoint'] or '-'}",
        f"provider:  {providers.label(data['provider_name'] or '', data['provider'] or '') or '-'}",
        f"model:     {data['model'] or '-'}",
        f"replay:    {data['replay']['status']}: {data['replay']['why']}",
    ]
    usage = data["usage"]
    if usage:
        lines.append(
            f"usage:     prompt {usage['prompt_tokens']}, completion {usage['completion_tokens']}, "
            f"total {usage['total_tokens']}"
        )
    else:
        lines.append("usage:     none")
    if data["summary"]:
        lines.append(f"summary:   {data['summary']}")
    if data["error"]:
        lines.append(f"error:     {data['error']}")
    for choice in data["choices"]:
        lines.append("")
        lines.append(f"--- choice {choice['index']} ({choice['role']}, finish: {choice['finish_reason'] or '-'}) ---")
        if choice["reasoning"]:
            lines.append("[reasoning]")
            lines.append(choice["reasoning"])
            lines.append("[answer]")
        if choice["content"]:
            lines.append(choice["content"])
        if choice["refusal"]:
            lines.append(f"[refusal] {choice['refusal']}")
        for call in choice["tool_calls"]:
            flag = "" if call["arguments_valid"] else "  (arguments are not valid JSON)"
            args = call["arguments"]
            lines.append(f"tool call {call['id'] or '-'}: {call['name']}({_compact(args)}){flag}")
    return "\n".join(lines)


def _compact(value: Any) -> str:
    from recorder_ui.domain import jsontext

    if isinstance(value, str):
        return value
    return jsontext.dumps(value).decode()


# Control characters a recording may hold (in its text, test id, model name...), as visible escapes for a terminal:
# ESC sequences would clear the screen or set the title, a carriage return or backspace overwrite a line (hiding a
# finding in a CI log). Newlines and tabs stay: the text formats are made of them.
# The bidirectional controls too ("Trojan source": text that reads otherwise than it is), as \\uNNNN.
_TERMINAL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\n\t"} | {
    c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
# A line that starts (spaces aside) with "::" or "##[" is a command to a CI runner (GitHub Actions: ::error,
# ::add-mask::, ::stop-commands::): a recording's text that would open a line so has its first character escaped.
_RUNNER_COMMAND = re.compile(r"^([ \t]*)([:#])(?=:|#\[)", re.MULTILINE)


def terminal_text(text: str) -> str:
    """text with every control character but newline and tab written as \\xNN, and no line a CI runner would
    take for a command."""
    text = text.translate(_TERMINAL) if not text.isprintable() else text
    return _RUNNER_COMMAND.sub(lambda m: f"{m[1]}\\x{ord(m[2]):02x}", text) if "::" in text or "##[" in text else text


def one_line(text: str) -> str:
    """text for a field of a one-line record (a finding, a test id): its line breaks written as \\xNN."""
    return text.replace("\r", "\\x0d").replace("\n", "\\x0a")
