"""Read one recording file and understand it: classify its shape, reassemble its answer, find its usage."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from recorder_ui.domain import paths, stream, usage
from recorder_ui.domain.model import Kind, Message, Recording, ToolCall, Usage
from recorder_ui.domain.usage import WrongType, type_name

# Request body keys that are not parameters: they become request_messages and tools.
_NOT_PARAMS = frozenset({"messages", "tools", "contents"})
_Fields = dict[str, Any]
_Where = tuple[str | int, ...]
_Shape = Callable[[dict[str, Any], dict[str, Any], Any, _Fields], _Fields]


class RecordingError(ValueError):
    """The file is not a valid recording; the message says why."""


def load(path: Path, *, name: str | None = None, max_bytes: int | None = None) -> Recording:
    """Read one file (read-only) and parse it. Never raises: problems come back as an INVALID recording."""
    label = name if name is not None else str(path)
    try:
        with open(path, "rb") as handle:
            if max_bytes is None:
                data = handle.read()
            else:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    return _invalid(label, f"too large: {size} bytes (limit {max_bytes})")
                # Ask for the size we expect (read(n) allocates n bytes up front), then for the rest if it grew.
                data = handle.read(size + 1)
                if size < len(data) <= max_bytes:
                    data += handle.read(max_bytes + 1 - len(data))
                if len(data) > max_bytes:  # it grew after the size check: still never read more than the cap
                    return _invalid(label, f"too large: over {max_bytes} bytes (limit {max_bytes})")
    except IsADirectoryError:
        return _invalid(label, "cannot read: it is a folder, not a file")
    except OSError as exc:
        return _invalid(label, f"cannot read: {exc.strerror or exc}")
    return parse(data, path=label)


def parse(data: bytes, *, path: str) -> Recording:
    """Parse the bytes of one recording file. Never raises: a file that is not a recording comes back INVALID."""
    rec = _parse(data, path=path, exact=False)
    if rec.usage is not None and _rounded(rec.usage):
        # orjson reads an integer beyond 64 bits as a float: read such a file again, exactly.
        rec = _parse(data, path=path, exact=True)
    return rec


def _rounded(found: Usage) -> bool:
    """Whether a token count may have been rounded by the quick reader (it is 2**63 or more in size)."""
    counts = (found.prompt_tokens, found.completion_tokens, found.total_tokens, found.cached_tokens,
              found.reasoning_tokens)  # fmt: skip
    return any(count is not None and abs(count) >= 2**63 for count in counts)


def _parse(data: bytes, *, path: str, exact: bool) -> Recording:
    try:
        raw = _decode_exactly(_without_bom(data)) if exact else _decode(data)
    except RecordingError as exc:
        return _invalid(path, str(exc))
    if not isinstance(raw, dict):
        return _invalid(path, f"not a recording: the top level is {type_name(raw)}, not an object", raw=raw)
    try:
        raw, applied = _apply_mapping(raw)
        return _understand(raw, path, applied)
    except (RecordingError, WrongType) as exc:
        return _invalid(path, str(exc), raw=raw)
    except RecursionError:
        return _invalid(path, "nested too deeply to read", raw=raw)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        # The safety net: the shape code checks types where it reads them, so this is a case it did not foresee.
        return _invalid(path, f"unexpected value in the recording ({type(exc).__name__}: {exc})", raw=raw)


def parse_mapping(raw: Mapping[str, Any], *, path: str) -> Recording:
    """Understand an already-decoded recording."""
    return parse(orjson.dumps(raw), path=path)


def _invalid(path: str, error: str, raw: Any = None) -> Recording:
    return Recording(path=path, kind=Kind.INVALID, error=error, raw=raw)


def _without_bom(data: bytes) -> bytes:
    return data[3:] if data[:3] == b"\xef\xbb\xbf" else data  # a UTF-8 byte-order mark: harmless, read past it


def _decode(data: bytes) -> Any:
    data = _without_bom(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        if "surrogate" in message or b"NaN" in data or b"Infinity" in data:
            return _decode_exactly(data)  # what Python's json module writes: read it, as the recorder would
        _refuse(data, exc)
        raise  # not reached: _refuse raises


def _decode_exactly(data: bytes) -> Any:
    """The standard library's reader: integers of any size, NaN and Infinity, lone surrogate escapes (made
    visible text, \\udXXX, since no database or JSON writer takes them)."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as bad:
        raise RecordingError(f"not valid UTF-8 text: byte 0x{data[bad.start]:02x} at offset {bad.start}") from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise RecordingError("nested too deeply to read: over 1,024 levels of JSON (the parser's limit)") from None
    except json.JSONDecodeError as exc:
        raise RecordingError(f"not valid JSON: {exc}") from None
    return _visible_surrogates(raw)  # a \\ud800 escape in the text is a lone surrogate in the value


def _visible_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return paths.storable(value)
    if isinstance(value, dict):
        return {paths.storable(k): _visible_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible_surrogates(v) for v in value]
    return value


def _refuse(data: bytes, exc: orjson.JSONDecodeError) -> None:
    """Raise the RecordingError that says, in words, why data is not JSON."""
    message = str(exc)
    if not data.strip():
        raise RecordingError("empty file") from None
    if "UTF-8" in message or "utf-8" in message:
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as bad:
            raise RecordingError(f"not valid UTF-8 text: byte 0x{data[bad.start]:02x} at offset {bad.start}") from None
        raise RecordingError(f"not valid UTF-8 text: {message}") from None
    if "depth limit" in message or "recursion" in message:
        raise RecordingError("nested too deeply to read: over 1,024 levels of JSON (the parser's limit)") from None
    raise RecordingError(f"not valid JSON: {message}") from None


def _apply_mapping(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply id_normalization_mapping (format doc 2.3): substring replacement on the serialised file, in key order."""
    mapping = raw.get("id_normalization_mapping")
    if mapping is None or mapping == {}:
        return raw, {}  # the usual case: nothing to re-serialise
    if not isinstance(mapping, dict):
        raise WrongType(("id_normalization_mapping",), "an object", mapping)
    for normalized, original in mapping.items():
        if not isinstance(original, str):
            raise WrongType(("id_normalization_mapping", normalized), "a string", original)
    pairs = [(original, normalized) for normalized, original in mapping.items() if original]
    try:
        text = orjson.dumps(raw).decode()
    except orjson.JSONEncodeError:  # deeper than orjson writes (255 levels): walk every string instead
        result = _replace_in_strings(raw, pairs)
    else:
        for original, normalized in pairs:
            # Replace the ids as they appear inside JSON strings, escapes included.
            text = text.replace(orjson.dumps(original).decode()[1:-1], orjson.dumps(normalized).decode()[1:-1])
        result = orjson.loads(text)
    result["id_normalization_mapping"] = {}  # applied: from here on it counts as empty
    return result, dict(mapping)


def _replace_in_strings(value: Any, pairs: list[tuple[str, str]]) -> Any:
    """The mapping applied to every string (keys too), for files too deep to re-serialise."""
    if isinstance(value, str):
        for original, normalized in pairs:
            value = value.replace(original, normalized)
        return value
    if isinstance(value, dict):
        return {_replace_in_strings(k, pairs): _replace_in_strings(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_in_strings(v, pairs) for v in value]
    return value


# Small typed readers: each names where the value sits when its type is wrong.


def _obj(value: Any, path: _Where) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WrongType(path, "an object", value)
    return value


def _arr(value: Any, path: _Where) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WrongType(path, "a list", value)
    return value


def _str(value: Any, path: _Where) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WrongType(path, "a string", value)
    return value


def _text_or_dump(value: Any) -> str:
    """Strings as they are, other JSON values as JSON text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


def _class_name(value: Any) -> str:
    """The class part of a typed object's __type__ (section 3: never the module path, which follows renames)."""
    if isinstance(value, dict):
        name = value.get("__type__")
        if isinstance(name, str):
            return name.rsplit(".", 1)[-1]
    return ""


def _data(value: Any, path: _Where) -> dict[str, Any]:
    """The __data__ of a typed object, or a raw dict as it is."""
    if not isinstance(value, dict):
        raise WrongType(path, "an object", value)
    if "__data__" not in value:
        return value
    inner = value["__data__"]
    if not isinstance(inner, dict):
        raise WrongType((*path, "__data__"), "an object", inner)
    return inner


def _as_dict(value: Any) -> dict[str, Any]:
    """A dict as it is, anything else as {} (for optional, loosely shaped parts such as SSE deltas)."""
    return value if isinstance(value, dict) else {}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# Classification (format doc, section 3) -------------------------------------------------------------------


def _understand(raw: dict[str, Any], path: str, applied: dict[str, str]) -> Recording:
    for key in ("request", "response"):
        if raw.get(key) is None:
            problem = f"{key} is null" if key in raw else f"no {key!r} key"
            raise RecordingError(f"not a recording: {problem}")
    request = _obj(raw["request"], ("request",))
    response = _obj(raw["response"], ("response",))
    test_id = raw.get("test_id")
    if test_id is not None and not isinstance(test_id, str):
        raise WrongType(("test_id",), "a string or null", test_id)
    for flag in ("is_streaming", "is_exception"):
        if response.get(flag) is not None and not isinstance(response[flag], bool):
            raise WrongType(("response", flag), "true or false", response[flag])
    status = response.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise WrongType(("response", "status"), "a whole number", status)
    body = response.get("body")

    shape: _Shape
    fields: _Fields = {"streaming": response.get("is_streaming") is True, "status": status}
    if response.get("is_exception") is True:
        shape = _exception
    elif "payload" in request:
        shape = _passthrough
    elif "tool_name" in request:
        shape = _tool
    elif "file_id" in request:
        shape = _file_processor
    else:
        fields.update(_inference_request(request))
        if fields["url"].startswith("vertexai:"):
            shape = _genai
        else:
            shape = _HANDLERS.get(_class_name(body[0] if isinstance(body, list) and body else body), _unknown)
    fields.update(shape(request, response, body, fields))
    kind: Kind = fields["kind"]
    if kind != Kind.EXCEPTION:
        fields["usage"] = usage.for_body(kind=kind, body=body, status=status)
    if applied:
        fields["details"] = {**fields.get("details", {}), "id_normalization_mapping": applied}
    return Recording(path=path, test_id=test_id or None, raw=raw, **fields)


# Requests --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def provider_of(url: str) -> str:
    """Who served a request, from its URL: the host (with port), "vertexai", or "databricks"."""
    if url.startswith("vertexai:"):
        return "vertexai"
    if url.startswith("__databricks__"):
        return "databricks"
    try:
        return urlsplit(url).netloc
    except ValueError:
        return ""


def _inference_request(request: dict[str, Any]) -> _Fields:
    body = _obj(request.get("body"), ("request", "body"))
    url = _str(request.get("url"), ("request", "url"))
    model = _str(request.get("model"), ("request", "model")) or _str(body.get("model"), ("request", "body", "model"))
    if "contents" in body:
        messages = _genai_messages(body)
    else:
        messages = _messages(body.get("messages"), ("request", "body", "messages"))
        if not messages and isinstance(body.get("prompt"), (str, list)):  # legacy completions, Ollama generate
            messages = _prompt_messages(body["prompt"], "user")
    stream_options = body.get("stream_options")
    include = stream_options.get("include_usage") if isinstance(stream_options, dict) else None
    config = body.get("config")
    tools = _tool_names(body.get("tools"), ("request", "body", "tools"))
    if isinstance(config, dict):
        tools += _tool_names(config.get("tools"), ("request", "body", "config", "tools"))
    return {
        "endpoint": _str(request.get("endpoint"), ("request", "endpoint")),
        "url": url,
        "provider": provider_of(url),
        "model": model,
        "request_messages": messages,
        "request_params": {k: v for k, v in body.items() if k not in _NOT_PARAMS},
        "tools": tools,
        "include_usage": include if isinstance(include, bool) else None,
    }


def _prompt_messages(prompt: Any, role: str) -> tuple[Message, ...]:
    """A prompt or input that is a string or a list of strings (token-id lists are skipped)."""
    items = prompt if isinstance(prompt, list) else [prompt]
    return tuple(Message(role=role, content=p) for p in items if isinstance(p, str))


def _messages(value: Any, path: _Where) -> tuple[Message, ...]:
    found: list[Message] = []
    for number, message in enumerate(_arr(value, path)):
        if type(message) is dict and len(message) == 2:  # most messages are {"role", "content": "text"}
            role, content = message.get("role"), message.get("content")
            if type(role) is str and type(content) is str:
                found.append(Message(role=role, content=content))
                continue
        found.extend(_message(message, (*path, number)))
    return tuple(found)


def _message(message: Any, path: _Where) -> tuple[Message, ...]:
    """One OpenAI, Anthropic or Ollama request message (an Anthropic one with tool results gives one per result)."""
    if not isinstance(message, dict):
        raise WrongType(path, "an object", message)
    content = message.get("content")
    text, images = stream.content_text(content, (*path, "content"))
    calls = list(stream.openai_tool_calls(message.get("tool_calls"), (*path, "tool_calls")))
    results: list[Message] = []
    reasoning = ""
    if isinstance(content, list):
        # Anthropic history: tool_use and thinking blocks in assistant content, tool_result blocks in user content.
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "tool_use":
                calls.append(
                    stream.tool_call(
                        index=len(calls),
                        id=_text_or_dump(block.get("id")),
                        name=_text_or_dump(block.get("name")),
                        arguments=block.get("input"),
                    )
                )
            elif kind == "thinking":
                reasoning += _text_or_dump(block.get("thinking"))
            elif kind == "tool_result":
                result, _ = stream.content_text(block.get("content"), (*path, "content", "tool_result"))
                results.append(
                    Message(role="tool", content=result, tool_call_id=_text_or_dump(block.get("tool_use_id")))
                )
    if results and not text.strip():
        return tuple(results)
    ollama_images = message.get("images")
    if isinstance(ollama_images, list):  # Ollama native chat: bare base64, the type unknown
        images += tuple(f"data:image/*;base64,{i}" for i in ollama_images if isinstance(i, str))
    answer = Message(
        role=_str(message.get("role"), (*path, "role")),
        content=text,
        reasoning=reasoning or _text_or_dump(message.get("reasoning") or message.get("reasoning_content")),
        refusal=_text_or_dump(message.get("refusal")),
        tool_calls=tuple(calls),
        tool_call_id=_text_or_dump(message.get("tool_call_id")),
        name=_text_or_dump(message.get("name")),
        images=images,
    )
    return (*results, answer) if results else (answer,)


def _tool_names(tools: Any, path: _Where) -> tuple[str, ...]:
    """Names of offered tools: OpenAI function.name, Anthropic and Gemini name, genai function_declarations."""
    names: list[str] = []
    for tool in _arr(tools, path):
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if isinstance(name, str) and name:
            names.append(name)
        declarations = tool.get("function_declarations")
        for declaration in declarations if isinstance(declarations, list) else ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                names.append(declaration["name"])
    return tuple(names)


def _genai_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    config = body.get("config")
    system = config.get("system_instruction") if isinstance(config, dict) else None
    if isinstance(system, str) and system:
        messages.append(Message(role="system", content=system))
    elif isinstance(system, dict):
        messages.append(Message(role="system", content=_genai_parts(system.get("parts"), ())[0]))
    contents = body.get("contents")
    if isinstance(contents, str):
        return (*messages, Message(role="user", content=contents))
    for number, content in enumerate(_arr(contents, ("request", "body", "contents"))):
        if isinstance(content, str):
            messages.append(Message(role="user", content=content))
            continue
        if not isinstance(content, dict):
            raise WrongType(("request", "body", "contents", number), "an object or a string", content)
        text, calls, results, images = _genai_parts(content.get("parts"), ("request", "body", "contents", number))
        role = _str(content.get("role"), ("request", "body", "contents", number, "role"))
        messages.extend(results)
        if text or calls or images or not results:
            role = "assistant" if role == "model" else role or "user"
            messages.append(Message(role=role, content=text, tool_calls=calls, images=images))
    return tuple(messages)


def _genai_parts(parts: Any, path: _Where) -> tuple[str, tuple[ToolCall, ...], list[Message], tuple[str, ...]]:
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    images: list[str] = []
    for number, part in enumerate(_arr(parts, (*path, "parts"))):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise WrongType((*path, "parts", number), "an object", part)
        if part.get("text") is not None and not part.get("thought"):
            texts.append(_str(part["text"], (*path, "parts", number, "text")))
        call = part.get("function_call")
        if isinstance(call, dict):
            calls.append(
                stream.tool_call(
                    index=len(calls),
                    id=_text_or_dump(call.get("id")),
                    name=_text_or_dump(call.get("name")),
                    arguments=call.get("args") or {},
                )
            )
        answer = part.get("function_response")
        if isinstance(answer, dict):
            results.append(
                Message(
                    role="tool",
                    content=_text_or_dump(answer.get("response")),
                    name=_text_or_dump(answer.get("name")),
                    tool_call_id=_text_or_dump(answer.get("id")),
                )
            )
        inline = part.get("inline_data")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            images.append(f"data:{_text_or_dump(inline.get('mime_type'))};base64,{inline['data']}")
        linked = part.get("file_data")
        if isinstance(linked, dict) and isinstance(linked.get("file_uri"), str):
            images.append(linked["file_uri"])
    return "".join(texts), tuple(calls), results, tuple(images)


# Inference responses ---------------------------------------------------------------------------------------


_DATA = itemgetter("__data__")


def _chunk_data(body: list[Any]) -> list[dict[str, Any]]:
    """The __data__ of every element of a typed stream."""
    try:
        return list(map(_DATA, body))
    except (TypeError, KeyError):
        for number, element in enumerate(body):
            _data(element, ("response", "body", number))
            if "__data__" not in element:
                raise WrongType(("response", "body", number, "__data__"), "an object", None) from None
        raise


def _reassemble(chunks: list[dict[str, Any]]) -> tuple[Message, ...]:
    try:
        return stream.reassemble(chunks)
    except WrongType as exc:
        # stream paths start at the chunk number; the loader knows the chunks are response.body[n].__data__
        number, *rest = exc.path
        raise exc.moved(("response", "body", number, "__data__", *rest)) from None


def _chat(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    if isinstance(body, list):
        chunks = _chunk_data(body)
        model = fields["model"] or next((m for c in chunks if isinstance(m := c.get("model"), str) and m), "")
        return {"kind": Kind.CHAT, "choices": _reassemble(chunks), "chunk_count": len(chunks), "model": model}
    data = _data(body, ("response", "body"))
    where = ("response", "body", "__data__", "choices")
    choices = []
    for number, choice in enumerate(_arr(data.get("choices"), where)):
        if not isinstance(choice, dict):
            raise WrongType((*where, number), "an object", choice)
        choices.append(stream.chat_message(choice, (*where, number)))
    model = fields["model"] or _str(data.get("model"), ("response", "body", "__data__", "model"))
    return {"kind": Kind.CHAT, "choices": tuple(choices), "model": model}


def _completion(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    elements = body if isinstance(body, list) else [body]
    texts: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    model = ""
    for number, element in enumerate(elements):
        path: _Where = ("response", "body", number) if isinstance(body, list) else ("response", "body")
        data = _data(element, path)
        model = model or _text_or_dump(data.get("model"))
        for position, choice in enumerate(_arr(data.get("choices"), (*path, "__data__", "choices"))):
            where = (*path, "__data__", "choices", position)
            if not isinstance(choice, dict):
                raise WrongType(where, "an object", choice)
            index = choice.get("index") or 0
            if not isinstance(index, int):
                raise WrongType((*where, "index"), "a whole number", index)
            texts.setdefault(index, []).append(_str(choice.get("text"), (*where, "text")))
            if choice.get("finish_reason"):
                finish[index] = _str(choice["finish_reason"], (*where, "finish_reason"))
    choices = tuple(
        Message(role="assistant", content="".join(parts), index=index, finish_reason=finish.get(index, ""))
        for index, parts in sorted(texts.items())
    )
    return {
        "kind": Kind.COMPLETION,
        "choices": choices,
        "chunk_count": len(elements) if isinstance(body, list) else 0,
        "model": fields["model"] or model,
    }


def _embeddings(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body"))
    vectors = _arr(data.get("data"), ("response", "body", "__data__", "data"))
    dims = sorted(
        {len(v["embedding"]) for v in vectors if isinstance(v, dict) and isinstance(v.get("embedding"), list)}
    )
    inputs = fields["request_params"].get("input")
    return {
        "kind": Kind.EMBEDDINGS,
        "summary": f"{_plural(len(vectors), 'embedding')} × {'/'.join(map(str, dims)) or '?'} dimensions",
        "details": {"count": len(vectors), "dimensions": dims},
        "request_messages": fields["request_messages"] or _prompt_messages(inputs, "input"),
        "model": fields["model"] or _text_or_dump(data.get("model")),
    }


_ID = itemgetter("id")


def _model_list(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    entries = _arr(body, ("response", "body"))
    try:  # 17,732 entries in the corpus: one C-level pass when every entry is a typed object with a string id
        ids = list(map(_ID, map(_DATA, entries)))
        if not all(type(i) is str for i in ids):
            raise TypeError
    except (TypeError, KeyError):
        ids = [_text_or_dump(_data(e, ("response", "body", n)).get("id")) for n, e in enumerate(entries)]
    return {"kind": Kind.MODEL_LIST, "summary": _plural(len(ids), "model"), "details": {"models": ids}}


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


def _unknown(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    """A well-formed recording of a shape this reader does not know (e.g. /v1/responses): show the raw JSON."""
    first = body[0] if isinstance(body, list) and body else body
    name = _class_name(first)
    if name:
        what = f"response type {name}"
    elif body is None:
        what = "an empty response body"
    elif isinstance(body, list) and not body:
        what = "an empty response list"
    else:
        what = f"a response body that is {type_name(first)} without __type__"
    return {"kind": Kind.UNKNOWN, "summary": f"unknown shape: {what}"}


_HANDLERS: dict[str, _Shape] = {
    "ChatCompletion": _chat,
    "ChatCompletionChunk": _chat,
    "Completion": _completion,
    "CreateEmbeddingResponse": _embeddings,
    "Model": _model_list,
    "ListResponse": _ollama_admin,
    "ProcessResponse": _ollama_admin,
    "ProgressResponse": _ollama_admin,
    "GenerateResponse": _ollama_native,
    "ChatResponse": _ollama_native,
    "EmbedResponse": _ollama_embed,
}


# Tool runtime, file processor, exceptions ------------------------------------------------------------------


def _tool(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    data = _data(body, ("response", "body")) if body is not None else {}
    kwargs = _obj(request.get("kwargs"), ("request", "kwargs"))
    tool_name = _str(request.get("tool_name"), ("request", "tool_name"))
    content = data.get("content")
    parsed: Any = content
    if isinstance(content, str):
        try:  # content is JSON text (web search results); keep the text when it is not
            parsed = orjson.loads(content)
        except orjson.JSONDecodeError:
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


# Raw HTTP passthrough --------------------------------------------------------------------------------------


def _passthrough(request: dict[str, Any], response: dict[str, Any], body: Any, fields: _Fields) -> _Fields:
    url = _str(request.get("url"), ("request", "url"))
    payload = _obj(request.get("payload"), ("request", "payload"))
    route = urlsplit(url).path if "://" in url else url
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
                stream.tool_call(
                    index=len(calls),
                    id=_text_or_dump(block.get("id")),
                    name=_text_or_dump(block.get("name")),
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
                    stream.tool_call(
                        index=len(calls),
                        id=_text_or_dump(part.get("id")),
                        name=_text_or_dump(part.get("name")),
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
                stream.tool_call(
                    index=len(calls),
                    id=_text_or_dump(output.get("id")),
                    name=_text_or_dump(output.get("name")),
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


# Google genai ----------------------------------------------------------------------------------------------


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
                        stream.tool_call(
                            index=len(calls),
                            id=_text_or_dump(call.get("id")),
                            name=_text_or_dump(call.get("name")),
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
