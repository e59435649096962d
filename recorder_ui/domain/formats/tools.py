"""Tool runtime and file processor (format doc 4.7): a tool's result, a file cut into chunks."""

from __future__ import annotations

from typing import Any

from recorder_ui.domain import jsontext
from recorder_ui.domain.model import Kind, Message
from recorder_ui.domain.readers import _arr, _data, _Fields, _obj, _plural, _str, _text_or_dump


def _tool(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body")) if body is not None else {}
    kwargs = _obj(request.get("kwargs"), ("request", "kwargs"))
    tool_name = _str(request.get("tool_name"), ("request", "tool_name"))
    content = data.get("content")
    parsed: Any = content
    if isinstance(content, str):
        try:  # content is JSON text (web search results); keep the text when it is not
            parsed = jsontext.loads(content.encode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError):
            parsed = content
    query = kwargs.get("query")
    results = parsed.get("top_k", parsed.get("results")) if isinstance(parsed, dict) else None
    summary = tool_name or "tool"
    if isinstance(results, list):
        summary += f": {_plural(len(results), 'result')}"
    if isinstance(query, str):
        summary += f" for {query!r}"
    error = _text_or_dump(data.get("error_message"))
    return {
        "kind": Kind.TOOL,
        "provider": _text_or_dump(request.get("provider")),
        "request_messages": (Message(role="user", content=_text_or_dump(kwargs)),),
        "request_params": kwargs,
        "tools": (tool_name,) if tool_name else (),
        "choices": (Message(role="tool", content=_text_or_dump(content), name=tool_name),),
        "error": error,
        "summary": f"{summary} (error: {error})" if error else summary,
        "details": {
            "tool_name": tool_name,
            "kwargs": kwargs,
            "result": parsed,
            "error_message": data.get("error_message"),
            "error_code": data.get("error_code"),
            "metadata": data.get("metadata"),
        },
    }


def _file_processor(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body")) if body is not None else {}
    chunks = _arr(data.get("chunks"), ("response", "body", "__data__", "chunks"))
    file_id = _text_or_dump(request.get("file_id"))
    return {
        "kind": Kind.FILE_PROCESSOR,
        "provider": _text_or_dump(request.get("provider")),
        "summary": f"{_plural(len(chunks), 'chunk')} processed from {file_id}",
        "details": {
            "file_id": file_id,
            "api": request.get("api"),
            "chunks": len(chunks),
            "metadata": data.get("metadata"),
        },
        "choices": tuple(
            Message(role="chunk", content=_text_or_dump(c.get("content")), index=n)
            for n, c in enumerate(chunks[:50])
            if isinstance(c, dict)
        ),
    }
