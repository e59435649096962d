"""The word-level diff of two answers: what a reviewer reads for `content-changed`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def common_ends(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """How many items two sequences share at their start, and then at their end (never counted twice)."""
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


def word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    """A word-level diff: ("=", text), ("-", removed), ("+", added) segments.

    The common head and tail are set aside first, and a long middle is matched line by line before word by
    word, so the cost follows the size of the change rather than of the answer.
    """
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    head, tail = common_ends(a, b)
    segments: list[tuple[str, str]] = [("=", "".join(a[:head]))] if head else []
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(middle_a) * len(middle_b) > _WORD_BUDGET:
        segments += _line_then_word_diff("".join(middle_a), "".join(middle_b))
    else:
        segments += _token_diff(middle_a, middle_b)
    if tail:
        segments.append(("=", "".join(a[len(a) - tail :])))
    return _merge(segments)


_WORD_BUDGET = 400_000  # tokens x tokens beyond which lines are matched first


def _token_diff(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("+", "".join(b[j1:j2])))
    return segments


def _line_then_word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Lines matched first; words only inside a replaced block small enough, else the block as a whole."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if len(a) * len(b) > _WORD_BUDGET:  # repetitive text line by line would be quadratic: show it replaced
        return [("-", old), ("+", new)]
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            segments.append(("=", before))
            continue
        words_a, words_b = _WORDS.findall(before), _WORDS.findall(after)
        if op == "replace" and len(words_a) * len(words_b) <= _WORD_BUDGET:
            segments += _token_diff(words_a, words_b)
            continue
        if before:
            segments.append(("-", before))
        if after:
            segments.append(("+", after))
    return segments


def _merge(segments: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Neighbouring segments of the same kind joined; empty ones dropped."""
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return tuple(merged)
