"""Token usage per shape, mapped to OpenAI names: always the last non-null usage, never a sum."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recorder_ui.domain.model import Usage


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _total(prompt: int | None, completion: int | None, total: int | None) -> int | None:
    if total is not None:
        return total
    if prompt is None and completion is None:
        return None
    return (prompt or 0) + (completion or 0)


def from_mapping(usage: Any) -> Usage | None:
    """An OpenAI-style usage object (chat, completions, embeddings, rerank)."""
    if not isinstance(usage, Mapping):
        return None
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    total = _int(usage.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_total(prompt, completion, total),
        cached_tokens=_int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, Mapping) else None,
        reasoning_tokens=(
            _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, Mapping) else None
        ),
    )


def last(usages: Iterable[Usage | None]) -> Usage | None:
    """The last non-null usage of a stream (Databricks repeats growing totals: the last is the total)."""
    found = None
    for usage in usages:
        if usage is not None:
            found = usage
    return found


def ollama(data: Mapping[str, Any]) -> Usage | None:
    """Ollama native: prompt_eval_count and eval_count."""
    prompt = _int(data.get("prompt_eval_count"))
    completion = _int(data.get("eval_count"))
    if prompt is None and completion is None:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=_total(prompt, completion, None))


def anthropic(usage: Any, previous: Usage | None = None) -> Usage | None:
    """Anthropic Messages usage; a later SSE usage object overrides the fields it carries."""
    if not isinstance(usage, Mapping):
        return previous
    prompt = _int(usage.get("input_tokens"))
    completion = _int(usage.get("output_tokens"))
    cached = _int(usage.get("cache_read_input_tokens"))
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


def gemini_interactions(usage: Any) -> Usage | None:
    """Gemini Interactions: total_input_tokens, total_output_tokens, total_tokens."""
    if not isinstance(usage, Mapping):
        return None
    prompt = _int(usage.get("total_input_tokens"))
    completion = _int(usage.get("total_output_tokens"))
    total = _int(usage.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_total(prompt, completion, total),
        cached_tokens=_int(usage.get("total_cached_tokens")),
        reasoning_tokens=_int(usage.get("total_thought_tokens")),
    )


def genai(data: Mapping[str, Any]) -> Usage | None:
    """Google genai usage_metadata; only the element carrying total_token_count counts."""
    meta = data.get("usage_metadata")
    if not isinstance(meta, Mapping) or _int(meta.get("total_token_count")) is None:
        return None
    prompt = _int(meta.get("prompt_token_count"))
    completion = _int(meta.get("candidates_token_count"))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_int(meta.get("total_token_count")),
        cached_tokens=_int(meta.get("cached_content_token_count")),
        reasoning_tokens=_int(meta.get("thoughts_token_count")),
    )
