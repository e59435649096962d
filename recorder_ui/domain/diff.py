"""What really changed between two versions of the recordings, and what is only noise (format doc, section 9)."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from recorder_ui.domain.model import Message, Recording, Usage

CATEGORIES = (
    "content-changed",
    "tool-calls-changed",
    "finish-changed",
    "usage-changed",
    "usage-added",
    "usage-removed",
    "request-changed",
    "model-changed",
    "noise-only",
    "added",
    "removed",
)
PRECEDENCE = CATEGORIES
SEMANTIC = frozenset(CATEGORIES) - {"noise-only", "added", "removed"}
# Fields that only change the file name (hash) or the transport: pairing ignores them.
PAIRING_IGNORES = frozenset({"stream_options", "stream"})


@dataclass(frozen=True, slots=True)
class Pair:
    old: Recording | None
    new: Recording | None
    how: str  # "same path", "same request", "approximate", "test renamed", "" for added/removed


@dataclass(frozen=True, slots=True)
class TextDiff:
    choice: int
    segments: tuple[tuple[str, str], ...]  # ("=", "same words"), ("-", "old words"), ("+", "new words")


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class RecordingDiff:
    key: str  # stable per pair: "old_path|new_path"
    old_path: str
    new_path: str
    test_id: str
    pairing: str
    categories: tuple[str, ...]
    request_fields: tuple[str, ...] = ()
    text: tuple[TextDiff, ...] = ()
    tool_changes: tuple[FieldChange, ...] = ()
    finish_old: tuple[str, ...] = ()
    finish_new: tuple[str, ...] = ()
    usage_old: Usage | None = None
    usage_new: Usage | None = None
    usage_delta: dict[str, int] | None = None
    model_old: str = ""
    model_new: str = ""
    noise: tuple[str, ...] = ()  # what differs that does not count

    @property
    def primary(self) -> str:
        """The first of the categories by PRECEDENCE."""
        return min(self.categories, key=PRECEDENCE.index)

    @property
    def tokens_old(self) -> int:
        return (self.usage_old.total_tokens or 0) if self.usage_old else 0

    @property
    def tokens_new(self) -> int:
        return (self.usage_new.total_tokens or 0) if self.usage_new else 0


def _message_key(message: Message) -> Any:
    """A request message normalised for pairing: empty values dropped, tool-call ids ignored."""
    parts: dict[str, Any] = {"role": message.role}
    if message.content.strip():
        parts["content"] = message.content.strip()
    if message.tool_calls:
        parts["calls"] = [
            (c.name, c.parsed_arguments if c.arguments_valid else c.arguments) for c in message.tool_calls
        ]
    if message.images:
        parts["images"] = list(message.images)
    return parts


def _request_key(rec: Recording) -> bytes:
    messages = [_message_key(m) for m in rec.request_messages]
    extra = {k: v for k, v in rec.request_params.items() if k in ("input", "prompt", "query", "kwargs")}
    return orjson.dumps(
        [rec.test_id or "", str(rec.kind), rec.model, messages, extra], option=orjson.OPT_SORT_KEYS, default=str
    )


def _content_key(rec: Recording) -> bytes:
    return orjson.dumps(
        [str(rec.kind), rec.model, [_message_key(m) for m in rec.request_messages]],
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )


def _params(rec: Recording) -> dict[str, Any]:
    return {k: v for k, v in rec.request_params.items() if k not in PAIRING_IGNORES and k != "model"}


def pair(old: Sequence[Recording], new: Sequence[Recording]) -> tuple[Pair, ...]:
    """Pair old and new recordings: same path, then same request, then the same test by message prefix."""
    pairs: list[Pair] = []
    new_by_path = {r.path: r for r in new}
    left_old: list[Recording] = []
    for rec in old:
        match = new_by_path.pop(rec.path, None)
        if match is not None:
            pairs.append(Pair(rec, match, "same path"))
        else:
            left_old.append(rec)
    left_new = list(new_by_path.values())

    def take(key_of: Any, how: str, prefer: Any = None) -> None:
        nonlocal left_old, left_new
        index: dict[Any, list[Recording]] = {}
        for rec in left_new:
            index.setdefault(key_of(rec), []).append(rec)
        rest: list[Recording] = []
        for rec in left_old:
            candidates = index.get(key_of(rec))
            if not candidates:
                rest.append(rec)
                continue
            best = min(candidates, key=functools.partial(prefer, rec)) if prefer else candidates[0]
            candidates.remove(best)
            pairs.append(Pair(rec, best, how))
        left_old = rest
        left_new = [r for group in index.values() for r in group]

    take(_request_key, "same request", lambda a, b: 0 if _params(a) == _params(b) else 1)
    take(lambda r: (r.test_id or "", str(r.kind), _prefix_anchor(r)), "approximate")
    take(_content_key, "test renamed")
    pairs.extend(Pair(rec, None, "") for rec in left_old)
    pairs.extend(Pair(None, rec, "") for rec in left_new)
    return tuple(pairs)


def _prefix_anchor(rec: Recording) -> bytes:
    """The first message: same test and same opening counts as an approximate match."""
    first = rec.request_messages[:1]
    return orjson.dumps([_message_key(m) for m in first], option=orjson.OPT_SORT_KEYS, default=str)


_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    """A word-level diff: ("=", text), ("-", removed), ("+", added) segments."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("+", "".join(b[j1:j2])))
    return tuple(segments)


def json_diff(old: Any, new: Any, path: str = "") -> tuple[FieldChange, ...]:
    """Leaf-level differences between two JSON values, by path."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                changes.append(FieldChange(sub, None, new[key]))
            elif key not in new:
                changes.append(FieldChange(sub, old[key], None))
            else:
                changes.extend(json_diff(old[key], new[key], sub))
        return tuple(changes)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return tuple(c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in json_diff(a, b, f"{path}[{i}]"))
    return () if old == new else (FieldChange(path or "(value)", old, new),)


def _calls(rec: Recording) -> list[Any]:
    return [
        {"name": c.name, "arguments": c.parsed_arguments if c.arguments_valid else c.arguments}
        for choice in rec.choices
        for c in choice.tool_calls
    ]


def _answer_text(message: Message) -> str:
    return message.content


def _outcome(rec: Recording) -> Any:
    """For shapes without an assistant message: what the response says, minus what changes every time."""
    details = {k: v for k, v in rec.details.items() if k not in ("exception",)}
    return [rec.summary, details, rec.error]


def compare(old: Recording | None, new: Recording | None, *, how: str = "") -> RecordingDiff:
    """The semantic difference between two recordings of one call."""
    key = f"{old.path if old else ''}|{new.path if new else ''}"
    if old is None or new is None:
        only = new if old is None else old
        assert only is not None
        return RecordingDiff(
            key=key,
            old_path=old.path if old else "",
            new_path=new.path if new else "",
            test_id=only.test_id or "",
            pairing=how,
            categories=("added",) if old is None else ("removed",),
            usage_old=old.usage if old else None,
            usage_new=new.usage if new else None,
            model_old=old.model if old else "",
            model_new=new.model if new else "",
        )
    categories: list[str] = []
    text: list[TextDiff] = []
    for index in range(max(len(old.choices), len(new.choices))):
        a = _answer_text(old.choices[index]) if index < len(old.choices) else ""
        b = _answer_text(new.choices[index]) if index < len(new.choices) else ""
        ra = old.choices[index].reasoning if index < len(old.choices) else ""
        rb = new.choices[index].reasoning if index < len(new.choices) else ""
        if a != b or ra != rb:
            text.append(TextDiff(choice=index, segments=word_diff(a, b) if a != b else word_diff(ra, rb)))
    if text or (not old.choices and not new.choices and _outcome(old) != _outcome(new)):
        categories.append("content-changed")
    old_calls, new_calls = _calls(old), _calls(new)
    tool_changes: tuple[FieldChange, ...] = ()
    if old_calls != new_calls:
        categories.append("tool-calls-changed")
        tool_changes = json_diff(old_calls, new_calls, "tool_calls") or (
            FieldChange("tool_calls", old_calls, new_calls),
        )
    finish_old = tuple(c.finish_reason for c in old.choices)
    finish_new = tuple(c.finish_reason for c in new.choices)
    if finish_old != finish_new:
        categories.append("finish-changed")
    delta = None
    if old.usage is None and new.usage is not None:
        categories.append("usage-added")
    elif old.usage is not None and new.usage is None:
        categories.append("usage-removed")
    elif old.usage is not None and new.usage is not None and old.usage != new.usage:
        categories.append("usage-changed")
        delta = {
            name: (getattr(new.usage, name) or 0) - (getattr(old.usage, name) or 0)
            for name in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
        }
    fields = _request_fields(old, new)
    if fields:
        categories.append("request-changed")
    if old.model != new.model:
        categories.append("model-changed")
    if not categories:
        categories.append("noise-only")
    return RecordingDiff(
        key=key,
        old_path=old.path,
        new_path=new.path,
        test_id=new.test_id or old.test_id or "",
        pairing=how,
        categories=tuple(categories),
        request_fields=fields,
        text=tuple(text),
        tool_changes=tool_changes,
        finish_old=finish_old,
        finish_new=finish_new,
        usage_old=old.usage,
        usage_new=new.usage,
        usage_delta=delta,
        model_old=old.model,
        model_new=new.model,
        noise=_noise(old, new) if "noise-only" in categories else (),
    )


def _request_fields(old: Recording, new: Recording) -> tuple[str, ...]:
    fields = sorted(
        k
        for k in old.request_params.keys() | new.request_params.keys()
        if old.request_params.get(k) != new.request_params.get(k)
    )
    if [_message_key(m) for m in old.request_messages] != [_message_key(m) for m in new.request_messages]:
        fields.append("messages")
    if old.tools != new.tools:
        fields.append("tools")
    if (old.test_id or "") != (new.test_id or ""):
        fields.append("test_id")
    return tuple(fields)


def _noise(old: Recording, new: Recording) -> tuple[str, ...]:
    """Name what differs although nothing that matters does (ids, fingerprints, chunk boundaries...)."""
    found = []
    if old.chunk_count != new.chunk_count:
        found.append(f"chunk boundaries ({old.chunk_count} → {new.chunk_count} chunks)")
    blob_old = orjson.dumps(old.raw, default=str)
    blob_new = orjson.dumps(new.raw, default=str)
    for marker in ("obfuscation", "system_fingerprint", "created", "call_", "id_normalization_mapping"):
        if blob_old.count(marker.encode()) != blob_new.count(marker.encode()) or (
            marker.encode() in blob_old and blob_old != blob_new
        ):
            found.append(marker.rstrip("_"))
    return tuple(dict.fromkeys(found))


def raw_diff(old: bytes | None, new: bytes | None, *, old_name: str = "old", new_name: str = "new") -> str:
    """A unified diff of the two files' pretty JSON, for the doubtful cases."""

    def pretty(data: bytes | None) -> list[str]:
        if data is None:
            return []
        try:
            return orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2).decode().splitlines(keepends=True)
        except orjson.JSONDecodeError:
            return data.decode("utf-8", "replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(pretty(old), pretty(new), fromfile=old_name, tofile=new_name, n=2))


@dataclass(frozen=True, slots=True)
class TestSummary:
    test_id: str
    counts: dict[str, int]
    tokens_old: int
    tokens_new: int
    diffs: tuple[RecordingDiff, ...]

    @property
    def only_noise(self) -> bool:
        return all(d.categories == ("noise-only",) for d in self.diffs)


@dataclass(frozen=True, slots=True)
class FileSummary:
    test_file: str
    counts: dict[str, int]
    tokens_old: int
    tokens_new: int
    tests: tuple[TestSummary, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    counts: dict[str, int]
    tokens_old: int
    tokens_new: int
    files: tuple[FileSummary, ...]


def _count(diffs: Sequence[RecordingDiff]) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORIES, 0)
    for d in diffs:
        for category in d.categories:
            counts[category] += 1
    return {k: v for k, v in counts.items() if v}


def summarize(diffs: Sequence[RecordingDiff]) -> Summary:
    """Counts per category and token totals before and after, grouped by test file and test."""
    by_file: dict[str, dict[str, list[RecordingDiff]]] = {}
    for d in diffs:
        test_file = d.test_id.partition("::")[0] if d.test_id else "(no test)"
        by_file.setdefault(test_file, {}).setdefault(d.test_id or "(no test)", []).append(d)
    files = []
    for test_file, tests in sorted(by_file.items()):
        summaries = tuple(
            TestSummary(
                test_id=test_id,
                counts=_count(group),
                tokens_old=sum(d.tokens_old for d in group),
                tokens_new=sum(d.tokens_new for d in group),
                diffs=tuple(sorted(group, key=lambda d: (d.categories == ("noise-only",), d.key))),
            )
            for test_id, group in sorted(tests.items())
        )
        every = [d for group in tests.values() for d in group]
        files.append(
            FileSummary(
                test_file=test_file,
                counts=_count(every),
                tokens_old=sum(d.tokens_old for d in every),
                tokens_new=sum(d.tokens_new for d in every),
                tests=summaries,
            )
        )
    return Summary(
        counts=_count(diffs),
        tokens_old=sum(d.tokens_old for d in diffs),
        tokens_new=sum(d.tokens_new for d in diffs),
        files=tuple(files),
    )
