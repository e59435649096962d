"""Run recorder-ui's file commands on many files in one process, as the command line would (a test helper).

Usage: python -m tests.run_commands HEX_PATH...  (each path's bytes in hex, so any name gets through)
Each command's output goes to stdout; a CommandError is printed as "clear error: ..." on stderr, like
manage.py does; anything else propagates as a traceback, which the calling test looks for.
"""

from __future__ import annotations

import os
import sys

import django
from django.core.management import CommandError, call_command

COMMANDS = (["show_recording"], ["show_recording", "--format", "json"], ["check_recordings", "--format", "json"])


def main(hex_paths: list[str]) -> None:
    django.setup()
    for hex_path in hex_paths:
        name = os.fsdecode(bytes.fromhex(hex_path))
        for command, *options in COMMANDS:
            try:
                call_command(command, name, *options)
            except SystemExit:  # check_recordings --fail-on: not used here, but a normal exit
                pass
            except CommandError as exc:
                print(f"clear error: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
