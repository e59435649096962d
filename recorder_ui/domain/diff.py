"""What really changed between two versions of the recordings, and what is only noise (format doc, section 9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recorder_ui.domain import listings, pairing, paths, residue, usage
from recorder_ui.domain.listings import Listing
from recorder_ui.domain.model import Kind, Message, Recording, Usage
from recorder_ui.domain.pairing import Pair
from recorder_ui.domain.worddiff import word_diff

CATEGORIES = (
    # In order of precedence: a pair's `primary` is the first of its categories here. Unpaired files first,
    # then the causes (a changed model or request explains the rest), then what the answer does, by weight.
    "removed",
    "added",
    "unreadable",
    "model-changed",
    "request-changed",
    "tool-calls-changed",
    "content-changed",
    "finish-changed",
    "usage-removed",
    "usage-added",
    "usage-changed",
    "response-changed",
    "noise-only",
)
PRECEDENCE = CATEGORIES
SEMANTIC = frozenset(CATEGORIES) - {"noise-only", "added", "removed", "unreadable"}
ANSWER_KINDS = frozenset(
    {
        Kind.CHAT,
        Kind.COMPLETION,
        Kind.OLLAMA_CHAT,
        Kind.OLLAMA_GENERATE,
        Kind.GENAI,
        Kind.ANTHROPIC_MESSAGES,
        Kind.GEMINI_INTERACTIONS,
    }
)
LISTING_KINDS = frozenset({Kind.MODEL_LIST, Kind.OLLAMA_ADMIN})


@dataclass(frozen=True, slots=True)
class TextDiff:
    choice: int
    segments: tuple[tuple[str, str], ...]  # ("=", "same words"), ("-", "old words"), ("+", "new words")
    part: str = "answer"  # or "reasoning"


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
    request_fields: tuple[str, ...] = ()  # request paths that differ: "url", "body.temperature", "test_id"
    response_fields: tuple[str, ...] = ()  # response paths outside noise and the semantic categories
    text: tuple[TextDiff, ...] = ()
    tool_changes: tuple[FieldChange, ...] = ()
    finish_old: tuple[str, ...] = ()
    finish_new: tuple[str, ...] = ()
    usage_old: Usage | None = None
    usage_new: Usage | None = None
    usage_delta: dict[str, int] | None = None
    model_old: str = ""
    model_new: str = ""
    listing: Listing = Listing()
    noise: tuple[str, ...] = ()  # what differs that does not count
    note: str = ""  # why a pair is "unreadable": a side that is no readable recording, or too deep to compare
    ambiguous: bool = False  # several candidates for this pairing (or, unpaired, equally good partners)
    candidates: tuple[str, ...] = ()  # the other candidates' paths
    candidate_sides: tuple[str, ...] = ()  # "old" or "new", one for each of candidates
    test_id_old: str = ""  # the old side's test id when it is another (a renamed test)

    @property
    def several_choices(self) -> bool:
        """Whether the text diffs are of more than one choice, so each says which."""
        return any(t.choice for t in self.text)

    @property
    def sided_candidates(self) -> tuple[tuple[str, str], ...]:
        """(side, path) of each candidate: an old file, or a new one."""
        sides = (
            self.candidate_sides if len(self.candidate_sides) == len(self.candidates) else ("",) * len(self.candidates)
        )
        return tuple(zip(sides, self.candidates, strict=True))

    @property
    def primary(self) -> str:
        """The first of the categories by PRECEDENCE."""
        return min(self.categories, key=PRECEDENCE.index)

    @property
    def tokens_old(self) -> int:
        return (usage.counted(self.usage_old.total_tokens) or 0) if self.usage_old else 0  # no real count: 0

    @property
    def tokens_new(self) -> int:
        return (usage.counted(self.usage_new.total_tokens) or 0) if self.usage_new else 0


def pair(old: Sequence[Recording], new: Sequence[Recording]) -> tuple[Pair, ...]:
    """Pair old and new recordings (see pairing)."""
    return pairing.pair(old, new)


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


def compare(
    old: Recording | None,
    new: Recording | None,
    *,
    how: str = "",
    ambiguous: bool = False,
    candidates: tuple[str, ...] = (),
) -> RecordingDiff:
    """The semantic difference between two recordings of one call; every other difference is named as noise."""
    # Escaped (domain/paths.py): a name that is not UTF-8 must still make a key a URL and a page can carry.
    key = f"{paths.escape(old.path) if old else ''}|{paths.escape(new.path) if new else ''}"
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
            ambiguous=ambiguous,
            candidates=candidates,
            note=f"{'added' if old is None else 'removed'} file is no readable recording: {only.error}"
            if only.kind == Kind.INVALID or not isinstance(only.raw, dict)
            else "",
        )
    unreadable = next((rec for rec in (old, new) if rec.kind == Kind.INVALID or not isinstance(rec.raw, dict)), None)
    if unreadable is not None:
        side = "the old file" if unreadable is old else "the new file"
        return _unreadable(
            old, new, key, how, ambiguous, candidates, f"{side} is no readable recording: {unreadable.error}"
        )
    try:
        return _compare_pair(old, new, key, how, ambiguous, candidates)
    except RecursionError:
        return _unreadable(old, new, key, how, ambiguous, candidates, "nested too deeply to compare field by field")


def _unreadable(
    old: Recording, new: Recording, key: str, how: str, ambiguous: bool, candidates: tuple[str, ...], note: str
) -> RecordingDiff:
    """A pair the semantic diff cannot compare: never called noise; the raw diff shows what changed."""
    return RecordingDiff(
        key=key,
        old_path=old.path,
        new_path=new.path,
        test_id=new.test_id or old.test_id or "",
        pairing=how,
        categories=("unreadable",),
        usage_old=old.usage,
        usage_new=new.usage,
        model_old=old.model,
        model_new=new.model,
        ambiguous=ambiguous,
        candidates=candidates,
        note=note,
    )


def _compare_pair(
    old: Recording, new: Recording, key: str, how: str, ambiguous: bool, candidates: tuple[str, ...]
) -> RecordingDiff:
    found: set[str] = set()
    text = _text_diffs(old, new)
    answer = bool(old.choices or new.choices) or old.kind in ANSWER_KINDS or new.kind in ANSWER_KINDS
    listed = old.kind in LISTING_KINDS and new.kind in LISTING_KINDS
    listing = listings.listing_changes(old.raw, new.raw) if listed else Listing()
    response_fields = residue.response_changes(old.raw, new.raw, answer=answer, listing=listed)
    outcome_differs = not listed and not old.choices and not new.choices and _outcome(old) != _outcome(new)
    if text or listing.added or listing.removed or outcome_differs:
        found.add("content-changed")
    if listing.changed:
        found.add("response-changed")  # the same models, other details
    if response_fields:
        found.add("response-changed" if answer else "content-changed")
    old_calls, new_calls = _calls(old), _calls(new)
    tool_changes: tuple[FieldChange, ...] = ()
    if old_calls != new_calls:
        found.add("tool-calls-changed")
        tool_changes = json_diff(old_calls, new_calls, "tool_calls") or (
            FieldChange("tool_calls", old_calls, new_calls),
        )
    finish_old = tuple(c.finish_reason for c in old.choices)
    finish_new = tuple(c.finish_reason for c in new.choices)
    if finish_old != finish_new:
        found.add("finish-changed")
    delta = None
    if old.usage is None and new.usage is not None:
        found.add("usage-added")
    elif old.usage is not None and new.usage is None:
        found.add("usage-removed")
    elif old.usage is not None and new.usage is not None and _counts(old.usage) != _counts(new.usage):
        found.add("usage-changed")
        delta = {name: (getattr(new.usage, name) or 0) - (getattr(old.usage, name) or 0) for name in _COUNTS}
    fields = residue.request_changes(old.raw, new.raw)
    if fields:
        found.add("request-changed")
    if old.model != new.model:
        found.add("model-changed")
    noise = _noise(old, new, listing)
    shown = response_fields  # for shapes without an answer, what made content-changed
    if not found:  # noise-only must be certain: anything else the files differ in is named
        shown = residue.unexplained_changes(old.raw, new.raw, listing=listed)
        if shown:
            found.add("response-changed")
        elif not noise:
            noise = (_unnamed_noise(old, new),)
    return RecordingDiff(
        key=key,
        old_path=old.path,
        new_path=new.path,
        test_id=new.test_id or old.test_id or "",
        test_id_old=(old.test_id or "") if (old.test_id or "") != (new.test_id or "") else "",
        pairing=how,
        categories=tuple(c for c in CATEGORIES if c in found) or ("noise-only",),
        request_fields=fields,
        response_fields=shown,
        text=text,
        tool_changes=tool_changes,
        finish_old=finish_old,
        finish_new=finish_new,
        usage_old=old.usage,
        usage_new=new.usage,
        usage_delta=delta,
        model_old=old.model,
        model_new=new.model,
        listing=listing,
        noise=noise,
        ambiguous=ambiguous,
        candidates=candidates,
    )


_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")


def _counts(usage: Usage) -> tuple[int, ...]:
    """The counts as numbers: a detail reported as null or left out is 0, as it is in the totals."""
    return tuple(getattr(usage, name) or 0 for name in _COUNTS)


def _text_diffs(old: Recording, new: Recording) -> tuple[TextDiff, ...]:
    text: list[TextDiff] = []
    for index in range(max(len(old.choices), len(new.choices))):
        a = _answer_text(old.choices[index]) if index < len(old.choices) else ""
        b = _answer_text(new.choices[index]) if index < len(new.choices) else ""
        ra = old.choices[index].reasoning if index < len(old.choices) else ""
        rb = new.choices[index].reasoning if index < len(new.choices) else ""
        if a != b:
            text.append(TextDiff(choice=index, segments=word_diff(a, b)))
        if ra != rb:
            text.append(TextDiff(choice=index, segments=word_diff(ra, rb), part="reasoning"))
    return tuple(text)


def _unnamed_noise(old: Recording, new: Recording) -> str:
    """What differs when no noise field does and nothing else counts: the pair is noise-only, and says why."""
    if old.raw == new.raw:
        return "nothing in the JSON: only the file's formatting or name"
    if [c.arguments for ch in old.choices for c in ch.tool_calls] != [
        c.arguments for ch in new.choices for c in ch.tool_calls
    ]:
        return "the spacing of tool-call arguments (the same JSON)"
    if old.streaming and new.streaming:
        return "chunk boundaries (the same fields, carried by other chunks)"
    return "the way values are written (the same values)"


def _noise(old: Recording, new: Recording, listing: Listing) -> tuple[str, ...]:
    """Name what differs that does not count: ids, fingerprints, chunk boundaries, the order of a listing..."""
    found = list(residue.noise_names(old.raw, new.raw))
    if old.streaming and new.streaming and old.chunk_count != new.chunk_count:
        found.append(f"chunk boundaries ({old.chunk_count} → {new.chunk_count} chunks)")
    if listing.reordered:
        found.append("order of entries")
    return tuple(found)


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
