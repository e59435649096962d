"""Token usage per shape (format doc, section 5), mapped to OpenAI names: the last non-null usage, never a sum."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from recorder_ui.domain import jsontext
from recorder_ui.domain.model import Kind, Recording, Usage

Path = tuple[str | int, ...]


MAX_COUNT = 2**40  # a token count beyond this is no real count; sums of millions of rows still fit 64 bits


def counted(value: int | None) -> int | None:
    """A token count as a total takes it: None for no real count (negative, or beyond MAX_COUNT), which a page
    still shows as recorded, beside the note that totals leave it out."""
    return value if value is not None and 0 <= value <= MAX_COUNT else None


def type_name(value: Any) -> str:
    """How a JSON value's type reads in an error message: "a string", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):  # "expected a whole number, but it is 1.5", not "... it is a number"
        return "NaN" if value != value else f"the number {value!r}"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def where(path: Path) -> str:
    """A path inside a recording as text: ("response", "body", 3, "choices") -> "response.body[3].choices"."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "the top level"


class WrongType(ValueError):
    """A value of the wrong type inside a recording; the message names where it is and what was expected."""

    def __init__(self, path: Path, expected: str, value: Any, *, found: str = "") -> None:
        self.path = path
        self.expected = expected
        self.found = found or type_name(value)
        super().__init__(f"wrong type at {where(path)}: expected {expected}, but it is {self.found}")

    def moved(self, path: Path) -> WrongType:
        """The same error at another path, for a caller that knows where its part sits in the file."""
        return WrongType(path, self.expected, None, found=self.found)


def _count(value: Any, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise WrongType(path, "a whole number", value)


def _mapping(value: Any, path: Path) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise WrongType(path, "an object", value)
    return value


def _total(prompt: int | None, completion: int | None, total: int | None) -> int | None:
    """The provider's total when given, else input + output."""
    if total is not None:
        return total
    if prompt is None and completion is None:
        return None
    return (prompt or 0) + (completion or 0)


_COUNT_TYPES = frozenset({int, type(None)})
_DETAILS_TYPES = frozenset({dict, type(None)})


def openai(value: Any, path: Path = ("usage",)) -> Usage | None:
    """An OpenAI-style usage object (chat, completions, embeddings, rerank); None when null or empty."""
    if type(value) is dict:  # the quick look; anything unusual goes through the checked reading below
        prompt, completion, total = (
            value.get("prompt_tokens"),
            value.get("completion_tokens"),
            value.get("total_tokens"),
        )
        prompt_details, completion_details = value.get("prompt_tokens_details"), value.get("completion_tokens_details")
        if (
            type(prompt) in _COUNT_TYPES
            and type(completion) in _COUNT_TYPES
            and type(total) in _COUNT_TYPES
            and type(prompt_details) in _DETAILS_TYPES
            and type(completion_details) in _DETAILS_TYPES
        ):
            cached = prompt_details.get("cached_tokens") if prompt_details else None
            reasoning = completion_details.get("reasoning_tokens") if completion_details else None
            if type(cached) in _COUNT_TYPES and type(reasoning) in _COUNT_TYPES:
                if prompt is None and completion is None and total is None:
                    return None
                return Usage(prompt, completion, _total(prompt, completion, total), cached, reasoning)
    return _openai_checked(value, path)


def _openai_checked(value: Any, path: Path) -> Usage | None:
    usage = _mapping(value, path)
    if usage is None:
        return None
    prompt = _count(usage.get("prompt_tokens"), (*path, "prompt_tokens"))
    completion = _count(usage.get("completion_tokens"), (*path, "completion_tokens"))
    total = _count(usage.get("total_tokens"), (*path, "total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    cached = reasoning = None
    details = _mapping(usage.get("prompt_tokens_details"), (*path, "prompt_tokens_details"))
    if details is not None:
        cached = _count(details.get("cached_tokens"), (*path, "prompt_tokens_details", "cached_tokens"))
    details = _mapping(usage.get("completion_tokens_details"), (*path, "completion_tokens_details"))
    if details is not None:
        reasoning = _count(details.get("reasoning_tokens"), (*path, "completion_tokens_details", "reasoning_tokens"))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_total(prompt, completion, total),
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def last(usages: Iterable[Usage | None]) -> Usage | None:
    """The last non-null usage (Databricks repeats growing totals on every chunk: the last is the total)."""
    found = None
    for usage in usages:
        if usage is not None:
            found = usage
    return found


def ollama(data: Mapping[str, Any], path: Path = ()) -> Usage | None:
    """Ollama native: prompt_eval_count and eval_count, total their sum."""
    prompt = _count(data.get("prompt_eval_count"), (*path, "prompt_eval_count"))
    completion = _count(data.get("eval_count"), (*path, "eval_count"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=_total(prompt, completion, None))


def anthropic(value: Any, previous: Usage | None = None, path: Path = ("usage",)) -> Usage | None:
    """Anthropic Messages usage; a later SSE usage object overrides the fields it carries, field by field."""
    usage = _mapping(value, path)
    if usage is None:
        return previous
    prompt = _count(usage.get("input_tokens"), (*path, "input_tokens"))
    completion = _count(usage.get("output_tokens"), (*path, "output_tokens"))
    cached = _count(usage.get("cache_read_input_tokens"), (*path, "cache_read_input_tokens"))
    if previous is not None:
        prompt = prompt if prompt is not None else previous.prompt_tokens
        completion = completion if completion is not None else previous.completion_tokens
        cached = cached if cached is not None else previous.cached_tokens
    if prompt is None and completion is None:
        return previous
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_total(prompt, completion, None),
        cached_tokens=cached,
    )


def gemini_interactions(value: Any, path: Path = ("usage",)) -> Usage | None:
    """Gemini Interactions: total_input_tokens, total_output_tokens, total_tokens."""
    usage = _mapping(value, path)
    if usage is None:
        return None
    prompt = _count(usage.get("total_input_tokens"), (*path, "total_input_tokens"))
    completion = _count(usage.get("total_output_tokens"), (*path, "total_output_tokens"))
    total = _count(usage.get("total_tokens"), (*path, "total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_total(prompt, completion, total),
        cached_tokens=_count(usage.get("total_cached_tokens"), (*path, "total_cached_tokens")),
        reasoning_tokens=_count(usage.get("total_thought_tokens"), (*path, "total_thought_tokens")),
    )


def genai(data: Mapping[str, Any], path: Path = ()) -> Usage | None:
    """Google genai usage_metadata; only an element whose metadata has total_token_count counts."""
    meta = _mapping(data.get("usage_metadata"), (*path, "usage_metadata"))
    if meta is None:
        return None
    total = _count(meta.get("total_token_count"), (*path, "usage_metadata", "total_token_count"))
    if total is None:  # stream elements before the last hold just {"traffic_type": "ON_DEMAND"}
        return None
    return Usage(
        prompt_tokens=_count(meta.get("prompt_token_count"), (*path, "usage_metadata", "prompt_token_count")),
        completion_tokens=_count(
            meta.get("candidates_token_count"), (*path, "usage_metadata", "candidates_token_count")
        ),
        total_tokens=total,
        cached_tokens=_count(
            meta.get("cached_content_token_count"), (*path, "usage_metadata", "cached_content_token_count")
        ),
        reasoning_tokens=_count(meta.get("thoughts_token_count"), (*path, "usage_metadata", "thoughts_token_count")),
    )


def sse_events(lines: Sequence[Any], path: Path = ("response", "body")) -> list[tuple[str, Any]]:
    """Split raw SSE lines into (event name, data) at blank lines; data that is not JSON stays text ([DONE])."""
    events: list[tuple[str, Any]] = []
    name = ""
    data: list[str] = []
    for number, line in enumerate((*lines, "")):
        if not isinstance(line, str):
            raise WrongType((*path, number), "a string (an SSE line)", line)
        if not line:
            if name or data:
                text = "\n".join(data)
                value: Any
                try:
                    value = jsontext.loads(text.encode())  # integers beyond 64 bits too, as in a file
                except (ValueError, RecursionError):
                    try:  # 1e400, which orjson refuses and Python's reader (the recorder's) takes as infinity
                        value = json.loads(text)
                    except (ValueError, RecursionError):
                        value = text
                if not name and isinstance(value, dict):
                    name = str(value.get("type") or value.get("event_type") or "")
                events.append((name, value))
            name, data = "", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    return events


def _data(element: Any, path: Path) -> Mapping[str, Any]:
    """The __data__ of a typed object (or the object itself for raw dicts)."""
    if isinstance(element, dict):
        inner = element.get("__data__", element)
        if isinstance(inner, dict):
            return inner
        raise WrongType((*path, "__data__"), "an object", inner)
    raise WrongType(path, "an object", element)


def _stream(body: Sequence[Any]) -> Usage | None:
    """The last non-null __data__.usage of a list of chunks (Databricks repeats growing totals: the last wins)."""
    # Scan from the end: usage rides on the last chunk, so a stream with usage costs one look, not one per chunk.
    for number in range(len(body) - 1, -1, -1):
        element = body[number]
        data = element.get("__data__") if type(element) is dict else None
        value = (data if type(data) is dict else _data(element, ("response", "body", number))).get("usage")
        if value is not None and (found := openai(value, ("response", "body", number, "__data__", "usage"))):
            return found
    return None


def _anthropic_sse(events: Sequence[tuple[str, Any]]) -> Usage | None:
    found = None
    for _, data in events:
        if not isinstance(data, dict):
            continue
        if data.get("type") == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                found = anthropic(message.get("usage"), found, ("message_start", "message", "usage"))
        elif data.get("type") == "message_delta":
            found = anthropic(data.get("usage"), found, ("message_delta", "usage"))
    return found


def _interactions_sse(events: Sequence[tuple[str, Any]]) -> Usage | None:
    found = None
    for _, data in events:
        if isinstance(data, dict) and isinstance(data.get("interaction"), dict):
            event = str(data.get("event_type") or "interaction")
            found = gemini_interactions(data["interaction"].get("usage"), (event, "interaction", "usage")) or found
    return found


def for_body(*, kind: Kind, body: Any, status: int | None = None) -> Usage | None:
    """Section 5: where each shape keeps its usage, given the response body."""
    if status is not None and status >= 400:
        return None
    if kind in (Kind.CHAT, Kind.COMPLETION):
        if isinstance(body, list):
            return _stream(body)
        return openai(_data(body, ("response", "body")).get("usage"), ("response", "body", "__data__", "usage"))
    if kind in (Kind.EMBEDDINGS, Kind.RERANK) and body is not None:
        data = _data(body, ("response", "body"))
        return openai(data.get("usage"), ("response", "body", *(("__data__",) if "__data__" in body else ()), "usage"))
    if kind in (Kind.OLLAMA_GENERATE, Kind.OLLAMA_CHAT):
        elements = body if isinstance(body, list) else [body]
        done = [
            (number, data)
            for number, data in ((n, _data(e, ("response", "body", n))) for n, e in enumerate(elements))
            if data.get("done") is not False
        ]
        if not done:
            return None
        number, data = done[-1]
        return ollama(
            data, ("response", "body", number, "__data__") if isinstance(body, list) else ("response", "body")
        )
    if kind == Kind.OLLAMA_EMBED:
        found = ollama(_data(body, ("response", "body")), ("response", "body", "__data__"))
        if found is None:
            return None
        return Usage(prompt_tokens=found.prompt_tokens, total_tokens=found.prompt_tokens)
    if kind == Kind.ANTHROPIC_MESSAGES:
        if isinstance(body, list):
            return _anthropic_sse(sse_events(body))
        return anthropic(_data(body, ("response", "body")).get("usage"), None, ("response", "body", "usage"))
    if kind == Kind.GEMINI_INTERACTIONS:
        if isinstance(body, list):
            return _interactions_sse(sse_events(body))
        return gemini_interactions(_data(body, ("response", "body")).get("usage"), ("response", "body", "usage"))
    if kind == Kind.GENAI:
        if isinstance(body, list):
            return last(genai(_data(e, ("response", "body", n)), ("response", "body", n)) for n, e in enumerate(body))
        return genai(_data(body, ("response", "body")), ("response", "body"))
    return None  # model lists, /api/ps, tools, file processor, exceptions, other HTTP: no usage


def extract(recording: Recording) -> Usage | None:
    """The token usage of a parsed recording, read again from its raw JSON by its shape (section 5)."""
    raw = recording.raw
    response = raw.get("response") if isinstance(raw, dict) else None
    if not isinstance(response, dict):
        return None
    return for_body(kind=recording.kind, body=response.get("body"), status=recording.status)
