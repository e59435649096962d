"""Run the domain checks over a folder of recording files, straight from disk (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder_ui import presenters
from recorder_ui.domain import checkout, checks, lifecycle, loader, paths, replay
from recorder_ui.domain.model import Kind
from recorder_ui.indexer import scan


@dataclass(frozen=True, slots=True)
class LintFinding:
    path: str
    rule: str
    test_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class LintReport:
    files: int
    errors: tuple[tuple[str, str], ...]  # (path, error) of files that are not readable recordings
    findings: tuple[LintFinding, ...]
    summary: dict[str, int]
    judged_by: str = ""  # whose recorder judged which names replay opens, in words

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "judged_by": self.judged_by,
            "errors": [{"path": path, "error": error} for path, error in self.errors],
            "findings": [
                {"path": f.path, "rule": f.rule, "test_id": f.test_id, "message": f.message} for f in self.findings
            ],
            "summary": self.summary,
        }

    def as_text(self) -> str:
        lines = [f"{f.path}: {f.rule}: {presenters.one_line(f.message)}" for f in self.findings]
        counts = ", ".join(f"{rule} {count}" for rule, count in self.summary.items() if count) or "no findings"
        lines.append(f"{self.files} files checked: {counts}")
        if self.judged_by:
            lines.append(f"replay judged by {self.judged_by}")
        return "\n".join(lines)


def check_path(*, path: Path, max_bytes: int, checkout_from: Path | None = None) -> LintReport:
    """Lint one file, or every recording under a folder; checkout_from, when given, is the checkout whose recorder
    judges reachability (path being a copy of some of its files), else the one holding path."""
    if path.is_file():
        base = path.parent
        names = [paths.escape(path.name)]
    else:
        base = path
        names = sorted(scan(path).files)  # escaped: a name need not be UTF-8
    errors: list[tuple[str, str]] = []
    findings: list[LintFinding] = []
    summary = dict.fromkeys(checks.ALL_RULES, 0)
    candidates: list[lifecycle.Candidate] = []
    statuses: dict[str, str] = {}
    test_ids: dict[str, str | None] = {}
    # The checkout's own recorder judges reachability, when it has one.
    judge = checkout.find(checkout_from if checkout_from is not None else base)
    recorder = judge.recorder
    for name in names:
        rec = loader.load(base / paths.unescape(name), name=name, max_bytes=max_bytes, recorder=recorder)
        if rec.kind == Kind.INVALID:
            errors.append((name, rec.error))
        for finding in checks.run(rec):
            findings.append(LintFinding(name, finding.rule, rec.test_id, finding.message))
        if (candidate := lifecycle.candidate(rec)) is not None:
            candidates.append(candidate)
            test_ids[name] = rec.test_id
        statuses[name] = replay.key_for(rec).status
    superseded = lifecycle.superseded(candidates)
    for path, item in sorted(superseded.items()):
        findings.append(LintFinding(path, "superseded", test_ids.get(path), lifecycle.describe(item)))
    findings = [_with_fate(f, statuses, superseded) for f in findings]
    findings.sort(key=lambda f: (f.path, f.rule))
    for finding in findings:
        summary[finding.rule] = summary.get(finding.rule, 0) + 1
    return LintReport(len(names), tuple(errors), tuple(findings), summary, judged_by=judge.describe())


def _with_fate(
    finding: LintFinding, statuses: dict[str, str], superseded: dict[str, lifecycle.Superseded]
) -> LintFinding:
    """A missing-usage finding led by what to do: delete a file replay never serves, or fix the code."""
    if finding.rule != "missing-usage":
        return finding
    item = superseded.get(finding.path)
    fate = lifecycle.usage_fate(replay_status=statuses.get(finding.path, ""), superseded_by=item)
    message = lifecycle.fate_message(fate, item, finding.message)
    return LintFinding(finding.path, finding.rule, finding.test_id, message)
