"""A new root's files whose path and bytes another root's row has: the row's values are copied, not parsed.

What a copy gives must be what a parse of the file gives, column for column; only rows today's code wrote are
copied; a row that changed or went between the look-up and the copy is parsed instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recorder_ui import indexer, selectors
from recorder_ui.indexer import copies, pool, writer
from recorder_ui.indexer.values import parser_version
from recorder_ui.models import RecordingEntry
from tests.builders import stream_recording, write
from tests.recount import differences

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "recordings"
COLUMNS = ("path", "size", "mtime_ns", "sha256", *copies.parsed_columns())


def _checkouts(tmp_path: Path) -> tuple[Path, Path]:
    """main (the samples: every shape, an unreadable file among them) and a pull request's checkout of it: one
    file changed, one added, and one file of main's under another name."""
    main = tmp_path / "main"
    shutil.copytree(SAMPLES, main)
    write(main, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_a", text="Kept"))
    write(main, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_c", text="Glacier"))
    pr = tmp_path / "pr"
    shutil.copytree(main, pr)  # copytree keeps the mtimes: equal stamps too
    files = sorted(p for p in pr.rglob("*.json") if _readable(p))
    changed = next(p for p in files if b"Kept" in p.read_bytes())
    changed.write_text(
        json.dumps(stream_recording(test_id="tests/integration/inference/test_s.py::test_a", text="Fjordland"))
    )
    write(pr, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_b", text="New"))
    shutil.copy2(files[0], files[0].with_name("renamed-" + files[0].name))
    return main, pr


def _found(word: str) -> list[str]:
    """The roots of the rows a search of the list finds."""
    pks = [row["pk"] for row in selectors.recording_page(params={"q": word}).rows]
    return sorted(RecordingEntry.objects.filter(pk__in=pks).values_list("root__name", flat=True))


def _readable(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_bytes()), dict)
    except ValueError:
        return False


def _rows(name: str) -> list[tuple[object, ...]]:
    return list(RecordingEntry.objects.filter(root__name=name).order_by("path").values_list(*COLUMNS))


@pytest.fixture
def copy_small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "COPY_MIN_FILES", 1)


@pytest.mark.django_db
@pytest.mark.usefixtures("copy_small_runs")
def test_a_second_checkout_copies_what_a_parse_would_give(tmp_path: Path) -> None:
    main, pr = _checkouts(tmp_path)
    first = indexer.index_recordings(root=main, name="main")
    assert first.copied == 0 and first.failed  # nothing to copy from; the samples hold an unreadable file
    report = indexer.index_recordings(root=pr, name="pr")
    files = len(list(pr.rglob("*.json")))
    # All but the changed, the new and the renamed file; the unreadable file's row is copied too, with its error.
    assert report.added == files and report.copied == files - 3
    assert report.failed == first.failed  # the copied row's error, as the parse gave it
    assert differences() == []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writer, "COPY_MIN_FILES", 10**9)
        parsed = indexer.index_recordings(root=pr, name="pr-parsed")
    assert parsed.copied == 0
    assert _rows("pr") == _rows("pr-parsed")
    assert set(RecordingEntry.objects.values_list("parsed_by", flat=True)) == {parser_version()}
    # The copied rows are in the text index like parsed ones, and the changed file's row has its own text.
    assert _found("glacier") == ["main", "pr", "pr-parsed"]
    assert _found("kept") == ["main"] and _found("fjordland") == ["pr", "pr-parsed"]
    # Nothing changed: nothing read, nothing copied.
    again = indexer.index_recordings(root=pr, name="pr")
    assert not again.changed and again.copied == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("copy_small_runs")
def test_rows_other_code_wrote_are_never_copied(tmp_path: Path) -> None:
    main, pr = _checkouts(tmp_path)
    indexer.index_recordings(root=main, name="main")
    RecordingEntry.objects.update(parsed_by="0" * 16)  # as an older version of the parser left them
    report = indexer.index_recordings(root=pr, name="pr")
    assert report.copied == 0 and report.added == len(list(pr.rglob("*.json")))
    assert set(RecordingEntry.objects.filter(root__name="pr").values_list("parsed_by", flat=True)) == {parser_version()}
    # A full run parses every file again, whatever other roots hold.
    RecordingEntry.objects.filter(root__name="main").update(parsed_by=parser_version())
    assert indexer.index_recordings(root=pr, name="pr", full=True).copied == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("copy_small_runs")
def test_a_row_that_changed_since_the_look_up_is_parsed_instead(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another run may change or drop the row between the look-up and the copy: the copy checks the row is
    still the file's (its path, bytes and code) and parses the file itself otherwise."""
    main, pr = _checkouts(tmp_path)
    indexer.index_recordings(root=main, name="main")
    looked_up = writer.rows_elsewhere

    def then_changed(existing, rels, recorder):  # type: ignore[no-untyped-def]
        found = looked_up(existing, rels, recorder)
        victims = sorted(found)[:3]
        RecordingEntry.objects.filter(path=victims[0]).update(sha256="f" * 64)  # re-recorded meanwhile
        RecordingEntry.objects.filter(path=victims[1]).delete()  # its root dropped meanwhile
        RecordingEntry.objects.filter(path=victims[2]).update(parsed_by="")  # written by other code meanwhile
        return found

    monkeypatch.setattr(writer, "rows_elsewhere", then_changed)
    report = indexer.index_recordings(root=pr, name="pr")
    assert report.copied == len(list(pr.rglob("*.json"))) - 3 - 3
    monkeypatch.setattr(writer, "COPY_MIN_FILES", 10**9)
    indexer.index_recordings(root=pr, name="pr-parsed")
    assert _rows("pr") == _rows("pr-parsed")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("copy_small_runs")
def test_worker_processes_copy_too(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pool, "PARALLEL_MIN_FILES", 5)
    monkeypatch.setattr(writer, "INSERT_BATCH", 4)  # several batches of copies while the workers go on
    main, pr = _checkouts(tmp_path)
    indexer.index_recordings(root=main, name="main", jobs=2)
    report = indexer.index_recordings(root=pr, name="pr", jobs=2)
    assert report.copied == len(list(pr.rglob("*.json"))) - 3
    monkeypatch.setattr(writer, "COPY_MIN_FILES", 10**9)
    indexer.index_recordings(root=pr, name="pr-parsed", jobs=2)
    assert _rows("pr") == _rows("pr-parsed")
    assert differences() == []


@pytest.mark.django_db
def test_a_run_that_only_adds_rows_adds_their_counts_to_the_tests(tmp_path: Path) -> None:
    """A new root's run, or one that finds only new files, adds to the tests' counts instead of counting them
    again over every root: the counts must be what a recount gives, for tests old and new."""
    main, pr = _checkouts(tmp_path)
    indexer.index_recordings(root=main, name="main")
    assert differences() == []
    indexer.index_recordings(root=pr, name="pr")  # a new root: every test of main gains its rows
    assert differences() == []
    write(main, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_a", text="More"))
    write(main, "inference", stream_recording(test_id="tests/integration/inference/test_s.py::test_z", usage=False))
    report = indexer.index_recordings(root=main, name="main")
    assert (report.added, report.updated, report.removed) == (2, 0, 0)
    assert differences() == []
