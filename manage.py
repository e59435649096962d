#!/usr/bin/env python
"""Django's command-line utility for recorder-ui."""

import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036 - a clear one-line error beats a SyntaxError deep in Django
        found = ".".join(map(str, sys.version_info[:2]))
        sys.exit(f"recorder-ui needs Python 3.12 or newer (found {found}): install python3.12 and run `make run`.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_ui.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
