"""Exceptions (format doc 4.8): what the recorder caught instead of a response, a cut-short stream included."""

from __future__ import annotations

from typing import Any

from recorder_ui.domain.model import Kind
from recorder_ui.domain.readers import _chunk_data, _class_name, _Fields, _obj, _plural, _text_or_dump
from recorder_ui.domain.requests import _inference_request, provider_of
from recorder_ui.domain.stream import _reassemble


def _exception(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _obj(response.get("exception_data"), ("response", "exception_data"))
    message = (
        _text_or_dump(response.get("exception_message")) or _text_or_dump(data.get("message")) or "recorded exception"
    )
    name = _text_or_dump(data.get("type")) or "exception"
    status = data.get("status_code")
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    summary = f"{name} {status}: {message}" if status is not None else f"{name}: {message}"
    found: _Fields = {}
    if "payload" in request:
        url = _text_or_dump(request.get("url"))
        found = {
            "url": url,
            "provider": provider_of(url),
            "model": _text_or_dump(_obj(request["payload"], ()).get("model")),
        }
    elif "body" in request:
        found = _inference_request(request)
    details: dict[str, Any] = {"exception": data}
    if isinstance(body, list) and body and _class_name(body[0]) == "ChatCompletionChunk":
        # A mid-stream failure: show what arrived before it.
        chunks = _chunk_data(body)
        found.update(choices=_reassemble(chunks), chunk_count=len(chunks))
        summary += " (truncated stream)"
        details["note"] = f"truncated stream: {_plural(len(chunks), 'chunk')} before the exception"
    return {
        **found,
        "kind": Kind.EXCEPTION,
        "error": message,
        "summary": summary[:500],
        "status": status,
        "details": details,
    }
