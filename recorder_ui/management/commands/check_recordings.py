"""check_recordings [PATH] [--format text|json] [--fail-on RULE,...] [--checkout DIR]: a lint for recordings, for CI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recorder_ui import linting, presenters
from recorder_ui.domain import checks, jsontext


class Command(BaseCommand):
    help = (
        "Check recording files (no index needed): missing usage on streams, tool arguments that are not JSON, "
        "files that do not parse, recorded exceptions and HTTP errors, files replay can never reach (unreachable), "
        "names that do not match their request (name-mismatch), and variants a newer one supersedes "
        "(superseded). Exits 1 when a rule named in --fail-on has findings."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", nargs="?", type=Path, help="a folder, a checkout or one file (default RECORDINGS_DIR)"
        )
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument("--fail-on", default="", help=f"comma-separated rules: {', '.join(checks.ALL_RULES)}")
        parser.add_argument(
            "--checkout",
            type=Path,
            help="the checkout whose recorder judges which names replay opens (default: the one holding PATH); "
            "give it when PATH is a copy of some of its files, such as a pull request's changed recordings",
        )

    def handle(self, *args: object, **options: Any) -> None:
        path: Path = options["path"] or Path(settings.RECORDINGS_DIR)
        fail_on = [rule.strip() for rule in options["fail_on"].split(",") if rule.strip()]
        unknown = [rule for rule in fail_on if rule not in checks.ALL_RULES]
        if unknown:
            raise CommandError(
                f"unknown rule(s) {', '.join(unknown)}; known rules: {', '.join(checks.ALL_RULES)}", returncode=2
            )
        if not path.exists():
            raise CommandError(f"{path} does not exist", returncode=2)
        judge: Path | None = options["checkout"]
        if judge is not None and not judge.is_dir():
            raise CommandError(f"--checkout {judge} is not a folder", returncode=2)
        report = linting.check_path(path=path, max_bytes=settings.MAX_RECORDING_BYTES, checkout_from=judge)
        if options["format"] == "json":
            self.stdout.write(jsontext.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
        else:
            self.stdout.write(presenters.terminal_text(report.as_text()))
        failing = [rule for rule in fail_on if report.summary.get(rule)]
        if failing:
            self.stderr.write(f"failing: {', '.join(f'{rule} ({report.summary[rule]})' for rule in failing)}")
            sys.exit(1)
