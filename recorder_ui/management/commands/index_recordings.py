"""index_recordings [PATH] [--name NAME] [--full]: bring the index in line with the recording files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from recorder_ui import indexer, presenters
from recorder_ui.domain import paths
from recorder_ui.indexer.ready import index_problem
from recorder_ui.models import Root


class Command(BaseCommand):
    help = (
        "Index recording files incrementally: new, changed and deleted files are found by size, mtime and ctime; "
        "unchanged files are not read again. Without PATH, every configured root (RECORDINGS_DIR or "
        "RECORDER_UI_ROOTS) is indexed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="a recordings folder or a llama-stack checkout")
        parser.add_argument("--name", help="the root's name in the catalog (default: the folder name)")
        parser.add_argument("--full", action="store_true", help="re-read every file, changed or not")
        parser.add_argument(
            "--jobs", type=int, default=indexer.default_jobs(), help="worker processes for parsing (default: cores)"
        )
        parser.add_argument("--drop", metavar="NAME", help="forget a root and its rows (files are untouched)")

    def handle(self, *args: object, **options: Any) -> None:
        if problem := index_problem():
            raise CommandError(problem)
        if options["drop"]:
            folder = Root.objects.filter(name=options["drop"]).values_list("path", flat=True).first()
            if not indexer.drop_root(name=options["drop"]):
                raise CommandError(f"no root named {options['drop']!r}")
            self.stdout.write(f"dropped root {options['drop']}")
            try:
                configured = [(name, paths.escape(str(path.resolve()))) for name, path in indexer.configured_roots()]
            except indexer.RootError:
                configured = []
            if any(name == options["drop"] or path == folder for name, path in configured):
                self.stderr.write(
                    f"note: {options['drop']} is still a root of the settings (RECORDER_UI_ROOTS or RECORDINGS_DIR), "
                    "so the next index run, scheduled or from a server that still has it, indexes it again: remove "
                    "it there and restart the server first."
                )
            return
        verbosity = options["verbosity"]
        missing: list[str] = []  # configured roots that are no folder: said at the end, the others indexed
        progress = _Bar(self.stderr) if verbosity >= 1 and sys.stderr.isatty() else None
        try:
            if options["path"] is not None:
                reports = [
                    indexer.index_recordings(
                        root=options["path"],
                        name=options["name"],
                        full=options["full"],
                        progress=progress,
                        jobs=options["jobs"],
                    )
                ]
            else:
                reports = indexer.index_configured_roots(
                    full=options["full"], progress=progress, jobs=options["jobs"], missing=missing
                )
        except indexer.RootError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:  # the database itself failed: one line, no traceback
            raise CommandError(f"the index database failed: {indexer.one_line(exc)}") from exc
        if progress:
            progress.done()
        if verbosity < 1:
            if missing:
                raise CommandError("; ".join(presenters.terminal_text(line) for line in missing))
            return
        for report in reports:
            self.stdout.write(
                f"{report.root} ({report.path}): {report.added} added"
                + (f" ({report.copied} of them copied from other roots' identical files)" if report.copied else "")
                + f", {report.updated} updated, "
                f"{report.removed} removed, {report.unchanged} unchanged in {report.seconds:.2f} s"
                # Counted among the added and updated: indexed with their error (the Errors page lists them).
                 + (f"; {len(report.failed)} of the files read are not readable recordings" if report.failed else "")
            )
            if report.judged_by and verbosity >= 2:
                self.stdout.write(f"  replay judged by {report.judged_by}")
            for failure in report.failed[: 20 if verbosity < 2 else None]:
                self.stdout.write(f"  unreadable: {failure.path}: {presenters.terminal_text(failure.error)}")
            if len(report.failed) > 20 and verbosity < 2:
                self.stdout.write(f"  ... and {len(report.failed) - 20} more (-v 2 lists all)")
            for skip in report.skipped:
                self.stdout.write(f"  skipped: {skip.path}: {presenters.terminal_text(skip.error)}")
        if missing:  # after the other roots' lines, and failing the run, so a scheduled re-index is noticed
            raise CommandError("; ".join(presenters.terminal_text(line) for line in missing))


class _Bar:
    """A one-line progress bar for a terminal."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, number: int, total: int) -> None:
        if total < 50 or (number % 25 and number != total):
            return
        width = 30
        filled = width * number // total
        self.stream.write(f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {number}/{total}", ending="")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("")
