"""Google genai on Vertex AI (format doc 4.10): candidates with parts, one dict or a streamed list of them."""

from __future__ import annotations

from typing import Any

from recorder_ui.domain import stream
from recorder_ui.domain.model import Kind, Message, ToolCall
from recorder_ui.domain.readers import _arr, _Fields, _obj, _str, _text_or_dump, _Where


def _genai(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    elements = body if isinstance(body, list) else [body]
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    finish = ""
    model = ""
    for number, element in enumerate(elements):
        path: _Where = ("response", "body", number) if isinstance(body, list) else ("response", "body")
        data = _obj(element, path)
        model = model or _text_or_dump(data.get("model_version"))
        for position, candidate in enumerate(_arr(data.get("candidates"), (*path, "candidates"))):
            where = (*path, "candidates", position)
            candidate = _obj(candidate, where)
            content = _obj(candidate.get("content"), (*where, "content"))
            for slot, part in enumerate(_arr(content.get("parts"), (*where, "content", "parts"))):
                part = _obj(part, (*where, "content", "parts", slot))
                if part.get("text") is not None:
                    text = _str(part["text"], (*where, "content", "parts", slot, "text"))
                    (thoughts if part.get("thought") else texts).append(text)
                call = part.get("function_call")
                if call is not None:
                    call = _obj(call, (*where, "content", "parts", slot, "function_call"))
                    calls.append(
                        stream.named_call(
                            call,
                            index=len(calls),
                            arguments=call.get("args") or {},
                        )
                    )
            finish = _text_or_dump(candidate.get("finish_reason")) or finish
    answer = Message(
        role="assistant",
        content="".join(texts),
        reasoning="".join(thoughts),
        tool_calls=tuple(calls),
        finish_reason=finish,
    )
    return {
        "kind": Kind.GENAI,
        "choices": (answer,),
        "chunk_count": len(elements) if isinstance(body, list) else 0,
        "model": fields["model"] or model,
    }
