"""Everything two recordings of one call differ in, sorted into what counts and what is noise (format doc 9.1).

The semantic categories (answer text, tool calls, finish reasons, usage) are compared on the reassembled
recordings elsewhere. This module looks at the rest of the file, so that `noise-only` is never a guess:
- the request is compared whole (URL with its host, headers, endpoint, every body field, the test id), with
  only tool-call ids set aside (random per recording; calls pair by position);
- the response minus the noise keys of 9.1 and minus what the semantic categories cover; a stream is folded
  into the set of its (field, value) leaves, so chunk boundaries alone never count;
- listings (model lists, Ollama `/api/ps` and `/api/tags`) compare as sets keyed by model id: order is noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from recorder_ui.domain import jsontext

# 9.1: fields that change on every re-recording and mean nothing. Keys, at any depth of the response.
NOISE_KEYS = frozenset(
    {
        "obfuscation",
        "system_fingerprint",
        "created",
        "updated",
        "create_time",
        "created_at",
        "expires_at",
        "response_id",
        "request_id",
        "interaction_id",  # Gemini Interactions' v1_... ids
        "previous_interaction_id",
        "sdk_http_response",
        "content_filter_results",
        "prompt_filter_results",
        "content_filter_result",
        # Ollama's timings: real times, like created and expires_at.
        "total_duration",
        "load_duration",
        "prompt_eval_duration",
        "eval_duration",
    }
)
# Random ids of raw shapes and tool calls. Listings keep `id`: there it is the model's name.
ID_KEYS = frozenset({"id", "call_id", "tool_call_id", "tool_use_id"})
# What the semantic categories compare on reassembled answers; left out of the residue of answer shapes.
ANSWER_KEYS = frozenset(
    {
        "content",
        "text",
        "delta",
        "reasoning",
        "reasoning_content",
        "thinking",
        "tool_calls",
        "function_call",
        "partial_json",
        "finish_reason",
        "done_reason",
        "done",
        "usage",
        "usage_metadata",
        "eval_count",
        "prompt_eval_count",
        "role",
        "response",
    }
)
# Token usage, which the usage categories compare in every shape (an embedding's usage too).
USAGE_KEYS = frozenset({"usage", "usage_metadata", "eval_count", "prompt_eval_count"})
# Subtrees the semantic categories do not read: inside them only noise is set aside, never answer keys
# (logprobs carry "content" lists, citations carry "text").
KEEP_WHOLE = frozenset({"logprobs", "annotations"})
_Seen = Counter[tuple[str, bytes]]  # how many times each (path, item) came, under KEEP_WHOLE


def _data(value: Any) -> Any:
    """A typed object's payload (`{"__type__", "__data__"}`), or the value itself."""
    if isinstance(value, dict) and "__data__" in value and "__type__" in value:
        return value["__data__"]
    return value


def _strip(value: Any, drop: frozenset[str]) -> Any:
    """value without the keys in drop, at any depth, typed wrappers unwrapped; empty containers left out."""
    value = _data(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in drop:
                continue
            v = _strip(v, drop & NOISE_KEYS if k in KEEP_WHOLE else drop)
            if v not in ({}, []):
                out[k] = v
        return out
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


class _CallIds:
    """Tool-call ids replaced by their order of first appearance, so both sides read `call#1`, `call#2`..."""

    def __init__(self) -> None:
        self.seen: dict[Any, str] = {}

    def __call__(self, value: Any, key: str = "", in_calls: bool = False) -> Any:
        if isinstance(value, dict):
            is_call = in_calls or value.get("type") in ("function", "tool_use", "function_call")
            return {
                k: self.placeholder(v)
                if (k in ("tool_call_id", "call_id", "tool_use_id") or (k == "id" and is_call))
                else self(v, k, k == "tool_calls")
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self(v, key, in_calls) for v in value]
        return value

    def placeholder(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        return self.seen.setdefault(value, f"call#{len(self.seen) + 1}")


def request_of(raw: Any) -> dict[str, Any]:
    """The whole request of a file, with its test id, tool-call ids replaced by position."""
    if not isinstance(raw, dict):
        return {}
    request = raw.get("request")
    out = {"request": _CallIds()(request) if isinstance(request, dict) else request}
    out["test_id"] = raw.get("test_id")
    return out


def leaf_paths(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """The paths at which two JSON values differ; lists of equal length compare item by item."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield sub
            else:
                yield from leaf_paths(old[key], new[key], sub)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from leaf_paths(a, b, f"{path}[{i}]")
    elif (old != new and not (_nan(old) and _nan(new))) or type(old) is not type(new):
        yield path or "(value)"


def _nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def request_changes(old_raw: Any, new_raw: Any) -> tuple[str, ...]:
    """Every request field that differs (URL, host included, headers, body fields, test id), by path."""
    a, b = request_of(old_raw), request_of(new_raw)
    if a == b:
        return ()
    paths = []
    for path in leaf_paths(a, b):
        path = path.removeprefix("request.")
        paths.append(path)
    return _collapse(paths)


def _collapse(paths: list[str], limit: int = 12) -> tuple[str, ...]:
    """At most limit paths; beyond that, their parents, so a rewritten conversation reads `body.messages`."""
    unique = list(dict.fromkeys(paths))
    if len(unique) <= limit:
        return tuple(unique)
    parents = list(dict.fromkeys(p.split("[")[0].rsplit(".", 1)[0] if "." in p else p for p in unique))
    return tuple(parents[:limit]) + ((f"… {len(parents) - limit} more",) if len(parents) > limit else ())


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, bytes]]:
    """(path without list positions, canonical value) of every leaf: what a stream says, whatever its chunks."""
    for where, leaf in _raw_leaves(value, path):
        yield where, jsontext.dumps(leaf, default=str)


def _sse_events(body: list[Any]) -> list[Any]:
    """The JSON of each `data:` line of a passthrough SSE body; other elements as they are."""
    events = []
    for line in body:
        if isinstance(line, str):
            if line.startswith("data:"):
                try:
                    events.append(jsontext.loads(line[5:].strip().encode("utf-8", "surrogatepass")))
                except (ValueError, RecursionError):
                    events.append(line)
            elif line.startswith("event:"):
                events.append({"event": line[6:].strip()})
        else:
            events.append(line)
    return events


def response_changes(old_raw: Any, new_raw: Any, *, answer: bool, listing: bool) -> tuple[str, ...]:
    """Response fields outside the noise list (and, for answer shapes, outside the semantic categories) that differ."""
    drop = NOISE_KEYS | (ANSWER_KEYS if answer else USAGE_KEYS) | (frozenset() if listing else ID_KEYS)
    a, b = _response(old_raw), _response(new_raw)
    if listing:
        a, b = _without_listing(a), _without_listing(b)
    if not listing and _streamed(a, b):
        old_leaves = set(_leaves(_strip(_sse_events(a.pop("body")), drop), "body"))
        new_leaves = set(_leaves(_strip(_sse_events(b.pop("body")), drop), "body"))
        paths = sorted({p for p, _ in old_leaves ^ new_leaves})
    else:
        paths = []
    paths += list(leaf_paths(_strip(a, drop), _strip(b, drop)))
    return _collapse(paths)


# In a stream, keys whose text the chunks spread over several deltas: joined per path before the streams compare,
# so that chunk boundaries alone never count. And keys the tool-call category compares parsed (a call's JSON
# written with other spaces is the same call).
# ("response": Ollama's /api/generate stream; "delta": the Responses API's text events.)
JOINED_KEYS = frozenset(
    {"content", "text", "reasoning", "reasoning_content", "thinking", "refusal", "response", "delta"}
)
PARSED_KEYS = frozenset({"arguments", "partial_json"})
FILE_KEYS = ("request", "test_id", "id_normalization_mapping")  # compared apart: the request, and 9.1's mapping


def unexplained_changes(old_raw: Any, new_raw: Any, *, listing: bool) -> tuple[str, ...]:
    """What `noise-only` must be sure of: the two files differ in nothing but the request (compared apart), the
    noise of 9.1, ids, chunk boundaries and, for a listing, its entries (compared as a set apart). Every other
    key is compared as recorded, at any depth and at the top of the file: a role, a refusal, a content block,
    a usage detail beyond the five counts, a key no shape we know carries. The paths that differ."""
    drop = NOISE_KEYS | PARSED_KEYS | (frozenset() if listing else ID_KEYS)
    a, b = _rest(old_raw, listing), _rest(new_raw, listing)
    paths: list[str] = []
    if _streamed(a["response"], b["response"]):
        events_a = _strip(_sse_events(a["response"].pop("body")), drop)
        events_b = _strip(_sse_events(b["response"].pop("body")), drop)
        old_leaves, new_leaves = _stream_leaves(events_a), _stream_leaves(events_b)
        paths += sorted({f"response.{p}" for p, _ in old_leaves ^ new_leaves})
        # Usage as the last object of each place that carries it (a stream may repeat a running total).
        paths += [f"response.{p}" for p in leaf_paths(_last_usage(events_a), _last_usage(events_b), "body[]")]
    paths += list(leaf_paths(_usage_read(_strip(a, drop)), _usage_read(_strip(b, drop))))
    return _collapse([p.removeprefix("response.") for p in paths])


def _streamed(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two responses that compare as streams (sets of leaves, whatever the chunks), not value by value."""
    lists = isinstance(a.get("body"), list) and isinstance(b.get("body"), list)
    return lists and bool(a.get("is_streaming") or b.get("is_streaming"))


def _usage_read(value: Any, key: str = "") -> Any:
    """value with each usage object as the usage categories read it: a count or detail that is null, 0 or left
    out is the same (a provider's `completion_tokens_details: null` and `{"reasoning_tokens": 0}`)."""
    if isinstance(value, dict):
        out = {k: _usage_read(v, k) for k, v in value.items()}
        in_usage = key in USAGE_KEYS or key.endswith("_details")  # a usage object, or its *_tokens_details
        return {k: v for k, v in out.items() if v not in (None, 0, {})} if in_usage else out
    if isinstance(value, list):
        return [_usage_read(v, key) for v in value]
    return value


def _last_usage(events: Any) -> dict[str, Any]:
    """Per path (list positions left out), the last usage object a stream carries there, read as _usage_read does."""
    found: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                where = f"{path}.{k}" if path else str(k)
                if k in USAGE_KEYS and v is not None:
                    found[where] = _usage_read(v, k)
                else:
                    walk(v, where)
        elif isinstance(value, list):
            for v in value:
                walk(v, f"{path}[]")

    for event in events if isinstance(events, list) else ():
        walk(event, "")
    return found


def _rest(raw: Any, listing: bool) -> dict[str, Any]:
    """A file without what is compared apart: its response (listing entries taken out), and any other key."""
    rest = {k: v for k, v in raw.items() if k not in FILE_KEYS} if isinstance(raw, dict) else {}
    rest["response"] = _without_listing(_response(raw)) if listing else _response(raw)
    return rest


def _stream_leaves(events: Any) -> set[tuple[str, object]]:
    """A stream's leaves as a set, each JOINED_KEYS path's text joined in the stream's order; usage apart."""
    joined: dict[str, list[str]] = {}
    leaves: set[tuple[str, object]] = set()
    for path, value in _raw_leaves(_strip(events, USAGE_KEYS), "body"):
        if isinstance(value, str) and path.rpartition(".")[2] in JOINED_KEYS:
            joined.setdefault(path, []).append(value)
        else:
            leaves.add((path, jsontext.dumps(value, default=str)))
    leaves.update((path, "".join(parts)) for path, parts in joined.items())  # str: never equal to a leaf's bytes
    return leaves


def _raw_leaves(value: Any, path: str = "", seen: _Seen | None = None) -> Iterator[tuple[str, Any]]:
    """(path without list positions, value) of every leaf. Under logprobs and annotations a list item is one leaf,
    with how many times it came so far: a token keeps its logprob and alternatives (values moved from token to
    token are a change, not chunk boundaries), and a token sent twice counts twice."""
    seen = Counter() if seen is None else seen
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            yield from (_whole_items(v, where, seen) if k in KEEP_WHOLE else _raw_leaves(v, where, seen))
    elif isinstance(value, list):
        for v in value:
            yield from _raw_leaves(v, f"{path}[]", seen)
    else:
        yield path, value


def _whole_items(value: Any, path: str, seen: _Seen) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _whole_items(v, f"{path}.{k}", seen)
    elif isinstance(value, list):
        for item in value:
            seen[key := (path, jsontext.dumps(item, default=str, option=orjson.OPT_SORT_KEYS))] += 1
            yield f"{path}[]", [item, seen[key]]
    else:
        yield path, value


def _response(raw: Any) -> dict[str, Any]:
    response = raw.get("response") if isinstance(raw, dict) else None
    return dict(response) if isinstance(response, dict) else {"response": response}


def _entries(response: dict[str, Any]) -> list[Any] | None:
    body = _data(response.get("body"))
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("models"), list):
        return list(body["models"])
    return None


def _without_listing(response: dict[str, Any]) -> dict[str, Any]:
    """The response with its listing's entries taken out: they compare as a set, apart."""
    body = _data(response.get("body"))
    if isinstance(body, list):
        return {**response, "body": None}
    if isinstance(body, dict) and isinstance(body.get("models"), list):
        return {**response, "body": {k: v for k, v in body.items() if k != "models"}}
    return response


def _noise_values(value: Any, found: Counter[tuple[str, bytes]], key: str = "") -> None:
    value = _data(value)
    if isinstance(value, dict):
        for k, v in value.items():
            if k in NOISE_KEYS or k in ID_KEYS:
                found[(k, jsontext.dumps(v, default=str, option=orjson.OPT_SORT_KEYS))] += 1
            else:
                _noise_values(v, found, k)
    elif isinstance(value, list):
        for v in value:
            _noise_values(v, found, key)


def noise_names(old_raw: Any, new_raw: Any) -> tuple[str, ...]:
    """The noise fields whose values differ between the two files, by name."""
    found: list[str] = []
    counts: list[Counter[tuple[str, bytes]]] = []
    for raw in (old_raw, new_raw):
        counter: Counter[tuple[str, bytes]] = Counter()
        _noise_values(_response(raw), counter)
        counts.append(counter)
    differing = (counts[0] - counts[1]) + (counts[1] - counts[0])
    for key, _ in differing:
        found.append("tool-call ids" if key in ID_KEYS - {"id"} else ("ids" if key == "id" else key))
    if _call_ids(old_raw) != _call_ids(new_raw):
        found.append("tool-call ids")
    mappings = [raw.get("id_normalization_mapping") if isinstance(raw, dict) else None for raw in (old_raw, new_raw)]
    if mappings[0] != mappings[1]:
        found.append("id_normalization_mapping")
    return tuple(sorted(set(found)))


def _call_ids(raw: Any) -> list[Any]:
    ids = _CallIds()
    request = raw.get("request") if isinstance(raw, dict) else None
    ids(request)
    return list(ids.seen)
