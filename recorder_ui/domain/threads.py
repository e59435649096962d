"""Stitch a test's recordings into conversation threads (format doc, section 8)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from recorder_ui.domain import jsontext, stream, usage
from recorder_ui.domain.model import Kind, Message, Recording, ToolCall

SAFETY_PROMPT = "Task: Check if there is unsafe content in '"
SIDE_KINDS = frozenset({Kind.MODEL_LIST, Kind.OLLAMA_ADMIN, Kind.EMBEDDINGS, Kind.OLLAMA_EMBED, Kind.TOOL})
VARIANT_KEYS = (
    "stream_options",
    "parallel_tool_calls",
    "service_tier",
    "response_format",
    "tool_choice",
    "temperature",
)


def is_safety_check(rec: Recording) -> bool:
    """A llama-guard chat request that asks whether a conversation is safe."""
    if "guard" not in rec.model.lower():
        return False
    return any(m.content.startswith(SAFETY_PROMPT) for m in rec.request_messages if m.role == "user")


def is_side_call(rec: Recording) -> bool:
    """Calls shown beside a conversation, not in it: model lists, embeddings, safety checks, tool runs."""
    return rec.kind in SIDE_KINDS or is_safety_check(rec)


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a conversation; an assistant turn carries its tool calls, each with its result."""

    message: Message
    results: tuple[tuple[ToolCall, Message | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One recording in a thread: the messages it adds to its parent's, and its answer."""

    recording: Recording
    depth: int
    link: str  # "root", "exact" or "probable"
    parent_path: str | None
    new_messages: tuple[Turn, ...]
    answer: tuple[Turn, ...]
    tokens: int | None
    variant_label: str = ""  # the request parameters that set this step apart from a sibling variant


@dataclass(frozen=True, slots=True)
class Thread:
    steps: tuple[Step, ...]

    @property
    def tokens(self) -> int:
        return sum(step.tokens or 0 for step in self.steps)


@dataclass(frozen=True, slots=True)
class SideCall:
    recording: Recording
    label: str  # "safety check", "model list", "embeddings", "tool run", ...
    attached_to: str = ""  # tool-call id this tool run answers, when found


@dataclass(frozen=True, slots=True)
class TestThreads:
    threads: tuple[Thread, ...]
    side_calls: tuple[SideCall, ...]

    @property
    def conversation_tokens(self) -> int:
        return sum(thread.tokens for thread in self.threads)

    @property
    def side_tokens(self) -> int:
        return sum(usage.counted(s.recording.usage.total_tokens) or 0 for s in self.side_calls if s.recording.usage)


def _key(message: Message) -> bytes:
    """A message normalised for comparison: empty values dropped, tool calls by id, name and arguments."""
    calls = [(c.id, c.name, c.parsed_arguments if c.arguments_valid else c.arguments) for c in message.tool_calls]
    parts: dict[str, Any] = {"role": message.role}
    if message.content.strip():
        parts["content"] = message.content.strip()
    if calls:
        parts["calls"] = calls
    if message.tool_call_id:
        parts["tool_call_id"] = message.tool_call_id
    if message.images:  # two requests that differ only by an image are two requests
        parts["images"] = [hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest() for url in message.images]
    if message.name:
        parts["name"] = message.name
    return jsontext.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)


def messages_key(messages: Sequence[Message]) -> str:
    """A digest of a request's normalised messages: equal for variants of one call (section 8, step 3)."""
    if not messages:
        return ""
    return hashlib.sha256(b"\n".join(_key(m) for m in messages)).hexdigest()


def _calls_key(calls: Sequence[ToolCall]) -> set[tuple[str, bytes]]:
    """Tool calls by name and arguments (integers beyond 64 bits too), ids aside."""
    return {(c.name, jsontext.dumps(c.parsed_arguments, option=orjson.OPT_SORT_KEYS, default=str)) for c in calls}


def _answers(parent: Recording, message: Message) -> bool:
    """Does this history message equal the parent's reassembled answer?"""
    if not parent.choices:
        return False
    answer = parent.choices[0]
    if message.tool_calls or answer.tool_calls:
        ids = {c.id for c in answer.tool_calls if c.id}
        if ids and ids == {c.id for c in message.tool_calls if c.id}:
            return True
        pairs = _calls_key(answer.tool_calls)
        return bool(pairs) and pairs == _calls_key(message.tool_calls)
    # The history sends the answer as the model gave it: with Bedrock's <reasoning> or Qwen3's <think> tags in its
    # text, which the reassembled answer holds apart.
    text, reasoning = stream.split_reasoning(message.content)
    if text.strip() or answer.content.strip():
        return answer.content.strip() == text.strip()
    return bool(reasoning.strip()) and reasoning.strip() == answer.reasoning.strip()


def _closeness(parent: Recording, rec: Recording, message: Message) -> tuple[bool, int]:
    """Rank equal candidates: the same tool-call ids first, then the most variant parameters in common."""
    # Variants of one step answer with the same (name, arguments), so only the ids or the request
    # parameters tell which variant's earlier step a request continues.
    ids = {c.id for choice in parent.choices[:1] for c in choice.tool_calls if c.id}
    same_ids = bool(ids) and ids == {c.id for c in message.tool_calls if c.id}
    same_params = sum(parent.request_params.get(k) == rec.request_params.get(k) for k in VARIANT_KEYS)
    return same_ids, same_params


def pair_tool_results(messages: Sequence[Message], results: dict[str, Message] | None = None) -> tuple[Turn, ...]:
    """Turn a flat message list into turns, each tool call beside the tool message that answers it."""
    results_by_id = dict(results or {})
    results_by_id.update({m.tool_call_id: m for m in messages if m.role == "tool" and m.tool_call_id})
    used: set[str] = set()
    turns: list[Turn] = []
    for message in messages:
        if message.role == "tool" and message.tool_call_id in used:
            continue
        if message.tool_calls:
            pairs = []
            for call in message.tool_calls:
                result = results_by_id.get(call.id) if call.id else None
                if result is not None:
                    used.add(call.id)
                pairs.append((call, result))
            turns.append(Turn(message=message, results=tuple(pairs)))
        else:
            turns.append(Turn(message=message))
    return tuple(turns)


def _side_label(rec: Recording) -> str:
    if is_safety_check(rec):
        return "safety check"
    return {
        Kind.MODEL_LIST: "model list",
        Kind.OLLAMA_ADMIN: "ollama admin",
        Kind.EMBEDDINGS: "embeddings",
        Kind.OLLAMA_EMBED: "embeddings",
        Kind.TOOL: "tool run",
    }.get(rec.kind, str(rec.kind))


def _variant_label(rec: Recording, siblings: Sequence[Recording], tree: _Tree) -> str:
    """What sets this variant of a step apart from the others: each request parameter whose value differs (the
    usual ones first), else its tools; then other tool definitions or messages; else that the very request was
    recorded again."""
    others = [other for other in siblings if other is not rec]
    names = {*rec.request_params, *(k for other in others for k in other.request_params)}
    ordered = [k for k in VARIANT_KEYS if k in names] + sorted(names - set(VARIANT_KEYS), key=str)
    differing = []
    for key in ordered:
        mine = rec.request_params.get(key)
        if any(other.request_params.get(key) != mine for other in others):
            differing.append(f"{key}={jsontext.short(mine, 40)}" if mine is not None else f"no {key}")
    if len(differing) > 4:
        differing = [*differing[:4], f"{len(differing) - 4} more"]
    if not differing and any(other.tools != rec.tools for other in others):
        same_names = all(sorted(other.tools) == sorted(rec.tools) for other in others)
        differing.append("tools order" if same_names else f"tools: {', '.join(rec.tools) or 'none'}")
    offered = tree.offered.get(rec.path)

    def same_definitions(other: Recording) -> bool:  # unknown (None) on either side: not said to differ
        theirs = tree.offered.get(other.path)
        return offered is None or theirs is None or offered == theirs

    if not all(same_definitions(other) for other in others if other.tools == rec.tools):
        differing.append("other tool definitions")  # the same names, other schemas (a `strict: null` dropped)
    mine = tree.keys[id(rec)]
    if any(tree.keys[id(other)] != mine for other in others):
        differing.append("other messages")  # an earlier answer or tool result that differs
    twins = any(
        other.request_params == rec.request_params and other.tools == rec.tools and same_definitions(other)
        and tree.keys[id(other)] == mine
        for other in others
    )  # fmt: skip
    if differing and twins:  # set apart from some siblings, the very same request as another
        differing.append("recorded again")
    return ", ".join(differing) or "the same request, recorded again"


def stitch(recordings: Sequence[Recording], offered: Mapping[str, str | None] | None = None) -> TestThreads:
    """Order one test's recordings into threads by message-prefix growth, side calls set apart. `offered`: per
    path, a digest of the tool definitions the request offers, when known (lifecycle.Lineage.tools): variants
    that offer the same tools by other definitions are labelled so."""
    side: list[SideCall] = []
    chats: list[Recording] = []
    for rec in recordings:
        if is_side_call(rec):
            side.append(SideCall(recording=rec, label=_side_label(rec)))
        else:
            chats.append(rec)
    keys = {id(rec): tuple(_key(m) for m in rec.request_messages) for rec in chats}
    by_prefix: dict[tuple[bytes, ...], list[Recording]] = {}
    for rec in chats:
        by_prefix.setdefault(keys[id(rec)], []).append(rec)
    parent_of: dict[int, tuple[Recording, str]] = {}
    for rec in chats:
        mine = keys[id(rec)]
        probable: tuple[Recording, str] | None = None  # the longest prefix with a candidate, should none answer
        for length in range(len(mine) - 1, 0, -1):
            candidates = by_prefix.get(mine[:length])
            if not candidates:
                continue
            following = rec.request_messages[length]
            exact = [c for c in candidates if _answers(c, following)]
            if exact:  # the longest prefix whose answer this request carries (format doc, section 8)
                parent_of[id(rec)] = max(exact, key=lambda c: _closeness(c, rec, following)), "exact"
                break
            if probable is None:
                probable = max(candidates, key=lambda c: _closeness(c, rec, following)), "probable"
        else:
            if probable is not None:
                parent_of[id(rec)] = probable
    children: dict[int, list[Recording]] = {}
    roots: list[Recording] = []
    for rec in chats:
        link = parent_of.get(id(rec))
        if link:
            children.setdefault(id(link[0]), []).append(rec)
        else:
            roots.append(rec)
    # Attach tool runs to the assistant call with the same name and query.
    calls = {
        (
            call.name,
            str((call.parsed_arguments or {}).get("query")) if isinstance(call.parsed_arguments, dict) else "",
        ): call.id
        for rec in chats
        for choice in rec.choices
        for call in choice.tool_calls
    }
    side = [
        SideCall(
            recording=s.recording,
            label=s.label,
            attached_to=calls.get(
                (s.recording.details.get("tool_name", ""), str(s.recording.details.get("kwargs", {}).get("query"))), ""
            )
            if s.recording.kind == Kind.TOOL
            else "",
        )
        for s in side
    ]
    root_groups: dict[tuple[bytes, ...], list[Recording]] = {}
    for rec in roots:
        root_groups.setdefault(keys[id(rec)], []).append(rec)
    results = {m.tool_call_id: m for rec in chats for m in rec.request_messages if m.role == "tool" and m.tool_call_id}
    threads = []
    for group in root_groups.values():
        steps: list[Step] = []
        for rec in group:
            _walk(rec, None, "root", 0, group, _Tree(children, keys, parent_of, results, offered or {}), steps)
        threads.append(Thread(steps=tuple(steps)))
    threads.sort(key=lambda t: -len(t.steps))
    return TestThreads(threads=tuple(threads), side_calls=tuple(side))


@dataclass(frozen=True, slots=True)
class _Tree:
    children: dict[int, list[Recording]]
    keys: dict[int, tuple[bytes, ...]]
    parent_of: dict[int, tuple[Recording, str]]
    results: dict[str, Message]
    offered: Mapping[str, str | None]  # path -> a digest of the tool definitions its request offers


def _walk(
    rec: Recording,
    parent: Recording | None,
    link: str,
    depth: int,
    siblings: Sequence[Recording],
    tree: _Tree,
    steps: list[Step],
) -> None:
    start = len(parent.request_messages) + 1 if parent is not None else 0
    if parent is not None and link == "probable":
        start -= 1  # the parent's answer differs from what this request carries: show it
    shown = {c.id for m in rec.request_messages[:start] for c in m.tool_calls if c.id}
    if parent is not None and link == "exact":
        shown |= {c.id for choice in parent.choices for c in choice.tool_calls if c.id}
    added = [m for m in rec.request_messages[start:] if not (m.role == "tool" and m.tool_call_id in shown)]
    new = pair_tool_results(added)
    answer = pair_tool_results(rec.choices, tree.results)
    steps.append(
        Step(
            recording=rec,
            depth=depth,
            link=link,
            parent_path=parent.path if parent else None,
            new_messages=new,
            answer=answer,
            tokens=usage.counted(rec.usage.total_tokens) if rec.usage else None,  # as the index's totals
            variant_label=_variant_label(rec, siblings, tree) if len(siblings) > 1 else "",
        )
    )
    kids = tree.children.get(id(rec), [])
    for child in sorted(kids, key=lambda c: len(tree.keys[id(c)])):
        _walk(child, rec, tree.parent_of[id(child)][1], depth + 1, kids, tree, steps)
