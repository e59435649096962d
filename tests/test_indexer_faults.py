"""Faults while indexing: files changing under the indexer, a lost database, two runs at once."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from recorder_ui import indexer
from recorder_ui.indexer import files as indexer_files
from recorder_ui.indexer import pool, writer
from recorder_ui.models import RecordingEntry, Root
from tests import hostile
from tests.builders import stream_recording, write

ROOT = Path(__file__).resolve().parent.parent


def _tree(tmp_path: Path, count: int = 12) -> Path:
    root = tmp_path / "checkout"
    for n in range(count):
        write(
            root,
            "inference",
            stream_recording(test_id=f"tests/integration/inference/test_a.py::test_{n}", text=f"answer {n}"),
        )
    return root


@pytest.mark.django_db
def test_files_changed_truncated_or_deleted_while_indexing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path)
    files = sorted(root.rglob("*.json"))
    real = pool._parse_file
    calls = {"n": 0}

    def meddle(real_root: Path, rel: str, limit: int, *rest):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            files[5].unlink()  # deleted after the scan saw it
            files[6].write_text(files[6].read_text()[:100])  # truncated after the scan
            files[7].write_text(json.dumps(stream_recording(test_id="tests/x.py::test_changed", text="rewritten")))
        return real(real_root, rel, limit, *rest)

    monkeypatch.setattr(pool, "_parse_file", meddle)
    report = indexer.index_recordings(root=root, name="r")
    assert report.added == 11  # the deleted file is not indexed
    assert [f.path for f in report.failed] == [files[6].relative_to(root).as_posix()]
    monkeypatch.setattr(pool, "_parse_file", real)
    again = indexer.index_recordings(root=root, name="r")  # the next run sees the new sizes and mtimes
    assert again.removed == 0 and RecordingEntry.objects.filter(test_id="tests/x.py::test_changed").exists()
    assert RecordingEntry.objects.count() == 11


def _meddle_once(monkeypatch: pytest.MonkeyPatch, action):  # type: ignore[no-untyped-def]
    """Run action once, in the middle of the parse: after the scan, before the first file is read."""
    real = pool._parse_file
    done = []

    def meddle(real_root: Path, rel: str, limit: int, *rest):  # type: ignore[no-untyped-def]
        if not done:
            done.append(rel)
            action()
        return real(real_root, rel, limit, *rest)

    monkeypatch.setattr(pool, "_parse_file", meddle)


@pytest.mark.django_db
def test_a_file_swapped_for_a_symlink_out_of_the_root_mid_run_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path)
    victim = sorted(root.rglob("*.json"))[3]
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(stream_recording(test_id="tests/x.py::test_secret", text=hostile.SECRET)))

    def swap() -> None:
        victim.unlink()
        os.symlink(outside, victim)

    _meddle_once(monkeypatch, swap)
    with hostile.OpenWatch(outside) as watch:
        indexer.index_recordings(root=root, name="r")
        monkeypatch.undo()
        again = indexer.index_recordings(root=root, name="r")  # the next scan sees the symlink and skips it
    assert watch.opened == []
    assert not RecordingEntry.objects.filter(search_text__contains=hostile.SECRET).exists()
    assert "outside the root" in {s.path: s.error for s in again.skipped}[victim.relative_to(root).as_posix()]
    assert RecordingEntry.objects.count() == 11


@pytest.mark.django_db
def test_symlinks_that_stay_inside_the_root_are_still_read(tmp_path: Path) -> None:
    root = _tree(tmp_path, 2)
    target = sorted(root.rglob("*.json"))[0]
    os.symlink(target, target.with_name("same-file.json"))  # absolute, inside the root
    os.symlink("../../inference", root / "tests" / "integration" / "inference" / "recordings" / "nested")
    report = indexer.index_recordings(root=root, name="r")
    assert report.failed == () and report.added == 3
    row = RecordingEntry.objects.get(path__endswith="same-file.json")
    assert row.sha256 == RecordingEntry.objects.get(path=target.relative_to(root).as_posix()).sha256


@pytest.mark.django_db
def test_a_file_swapped_for_a_folder_or_a_folder_deleted_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path)
    files = sorted(root.rglob("*.json"))

    def swap() -> None:
        files[2].unlink()
        files[2].mkdir()

    _meddle_once(monkeypatch, swap)
    report = indexer.index_recordings(root=root, name="r")
    assert [f.path for f in report.failed] == [files[2].relative_to(root).as_posix()]
    assert "cannot read" in report.failed[0].error
    monkeypatch.undo()
    assert indexer.index_recordings(root=root, name="r").removed == 1  # a folder is no recording
    assert RecordingEntry.objects.count() == 11

    more = write(root, "agents", stream_recording(test_id="tests/integration/agents/test_b.py::test_b", text="b"))
    _meddle_once(monkeypatch, lambda: shutil.rmtree(root / "tests"))  # the whole checkout goes
    report = indexer.index_recordings(root=root, name="r")
    assert report.added == 0 and report.failed == ()
    assert not RecordingEntry.objects.filter(path__endswith=more.name).exists()
    monkeypatch.undo()
    assert indexer.index_recordings(root=root, name="r").removed == 11
    assert RecordingEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_failed_write_leaves_the_index_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path)
    indexer.index_recordings(root=root, name="r")
    before = sorted(RecordingEntry.objects.values_list("path", "sha256"))
    files = sorted(root.rglob("*.json"))
    files[0].unlink()
    files[1].write_text(json.dumps(stream_recording(test_id="tests/x.py::test_new", text="changed")))
    write(root, "agents", stream_recording(test_id="tests/integration/agents/test_b.py::test_b", text="new"))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert", broken)  # after the delete and before the update, mid-transaction
    with pytest.raises(RuntimeError):
        indexer.index_recordings(root=root, name="r")
    assert sorted(RecordingEntry.objects.values_list("path", "sha256")) == before  # all or nothing
    monkeypatch.undo()
    report = indexer.index_recordings(root=root, name="r")
    assert (report.added, report.updated, report.removed) == (1, 1, 1)


def _manage(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "RECORDER_UI_DB": str(db), "RECORDER_UI_AUTO_REFRESH_SECONDS": "0"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _rows(db: Path) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT path, sha256, test_id, kind, total_tokens, missing_usage, search_text FROM recorder_ui_recordingentry ORDER BY path"
        ).fetchall()


def test_a_deleted_database_rebuilds_from_the_recordings_with_nothing_lost(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    root = _tree(tmp_path)
    assert _manage(db, "migrate", "-v", "0").returncode == 0
    assert _manage(db, "index_recordings", str(root), "--name", "main").returncode == 0
    before = _rows(db)
    for leftover in tmp_path.glob("index.sqlite3*"):
        leftover.unlink()
    assert _manage(db, "migrate", "-v", "0").returncode == 0
    done = _manage(db, "index_recordings", str(root), "--name", "main")
    assert done.returncode == 0 and "12 added" in done.stdout
    assert _rows(db) == before and len(before) == 12


def test_two_index_runs_at_once_as_two_processes(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    root = _tree(tmp_path, 40)
    assert _manage(db, "migrate", "-v", "0").returncode == 0
    env = {"PATH": "/usr/bin:/bin", "RECORDER_UI_DB": str(db)}
    runs = [
        subprocess.Popen([sys.executable, "manage.py", "index_recordings", str(root), "--name", "main"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(_rows(db)) == 40
    added = sorted(int(out.split(" added")[0].rsplit(" ", 1)[-1]) for out, _ in outputs)
    assert added in ([0, 40], [40, 0])  # the second writer saw the first one's rows and added nothing twice


@pytest.mark.django_db(transaction=True)
def test_two_index_runs_at_once_in_threads(tmp_path: Path) -> None:
    if (
        connection.vendor == "sqlite"
        and connection.settings_dict["NAME"] in ("", ":memory:")
        or "memory" in str(connection.settings_dict.get("TEST", {}).get("NAME") or connection.settings_dict["NAME"])
    ):
        pytest.skip("threads need a shared database: the in-memory SQLite test database is per connection")
    root = _tree(tmp_path, 30)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            indexer.index_recordings(root=root, name="main")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and RecordingEntry.objects.count() == 30


@pytest.mark.django_db(transaction=True)
def test_two_index_runs_at_once_as_two_processes_on_postgres(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run the suite with DATABASE_URL=postgres://... (CI does)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"  # the test database
    root = _tree(tmp_path, 40)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "RECORDER_UI_AUTO_REFRESH_SECONDS": "0"}
    runs = [
        subprocess.Popen([sys.executable, "manage.py", "index_recordings", str(root), "--name", "main"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert RecordingEntry.objects.count() == 40 and Root.objects.count() == 1
    added = sorted(int(out.split(" added")[0].rsplit(" ", 1)[-1]) for out, _ in outputs)
    assert added == [0, 40]


@pytest.mark.django_db
def test_a_folder_replaced_mid_run_is_read_anew_not_through_its_old_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run keeps its last folder open; a folder renamed away and made again (a re-recording that clears
    the folder) must be read where its path leads now, not through the handle of the old one."""
    root = _tree(tmp_path, 6)
    folder = root / "tests" / "integration" / "inference" / "recordings"
    names = sorted(p.name for p in folder.iterdir())
    real = pool._parse_file
    calls = {"n": 0}

    def meddle(real_root: Path, rel: str, limit: int, *rest):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # the first file went through the folder's handle
            folder.rename(folder.with_name("recordings-old"))  # still inside the root
            folder.mkdir()
            for name in names:
                (folder / name).write_text(
                    json.dumps(stream_recording(test_id="tests/integration/inference/test_a.py::t", text="renewed"))
                )
        return real(real_root, rel, limit, *rest)

    monkeypatch.setattr(pool, "_parse_file", meddle)
    indexer.index_recordings(root=root, name="r")
    rows = dict(RecordingEntry.objects.filter(path__contains="/recordings/").values_list("path", "search_text"))
    assert len(rows) == 6
    later = [text for path, text in sorted(rows.items())][1:]
    assert all("renewed" in text for text in later), later


def test_reading_from_many_threads_leaves_no_handle_open(tmp_path: Path) -> None:
    root = _tree(tmp_path, 3)
    files = sorted(root.rglob("*.json"))
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to count open files")
    gc.collect()  # files other tests left to the collector must not close during the count
    before = len(os.listdir("/proc/self/fd"))
    results: list[bool] = []

    def read() -> None:
        data, _ = indexer_files._read(files[0], 10**6, root.resolve())
        results.append(data is not None)

    threads = [threading.Thread(target=read) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 20
    assert len(os.listdir("/proc/self/fd")) <= before  # a handle kept per thread would show as 20 more


@pytest.mark.django_db
def test_a_run_that_another_run_overtook_writes_nothing_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs at once decide what to read before either holds the lock: the one that writes second finds the
    rows the first wrote for the very same files and leaves them (unchanged), rather than rewriting all as
    "updated"."""
    root = _tree(tmp_path, 12)
    real = writer._parse_all
    overtaken: list[object] = []
    started: list[bool] = []

    def overtaking(*args: object, **kwargs: object) -> object:
        if not started:  # the other run starts, reads, writes and commits while this one has decided
            started.append(True)
            overtaken.append(indexer.index_recordings(root=root, name="main"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "_parse_all", overtaking)
    late = indexer.index_recordings(root=root, name="main")
    [first] = overtaken
    assert (first.added, first.updated) == (12, 0)  # type: ignore[attr-defined]
    assert (late.added, late.updated, late.removed, late.unchanged) == (0, 0, 0, 12)
    assert RecordingEntry.objects.count() == 12
