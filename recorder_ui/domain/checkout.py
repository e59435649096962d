"""The recorder of the checkout a recordings folder belongs to: which rule its replay hashes requests by.

A team's catalog holds release branches and old pull requests as well as main. A checkout's own replay opens the
names its own recorder gives, so a file's reachability is judged by that recorder when the checkout holds one
(`src/<package>/testing/api_recorder.py`, or `<package>/testing/api_recorder.py` in older layouts), and by today's
recorder otherwise (a folder of recordings copied out of any checkout). Only read: nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recorder_ui.domain import replay

MAX_SOURCE_BYTES = 2_000_000  # the recorder is some 60 KB; anything far larger is not it
MAX_LEVELS = 8  # folders looked in above the root, at most: a root sits at most a few folders inside its checkout


@dataclass(frozen=True, slots=True)
class CheckoutRecorder:
    recorder: str  # one of replay.RECORDERS
    source: str  # the recorder file, relative to the checkout's top; "" when the folder's checkout holds none

    def describe(self) -> str:
        """In words, for a page or a command's report."""
        if not self.source:
            return "today's recorder (the folder's checkout holds no recorder of its own)"
        if self.recorder == replay.BEFORE_FILE_SEARCH:
            return f"the checkout's own recorder ({self.source}), which hashes as before 2026-04-09"
        return f"the checkout's own recorder ({self.source}), which hashes as today's"


def find(folder: Path) -> CheckoutRecorder:
    """The recorder of the checkout folder is in: looked for from folder up to the checkout's top (the first
    folder holding `.git` or `tests/integration`), at most MAX_LEVELS up. Never raises."""
    try:
        here = folder.resolve()
    except (OSError, RuntimeError):
        return CheckoutRecorder(replay.TODAY, "")
    for top in [here, *here.parents][:MAX_LEVELS]:
        try:
            candidates = [
                *sorted(top.glob("src/*/testing/api_recorder.py")),
                *sorted(top.glob("*/testing/api_recorder.py")),
            ]
            for candidate in candidates:
                if (found := _read(candidate)) is not None:
                    return CheckoutRecorder(replay.recorder_of(found), candidate.relative_to(top).as_posix())
            if (top / ".git").exists() or (top / "tests" / "integration").is_dir():
                break
        except (OSError, ValueError):
            break
    return CheckoutRecorder(replay.TODAY, "")


def _read(path: Path) -> str | None:
    """The recorder's source, when path is a regular file of a sane size that holds the recorder's hashing."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text if "_normalize_body_for_hash" in text else None
