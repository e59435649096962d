"""Read the request side of a recording: the messages sent, the tools offered, the parameters and who served
it."""

from __future__ import annotations

import functools
from typing import Any

from recorder_ui.domain import paths, stream
from recorder_ui.domain.model import Message, ToolCall
from recorder_ui.domain.readers import _arr, _Fields, _obj, _str, _text_or_dump, _Where
from recorder_ui.domain.usage import WrongType

# Request body keys that are not parameters: they become request_messages and tools.
_NOT_PARAMS = frozenset({"messages", "tools", "contents"})


@functools.lru_cache(maxsize=256)
def provider_of(url: str) -> str:
    """Who served a request, from its URL: the host (with port), "vertexai", or "databricks"."""
    if url.startswith("vertexai:"):
        return "vertexai"
    if url.startswith("__databricks__"):
        return "databricks"
    return paths.url_parts(url).netloc


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
                    stream.named_call(
                        block,
                        index=len(calls),
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
                stream.named_call(
                    call,
                    index=len(calls),
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
