"""The no-change re-scan: a process keeps each root's (size, mtime_ns, ctime_ns) stamps by generation, so a re-scan that
finds nothing changed reads no row, and any run that writes rows (this process's or another's) is noticed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recorder_ui import indexer
from recorder_ui.indexer import writer
from recorder_ui.models import RecordingEntry, Root
from tests.builders import stream_recording, write

pytestmark = pytest.mark.django_db

TEST_ID = "tests/integration/inference/test_chat.py::test_stream[txt=openai/gpt-4o-mini]"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    write(root, "inference", stream_recording(test_id=TEST_ID, text="Paris is the capital."))
    write(root, "inference", stream_recording(test_id=TEST_ID, text="Lisbon is the capital."))
    return root


def _row_reads(queries: CaptureQueriesContext) -> list[str]:
    table = RecordingEntry._meta.db_table
    return [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def test_a_second_no_change_rescan_reads_no_row(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    assert not indexer.index_recordings(root=tree, name="main").changed  # reads the stamps once
    with CaptureQueriesContext(connection) as queries:
        again = indexer.index_recordings(root=tree, name="main")
    assert not again.changed and again.unchanged == 2
    assert _row_reads(queries) == []


def test_a_changed_file_is_noticed_after_kept_stamps(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    indexer.index_recordings(root=tree, name="main")
    target = sorted(tree.rglob("*.json"))[0]
    target.write_text(target.read_text() + "\n")
    assert indexer.index_recordings(root=tree, name="main").updated == 1
    assert not indexer.index_recordings(root=tree, name="main").changed


def test_rows_written_by_another_run_are_not_hidden_by_kept_stamps(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    indexer.index_recordings(root=tree, name="main")  # stamps kept for this generation
    # Another process's run wrote the rows (here: as if it had indexed an older state of the file): a new
    # generation, which the kept stamps do not match.
    row = RecordingEntry.objects.order_by("path").first()
    assert row is not None
    RecordingEntry.objects.filter(pk=row.pk).update(mtime_ns=1)
    Root.objects.filter(name="main").update(generation=12345)
    indexer.index_recordings(root=tree, name="main")  # same bytes: the row's stamp is put right, not parsed again
    assert RecordingEntry.objects.get(pk=row.pk).mtime_ns == os.stat(tree / row.path).st_mtime_ns


def test_kept_stamps_are_per_database_and_root(tree: Path) -> None:
    indexer.index_recordings(root=tree, name="main")
    indexer.index_recordings(root=tree, name="main")
    root = Root.objects.get(name="main")
    key = (str(connection.settings_dict["NAME"]), root.pk)
    generation, stamps = writer._stamps[key]
    assert generation == root.generation and len(stamps) == 2


def test_after_migration_0022_the_next_run_parses_every_chat_recording_once_more(tmp_path: Path) -> None:
    """Chat rows written before a request key counted images and names get their file parsed again by the next
    run, and no other row; the run after is a no-change re-scan."""
    import importlib

    from django.apps import apps

    for text in ("One.", "Two."):
        write(tmp_path, "inference", stream_recording(test_id=None, text=text))
    write(tmp_path, "inference", "{not json", name="broken.json")
    indexer.index_recordings(root=tmp_path, name="main")
    before = dict(RecordingEntry.objects.values_list("path", "sha256"))
    migration = importlib.import_module("recorder_ui.migrations.0022_chat_request_keys_again")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.parse_chats_again(apps, editor)
    assert RecordingEntry.objects.filter(sha256="").count() == 2
    again = indexer.index_recordings(root=tmp_path, name="main")
    assert (again.updated, again.unchanged) == (2, 1)
    assert dict(RecordingEntry.objects.values_list("path", "sha256")) == before
    assert not indexer.index_recordings(root=tmp_path, name="main").changed


def test_rows_an_older_version_judged_none_are_parsed_again_after_the_upgrade(tmp_path: Path) -> None:
    """Migration 0026: a name that is no hash is a name mismatch now; a row written as "none" before is parsed
    again by the next run, though its file did not change."""
    import importlib
    import types

    from django.apps import apps

    write(
        tmp_path,
        "inference",
        stream_recording(test_id="tests/integration/inference/test_a.py::test_a"),
        name="mine.json",
    )
    indexer.index_recordings(root=tmp_path, name="up")
    RecordingEntry.objects.update(replay_status="none")  # as the code before wrote it
    migration = importlib.import_module("recorder_ui.migrations.0026_hashless_names_again")
    migration.parse_hashless_again(apps, types.SimpleNamespace(connection=types.SimpleNamespace(alias="default")))
    report = indexer.index_recordings(root=tmp_path, name="up")
    assert report.updated == 1 and RecordingEntry.objects.get().replay_status == "mismatch"
