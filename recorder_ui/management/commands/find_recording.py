"""find_recording HASH | - | --log FILE [--format text|json]: the recording a replay miss wanted, from the index.

Exit status: 0 when every miss resolved to a file (a recording in the index carries its key), 1 when some miss
has no recording (then the candidates are listed), 2 for input that holds no hash and no miss message, 3 when the
index database cannot be read (never migrated, or unreachable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from recorder_ui import presenters, selectors
from recorder_ui.domain import jsontext, miss_report, misses
from recorder_ui.indexer.ready import index_problem


class Command(BaseCommand):
    help = (
        "Find the recording a replay miss wanted: give a hash (64 hex digits, or a prefix of at least 8), or a "
        "CI log with the recorder's 'Recording not found' messages on stdin (-) or from --log FILE. Uses the "
        "index (run index_recordings first). Exits 0 when every miss resolved to a file, 1 when some miss has "
        "no recording, 2 for bad input."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query", nargs="?", help="a hash or prefix, or - to read a log from stdin")
        parser.add_argument("--log", type=Path, help="read the log from this file")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: object, **options: Any) -> None:
        text = self._input(options)
        if problem := index_problem():
            raise CommandError(problem, returncode=3)
        try:
            report = selectors.find_misses(text=text)
        except DatabaseError as exc:  # the database itself failed: one line, no traceback
            raise CommandError(f"the index database failed: {str(exc).strip()[:300]}", returncode=3) from exc
        if report.error:
            raise CommandError(report.error, returncode=2)
        if options["format"] == "json":
            self.stdout.write(jsontext.dumps(report, option=orjson.OPT_INDENT_2, default=str).decode())
        else:
            self.stdout.write(presenters.terminal_text(miss_report.as_text(report)), ending="")
        if report.index_empty:
            self.stderr.write("the index is empty: run `python manage.py index_recordings` first")
        if report.unresolved:
            self.stderr.write(f"{report.unresolved} of {len(report.misses)} misses have no recording")
            sys.exit(1)

    def _input(self, options: dict[str, Any]) -> str:
        query, log = options["query"], options["log"]
        if log is not None and query not in (None, ""):
            raise CommandError("give a hash, - or --log FILE, not two of them", returncode=2)
        limit = misses.MAX_INPUT_CHARS * 4 + 4  # bytes: enough for the characters parse() reads, and one more
        if log is not None:
            try:
                with log.open("rb") as handle:
                    return handle.read(limit).decode("utf-8", "replace")
            except OSError as exc:
                raise CommandError(f"cannot read {log}: {exc.strerror or exc}", returncode=2) from None
        if query == "-":
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:  # a text stream put in place of stdin (tests do)
                return str(sys.stdin.read(limit))
            return bytes(stream.read(limit)).decode("utf-8", "replace")
        if not query:
            raise CommandError("give a hash (or a prefix of at least 8 hex digits), - for a log on stdin, "
                               "or --log FILE", returncode=2)  # fmt: skip
        return str(query)
