"""The diff of the upstream history against the verdicts checked by hand in docs/diff-verdicts.md.

The rows are read from that table (so the document and the test cannot drift apart); each commit is diffed against its
parent once. A row names its files by area and hash prefix; they are resolved against the commit's own name-status.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder_ui import diffing
from recorder_ui.domain import pairing
from recorder_ui.domain.diff import RecordingDiff

VERDICTS = Path(__file__).parent.parent / "docs" / "diff-verdicts.md"
NONE = "—"
COLUMNS = ("#", "commit", "old → new", "pairing", "categories", "primary", "partners", "why")


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    commit: str
    old: str  # short name, "" for none
    new: str
    pairing: str  # "" for unpaired
    categories: frozenset[str]
    primary: str
    partners: tuple[str, ...]
    why: str

    @property
    def label(self) -> str:
        return f"{self.number}-{self.commit}-{(self.old or self.new).replace('/', ':')}"


def _names(cell: str) -> tuple[str, ...]:
    cell = cell.strip()
    if cell in ("", NONE):
        return ()
    return tuple(part.strip().strip("`") for part in cell.split(","))


def read_rows(text: str) -> list[Row]:
    """The rows of the table under '## Verdicts'."""
    section = text.split("\n## Verdicts\n", 1)[1].split("\n## ", 1)[0]
    rows: list[Row] = []
    header_seen = False
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header_seen:
            assert tuple(cells) == COLUMNS, f"unexpected table header: {cells}"
            header_seen = True
            continue
        if set(line) <= set("|- "):
            continue
        assert len(cells) == len(COLUMNS), f"row with {len(cells)} cells: {line}"
        number, commit, files, how, categories, primary, partners, why = cells
        old, arrow, new = files.partition("→")
        assert arrow, f"row {number}: no '→' in {files!r}"
        rows.append(
            Row(
                number=int(number),
                commit=commit,
                old=(_names(old) or ("",))[0],
                new=(_names(new) or ("",))[0],
                pairing="" if how == NONE else how,
                categories=frozenset(c.strip() for c in categories.split(",")),
                primary=primary,
                partners=_names(partners),
                why=why,
            )
        )
    return rows


ROWS = read_rows(VERDICTS.read_text(encoding="utf-8"))


def test_the_table_is_well_formed() -> None:
    """Numbers run 1..n, each file appears once per commit, unpaired rows name one side and say so."""
    assert [r.number for r in ROWS] == list(range(1, len(ROWS) + 1))
    assert len(ROWS) >= 30
    seen: set[tuple[str, str]] = set()
    for row in ROWS:
        for name in (row.old, row.new):
            if name and not (row.pairing == "same path" and name == row.new and name == row.old):
                assert (row.commit, name) not in seen, f"row {row.number}: {name} appears twice in {row.commit}"
                seen.add((row.commit, name))
        assert row.primary in row.categories, f"row {row.number}"
        if not row.pairing:
            assert bool(row.old) != bool(row.new), f"row {row.number}: unpaired rows name exactly one file"
            assert row.categories == {"removed" if row.old else "added"}, f"row {row.number}"
        else:
            assert row.old and row.new, f"row {row.number}: a pair names both files"
            assert row.pairing in pairing.HOW, f"row {row.number}"
        assert row.why, f"row {row.number}: no evidence"


PRECEDENCE = (
    "removed",
    "added",
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


def test_the_primary_of_each_row_follows_the_precedence() -> None:
    for row in ROWS:
        assert row.primary == min(row.categories, key=PRECEDENCE.index), f"row {row.number}"


_reports: dict[tuple[str, str], diffing.DiffReport] = {}
_changed: dict[tuple[str, str], list[str]] = {}


def _report(history: Path, commit: str) -> diffing.DiffReport:
    key = (str(history), commit)
    if key not in _reports:
        _reports[key] = diffing.diff_revisions(repo=history, base=f"{commit}^", head=commit)
    return _reports[key]


def _changed_paths(history: Path, commit: str) -> list[str]:
    key = (str(history), commit)
    if key not in _changed:
        out = subprocess.run(
            ["git", "-C", str(history), "diff", "--name-only", "--no-renames", f"{commit}^", commit, "--"]
            + ["*recordings/*.json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        _changed[key] = out.splitlines()
    return _changed[key]


_SHORT = re.compile(r"^(?P<area>.+)/(?P<stem>models-[0-9a-f]{12}-[0-9a-f]{8}|[0-9a-f]{12})$")


def resolve(history: Path, commit: str, short: str) -> str:
    """The one path of the commit's recording changes that a short name (area/prefix) names."""
    m = _SHORT.match(short)
    assert m, f"not a short name: {short!r}"
    folder = f"tests/integration/{m['area']}/recordings/"
    stem = m["stem"]
    if stem.startswith("models-"):
        _, prefix, digest = stem.split("-")
        found = [
            p
            for p in _changed_paths(history, commit)
            if p.startswith(folder)
            and p[len(folder) :].startswith(f"models-{prefix}")
            and p.endswith(f"-{digest}.json")
            and "/" not in p[len(folder) :]
        ]
    else:
        found = [
            p
            for p in _changed_paths(history, commit)
            if p.startswith(folder) and p[len(folder) :].startswith(stem) and "/" not in p[len(folder) :]
        ]
    assert len(found) == 1, f"{short} names {len(found)} changed files of {commit}: {found}"
    return found[0]


def _what_the_tool_did(report: diffing.DiffReport, paths: set[str]) -> str:
    lines = [
        f"  {d.old_path or '-'} -> {d.new_path or '-'}: pairing={d.pairing!r} categories={list(d.categories)}"
        for d in report.diffs
        if {d.old_path, d.new_path} & paths
    ]
    return "\n".join(lines) or "  (the tool reports neither file)"


def _find(report: diffing.DiffReport, old: str, new: str) -> RecordingDiff | None:
    for d in report.diffs:
        if d.old_path == old and d.new_path == new:
            return d
    return None


@pytest.mark.corpus
@pytest.mark.history
@pytest.mark.parametrize("row", ROWS, ids=[r.label for r in ROWS])
def test_the_tool_agrees_with_the_verdict(history: Path, row: Row) -> None:
    report = _report(history, row.commit)
    old = resolve(history, row.commit, row.old) if row.old else ""
    new = resolve(history, row.commit, row.new) if row.new else ""
    found = _find(report, old, new)
    expected = f"pairing={row.pairing!r} categories={sorted(row.categories)} primary={row.primary!r}"
    assert found is not None, (
        f"row {row.number} ({row.commit}): expected {old or '-'} -> {new or '-'} with {expected}; the tool did:\n"
        + _what_the_tool_did(report, {old, new} - {""})
    )
    got = f"pairing={found.pairing!r} categories={sorted(found.categories)} primary={found.primary!r}"
    assert (found.pairing, set(found.categories), found.primary) == (row.pairing, row.categories, row.primary), (
        f"row {row.number} ({row.commit} {row.old or '-'} -> {row.new or '-'}): expected {expected}, got {got}; "
        f"request fields {list(found.request_fields)}; why: {row.why}"
    )
    if row.partners:
        # A tie: the file stays unpaired and lists its equally good partners.
        partners = {resolve(history, row.commit, p) for p in row.partners}
        listed = set(found.candidates)
        assert found.ambiguous, f"row {row.number}: a tie should be marked ambiguous"
        assert partners <= listed, f"row {row.number}: partners {sorted(partners - listed)} not among {sorted(listed)}"
