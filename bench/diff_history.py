"""Diff every commit of the upstream history against its parent: the changes, the categories and the time.

RECORDER_UI_HISTORY names the history: the git bundle (`../shared/corpus/llama-stack-history.bundle`, cloned
into a temporary folder here) or a clone of it. No commit may crash the diff: a failure is printed and makes
the exit status 1. Run with `make bench`, or alone: `python bench/diff_history.py [--limit N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the newest N commits")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_ui.settings")
    import django

    django.setup()
    from recorder_ui import diffing
    from recorder_ui.domain import gitsource

    source = os.environ.get("RECORDER_UI_HISTORY")
    if not source:
        print("diff_history: set RECORDER_UI_HISTORY to the history bundle (or a clone of it)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="recorder-ui-history-"))
    try:
        repo = gitsource.open_history(Path(source), work)
        commits = gitsource.history(repo)
        if args.limit:
            commits = commits[: args.limit]
        failures = 0
        totals: Counter[str] = Counter()
        primaries: Counter[str] = Counter()
        slowest = (0.0, "")
        started_all = time.perf_counter()
        for commit, parent, subject in commits:
            if not parent:
                print(f"{commit[:9]}  (root commit: no parent to diff against)")
                continue
            started = time.perf_counter()
            try:
                report = diffing.diff_revisions(repo=repo, base=parent, head=commit)
            except Exception as exc:  # noqa: BLE001 - the bench reports every failure and goes on
                failures += 1
                print(f"{commit[:9]}  FAILED: {type(exc).__name__}: {exc}")
                continue
            took = time.perf_counter() - started
            slowest = max(slowest, (took, commit[:9]))
            totals.update(report.summary.counts)
            primaries.update(d.primary for d in report.diffs)
            if report.diffs:
                counts = ", ".join(f"{k} {v}" for k, v in report.summary.counts.items())
                print(f"{commit[:9]}  {len(report.diffs):4d} pairs  {took:6.2f} s  {counts}  | {subject[:60]}")
        elapsed = time.perf_counter() - started_all
        print()
        print(
            f"{len(commits)} commits in {elapsed:.1f} s; slowest {slowest[1]} {slowest[0]:.2f} s; failures {failures}"
        )
        print("categories:", ", ".join(f"{k} {v}" for k, v in totals.most_common()))
        print("primary:   ", ", ".join(f"{k} {v}" for k, v in primaries.most_common()))
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
