"""diff_recordings BASE [HEAD] [--repo PATH] [--format text|markdown|json|html] [--output DIR] [--fail-on ...]."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recorder_ui import bundle, diff_render, diffing, presenters
from recorder_ui.domain import diff, gitsource


class Command(BaseCommand):
    help = (
        "Compare the recordings of two git revisions (HEAD defaults to the working tree) and say what really "
        "changed: answers, tool calls, finish reasons, usage, requests, models; noise-only changes are counted "
        "apart. Reads git without changing it. Exits 1 when a category named in --fail-on appears, 2 for an error "
        "(a bad revision, path or option). "
        "--format html --output DIR writes a static review folder (index.html and one page per pair)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("base", help="a revision: a branch, tag or commit")
        parser.add_argument("head", nargs="?", default=gitsource.WORKTREE, help="a revision, or 'worktree' (default)")
        parser.add_argument(
            "--repo", type=Path, help="the git repository (default: the one holding the first configured root)"
        )
        parser.add_argument("--path", default="", help="only recordings under this path inside the repository")
        parser.add_argument("--folders", action="store_true", help="BASE and HEAD are two folders, not revisions")
        parser.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text")
        parser.add_argument(
            "--output", type=Path, help="with --format html: the folder to write (new, empty, or a previous bundle)"
        )
        parser.add_argument("--fail-on", default="", help=f"comma-separated categories: {', '.join(diff.CATEGORIES)}")
        parser.add_argument(
            "--max-chars",
            type=int,
            help="with --format markdown: at most this many characters (GitHub takes a comment of 65,536 at most); "
            "the test files to read first are kept, and what is left out is named",
        )

    def handle(self, *args: object, **options: Any) -> None:
        fail_on = [c.strip() for c in options["fail_on"].split(",") if c.strip()]
        unknown = [c for c in fail_on if c not in diff.CATEGORIES]
        if unknown:
            known = ", ".join(diff.CATEGORIES)
            raise CommandError(f"unknown categories {', '.join(unknown)}; known: {known}", returncode=2)
        if (options["format"] == "html") != (options["output"] is not None):
            raise CommandError("--format html needs --output DIR, and --output is only for --format html", returncode=2)
        if options["max_chars"] is not None and (options["format"] != "markdown" or options["max_chars"] < 2_000):
            raise CommandError("--max-chars is for --format markdown, and 2000 at least", returncode=2)
        if options["format"] == "html":
            report = self._write_bundle(options)
        else:
            report = self._report(options)
            # The text form goes to a terminal or a CI log: no control character of a recording reaches it as is.
            markdown = functools.partial(diff_render.as_markdown, max_chars=options["max_chars"])
            render = {"text": _terminal_text, "markdown": markdown}.get(options["format"])
            self.stdout.write(render(report) if render else diffing.as_json(report).decode())
        failing = [c for c in fail_on if report.summary.counts.get(c)]
        if failing:
            self.stderr.write(f"failing: {', '.join(f'{c} ({report.summary.counts[c]})' for c in failing)}")
            sys.exit(1)

    def _report(self, options: dict[str, Any]) -> diffing.DiffReport:
        try:
            if options["folders"]:
                return diffing.diff_folders(old=Path(options["base"]), new=Path(options["head"]))
            repo = options["repo"] or diffing.default_repo()
            return diffing.diff_revisions(
                repo=repo, base=options["base"], head=options["head"], subpath=options["path"]
            )
        except diffing.DiffError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def _write_bundle(self, options: dict[str, Any]) -> diffing.DiffReport:
        output: Path = options["output"]
        # Never into the folders compared; checked before the diff runs, so a refusal costs nothing.
        protected = (Path(options["base"]), Path(options["head"])) if options["folders"] else ()
        try:
            bundle.check_output(output=output, protected=protected)
            loaded = diffing.load(
                base=options["base"],
                head=options["head"],
                repo=options["repo"],
                subpath=options["path"],
                folders=options["folders"],
            )
            written = bundle.write_bundle(loaded=loaded, output=output, protected=protected)
        except (diffing.DiffError, bundle.BundleError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["verbosity"] >= 1:
            pages = f"{written.pages} pair page{'s' if written.pages != 1 else ''}"
            replaced = "; the previous bundle was replaced" if written.replaced else ""
            self.stdout.write(f"wrote {output / bundle.INDEX} and {pages} ({written.folded} noise-only){replaced}")
        return loaded.report


def _terminal_text(report: diffing.DiffReport) -> str:
    return presenters.terminal_text(diff_render.as_text(report))
