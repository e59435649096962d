"""show_recording FILE [--format text|json]: one recording, reassembled."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recorder_ui import presenters
from recorder_ui.domain import checkout, jsontext, loader, paths
from recorder_ui.domain.model import Kind


class Command(BaseCommand):
    help = "Print one recording reassembled: its streamed chunks joined into full messages, tool calls and usage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: object, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        recorder = checkout.find(path.parent).recorder  # its checkout's recorder says which name replay opens
        rec = loader.load(path, name=paths.escape(str(path)), max_bytes=settings.MAX_RECORDING_BYTES, recorder=recorder)
        data = presenters.recording_summary(rec)
        if options["format"] == "json":
            self.stdout.write(jsontext.dumps(data, option=orjson.OPT_INDENT_2).decode())
        else:
            self.stdout.write(presenters.terminal_text(presenters.recording_text(data)))
        if rec.kind == Kind.INVALID:  # shown, error and all; the status tells a script it is no recording
            sys.exit(1)
