"""Raw HTTP passthrough (format doc 4.9): Anthropic Messages and Gemini Interactions, as JSON or SSE lines,
rerank, and any other HTTP response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recorder_ui.domain import paths, stream, usage
from recorder_ui.domain.model import Kind, Message, ToolCall
from recorder_ui.domain.readers import _arr, _as_dict, _Fields, _obj, _plural, _str, _text_or_dump
from recorder_ui.domain.requests import _NOT_PARAMS, _messages, _tool_names, provider_of


def _passthrough(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    url = _str(request.get("url"), ("request", "url"))
    payload = _obj(request.get("payload"), ("request", "payload"))
    route = paths.url_path(url)
    status = fields["status"]
    found: _Fields = {
        "url": url,
        "endpoint": route,
        "provider": provider_of(url),
        "model": _str(payload.get("model"), ("request", "payload", "model")),
        "request_params": {k: v for k, v in payload.items() if k not in _NOT_PARAMS},
        "tools": _tool_names(payload.get("tools"), ("request", "payload", "tools")),
    }
    if route.endswith("/messages"):
        kind = Kind.ANTHROPIC_MESSAGES
        found["request_messages"] = _anthropic_request(payload)
    elif route.endswith("/interactions"):
        kind = Kind.GEMINI_INTERACTIONS
        found["request_messages"] = _interaction_input(payload.get("input"))
    elif route.endswith("/rerank"):
        kind = Kind.RERANK
        query = payload.get("query")
        found["request_messages"] = (Message(role="user", content=query),) if isinstance(query, str) else ()
    else:
        kind = Kind.HTTP
    found["kind"] = kind
    if status is not None and status >= 400:
        error = _http_error(body, status)
        return {**found, "error": error, "summary": error}
    if isinstance(body, list):  # SSE: the raw lines, blank separators included
        events = usage.sse_events(body)
        found["chunk_count"] = len(events)
        if kind == Kind.ANTHROPIC_MESSAGES:
            found["choices"] = (_anthropic_sse(events),)
        elif kind == Kind.GEMINI_INTERACTIONS:
            found["choices"] = (_interactions_sse(events),)
        else:
            found["summary"] = f"{_plural(len(events), 'event')}"
        if not found.get("model"):
            found["model"] = _sse_model(events)
        return found
    data = _obj(body, ("response", "body"))
    found["model"] = found["model"] or _text_or_dump(data.get("model"))
    if kind == Kind.ANTHROPIC_MESSAGES:
        blocks = _arr(data.get("content"), ("response", "body", "content"))
        found["choices"] = (_anthropic_blocks(blocks, _text_or_dump(data.get("stop_reason"))),)
    elif kind == Kind.GEMINI_INTERACTIONS:
        outputs = _arr(data.get("outputs"), ("response", "body", "outputs"))
        found["choices"] = (_interaction_outputs(outputs, _text_or_dump(data.get("status"))),)
    elif kind == Kind.RERANK:
        results = _arr(data.get("results"), ("response", "body", "results"))
        found["summary"] = f"{_plural(len(results), 'result')} ranked"
        found["details"] = {"results": results[:100]}
    else:
        found["summary"] = f"HTTP {status}" if status is not None else "HTTP response"
    return found


def _http_error(body: Any, status: int) -> str:
    """The provider's own message: Gemini {"error": {"message"}}, Messages {"type": "error", "error": {...}}."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return f"HTTP {status}: {error['message']}"
        if isinstance(error, str):
            return f"HTTP {status}: {error}"
        if isinstance(body.get("message"), str):
            return f"HTTP {status}: {body['message']}"
    return f"HTTP {status}"


def _sse_model(events: Sequence[tuple[str, Any]]) -> str:
    for _, data in events:
        if isinstance(data, dict):
            holder = data.get("message") or data.get("interaction")
            if isinstance(holder, dict) and isinstance(holder.get("model"), str):
                return str(holder["model"])
    return ""


def _anthropic_request(payload: dict[str, Any]) -> tuple[Message, ...]:
    system = payload.get("system")
    first: tuple[Message, ...] = ()
    if system:
        first = (Message(role="system", content=stream.content_text(system, ("request", "payload", "system"))[0]),)
    return first + _messages(payload.get("messages"), ("request", "payload", "messages"))


def _anthropic_blocks(blocks: Sequence[Any], stop: str) -> Message:
    """Anthropic content blocks: text, thinking (reasoning), tool_use (a ToolCall, input dumped as JSON)."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(_text_or_dump(block.get("text")))
        elif kind == "thinking":
            thinking.append(_text_or_dump(block.get("thinking")))
        elif kind == "tool_use":
            calls.append(
                stream.named_call(
                    block,
                    index=len(calls),
                    arguments=block.get("input"),
                )
            )
    return Message(
        role="assistant",
        content="".join(texts),
        reasoning="".join(thinking),
        tool_calls=tuple(calls),
        finish_reason=stop,
    )


def _anthropic_sse(events: Sequence[tuple[str, Any]]) -> Message:
    """Rebuild the content blocks from content_block_start / _delta events, input_json_delta joined."""
    blocks: dict[int, dict[str, Any]] = {}
    pieces: dict[int, list[str]] = {}
    stop = ""
    for _, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        index = data["index"] if isinstance(data.get("index"), int) else 0
        if kind == "content_block_start":
            start = data.get("content_block")
            blocks[index] = dict(start) if isinstance(start, dict) else {"type": "text"}
        elif kind == "content_block_delta":
            block = blocks.setdefault(index, {"type": "text"})
            delta = _as_dict(data.get("delta"))
            if delta.get("type") == "text_delta":
                block["text"] = _text_or_dump(block.get("text")) + _text_or_dump(delta.get("text"))
            elif delta.get("type") == "thinking_delta":
                block["type"] = "thinking"
                block["thinking"] = _text_or_dump(block.get("thinking")) + _text_or_dump(delta.get("thinking"))
            elif delta.get("type") == "input_json_delta":
                pieces.setdefault(index, []).append(_text_or_dump(delta.get("partial_json")))
        elif kind == "message_delta":
            stop = _text_or_dump(_as_dict(data.get("delta")).get("stop_reason")) or stop
    for index, parts in pieces.items():
        if index in blocks:
            blocks[index]["input"] = "".join(parts)  # JSON text: tool_call parses it, and flags it when broken
    return _anthropic_blocks([block for _, block in sorted(blocks.items())], stop)


def _interaction_input(value: Any) -> tuple[Message, ...]:
    """Gemini Interactions input: a string, or turns {"role", "content": text or parts}."""
    if isinstance(value, str):
        return (Message(role="user", content=value),)
    messages: list[Message] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            messages.append(Message(role="user", content=item))
            continue
        if not isinstance(item, dict):
            continue
        role = _text_or_dump(item.get("role")) or "user"
        role = "assistant" if role == "model" else role
        content = item.get("content", item.get("text"))
        if not isinstance(content, list):
            messages.append(Message(role=role, content=_text_or_dump(content)))
            continue
        texts: list[str] = []
        calls: list[ToolCall] = []
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "function_call":
                calls.append(
                    stream.named_call(
                        part,
                        index=len(calls),
                        arguments=part.get("arguments"),
                    )
                )
            elif part.get("type") == "function_result":
                messages.append(
                    Message(
                        role="tool",
                        content=_text_or_dump(part.get("result")),
                        name=_text_or_dump(part.get("name")),
                        tool_call_id=_text_or_dump(part.get("call_id")),
                    )
                )
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
        if texts or calls:
            messages.append(Message(role=role, content="".join(texts), tool_calls=tuple(calls)))
    return tuple(messages)


def _interaction_outputs(outputs: Sequence[Any], status: str) -> Message:
    """Gemini Interactions outputs: text, function_call, thought (usually a signature only, no text)."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("type")
        if kind == "text":
            texts.append(_text_or_dump(output.get("text")))
        elif kind == "function_call":
            calls.append(
                stream.named_call(
                    output,
                    index=len(calls),
                    arguments=output.get("arguments"),
                )
            )
        elif kind == "thought":
            summary = output.get("summary")
            if isinstance(summary, str):
                thoughts.append(summary)
            elif isinstance(summary, list):
                thoughts.extend(_text_or_dump(s.get("text")) for s in summary if isinstance(s, dict))
    return Message(
        role="assistant",
        content="".join(texts),
        reasoning="".join(thoughts),
        tool_calls=tuple(calls),
        finish_reason=status,
    )


def _interactions_sse(events: Sequence[tuple[str, Any]]) -> Message:
    """Rebuild the outputs from content.start / content.delta events; the status from the last interaction."""
    outputs: dict[int, dict[str, Any]] = {}
    status = ""
    for _, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("event_type") or data.get("type")
        index = data["index"] if isinstance(data.get("index"), int) else 0
        if kind == "content.start":
            start = data.get("content")
            outputs[index] = dict(start) if isinstance(start, dict) else {}
        elif kind == "content.delta":
            output = outputs.setdefault(index, {})
            delta = _as_dict(data.get("delta"))
            if delta.get("type") == "text":
                output["type"] = output.get("type") or "text"
                output["text"] = _text_or_dump(output.get("text")) + _text_or_dump(delta.get("text"))
            elif delta.get("type") == "function_call":
                output.update({k: v for k, v in delta.items() if v is not None})
            elif delta.get("type") == "thought_summary":
                output["type"] = "thought"
                content = delta.get("content")
                text = content.get("text") if isinstance(content, dict) else delta.get("text")
                output["summary"] = _text_or_dump(output.get("summary")) + _text_or_dump(text)
        interaction = data.get("interaction")
        if isinstance(interaction, dict) and isinstance(interaction.get("status"), str):
            status = interaction["status"]
        elif isinstance(data.get("status"), str):
            status = data["status"]
    return _interaction_outputs([o for _, o in sorted(outputs.items())], status)
