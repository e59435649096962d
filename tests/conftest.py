"""Shared fixtures: tiny hand-made data, and the real corpus when RECORDER_UI_CORPUS points at it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parent.parent / "recordings"


@pytest.fixture
def data_dir() -> Path:
    """The hand-made recordings under tests/data/."""
    return DATA


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real llama-stack recordings, when RECORDER_UI_CORPUS points at them."""
    root = os.environ.get("RECORDER_UI_CORPUS")
    if not root:
        pytest.skip("corpus tests need RECORDER_UI_CORPUS=../shared/corpus/llama-stack (unset here)")
    path = Path(root)
    if not path.is_dir():
        pytest.fail(f"RECORDER_UI_CORPUS={root} is set but is not a folder")
    return path


@pytest.fixture(autouse=True)
def _no_background_refresh(settings):  # type: ignore[no-untyped-def]
    """Page requests in tests must not start the background re-scan thread; tests call it directly."""
    settings.AUTO_REFRESH_SECONDS = 0
    settings.REFRESH_IN_BACKGROUND = False
