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


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work tree of the upstream history, when RECORDER_UI_HISTORY names its bundle (cloned once) or a clone."""
    from recorder_ui.domain import gitsource

    source = os.environ.get("RECORDER_UI_HISTORY")
    if not source:
        pytest.skip("history tests need RECORDER_UI_HISTORY=../shared/corpus/llama-stack-history.bundle (unset here)")
    if not Path(source).exists():
        pytest.fail(f"RECORDER_UI_HISTORY={source} is set but does not exist")
    return gitsource.open_history(Path(source), tmp_path_factory.mktemp("history"))


@pytest.fixture(autouse=True)
def _no_background_refresh(settings, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Page requests in tests must not start the background re-scan thread; tests call it directly. Each test's
    re-index state files go in a folder of its own, away from any other run's."""
    settings.AUTO_REFRESH_SECONDS = 0
    settings.REFRESH_IN_BACKGROUND = False
    settings.REFRESH_STATE_DIR = str(tmp_path_factory.mktemp("refresh-state"))
