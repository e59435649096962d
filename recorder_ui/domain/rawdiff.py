"""A unified diff of two recording files' pretty JSON, for the doubtful cases, at the cost of the change."""

from __future__ import annotations

import difflib
from typing import Literal

import orjson

from recorder_ui.domain import jsontext
from recorder_ui.domain.worddiff import common_ends


def raw_diff(
    old: bytes | None, new: bytes | None, *, old_name: str = "old", new_name: str = "new", context: int = 2
) -> str:
    """A unified diff of the two files' pretty JSON, for the doubtful cases.

    A unified diff that applies as a patch, as difflib.unified_diff's does, but not always line for line the same
    text: the common head and tail are set aside before matching, and lines are matched by their JSON keys first,
    so a change in a large file costs about the size of the change (and a replaced block may read -/+/-/+).
    """
    a, b = _pretty_lines(old), _pretty_lines(new)
    head, tail = common_ends(a, b)
    start = max(0, head - context)
    a_mid, b_mid = a[start : len(a) - max(0, tail - context)], b[start : len(b) - max(0, tail - context)]
    if a_mid == b_mid:
        return ""
    out = [f"--- {old_name}\n", f"+++ {new_name}\n"]
    for group in _Fixed(_line_opcodes(a_mid, b_mid)).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(start + i1, i2 - i1)} +{_range(start + j1, j2 - j1)} @@\n")
        for op, x1, x2, y1, y2 in group:
            if op == "equal":
                out += [" " + line for line in a_mid[x1:x2]]
                continue
            out += ["-" + line for line in a_mid[x1:x2]]
            out += ["+" + line for line in b_mid[y1:y2]]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]
_LINE_BUDGET = 250_000  # lines x lines matched at once at most; beyond, the region is shown replaced whole


class _Fixed(difflib.SequenceMatcher[str]):
    """SequenceMatcher's hunk grouping over opcodes computed elsewhere."""

    def __init__(self, codes: list[Opcode]) -> None:
        self._codes = codes

    def get_opcodes(self) -> list[Opcode]:
        return self._codes


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Pretty JSON cut into blocks: a line indented six spaces or less opens one; closing brackets join it."""
    starts = [
        i
        for i, line in enumerate(lines)
        if len(line) - len(line.lstrip(" ")) <= 6 and line.strip() not in ("}", "},", "]", "],")
    ]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [(s, e) for s, e in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _line_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """Line opcodes: blocks (stream elements, top-level fields) matched first, then the lines of changed ones."""
    blocks_a, blocks_b = _blocks(a), _blocks(b)
    keys_a = ["".join(a[s:e]) for s, e in blocks_a]
    keys_b = ["".join(b[s:e]) for s, e in blocks_b]
    codes: list[Opcode] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        x1 = blocks_a[i1][0] if i1 < len(blocks_a) else len(a)
        x2 = blocks_a[i2 - 1][1] if i2 > i1 else x1
        y1 = blocks_b[j1][0] if j1 < len(blocks_b) else len(b)
        y2 = blocks_b[j2 - 1][1] if j2 > j1 else y1
        if op == "equal":
            codes.append(("equal", x1, x2, y1, y2))
        elif op == "replace" and i2 - i1 == j2 - j1:  # as many blocks on each side: compare them pairwise
            for (p1, p2), (q1, q2) in zip(blocks_a[i1:i2], blocks_b[j1:j2], strict=True):
                codes += _region(a, b, p1, p2, q1, q2)
        else:
            codes += _region(a, b, x1, x2, y1, y2)
    return _joined(codes)


def _region(a: list[str], b: list[str], x1: int, x2: int, y1: int, y2: int) -> list[Opcode]:
    if (x2 - x1) * (y2 - y1) > _LINE_BUDGET:
        return [("replace" if x2 > x1 and y2 > y1 else "delete" if x2 > x1 else "insert", x1, x2, y1, y2)]
    matcher = difflib.SequenceMatcher(None, a[x1:x2], b[y1:y2], autojunk=False)
    return [(op, x1 + i1, x1 + i2, y1 + j1, y1 + j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]


def _joined(codes: list[Opcode]) -> list[Opcode]:
    """Neighbouring equal opcodes merged, empty ones dropped, so hunks group as difflib would."""
    out: list[Opcode] = []
    for code in codes:
        if code[1] == code[2] and code[3] == code[4]:
            continue
        if out and code[0] == "equal" and out[-1][0] == "equal":
            prev = out[-1]
            out[-1] = ("equal", prev[1], code[2], prev[3], code[4])
        else:
            out.append(code)
    return out


def _range(start: int, length: int) -> str:
    """A hunk range as unified diffs write it: 1-based, `start,length`, `start` alone for one line."""
    begin = start + 1 if length else start
    return str(begin) if length == 1 else f"{begin},{length}"


def _pretty_lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    try:
        # Exact (no big integer read as a float, however deep): a diff must show every change it counts.
        return jsontext.dumps(jsontext.loads(data), option=orjson.OPT_INDENT_2).decode().splitlines(keepends=True)
    except (ValueError, RecursionError, TypeError):
        return data.decode("utf-8", "replace").splitlines(keepends=True)
