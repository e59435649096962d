"""Read one recording file and understand it: classify its shape, reassemble its answer, find its usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from recorder_ui.domain import stream, usage
from recorder_ui.domain.model import Kind, Message, Recording, ToolCall, Usage

_NOT_PARAMS = frozenset({"messages", "tools", "contents", "input", "prompt", "documents"})


class RecordingError(ValueError):
    """The file is not a valid recording; the message says why."""


def load(path: Path, *, name: str | None = None, max_bytes: int | None = None) -> Recording:
    """Read and parse one file (read-only). Never raises: problems come back as an INVALID recording."""
    label = name if name is not None else str(path)
    try:
        with open(path, "rb") as handle:
            if max_bytes is not None:
                data = handle.read(max_bytes + 1)
                if len(data) > max_bytes:
                    size = path.stat().st_size
                    return _invalid(label, f"too large: {size} bytes (limit {max_bytes})")
            else:
                data = handle.read()
    except IsADirectoryError:
        return _invalid(label, "is a folder, not a file")
    except OSError as exc:
        return _invalid(label, f"cannot read: {exc.strerror or exc}")
    return parse(data, path=label)


def parse(data: bytes, *, path: str) -> Recording:
    """Parse the bytes of one recording file. Never raises."""
    try:
        raw = _decode(data)
    except RecordingError as exc:
        return _invalid(path, str(exc))
    if not isinstance(raw, dict):
        return _invalid(path, f"not a recording: the top level is {_type_name(raw)}, not an object", raw=raw)
    try:
        raw = _apply_mapping(raw, data)
        return _understand(raw, path)
    except RecordingError as exc:
        return _invalid(path, str(exc), raw=raw)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        return _invalid(path, f"unexpected value in the recording ({type(exc).__name__}: {exc})", raw=raw)
    except RecursionError:
        return _invalid(path, "nested too deeply to read", raw=None)


def _invalid(path: str, error: str, raw: Any = None) -> Recording:
    return Recording(path=path, kind=Kind.INVALID, error=error, raw=raw)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _decode(data: bytes) -> Any:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte-order mark: harmless, so read past it
    if not data.strip():
        raise RecordingError("empty file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        lowered = message.lower()
        at = data[exc.pos : exc.pos + 9] if isinstance(exc.pos, int) else b""
        if "utf-8" in lowered or "surrogate" in lowered:
            raise RecordingError(f"not valid UTF-8 text: {message}") from None
        if "recursion" in lowered or "depth limit" in lowered:
            raise RecordingError("nested too deeply to read (over 1,024 levels)") from None
        if at.startswith((b"NaN", b"Infinity", b"-Infinity")):
            raise RecordingError(f"not valid JSON: NaN or Infinity is not JSON ({message})") from None
        raise RecordingError(f"not valid JSON: {message}") from None


def _apply_mapping(raw: dict[str, Any], data: bytes) -> dict[str, Any]:
    """Apply id_normalization_mapping (format doc 2.3): plain substring replacement, in key order."""
    mapping = raw.get("id_normalization_mapping")
    if not mapping:
        return raw
    if not isinstance(mapping, dict):
        raise RecordingError("id_normalization_mapping is not an object")
    text = orjson.dumps(raw).decode()
    for normalized, original in mapping.items():
        if isinstance(original, str) and original:
            text = text.replace(original, normalized)
    result = orjson.loads(text)
    result["id_normalization_mapping"] = {}
    return dict(result)


def _class_name(value: Any) -> str:
    if isinstance(value, dict):
        name = value.get("__type__")
        if isinstance(name, str):
            return name.rsplit(".", 1)[-1]
    return ""


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        inner = value.get("__data__", value)
        if isinstance(inner, dict):
            return inner
    raise RecordingError(f"expected an object in the response body, got {_type_name(value)}")


def _dict(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordingError(f"{where} is {_type_name(value)}, expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordingError(f"{where} is {_type_name(value)}, expected a list")
    return value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _understand(raw: dict[str, Any], path: str) -> Recording:
    request = raw.get("request")
    response = raw.get("response")
    if not isinstance(request, dict):
        raise RecordingError(f"request is {_type_name(request)}, expected an object")
    if not isinstance(response, dict):
        raise RecordingError(f"response is {_type_name(response)}, expected an object")
    test_id = raw.get("test_id")
    if test_id is not None and not isinstance(test_id, str):
        raise RecordingError(f"test_id is {_type_name(test_id)}, expected a string or null")
    streaming = response.get("is_streaming") is True
    body = response.get("body")
    base: dict[str, Any] = {"path": path, "test_id": test_id or None, "streaming": streaming, "raw": raw}

    if response.get("is_exception") is True:
        return _exception(request, response, body, base)
    if "payload" in request:
        return _passthrough(request, response, body, base)
    if "tool_name" in request:
        return _tool(request, body, base)
    if "file_id" in request:
        return _file_processor(request, body, base)
    info = _inference_request(request)
    base.update(info)
    if _str(request.get("url")).startswith("vertexai:"):
        return _genai(body, base)
    first = body[0] if isinstance(body, list) and body else body
    name = _class_name(first)
    handler = _HANDLERS.get(name)
    if handler is None:
        if body is None:
            raise RecordingError("response.body is null and the recording is not an exception")
        return Recording(kind=Kind.UNKNOWN, summary=f"unknown response type {name or _type_name(first)}", **base)
    return handler(body, base)


# Requests ------------------------------------------------------------------------------------------------


def provider_of(url: str) -> str:
    """The host of a request URL, which tells providers apart."""
    if url.startswith("vertexai:"):
        return "vertexai"
    if url.startswith("__databricks__"):
        return "databricks"
    try:
        return urlsplit(url).netloc
    except ValueError:
        return ""


def _inference_request(request: dict[str, Any]) -> dict[str, Any]:
    body = _dict(request.get("body"), "request.body")
    url = _str(request.get("url"))
    model = _str(request.get("model")) or _str(body.get("model"))
    messages: tuple[Message, ...]
    if "contents" in body:
        messages = _genai_messages(body)
    else:
        messages = tuple(_openai_message(m) for m in _list(body.get("messages"), "request.body.messages"))
    stream_options = body.get("stream_options")
    include = stream_options.get("include_usage") if isinstance(stream_options, dict) else None
    return {
        "endpoint": _str(request.get("endpoint")),
        "url": url,
        "provider": provider_of(url),
        "model": model,
        "request_messages": messages,
        "request_params": {k: v for k, v in body.items() if k not in _NOT_PARAMS},
        "tools": _tool_names(body.get("tools")) + _genai_tool_names(body),
        "include_usage": include if isinstance(include, bool) else None,
    }


def _parts_text(content: Any) -> tuple[str, tuple[str, ...]]:
    """Text and image URLs of an OpenAI or Anthropic content value (a string or a list of parts)."""
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        return "", ()
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                images.append(url)
        elif kind == "image":
            source = part.get("source") or {}
            if isinstance(source, dict) and source.get("type") == "base64":
                images.append(f"data:{_str(source.get('media_type'))};base64,{_str(source.get('data'))}")
            elif isinstance(source, dict) and isinstance(source.get("url"), str):
                images.append(source["url"])
    return "\n".join(texts), tuple(images)


def _openai_message(message: Any) -> Message:
    if not isinstance(message, dict):
        raise RecordingError(f"a request message is {_type_name(message)}, expected an object")
    role = _str(message.get("role"))
    content, images = _parts_text(message.get("content"))
    calls: list[ToolCall] = []
    content_value = message.get("content")
    blocks: list[Any] = content_value if isinstance(content_value, list) else []
    for position, call in enumerate(_list(message.get("tool_calls"), "tool_calls")):
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        calls.append(
            stream.tool_call(
                index=position,
                id=_str(call.get("id")),
                name=_str(function.get("name")),
                arguments=function.get("arguments"),
            )
        )
    # Anthropic history: tool_use blocks in assistant content, tool_result blocks in user content.
    results: list[Message] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_use":
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_str(block.get("id")),
                    name=_str(block.get("name")),
                    arguments=block.get("input"),
                )
            )
        elif block.get("type") == "tool_result":
            text, _ = _parts_text(block.get("content"))
            results.append(Message(role="tool", content=text, tool_call_id=_str(block.get("tool_use_id"))))
    if results and not content:
        return results[0] if len(results) == 1 else Message(role="tool", content="\n".join(r.content for r in results))
    raw_images = message.get("images")
    if isinstance(raw_images, list):  # Ollama native chat: bare base64
        images = images + tuple(f"data:image/*;base64,{i}" for i in raw_images if isinstance(i, str))
    return Message(
        role=role,
        content=content,
        reasoning=_str(message.get("reasoning")) or _str(message.get("reasoning_content")),
        refusal=_str(message.get("refusal")),
        tool_calls=tuple(calls),
        tool_call_id=_str(message.get("tool_call_id")),
        name=_str(message.get("name")),
        images=images,
    )


def _tool_names(tools: Any) -> tuple[str, ...]:
    names: list[str] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if isinstance(name, str) and name:
            names.append(name)
        for declaration in tool.get("function_declarations") or ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                names.append(declaration["name"])
    return tuple(names)


def _genai_tool_names(body: dict[str, Any]) -> tuple[str, ...]:
    config = body.get("config")
    if isinstance(config, dict):
        return _tool_names(config.get("tools"))
    return ()


def _genai_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    config = body.get("config")
    if isinstance(config, dict) and config.get("system_instruction"):
        system = config["system_instruction"]
        text = (
            system
            if isinstance(system, str)
            else _genai_parts(system.get("parts") if isinstance(system, dict) else None)[0]
        )
        messages.append(Message(role="system", content=text))
    contents = body.get("contents")
    if isinstance(contents, str):
        return (*messages, Message(role="user", content=contents))
    for content in _list(contents, "request.body.contents"):
        if isinstance(content, str):
            messages.append(Message(role="user", content=content))
            continue
        if not isinstance(content, dict):
            continue
        text, calls, results = _genai_parts(content.get("parts"))
        role = "assistant" if content.get("role") == "model" else _str(content.get("role")) or "user"
        if results:
            messages.extend(results)
        if text or calls or not results:
            messages.append(Message(role=role, content=text, tool_calls=calls))
    return tuple(messages)


def _genai_parts(parts: Any) -> tuple[str, tuple[ToolCall, ...], list[Message]]:
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
        call = part.get("function_call")
        if isinstance(call, dict):
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_str(call.get("id")),
                    name=_str(call.get("name")),
                    arguments=call.get("args") or {},
                )
            )
        answer = part.get("function_response")
        if isinstance(answer, dict):
            results.append(
                Message(
                    role="tool", content=orjson.dumps(answer.get("response")).decode(), name=_str(answer.get("name"))
                )
            )
    return "".join(texts), tuple(calls), results


# Responses -----------------------------------------------------------------------------------------------


def _chat(body: Any, base: dict[str, Any]) -> Recording:
    if isinstance(body, list):
        chunks = [_data(element) for element in body]
        choices = stream.reassemble(chunks)
        found = usage.last(_chunk_usage(chunk) for chunk in chunks)
        model = base["model"] or next((_str(c.get("model")) for c in chunks if c.get("model")), "")
        return Recording(
            kind=Kind.CHAT, choices=choices, usage=found, chunk_count=len(chunks), **{**base, "model": model}
        )
    data = _data(body)
    choices = tuple(stream.chat_message(c) for c in _list(data.get("choices"), "choices") if isinstance(c, dict))
    model = base["model"] or _str(data.get("model"))
    return Recording(kind=Kind.CHAT, choices=choices, usage=_usage_of(data), **{**base, "model": model})


def _chunk_usage(chunk: dict[str, Any]) -> Usage | None:
    return _usage_of(chunk)


def _usage_of(data: dict[str, Any]) -> Usage | None:
    value = data.get("usage")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordingError(f"usage is {_type_name(value)}, expected an object")
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        token = value.get(key)
        if token is not None and (isinstance(token, bool) or not isinstance(token, (int, float))):
            raise RecordingError(f"usage.{key} is {_type_name(token)}, expected a number")
    return usage.from_mapping(value)


def _completion(body: Any, base: dict[str, Any]) -> Recording:
    elements = [_data(e) for e in body] if isinstance(body, list) else [_data(body)]
    texts: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    for element in elements:
        for choice in _list(element.get("choices"), "choices"):
            index = choice.get("index") or 0
            texts.setdefault(index, []).append(_str(choice.get("text")))
            if choice.get("finish_reason"):
                finish[index] = _str(choice.get("finish_reason"))
    choices = tuple(
        Message(role="assistant", content="".join(parts), index=index, finish_reason=finish.get(index, ""))
        for index, parts in sorted(texts.items())
    )
    prompt = base["request_params"].get("prompt") or _dict(base["raw"]["request"].get("body"), "body").get("prompt")
    messages = base["request_messages"] or tuple(
        Message(role="user", content=p)
        for p in (prompt if isinstance(prompt, list) else [prompt])
        if isinstance(p, str)
    )
    return Recording(
        kind=Kind.COMPLETION,
        choices=choices,
        usage=usage.last(_usage_of(e) for e in elements),
        chunk_count=len(elements) if isinstance(body, list) else 0,
        **{**base, "request_messages": messages},
    )


def _embeddings(body: Any, base: dict[str, Any]) -> Recording:
    data = _data(body)
    vectors = _list(data.get("data"), "data")
    dims = {len(v["embedding"]) for v in vectors if isinstance(v, dict) and isinstance(v.get("embedding"), list)}
    inputs = _dict(base["raw"]["request"].get("body"), "body").get("input")
    messages = tuple(
        Message(role="input", content=i)
        for i in (inputs if isinstance(inputs, list) else [inputs])
        if isinstance(i, str)
    )
    dim_text = ", ".join(str(d) for d in sorted(dims)) or "?"
    return Recording(
        kind=Kind.EMBEDDINGS,
        usage=_usage_of(data),
        summary=f"{len(vectors)} embedding{'s' if len(vectors) != 1 else ''} × {dim_text} dimensions",
        details={"count": len(vectors), "dimensions": sorted(dims)},
        **{**base, "request_messages": messages, "model": base["model"] or _str(data.get("model"))},
    )


def _model_list(body: Any, base: dict[str, Any]) -> Recording:
    ids = [_str(_data(e).get("id")) for e in _list(body, "body")]
    return Recording(
        kind=Kind.MODEL_LIST, summary=f"{len(ids)} models", details={"models": ids}, **{**base, "streaming": False}
    )


def _ollama_admin(body: Any, base: dict[str, Any]) -> Recording:
    data = _data(body)
    models = [m for m in _list(data.get("models"), "models") if isinstance(m, dict)]
    names = [_str(m.get("model")) or _str(m.get("name")) for m in models]
    if "models" in data:
        summary = f"{len(names)} models: {', '.join(names[:5])}" if names else "no models"
    else:
        summary = f"status: {_str(data.get('status'))}"
    return Recording(kind=Kind.OLLAMA_ADMIN, summary=summary, details={"models": names}, **base)


def _ollama_generate(body: Any, base: dict[str, Any]) -> Recording:
    elements = [_data(e) for e in body] if isinstance(body, list) else [_data(body)]
    text = "".join(_str(e.get("response")) or _str((e.get("message") or {}).get("content")) for e in elements)
    thinking = "".join(_str(e.get("thinking")) or _str((e.get("message") or {}).get("thinking")) for e in elements)
    calls: list[ToolCall] = []
    for element in elements:
        message = element.get("message")
        for call in (message.get("tool_calls") if isinstance(message, dict) else None) or ():
            function = call.get("function") or {}
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_str(call.get("id")),
                    name=_str(function.get("name")),
                    arguments=function.get("arguments"),
                )
            )
    last = elements[-1] if elements else {}
    content, tagged = stream.split_reasoning(text)
    answer = Message(
        role="assistant",
        content=content,
        reasoning=thinking or tagged,
        tool_calls=tuple(calls),
        finish_reason=_str(last.get("done_reason")),
    )
    kind = Kind.OLLAMA_CHAT if any("message" in e for e in elements) else Kind.OLLAMA_GENERATE
    prompt = _dict(base["raw"]["request"].get("body"), "body").get("prompt")
    messages = base["request_messages"] or ((Message(role="user", content=prompt),) if isinstance(prompt, str) else ())
    found = usage.last(usage.ollama(e) for e in elements if e.get("done") is not False)
    return Recording(
        kind=kind,
        choices=(answer,),
        usage=found,
        chunk_count=len(elements) if isinstance(body, list) else 0,
        **{**base, "request_messages": messages, "model": base["model"] or _str(last.get("model"))},
    )


def _ollama_embed(body: Any, base: dict[str, Any]) -> Recording:
    data = _data(body)
    vectors = _list(data.get("embeddings"), "embeddings")
    dims = sorted({len(v) for v in vectors if isinstance(v, list)})
    prompt = usage.ollama(data)
    found = Usage(prompt_tokens=prompt.prompt_tokens, total_tokens=prompt.prompt_tokens) if prompt else None
    return Recording(
        kind=Kind.OLLAMA_EMBED,
        usage=found,
        summary=f"{len(vectors)} embeddings × {', '.join(map(str, dims)) or '?'} dimensions",
        details={"count": len(vectors), "dimensions": dims},
        **base,
    )


_HANDLERS = {
    "ChatCompletion": _chat,
    "ChatCompletionChunk": _chat,
    "Completion": _completion,
    "CreateEmbeddingResponse": _embeddings,
    "Model": _model_list,
    "ListResponse": _ollama_admin,
    "ProcessResponse": _ollama_admin,
    "ProgressResponse": _ollama_admin,
    "GenerateResponse": _ollama_generate,
    "ChatResponse": _ollama_generate,
    "EmbedResponse": _ollama_embed,
}


def _tool(request: dict[str, Any], body: Any, base: dict[str, Any]) -> Recording:
    data = _data(body) if body is not None else {}
    kwargs = _dict(request.get("kwargs"), "request.kwargs")
    tool_name = _str(request.get("tool_name"))
    content = data.get("content")
    parsed: Any = content
    if isinstance(content, str):
        try:
            parsed = orjson.loads(content)
        except orjson.JSONDecodeError:
            parsed = content
    query = kwargs.get("query")
    results = parsed.get("top_k") if isinstance(parsed, dict) else None
    summary = tool_name
    if isinstance(results, list):
        summary += f": {len(results)} results"
    if isinstance(query, str):
        summary += f" for {query!r}"
    error = _str(data.get("error_message"))
    text = content if isinstance(content, str) else orjson.dumps(content).decode()
    return Recording(
        kind=Kind.TOOL,
        provider=_str(request.get("provider")),
        request_messages=(Message(role="user", content=orjson.dumps(kwargs).decode()),),
        request_params=kwargs,
        tools=(tool_name,) if tool_name else (),
        choices=(Message(role="tool", content=text),),
        error=error,
        summary=summary,
        details={"tool_name": tool_name, "kwargs": kwargs, "result": parsed, "error_code": data.get("error_code")},
        **base,
    )


def _file_processor(request: dict[str, Any], body: Any, base: dict[str, Any]) -> Recording:
    data = _data(body) if body is not None else {}
    chunks = _list(data.get("chunks"), "chunks")
    return Recording(
        kind=Kind.FILE_PROCESSOR,
        provider=_str(request.get("provider")),
        summary=f"{len(chunks)} chunks from {_str(request.get('file_id'))}",
        details={"file_id": request.get("file_id"), "chunks": len(chunks)},
        choices=tuple(
            Message(role="chunk", content=_str(c.get("content"))) for c in chunks[:50] if isinstance(c, dict)
        ),
        **base,
    )


def _exception(request: dict[str, Any], response: dict[str, Any], body: Any, base: dict[str, Any]) -> Recording:
    data = response.get("exception_data")
    data = data if isinstance(data, dict) else {}
    message = _str(response.get("exception_message")) or _str(data.get("message")) or "recorded exception"
    kind_name = _str(data.get("type")) or "exception"
    status = data.get("status_code")
    summary = f"{kind_name} {status}: {message}" if isinstance(status, int) else f"{kind_name}: {message}"
    info: dict[str, Any] = {}
    if "payload" in request:
        info = {"url": _str(request.get("url")), "provider": provider_of(_str(request.get("url")))}
    elif "body" in request:
        info = _inference_request(request)
    base = {**base, **info}
    choices: tuple[Message, ...] = ()
    count = 0
    if isinstance(body, list) and body and _class_name(body[0]) == "ChatCompletionChunk":
        partial = _chat(body, {**base})
        choices, count = partial.choices, partial.chunk_count
        summary += " (truncated stream)"
    return Recording(
        kind=Kind.EXCEPTION,
        error=message,
        summary=summary[:500],
        status=status if isinstance(status, int) else None,
        choices=choices,
        chunk_count=count,
        details={"exception": data},
        **base,
    )


# Raw HTTP passthrough -------------------------------------------------------------------------------------


def _passthrough(request: dict[str, Any], response: dict[str, Any], body: Any, base: dict[str, Any]) -> Recording:
    url = _str(request.get("url"))
    payload = _dict(request.get("payload"), "request.payload")
    route = urlsplit(url).path if "://" in url else url
    status = response.get("status")
    base.update(
        url=url,
        endpoint=route,
        provider=provider_of(url),
        model=_str(payload.get("model")),
        request_params={k: v for k, v in payload.items() if k not in _NOT_PARAMS},
        tools=_tool_names(payload.get("tools")),
        status=status if isinstance(status, int) else None,
    )
    if route.endswith("/messages"):
        base["request_messages"] = _anthropic_request(payload)
        kind = Kind.ANTHROPIC_MESSAGES
    elif route.endswith("/interactions"):
        base["request_messages"] = _interaction_input(payload.get("input"))
        kind = Kind.GEMINI_INTERACTIONS
    elif route.endswith("/rerank"):
        query = payload.get("query")
        base["request_messages"] = (Message(role="user", content=query),) if isinstance(query, str) else ()
        kind = Kind.RERANK
    else:
        kind = Kind.HTTP
    if isinstance(status, int) and status >= 400:
        return Recording(kind=kind, error=_http_error(body, status), summary=f"HTTP {status}", **base)
    if isinstance(body, list):
        events = _sse_events(body)
        base["chunk_count"] = len(events)
        if kind == Kind.ANTHROPIC_MESSAGES:
            return _anthropic_sse(events, base)
        if kind == Kind.GEMINI_INTERACTIONS:
            return _interactions_sse(events, base)
        return Recording(kind=kind, summary=f"{len(events)} events", **base)
    data = _dict(body, "response.body")
    if kind == Kind.ANTHROPIC_MESSAGES:
        message = _anthropic_blocks(_list(data.get("content"), "content"), _str(data.get("stop_reason")))
        return Recording(kind=kind, choices=(message,), usage=usage.anthropic(data.get("usage")), **base)
    if kind == Kind.GEMINI_INTERACTIONS:
        message = _interaction_outputs(_list(data.get("outputs"), "outputs"), _str(data.get("status")))
        return Recording(kind=kind, choices=(message,), usage=usage.gemini_interactions(data.get("usage")), **base)
    if kind == Kind.RERANK:
        results = _list(data.get("results"), "results")
        return Recording(
            kind=kind,
            usage=usage.from_mapping(data.get("usage")),
            summary=f"{len(results)} results ranked",
            details={"results": results[:100]},
            **base,
        )
    return Recording(kind=kind, summary=f"HTTP {status}" if status else "", **base)


def _http_error(body: Any, status: int) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return f"HTTP {status}: {error['message']}"
        if isinstance(body.get("message"), str):
            return f"HTTP {status}: {body['message']}"
    return f"HTTP {status}"


def _anthropic_request(payload: dict[str, Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    system = payload.get("system")
    if system:
        text, _ = _parts_text(system)
        messages.append(Message(role="system", content=text))
    for message in _list(payload.get("messages"), "payload.messages"):
        messages.append(_openai_message(message))
    return tuple(messages)


def _anthropic_blocks(blocks: Sequence[Any], stop: str) -> Message:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(_str(block.get("text")))
        elif kind == "thinking":
            thinking.append(_str(block.get("thinking")))
        elif kind == "tool_use":
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_str(block.get("id")),
                    name=_str(block.get("name")),
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


def _sse_events(lines: Sequence[Any]) -> list[tuple[str, Any]]:
    """Split raw SSE lines into (event, data) pairs at blank lines; data stays text when it is not JSON."""
    events: list[tuple[str, Any]] = []
    name = ""
    data: list[str] = []
    for line in [*lines, ""]:
        if not isinstance(line, str):
            raise RecordingError(f"an SSE line is {_type_name(line)}, expected a string")
        if not line:
            if name or data:
                text = "\n".join(data)
                try:
                    value: Any = orjson.loads(text)
                except orjson.JSONDecodeError:
                    value = text
                events.append((name or (value.get("type", "") if isinstance(value, dict) else ""), value))
            name, data = "", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    return events


def _anthropic_sse(events: list[tuple[str, Any]], base: dict[str, Any]) -> Recording:
    blocks: dict[int, dict[str, Any]] = {}
    found: Usage | None = None
    stop = ""
    for _, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("type")
        if kind == "message_start":
            found = usage.anthropic((data.get("message") or {}).get("usage"), found)
        elif kind == "content_block_start":
            block = dict(data.get("content_block") or {})
            block["_json"] = []
            blocks[data.get("index") or 0] = block
        elif kind == "content_block_delta":
            block = blocks.setdefault(data.get("index") or 0, {"type": "text", "_json": []})
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["type"] = block.get("type") or "text"
                block["text"] = _str(block.get("text")) + _str(delta.get("text"))
            elif delta.get("type") == "thinking_delta":
                block["type"] = "thinking"
                block["thinking"] = _str(block.get("thinking")) + _str(delta.get("thinking"))
            elif delta.get("type") == "input_json_delta":
                block["_json"].append(_str(delta.get("partial_json")))
        elif kind == "message_delta":
            stop = _str((data.get("delta") or {}).get("stop_reason")) or stop
            found = usage.anthropic(data.get("usage"), found)
    ordered = []
    for _, block in sorted(blocks.items()):
        if block.get("type") == "tool_use" and block["_json"]:
            block["input"] = "".join(block["_json"])
        ordered.append(block)
    message = _anthropic_blocks(ordered, stop)
    return Recording(kind=Kind.ANTHROPIC_MESSAGES, choices=(message,), usage=found, **base)


def _interaction_input(value: Any) -> tuple[Message, ...]:
    if isinstance(value, str):
        return (Message(role="user", content=value),)
    messages = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            messages.append(Message(role="user", content=item))
        elif isinstance(item, dict):
            content = item.get("content", item.get("text"))
            text, images = _parts_text(content)
            role = _str(item.get("role")) or _str(item.get("type")) or "user"
            messages.append(Message(role="assistant" if role == "model" else role, content=text, images=images))
    return tuple(messages)


def _interaction_outputs(outputs: Sequence[Any], status: str) -> Message:
    texts: list[str] = []
    calls: list[ToolCall] = []
    thoughts = 0
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("type")
        if kind == "text":
            texts.append(_str(output.get("text")))
        elif kind == "function_call":
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_str(output.get("id")),
                    name=_str(output.get("name")),
                    arguments=output.get("arguments"),
                )
            )
        elif kind == "thought":
            thoughts += 1
    reasoning = f"({thoughts} thought signature{'s' if thoughts != 1 else ''}, no text)" if thoughts else ""
    return Message(
        role="assistant", content="".join(texts), reasoning=reasoning, tool_calls=tuple(calls), finish_reason=status
    )


def _interactions_sse(events: list[tuple[str, Any]], base: dict[str, Any]) -> Recording:
    texts: list[str] = []
    found: Usage | None = None
    status = ""
    outputs: list[Any] = []
    for _, data in events:
        if not isinstance(data, dict):
            continue
        kind = data.get("event_type") or data.get("type")
        if kind == "content.delta":
            delta = data.get("delta") or {}
            if isinstance(delta, dict) and delta.get("type") == "text":
                texts.append(_str(delta.get("text")))
            elif isinstance(delta, dict) and delta.get("type") == "function_call":
                outputs.append(delta)
        elif kind in {"interaction.complete", "interaction.start", "interaction.status_update"}:
            interaction = data.get("interaction") or {}
            if isinstance(interaction, dict):
                status = _str(interaction.get("status")) or status
                found = usage.gemini_interactions(interaction.get("usage")) or found
            status = _str(data.get("status")) or status
    message = _interaction_outputs(outputs, status)
    message = Message(role="assistant", content="".join(texts), tool_calls=message.tool_calls, finish_reason=status)
    return Recording(kind=Kind.GEMINI_INTERACTIONS, choices=(message,), usage=found, **base)


# Google genai --------------------------------------------------------------------------------------------


def _genai(body: Any, base: dict[str, Any]) -> Recording:
    elements = [_dict(e, "response.body[]") for e in body] if isinstance(body, list) else [_dict(body, "response.body")]
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    finish = ""
    for element in elements:
        for candidate in _list(element.get("candidates"), "candidates"):
            if not isinstance(candidate, dict):
                continue
            content = candidate.get("content") or {}
            for part in (content.get("parts") if isinstance(content, dict) else None) or ():
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("text"), str):
                    (thoughts if part.get("thought") else texts).append(part["text"])
                call = part.get("function_call")
                if isinstance(call, dict):
                    calls.append(
                        stream.tool_call(
                            index=len(calls),
                            id=_str(call.get("id")),
                            name=_str(call.get("name")),
                            arguments=call.get("args") or {},
                        )
                    )
            finish = _str(candidate.get("finish_reason")) or finish
    answer = Message(
        role="assistant",
        content="".join(texts),
        reasoning="".join(thoughts),
        tool_calls=tuple(calls),
        finish_reason=finish,
    )
    model = base["model"] or next((_str(e.get("model_version")) for e in elements if e.get("model_version")), "")
    return Recording(
        kind=Kind.GENAI,
        choices=(answer,),
        usage=usage.last(usage.genai(e) for e in elements),
        chunk_count=len(elements) if isinstance(body, list) else 0,
        **{**base, "model": model},
    )


def parse_mapping(raw: Mapping[str, Any], *, path: str) -> Recording:
    """Understand an already-decoded recording (used by the diff, which reads blobs from git)."""
    return parse(orjson.dumps(raw), path=path)
