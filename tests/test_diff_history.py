"""Every commit of the upstream history diffed against its parent, as bench/diff_history.py does: no crash, and
every report renders in every format with verdicts that hold together."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from recorder_ui import diff_render, diffing
from recorder_ui.domain import diff, gitsource

pytestmark = [pytest.mark.corpus, pytest.mark.history]


def test_every_commit_diffs_and_renders(history: Path) -> None:
    commits = [(c, p) for c, p, _ in gitsource.history(history) if p]
    assert len(commits) >= 100  # the bundle holds 104 commits, one of them the root
    seen: set[str] = set()
    pairings: set[str] = set()
    for commit, parent in commits:
        report = diffing.diff_revisions(repo=history, base=parent, head=commit)
        changed = {c.path for c in gitsource.changes(history, base=parent, head=commit)}
        sides = {d.old_path for d in report.diffs} | {d.new_path for d in report.diffs}
        assert sides - {""} == changed, commit  # every changed recording is in exactly the report
        data = orjson.loads(diffing.as_json(report))
        for d, row in zip(report.diffs, data["recordings"], strict=True):
            assert row["primary"] == d.primary == min(d.categories, key=diff.PRECEDENCE.index)
            assert ("noise-only" in d.categories) == (d.categories == ("noise-only",))
            assert bool(d.old_path and d.new_path) == bool(d.pairing), commit
            seen.update(d.categories)
            pairings.add(d.pairing)
        assert diff_render.as_text(report) and diff_render.as_markdown(report)
    assert {"added", "removed", "request-changed", "content-changed", "usage-added"} <= seen
    assert {"same path", "test renamed", ""} <= pairings
