"""Reassemble streamed chat chunks into one assistant message per choice; read the content and tool calls of whole
messages."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

# The Chunks tab lives in its own module; views and tests still ask stream for it.
from recorder_ui.domain import jsontext
from recorder_ui.domain.chunks import chunk_rows as chunk_rows
from recorder_ui.domain.model import Message, ToolCall
from recorder_ui.domain.readers import _text_or_dump
from recorder_ui.domain.usage import WrongType

_TAGS = re.compile(r"<(think|reasoning)>(.*?)(?:</\1>|$)", re.DOTALL)


class _Call:
    """The fragments of one tool call, keyed by (choice index, tool index)."""

    __slots__ = ("id", "index", "name", "pieces", "type")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id = ""
        self.type = ""
        self.name = ""
        self.pieces: list[str] = []


class _Choice:
    """What the chunks of one choice index said so far."""

    __slots__ = ("calls", "content", "finish", "ids", "index", "last", "logprobs", "reasoning", "refusal", "role")

    def __init__(self, index: int) -> None:
        self.index = index
        self.role = ""
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        # By (0, the fragment's index), or (1, its order) for calls whose fragments carry no index: the two never
        # share a slot, so a stream that mixes them loses no call.
        self.calls: dict[tuple[int, int], _Call] = {}
        self.ids: dict[str, tuple[int, int]] = {}  # each call's id: its slot, for fragments without an index
        self.last: tuple[int, int] | None = None  # the slot the last fragment went to
        self.finish = ""
        self.logprobs = False


def named_call(block: Mapping[str, Any], *, index: int, arguments: Any) -> ToolCall:
    """A tool call from a provider's block that names it by "id" and "name" (Anthropic tool_use, Gemini and
    genai function calls, Interactions outputs); each family keeps its arguments under its own key."""
    return tool_call(
        index=index, id=_text_or_dump(block.get("id")), name=_text_or_dump(block.get("name")), arguments=arguments
    )


def tool_call(*, index: int, id: str, name: str, arguments: Any) -> ToolCall:
    """A ToolCall with its arguments parsed: a JSON string, or an object (Anthropic, genai, Ollama) dumped to text."""
    if isinstance(arguments, (dict, list)):
        return ToolCall(
            id=id, name=name, arguments=jsontext.dumps(arguments).decode(), parsed_arguments=arguments, index=index
        )
    raw = arguments if isinstance(arguments, str) else ""
    if not raw.strip():  # an empty argument string means "no arguments"
        return ToolCall(id=id, name=name, arguments=raw, parsed_arguments={}, index=index)
    try:
        parsed = jsontext.loads(raw.encode("utf-8", "surrogatepass"))  # exact: no big integer read as a float
    except (ValueError, RecursionError):
        return ToolCall(id=id, name=name, arguments=raw, arguments_valid=False, index=index)
    return ToolCall(id=id, name=name, arguments=raw, parsed_arguments=parsed, index=index)


def split_reasoning(content: str) -> tuple[str, str]:
    """Move <think>...</think> (vLLM Qwen3) and <reasoning>...</reasoning> (Bedrock) out of the answer text."""
    if "<think>" not in content and "<reasoning>" not in content:
        if "</think>" in content:
            # Qwen3 chat templates can open <think> in the prompt, so the answer holds only the closing tag.
            thought, _, rest = content.partition("</think>")
            return rest.strip(), thought.strip()
        return content, ""
    found = [m.group(2).strip() for m in _TAGS.finditer(content)]
    rest = _TAGS.sub("", content)
    return rest.strip(), "\n\n".join(part for part in found if part)


def _text(value: Any, path: tuple[str | int, ...]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise WrongType(path, "a string", value)


# For the careful loop: every chunk choice of the OpenAI SDK dump has these keys, and every delta these, so one
# itemgetter call reads them all; a dump that lacks one falls back to .get().
_CHOICE_KEYS = itemgetter("index", "delta", "finish_reason", "logprobs")
_DELTA_KEYS = itemgetter("content", "role", "refusal", "tool_calls")


def reassemble(chunks: Sequence[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Join chat chunk __data__ dicts into one assistant message per choice index (format doc, section 4.2)."""
    # Indexing reassembles 80,000 chunks. Single-choice streams in the OpenAI SDK's dump take a quick path: one
    # C-level pass per field instead of Python work per chunk. Anything it does not expect (several choices, a
    # missing key, a wrong type) goes through the careful loop, which gives the same answer (the corpus test
    # checks every stream) or raises WrongType naming the place.
    try:
        quick = _reassemble_quick(chunks)
    except (WrongType, TypeError, AttributeError, ValueError, KeyError):
        quick = None
    return quick if quick is not None else _reassemble_careful(chunks)


def _reassemble(chunks: list[dict[str, Any]]) -> tuple[Message, ...]:
    """reassemble for the chunks of a recording's response body: a WrongType names the place in the file."""
    try:
        return reassemble(chunks)
    except WrongType as exc:
        # reassemble's paths start at the chunk number; a recording's chunks are response.body[n].__data__
        number, *rest = exc.path
        raise exc.moved(("response", "body", number, "__data__", *rest)) from None


_CHOICES = itemgetter("choices")
_INDEX = itemgetter("index")
_DELTA = itemgetter("delta")
_CONTENT = itemgetter("content")
_FINISH = itemgetter("finish_reason")
_LOGPROBS = itemgetter("logprobs")
_ROLE = itemgetter("role")
_REFUSAL = itemgetter("refusal")
_TOOL_CALLS = itemgetter("tool_calls")


def _reassemble_quick(chunks: Sequence[Mapping[str, Any]]) -> tuple[Message, ...] | None:
    """The single-choice answer of a well-formed stream; None leaves the stream to the careful loop."""
    # One C-level pass (map, filter) per field instead of a Python loop per chunk. A chunk that lacks a key or
    # holds a value of another type raises or returns None here, and the careful loop takes over.
    choices = list(chain.from_iterable(map(_CHOICES, chunks)))
    if not choices:
        return ()
    if any(map(_INDEX, choices)):
        return None  # n > 1: the careful loop keys choices by index
    deltas = list(map(_DELTA, choices))
    state = _Choice(0)
    state.content = list(filter(None, map(_CONTENT, deltas)))
    state.role = next(filter(None, map(_ROLE, deltas)), "")
    for key in ("reasoning", "reasoning_content"):
        found = list(filter(None, map(dict.get, deltas, repeat(key))))
        if found and state.reasoning:
            return None  # both fields in one stream: the careful loop keeps their order chunk by chunk
        state.reasoning = state.reasoning or found
    state.refusal = list(filter(None, map(_REFUSAL, deltas)))
    state.finish = next(filter(None, map(_FINISH, reversed(choices))), "")  # the last non-null one
    for call_list in filter(None, map(_TOOL_CALLS, deltas)):
        if type(call_list) is not list:
            return None
        for call in call_list:
            _add_fragment(state, call, ())
    state.logprobs = any(
        type(logprobs) is dict and logprobs.get("content") is not None
        for logprobs in filter(None, map(_LOGPROBS, choices))
    )
    if not all(type(text) is str for text in (state.role, state.finish, *state.reasoning, *state.refusal)):
        return None
    return (_message(state),)  # joining content raises TypeError on a non-string piece: then the careful loop


def _reassemble_careful(chunks: Sequence[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Chunk by chunk, choice by choice, checking each value's type where it is read."""
    states: dict[int, _Choice] = {}
    state = _Choice(0)
    current: int | None = None  # the index of `state`: consecutive chunks usually continue the same choice
    for number, data in enumerate(chunks):
        if type(data) is not dict and not isinstance(data, Mapping):
            raise WrongType((number,), "an object", data)
        choices = data.get("choices")
        if not choices:
            if choices is None or choices == []:
                continue  # Azure's first chunk and the usage chunk carry no choices
            raise WrongType((number, "choices"), "a list", choices)
        if type(choices) is not list:
            raise WrongType((number, "choices"), "a list", choices)
        for position, choice in enumerate(choices):
            if type(choice) is not dict:
                raise WrongType((number, "choices", position), "an object", choice)
            try:
                index, delta, finish, logprobs = _CHOICE_KEYS(choice)
            except KeyError:
                index, delta = choice.get("index"), choice.get("delta")
                finish, logprobs = choice.get("finish_reason"), choice.get("logprobs")
            if not index:
                index = 0
            elif type(index) is not int:
                raise WrongType((number, "choices", position, "index"), "a whole number", index)
            if index != current:
                state = states.get(index) or states.setdefault(index, _Choice(index))
                current = index
            if delta:
                if type(delta) is not dict:
                    raise WrongType((number, "choices", position, "delta"), "an object", delta)
                try:
                    content, role, refusal, calls = _DELTA_KEYS(delta)
                    plain = len(delta) == 5 and "function_call" in delta  # then no reasoning keys
                except KeyError:
                    content, role = delta.get("content"), delta.get("role")
                    refusal, calls = delta.get("refusal"), delta.get("tool_calls")
                    plain = False
                if content:
                    if type(content) is not str:
                        raise WrongType((number, "choices", position, "delta", "content"), "a string", content)
                    state.content.append(content)
                if role and not state.role:
                    state.role = _text(role, (number, "choices", position, "delta", "role"))
                if not plain:
                    for key in ("reasoning", "reasoning_content"):
                        if text := delta.get(key):
                            state.reasoning.append(_text(text, (number, "choices", position, "delta", key)))
                if refusal:
                    state.refusal.append(_text(refusal, (number, "choices", position, "delta", "refusal")))
                if calls:
                    if type(calls) is not list:
                        raise WrongType((number, "choices", position, "delta", "tool_calls"), "a list", calls)
                    for slot, call in enumerate(calls):
                        _add_fragment(state, call, (number, "choices", position, "delta", "tool_calls", slot))
            elif delta is not None and delta != {}:
                raise WrongType((number, "choices", position, "delta"), "an object", delta)
            if finish:
                state.finish = _text(finish, (number, "choices", position, "finish_reason"))
            if logprobs and not state.logprobs and type(logprobs) is dict and logprobs.get("content") is not None:
                state.logprobs = True
    return tuple(_message(state) for _, state in sorted(states.items()))


def _add_fragment(state: _Choice, call: Any, path: tuple[str | int, ...]) -> None:
    if type(call) is not dict:
        raise WrongType(path, "an object", call)
    index, given = call.get("index"), call.get("id")
    known = state.ids.get(given) if given and type(given) is str else None
    if index is not None and type(index) is not int:
        raise WrongType((*path, "index"), "a whole number", index)
    if known is not None and (index is None or state.calls[known].index == index):
        slot = known  # a known id continues its call (TGI's "0" on every call does not: its index differs)
    elif not given and state.last is not None and index in (None, state.calls[state.last].index):
        slot = state.last  # no id, and no index or the last call's: the last call goes on
    else:
        # A new call: at its index (or, without one, at the next free position, as a stream of unindexed calls
        # numbers them); where that slot holds a call with another id, at a slot of its own, so none is merged.
        slot = (0, index if index is not None else len(state.calls))
        taken = state.calls.get(slot)
        if taken is not None and taken.id and given and taken.id != given:
            slot = (1, len(state.calls))
    state.last = slot
    entry = state.calls.get(slot)
    if entry is None:
        entry = state.calls[slot] = _Call(index if index is not None else slot[1])  # slot[1]: its position
    # Keep the first non-empty id, type and name: later fragments repeat them (TGI "0", Bedrock type) or blank
    # them (null, WatsonX name ""), and never overwrite.
    if not entry.id:
        entry.id = _text(call.get("id"), (*path, "id"))
        if entry.id:
            state.ids.setdefault(entry.id, slot)
    if not entry.type:
        entry.type = _text(call.get("type"), (*path, "type"))
    function = call.get("function")
    if function is None:
        return
    if type(function) is not dict:
        raise WrongType((*path, "function"), "an object", function)
    if not entry.name:
        entry.name = _text(function.get("name"), (*path, "function", "name"))
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        entry.pieces.append(arguments)
    elif isinstance(arguments, (dict, list)):  # a whole call as an object (Ollama-style)
        entry.pieces.append(jsontext.dumps(arguments).decode())
    elif arguments is not None:
        raise WrongType((*path, "function", "arguments"), "a string", arguments)


def _message(state: _Choice) -> Message:
    content, tagged = split_reasoning("".join(state.content))
    reasoning = "".join(state.reasoning)
    if tagged:
        reasoning = f"{reasoning}\n\n{tagged}" if reasoning else tagged
    calls = tuple(
        tool_call(index=c.index, id=c.id, name=c.name, arguments="".join(c.pieces))
        for _, c in sorted(state.calls.items())
    )
    return Message(
        role=state.role or "assistant",
        content=content,
        reasoning=reasoning,
        refusal="".join(state.refusal),
        tool_calls=calls,
        index=state.index,
        finish_reason=state.finish,
        has_logprobs=state.logprobs,
    )


def chat_message(choice: Mapping[str, Any], path: tuple[str | int, ...] = ()) -> Message:
    """The assistant message of one non-streamed chat choice."""
    message = choice.get("message")
    if message is None:
        message = {}
    elif not isinstance(message, Mapping):
        raise WrongType((*path, "message"), "an object", message)
    content, tagged = split_reasoning(content_text(message.get("content"), (*path, "message", "content"))[0])
    reasoning = _text(message.get("reasoning"), (*path, "message", "reasoning")) or _text(
        message.get("reasoning_content"), (*path, "message", "reasoning_content")
    )
    if tagged:
        reasoning = f"{reasoning}\n\n{tagged}" if reasoning else tagged
    index = choice.get("index") or 0
    if not isinstance(index, int):
        raise WrongType((*path, "index"), "a whole number", index)
    logprobs = choice.get("logprobs")
    return Message(
        role=_text(message.get("role"), (*path, "message", "role")) or "assistant",
        content=content,
        reasoning=reasoning,
        refusal=_text(message.get("refusal"), (*path, "message", "refusal")),
        tool_calls=openai_tool_calls(message.get("tool_calls"), (*path, "message", "tool_calls")),
        index=index,
        finish_reason=_text(choice.get("finish_reason"), (*path, "finish_reason")),
        has_logprobs=isinstance(logprobs, Mapping) and logprobs.get("content") is not None,
    )


def openai_tool_calls(calls: Any, path: tuple[str | int, ...]) -> tuple[ToolCall, ...]:
    """Whole OpenAI tool calls (a message's tool_calls list) as ToolCalls; Ollama's object arguments too."""
    if calls is None:
        return ()
    if not isinstance(calls, list):
        raise WrongType(path, "a list", calls)
    found = []
    for position, call in enumerate(calls):
        if not isinstance(call, Mapping):
            raise WrongType((*path, position), "an object", call)
        function = call.get("function")
        if function is None:
            function = {}
        elif not isinstance(function, Mapping):
            raise WrongType((*path, position, "function"), "an object", function)
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, (str, dict, list)):
            raise WrongType((*path, position, "function", "arguments"), "a string", arguments)
        found.append(
            tool_call(
                index=position,
                id=_text(call.get("id"), (*path, position, "id")),
                name=_text(function.get("name"), (*path, position, "function", "name")),
                arguments=arguments,
            )
        )
    return tuple(found)


def content_text(content: Any, path: tuple[str | int, ...]) -> tuple[str, tuple[str, ...]]:
    """Text and image URLs of a message content: a string, or a list of parts (OpenAI, Anthropic)."""
    if content is None:
        return "", ()
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise WrongType(path, "a string or a list of parts", content)
    texts: list[str] = []
    images: list[str] = []
    for position, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            raise WrongType((*path, position), "an object", part)
        kind = part.get("type")
        text = part.get("text")
        if text is not None:
            texts.append(_text(text, (*path, position, "text")))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            if isinstance(url, str):
                images.append(url)
        elif kind == "image":  # Anthropic: {"source": {"type": "base64", "media_type", "data"} | {"url"}}
            source = part.get("source")
            if isinstance(source, Mapping) and source.get("type") == "base64":
                images.append(f"data:{source.get('media_type') or ''};base64,{source.get('data') or ''}")
            elif isinstance(source, Mapping) and isinstance(source.get("url"), str):
                images.append(source["url"])
    return "\n".join(texts), tuple(images)
