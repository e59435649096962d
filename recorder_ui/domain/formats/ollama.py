"""Ollama native API (format doc 4.6): generate and chat, streamed or not, embeddings, and model admin."""

from __future__ import annotations

from typing import Any

from recorder_ui.domain import stream
from recorder_ui.domain.model import Kind, Message, ToolCall
from recorder_ui.domain.readers import _arr, _data, _Fields, _obj, _plural, _str, _text_or_dump, _Where
from recorder_ui.domain.requests import _prompt_messages


def _ollama_admin(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body"))
    models = [m for m in _arr(data.get("models"), ("response", "body", "__data__", "models")) if isinstance(m, dict)]
    names = [_text_or_dump(m.get("model") or m.get("name")) for m in models]
    if "models" in data:
        summary = f"{_plural(len(names), 'model')}: {', '.join(names[:5])}" if names else "no models loaded"
    else:  # /api/pull: ProgressResponse
        summary = f"status: {_text_or_dump(data.get('status'))}"
    return {"kind": Kind.OLLAMA_ADMIN, "summary": summary, "details": {"models": names}}


def _ollama_native(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    """Ollama /api/generate and /api/chat, streamed (pieces joined) or not."""
    elements = body if isinstance(body, list) else [body]
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    is_chat = False
    for number, element in enumerate(elements):
        at: _Where = ("response", "body", number) if isinstance(body, list) else ("response", "body")
        data = _data(element, at)
        path = (*at, "__data__") if "__data__" in element else at
        texts.append(_str(data.get("response"), (*path, "response")))
        thinking.append(_str(data.get("thinking"), (*path, "thinking")))
        if "message" in data:
            is_chat = True
            message = _obj(data["message"], (*path, "message"))
            texts.append(_str(message.get("content"), (*path, "message", "content")))
            thinking.append(_str(message.get("thinking"), (*path, "message", "thinking")))
            for call in stream.openai_tool_calls(message.get("tool_calls"), (*path, "message", "tool_calls")):
                calls.append(ToolCall(**{**_call_fields(call), "index": len(calls)}))
    last = _data(elements[-1], ("response", "body")) if elements else {}
    content, tagged = stream.split_reasoning("".join(texts))
    answer = Message(
        role="assistant",
        content=content,
        reasoning="".join(thinking) or tagged,
        tool_calls=tuple(calls),
        finish_reason=_text_or_dump(last.get("done_reason")),
    )
    return {
        "kind": Kind.OLLAMA_CHAT if is_chat else Kind.OLLAMA_GENERATE,
        "choices": (answer,),
        "chunk_count": len(elements) if isinstance(body, list) else 0,
        "model": fields["model"] or _text_or_dump(last.get("model")),
    }


def _call_fields(call: ToolCall) -> dict[str, Any]:
    return {name: getattr(call, name) for name in ToolCall.__slots__}


def _ollama_embed(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body"))
    vectors = _arr(data.get("embeddings"), ("response", "body", "__data__", "embeddings"))
    dims = sorted({len(v) for v in vectors if isinstance(v, list)})
    return {
        "kind": Kind.OLLAMA_EMBED,
        "summary": f"{_plural(len(vectors), 'embedding')} × {'/'.join(map(str, dims)) or '?'} dimensions",
        "details": {"count": len(vectors), "dimensions": dims},
        "request_messages": fields["request_messages"]
        or _prompt_messages(fields["request_params"].get("input"), "input"),
    }
