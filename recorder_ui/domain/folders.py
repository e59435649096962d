"""Where replay looks for a recording (format doc 1, 9.3): the recordings/ folder beside the test file its test id
names, then common/recordings/; a call outside any test (a null test id), in common/recordings/ alone."""

from __future__ import annotations

import posixpath

from recorder_ui.domain.model import Recording

COMMON = "tests/integration/common/recordings/"


def for_test(test_id: str | None) -> tuple[str, ...]:
    """The folders replay looks in for a call of this test (None or "": outside any test), in order."""
    if not test_id:
        return (COMMON,)
    folder = posixpath.dirname(test_id.partition("::")[0])
    own = f"{folder}/recordings/" if folder else "recordings/"
    return (own, COMMON) if own != COMMON else (COMMON,)


def in_folders(path: str, folders: tuple[str, ...]) -> bool | None:
    """Is the file (relative to its root) in one of replay's folders? None when that cannot be told: the test is
    unknown, or the root is the recordings folder itself. A root may sit above or inside a checkout, so the
    folders are matched at their ends."""
    folder = posixpath.dirname(path).strip("/")
    if not folders or not folder:
        return None
    where = f"/{folder}/"
    return any(where.endswith(f"/{f}") or f"/{f}".endswith(where) for f in folders)


def elsewhere(rec: Recording) -> str:
    """A file outside the folders replay looks in for its test, in words ("" when it is in one, or when that
    cannot be told)."""
    looked_in = for_test(rec.test_id)
    if in_folders(rec.path, looked_in) is not False:
        return ""
    return (
        f"but only in {' and '.join(looked_in)}: it does not open this file where it is (unless "
        "the recorder's folder is set elsewhere, OGX_TEST_RECORDING_DIR). Move it there, or delete it."
    )
