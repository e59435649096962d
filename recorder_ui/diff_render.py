"""The diff's text renderings: a terminal's reading (`--format text`) and a pull-request comment (Markdown).

Recording content in them is written as text: control characters and runner commands escaped
(presenters.terminal_text), one-line fields kept on one line, Markdown's markup and mentions inert."""

from __future__ import annotations

import html
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
        if d.usage_delta:
            lines.append(f"  tokens {d.tokens_old} -> {d.tokens_new} ({d.usage_delta['total_tokens']:+d})")
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


def as_markdown(report: DiffReport) -> str:
    """A pull-request comment: a summary table, then per test file the changes, details folded."""
    counts = report.summary.counts
    lines = [f"### Recording changes `{report.base}` → `{report.head}`", ""]
    if not report.diffs:
        return presenters.terminal_text("\n".join([*lines, "No recording changed."]))
    noise = counts.get("noise-only", 0)
    lines.append(
        f"{len(report.diffs)} recordings changed; {len(report.diffs) - noise} with a real change, {noise} noise only. "
        f"Tokens {report.summary.tokens_old:,} → {report.summary.tokens_new:,}."
    )
    lines += ["", "| category | recordings |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in counts.items()]
    for file in sorted(report.summary.files, key=_weight):
        changed = [d for t in file.tests for d in t.diffs if d.categories != ("noise-only",)]
        folded = sum(1 for t in file.tests for d in t.diffs if d.categories == ("noise-only",))
        summary = ", ".join(f"{k} {v}" for k, v in file.counts.items())
        # Inside an HTML block Markdown is not read: the file name is escaped HTML there, not a code span.
        name_html = html.escape(file.test_file.replace("\n", " "))
        lines += ["", "<details>", f"<summary><code>{name_html}</code>: {html.escape(summary)}</summary>", ""]
        for d in changed:
            name = (
                d.test_id.partition("::")[2] or d.test_id or paths.escape(d.new_path or d.old_path).rsplit("/", 1)[-1]
            )
            lines.append(f"- **{', '.join(d.categories)}** {_md_code(name)}")
            body: list[str] = []
            if d.old_path != d.new_path:
                old, new = paths.escape(d.old_path) or "(none)", paths.escape(d.new_path) or "(none)"  # no "-" line
                body.append(f"{old} -> {new} ({d.pairing or 'unpaired'})")
            body += _facts(d)
            for text in d.text:
                if text.part != "answer":
                    body.append(f"({text.part})")
                old, new = _sides(text.segments)
                body += [f"- {line}" for line in old.splitlines()] + [f"+ {line}" for line in new.splitlines()]
            for change in d.tool_changes[:10]:
                body.append(f"{change.path}: {jsontext.short(change.old, 120)} -> {jsontext.short(change.new, 120)}")
            if d.usage_delta:
                body.append(f"tokens {d.tokens_old} -> {d.tokens_new} ({d.usage_delta['total_tokens']:+d})")
            if body:
                lines += ["", "  " + _md_block("\n".join(body)).replace("\n", "\n  "), ""]
        if folded:
            kinds = sorted({n.split(" (")[0] for t in file.tests for d in t.diffs if d.primary == "noise-only"
                            for n in d.noise})  # fmt: skip
            lines.append(
                f"- {folded} noise-only change{'s' if folded != 1 else ''}"
                + (f" ({_md_code(', '.join(kinds))})" if kinds else "")
            )
        lines += ["", "</details>"]
    # Control characters a recording holds (ESC, NUL, CR) as \xNN: a terminal or a PR comment shows them as text.
    return presenters.terminal_text("\n".join(lines))
