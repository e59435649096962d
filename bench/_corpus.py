"""What the benchmarks over the corpus share: the corpus folder from RECORDER_UI_CORPUS, and a scratch folder
that is removed when the benchmark ends, however it ends."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def corpus(bench: str) -> Path | None:
    """The corpus folder, or None (after saying how to give it) when RECORDER_UI_CORPUS names none."""
    found = os.environ.get("RECORDER_UI_CORPUS")
    if not found or not Path(found).is_dir():
        print(f"{bench}: set RECORDER_UI_CORPUS to the corpus folder", file=sys.stderr)
        return None
    return Path(found)


def on_corpus(bench: str, run: Callable[[Path, Path], int]) -> int:
    """A benchmark's main: run(corpus, scratch folder), the folder removed after; 2 without the corpus."""
    found = corpus(bench)
    if found is None:
        return 2
    work = Path(tempfile.mkdtemp(prefix=f"recorder-ui-{bench}-"))
    try:
        return run(found, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
