"""The diff's text renderings: a terminal's reading (`--format text`) and a pull-request comment (Markdown).

Recording content in them is written as text: control characters and runner commands escaped
(presenters.terminal_text), one-line fields kept on one line, Markdown's markup and mentions inert."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recorder_ui import presenters
from recorder_ui.domain import diff, jsontext, paths

if TYPE_CHECKING:
    from recorder_ui.diffing import DiffReport


def _segments_text(segments: tuple[tuple[str, str], ...], width: int = 400) -> str:
    out = []
    for op, text in segments:
        if op == "=":
            out.append(text if len(text) < 80 else text[:35] + " … " + text[-35:])
        else:
            out.append(f"[{op}{text}]")
    joined = "".join(out).replace("\n", " ")
    return joined if len(joined) <= width else joined[:width] + " …"


def as_text(report: DiffReport) -> str:
    """A terminal reading: the summary, then each change that is not only noise."""
    lines = [f"recordings diff {report.base}..{report.head}: {len(report.diffs)} changed files"]
    lines.append(
        "  " + ", ".join(f"{k} {v}" for k, v in report.summary.counts.items()) if report.diffs else "  no changes"
    )
    lines.append(f"  tokens {report.summary.tokens_old} -> {report.summary.tokens_new}")
    for d in report.changed():
        lines.append("")
        lines.append(f"{', '.join(d.categories)}: {presenters.one_line(d.test_id) or '(no test)'}")
        if d.old_path == d.new_path:
            lines.append(f"  {paths.escape(d.new_path)}")
        else:
            old, new = paths.escape(d.old_path) or "-", paths.escape(d.new_path) or "-"
            lines.append(f"  {old} -> {new}  ({d.pairing or 'unpaired'})")
        lines += [f"  {line}" for line in _facts(d)]
        for text in d.text:
            lines.append(f"  {text.part}: {_segments_text(text.segments)}")
        for change in d.tool_changes[:10]:
            lines.append(f"  {change.path}: {jsontext.short(change.old, 120)} -> {jsontext.short(change.new, 120)}")
        lines += [f"  {line}" for line in _outcome(d)]
    return "\n".join(lines)


def _facts(d: diff.RecordingDiff) -> list[str]:
    """The lines that say why: pairing doubts, fields that differ, models added and removed."""
    lines = [f"unreadable: {d.note}; see the raw diff"] if d.note else []
    if d.ambiguous and d.pairing:
        lines.append(
            "ambiguous pairing: the most similar of several candidates (the fewest differing request fields, then "
            "test-id parts); the others, closest first: " + _sided(d)
        )
    elif d.candidates:
        lines.append("unpaired: equally good partners, none chosen: " + _sided(d))
    if d.test_id_old:
        lines.append(f"test id was: {presenters.one_line(d.test_id_old)}")
    if d.request_fields:
        lines.append(f"request fields: {', '.join(d.request_fields)}")
    if d.response_fields:
        lines.append(f"response fields: {', '.join(d.response_fields)}")
    for label, models in (("added", d.listing.added), ("removed", d.listing.removed), ("changed", d.listing.changed)):
        if models:
            lines.append(f"models {label}: {'; '.join(models)}")
    return lines


def _outcome(d: diff.RecordingDiff) -> list[str]:
    """How the answer ended and what it cost, when that changed: finish reasons, and each count that moved (a
    total can stay while reasoning tokens take prompt tokens' place)."""
    lines = []
    if "finish-changed" in d.categories:
        old, new = (", ".join(str(f) if f else "none" for f in side) or "none" for side in (d.finish_old, d.finish_new))
        lines.append(f"finish: {old} -> {new}")
    if d.usage_delta:
        moved = [f"{name} {change:+d}" for name, change in d.usage_delta.items() if change and name != "total_tokens"]
        detail = f"; {', '.join(moved)}" if moved else ""
        lines.append(f"tokens {d.tokens_old} -> {d.tokens_new} ({d.usage_delta['total_tokens']:+d}{detail})")
    return lines


def _sided(d: diff.RecordingDiff) -> str:
    """The candidates, each with its side: an old file another new one could re-record, or a new one."""
    return ", ".join(f"{side} {paths.escape(name)}".strip() for side, name in d.sided_candidates)


def _md_code(text: str) -> str:
    """Inline code that survives any content: a fence longer than any backtick run inside."""
    text = text.replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    return f"{fence} {text} {fence}"


# The order of a comment's test-file sections: what a reviewer must read first, so that a comment cut to fit
# GitHub's limit (docs/ci.md) keeps it: changed requests, answers and usage, then unreadable files, then files
# only added or removed, then noise.
_READ_FIRST = (*(c for c in diff.CATEGORIES if c in diff.SEMANTIC), "unreadable", "removed", "added", "noise-only")


def _weight(file: diff.FileSummary) -> tuple[int, str]:
    return min(
        (_READ_FIRST.index(c) for c in file.counts if c in _READ_FIRST), default=len(_READ_FIRST)
    ), file.test_file


def _cut(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else text[:limit] + " … (cut)"


def _sides(segments: tuple[tuple[str, str], ...], context: int = 70) -> tuple[str, str]:
    """The old and the new text of a word diff, each long unchanged run cut to the words around the changes, so
    a change late in a long answer shows (it is not cut away with the rest)."""
    old, new = [], []
    for index, (op, text) in enumerate(segments):
        if op == "=" and len(text) > 2 * context + 20:
            first, last = index == 0, index == len(segments) - 1
            text = ("" if first else text[:context]) + " … " + ("" if last else text[-context:])
        if op != "+":
            old.append(text)
        if op != "-":
            new.append(text)
    return _cut("".join(old).strip()), _cut("".join(new).strip())


def _md_block(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}diff\n{text}\n{fence}"


def as_markdown(report: DiffReport, max_chars: int | None = None) -> str:
    """A pull-request comment: a summary table, then per test file the changes, details folded. With max_chars,
    the comment stays within it (GitHub refuses one over 65,536 characters): the test files a reviewer must read
    first are kept, a file that does not fit whole is cut between its changes, and what is left out is named."""
    head, sections = _md_sections(report)
    whole = presenters.terminal_text(
        "\n".join([*head, *(line for s in sections for line in (*s.opening, *s.lines(), *s.closing))])
    )
    if max_chars is None or _chars(whole) <= max_chars:
        return whole
    out = _Budget(max_chars)
    out.add(head)
    for number, section in enumerate(sections):
        if out.fits([*section.opening, *section.lines(), *section.closing], reserve=True):
            out.add([*section.opening, *section.lines(), *section.closing])
            continue
        if not out.fits([*section.opening, *section.items[0], "", "- …", *section.closing], reserve=True):
            out.left_out([s.file for s in sections[number:]])
            break
        out.add(section.opening)
        shown = 0
        for item in section.items:
            if not out.fits([*item, "", "- …", *section.closing], reserve=True):
                break
            out.add(item)
            shown += 1
        more = len(section.items) - shown
        out.add(["", f"- … {more} more in this file, not shown here: see the full report.", *section.closing])
        out.left_out([s.file for s in sections[number + 1 :]])
        break
    return out.text()


@dataclass(frozen=True, slots=True)
class _Section:
    """One test file's folded section of a comment: its opening lines, one list of lines per change, closing."""

    file: diff.FileSummary
    opening: list[str]
    items: list[list[str]]
    closing: list[str]

    def lines(self) -> list[str]:
        return [line for item in self.items for line in item]


def _md_sections(report: DiffReport) -> tuple[list[str], list[_Section]]:
    """The comment's head (title, counts, category table) and its test-file sections, read-first order."""
    counts = report.summary.counts
    head = [f"### Recording changes {_md_code(report.base)} → {_md_code(report.head)}", ""]
    if not report.diffs:
        return [*head, "No recording changed."], []
    noise = counts.get("noise-only", 0)
    added, removed = counts.get("added", 0), counts.get("removed", 0)
    real = sum(1 for d in report.diffs if set(d.categories) - {"added", "removed", "noise-only"})
    head.append(
        f"{len(report.diffs)} recordings changed: {real} with a real change, {added} added, {removed} removed, "
        f"{noise} noise only. Tokens {report.summary.tokens_old:,} → {report.summary.tokens_new:,}."
    )
    head += ["", "| category | recordings |", "|---|---:|", *(f"| {k} | {v} |" for k, v in counts.items())]
    sections = []
    for file in sorted(report.summary.files, key=_weight):
        changed = [d for t in file.tests for d in t.diffs if d.categories != ("noise-only",)]
        folded = sum(1 for t in file.tests for d in t.diffs if d.categories == ("noise-only",))
        summary = ", ".join(f"{k} {v}" for k, v in file.counts.items())
        # Inside an HTML block Markdown is not read: the file name is escaped HTML there, not a code span.
        name_html = html.escape(file.test_file.replace("\n", " "))
        opening = ["", "<details>", f"<summary><code>{name_html}</code>: {html.escape(summary)}</summary>", ""]
        items = [_md_item(d) for d in changed]
        if folded:
            kinds = sorted({n.split(" (")[0] for t in file.tests for d in t.diffs if d.primary == "noise-only"
                            for n in d.noise})  # fmt: skip
            items.append(
                [f"- {folded} noise-only change{'s' if folded != 1 else ''}"
                 + (f" ({_md_code(', '.join(kinds))})" if kinds else "")]
            )  # fmt: skip
        sections.append(_Section(file, opening, items, ["", "</details>"]))
    return head, sections


def _md_item(d: diff.RecordingDiff) -> list[str]:
    """One change of a comment: its categories and test, then what changed in a diff block."""
    name = d.test_id.partition("::")[2] or d.test_id or paths.escape(d.new_path or d.old_path).rsplit("/", 1)[-1]
    lines = [f"- **{', '.join(d.categories)}** {_md_code(name)}"]
    body: list[str] = []
    if d.old_path != d.new_path:
        old, new = paths.escape(d.old_path) or "(none)", paths.escape(d.new_path) or "(none)"  # no "-" line
        body.append(f"{old} -> {new} ({d.pairing or 'unpaired'})")
    else:
        body.append(f"{paths.escape(d.new_path)} (rewritten in place)")
    body += _facts(d)
    for text in d.text:
        if text.part != "answer":
            body.append(f"({text.part})")
        old, new = _sides(text.segments)
        body += [f"- {line}" for line in old.splitlines()] + [f"+ {line}" for line in new.splitlines()]
    for change in d.tool_changes[:10]:
        body.append(f"{change.path}: {jsontext.short(change.old, 120)} -> {jsontext.short(change.new, 120)}")
    body += _outcome(d)
    return [*lines, "", "  " + _md_block("\n".join(body)).replace("\n", "\n  "), ""]


def _chars(text: str) -> int:
    """Characters as a browser counts them (UTF-16 units: an emoji beyond the first plane is two), never fewer."""
    return len(text) + sum(1 for c in text if c > "\uffff") if not text.isascii() else len(text)


class _Budget:
    """A comment's lines, kept within max_chars (None: no limit), with room kept for the note of what is left out."""

    RESERVE = 1_500  # the closing note: how many files and changes are not shown, and the first files' names

    def __init__(self, max_chars: int | None) -> None:
        self.limit = max_chars
        self.parts: list[str] = []
        self.used = 0

    def _size(self, lines: list[str]) -> int:
        # Control characters a recording holds (ESC, NUL, CR) as \xNN: shown as text, and counted as written.
        return _chars(presenters.terminal_text("\n".join(lines))) + 1

    def fits(self, lines: list[str], *, reserve: bool = False) -> bool:
        if self.limit is None:
            return True
        room = self.limit - (self.RESERVE if reserve else 0)
        return self.used + self._size(lines) <= room

    def add(self, lines: list[str]) -> None:
        self.parts.append(presenters.terminal_text("\n".join(lines)))
        self.used += _chars(self.parts[-1]) + 1

    def left_out(self, files: list[diff.FileSummary]) -> None:
        if not files:
            return
        changes = sum(len(t.diffs) for f in files for t in f.tests)
        names = ", ".join(_md_code(_cut(f.test_file, 200)) for f in files[:5]) + (", …" if len(files) > 5 else "")
        plural = ("s" if len(files) != 1 else "", "s" if changes != 1 else "")
        note = (
            f"**Not shown here, to keep this comment within {self.limit:,} characters:** {len(files)} more test "
            f"file{plural[0]} ({changes} changed recording{plural[1]}): {names}. The full report has them."
        )
        self.parts.append(presenters.terminal_text("\n" + note))

    def text(self) -> str:
        return "\n".join(self.parts)
