"""Brings RecordingEntry rows in line with the recording files under a root. With copies.py, the only ORM writer."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max
from django.utils import timezone

from recorder_ui import search
from recorder_ui.domain import checkout, paths
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.indexer import aggregates, whole
from recorder_ui.indexer.copies import Copied, Copier, rows_elsewhere
from recorder_ui.indexer.files import _read
from recorder_ui.indexer.pool import _parse_all
from recorder_ui.indexer.report import FileError, IndexReport, one_line
from recorder_ui.indexer.roots import (
    RootError,
    Stamp,
    check_name,
    root_name_for,
    scan,
)
from recorder_ui.indexer.statements import update_entries
from recorder_ui.indexer.values import entry_values
from recorder_ui.models import RecordingEntry, Root, new_generation

Progress = Callable[[int, int], None]

INSERT_BATCH = 500  # new rows written per statement batch while the parse goes on
UPDATE_BATCH = 200  # changed rows updated per statement
SETTLE_MIN_CHANGES = 200  # rows added, updated or removed by one run that leave the search index unsettled
TESTS_RECOUNT_ALL = 2000  # a run that touches more test ids than this re-counts every test
# New files a run must have before it looks for rows of other roots with the same path and bytes to copy: the look
# passes over every row once, which costs about what parsing a few dozen files does.
COPY_MIN_FILES = 100


def index_recordings(
    *,
    root: Path,
    name: str | None = None,
    full: bool = False,
    progress: Progress | None = None,
    max_bytes: int | None = None,
    jobs: int = 1,
) -> IndexReport:
    """Bring RecordingEntry rows in line with the recording files under root: new, changed and deleted files.

    With jobs > 1 a large batch of files is parsed in that many worker processes (the writes stay here).
    """
    started = time.perf_counter()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise RootError(f"{root} is not a folder")
    real_root = root.resolve()
    named = bool(name)
    name = check_name(name) if name else root_name_for(real_root)
    limit = max_bytes if max_bytes is not None else settings.MAX_RECORDING_BYTES
    stored_root = paths.escape(str(real_root))
    if not named:  # the folder's root, whatever its name ("recordings-2"), rather than another of its folder name
        name = root_at(real_root) or name
    existing = Root.objects.filter(name=name).first()
    if existing is not None and existing.path != stored_root and not named:
        # Two checkouts of one repository share a folder name: a name taken from the folder never takes over
        # another folder's root (only --name, or RECORDER_UI_ROOTS, points a name elsewhere on purpose).
        raise RootError(
            f"a root named {name!r} already indexes {existing.path}: give this folder a name of its own "
            f"(--name NAME); --name {name} would point that root here instead and drop its rows"
        )
    found = scan(real_root)
    judged = checkout.find(real_root)  # the recorder whose replay judges this root's files

    # Decide what to read before the write transaction: a re-scan that finds nothing new takes no lock.
    if existing is not None and existing.path != stored_root:
        full = True  # the same name now points elsewhere: every row is stale
    if existing is not None and existing.recorder != judged.recorder:
        full = True  # the checkout's recorder changed (a rebase onto a newer one): every replay verdict is stale
    known_before = _known_stamps(existing) if existing is not None else {}
    todo = sorted(
        rel for rel, stamp in found.files.items() if full or rel not in known_before or known_before[rel] != stamp
    )
    # A file whose mtime moved but whose bytes did not (a checkout, a touch) is not parsed again.
    old_sha = (
        dict(existing.entries.filter(path__in=[r for r in todo if r in known_before]).values_list("path", "sha256"))
        if existing is not None and not full and todo
        else {}
    )
    touched_paths: list[str] = []
    to_parse: list[str] = []
    for rel in todo:
        if rel in old_sha and _same_content(real_root, rel, old_sha[rel], limit):
            touched_paths.append(rel)
        else:
            to_parse.append(rel)
    summarised = existing is not None and existing.summary.get("version") == aggregates.VERSION
    if (
        existing is not None
        and not full
        and not to_parse
        and not touched_paths
        and known_before.keys() == found.files.keys()
        and summarised
    ):
        # Nothing changed: the common case of a running server's re-scan. Record the scan and stop.
        report = IndexReport(
            root=name, path=stored_root, unchanged=len(found.files), skipped=tuple(found.skipped),
            seconds=time.perf_counter() - started, judged_by=judged.describe(),
        )  # fmt: skip
        # The root's last_report stays the last run's that changed rows (what the overview's "last change" shows).
        Root.objects.filter(pk=existing.pk).update(last_indexed_at=timezone.now())
        if not whole.kept_is_current():  # no run has written the catalog's summary since an upgrade: now
            with transaction.atomic():
                aggregates.lock_catalog()
                whole.write()
        return report

    # A team's catalog holds several checkouts of one repository: a new file whose path and bytes another root's
    # row has takes that row's values (same code, same bytes, same path: same values) instead of a parse.
    new_files = [rel for rel in to_parse if rel not in known_before]
    copy = not full and len(new_files) >= COPY_MIN_FILES
    elsewhere = rows_elsewhere(existing, new_files, judged.recorder) if copy else None

    # Worker processes start parsing now, before the transaction opens (a forked child must not share a
    # connection inside one), and the rows are written while they go on; a small batch is parsed first.
    with contextlib.ExitStack() as workers:
        parsed_files = _parse_all(real_root, to_parse, limit, jobs, workers, elsewhere, judged.recorder)
        workers.enter_context(transaction.atomic())  # opened after the fork; committed before the workers end
        root_row, created = Root.objects.select_for_update().get_or_create(name=name, defaults={"path": stored_root})
        # The test ids whose rows this run adds, changes or removes, for the aggregates; None: every one.
        stale = not created and root_row.summary.get("version") != aggregates.VERSION
        tests: aggregates.Touched = None if full or stale else set()
        repointed = 0  # the rows of the folder the name pointed to before
        if root_row.path != stored_root:
            root_row.path = stored_root
            root_row.save(update_fields=["path"])
            tests = None
            repointed = root_row.entries.all().delete()[1].get(RecordingEntry._meta.label, 0)
        # Re-read under the lock: another run may have written since we looked.
        known: dict[str, int] = {}
        written: dict[str, Stamp] = {}  # the stamps the rows have now
        for path, pk, size, mtime, ctime in root_row.entries.values_list("path", "pk", "size", "mtime_ns", "ctime_ns"):
            known[path] = pk
            written[path] = (size, mtime, ctime)
        gone = [known[p] for p in known.keys() - found.files.keys()]
        if gone:  # first, so that a path that moved to another row cannot clash with its old one
            for start in range(0, len(gone), 500):
                batch = RecordingEntry.objects.filter(pk__in=gone[start : start + 500])
                if tests is not None:
                    tests.update(batch.values_list("test_id", flat=True))
                batch.delete()
        added: list[dict[str, object]] = []
        added_count = 0
        updated: list[dict[str, object]] = []
        failed: list[FileError] = []
        vanished = 0
        now = timezone.now()
        last_id = RecordingEntry.objects.aggregate(last=Max("pk"))["last"] or 0  # the rows this run adds: above it
        copier = Copier(
            _run_values(root_row.pk, now), known, found.files, str(real_root), limit, batch=INSERT_BATCH,
            recorder=judged.recorder,
        )  # fmt: skip
        # New rows go in batches as the parse goes on; their text-index entries follow in one statement.
        with connection.cursor() as cursor, search.bulk_insert(cursor) as index_text:
            for number, (rel, parsed) in enumerate(copier.resolve(cursor, parsed_files), 1):
                if progress:
                    progress(number, len(to_parse))
                size, mtime, ctime = found.files[rel]
                if not full and written.get(rel) == found.files[rel]:
                    continue  # a run at the same time wrote this very file's row since we looked: unchanged
                if parsed is None:
                    vanished += 1
                    if rel in known:
                        batch = RecordingEntry.objects.filter(pk=known[rel])
                        if tests is not None:
                            tests.update(batch.values_list("test_id", flat=True))
                        batch.delete()
                        gone.append(known[rel])
                    continue
                values, digest, error = parsed
                if tests is not None:
                    tests.add(str(values["test_id"]))
                if error:
                    failed.append(FileError(rel, error))
                if isinstance(values, Copied):
                    added_count += 1
                    continue
                row = {"path": rel, "size": size, "mtime_ns": mtime, "ctime_ns": ctime, "sha256": digest, **values}
                if rel in known:
                    updated.append({"pk": known[rel], **row})
                else:
                    added.append(row)
                    if len(added) == INSERT_BATCH:
                        added_count += _store(added, _inserter(cursor, root_row.pk, now), failed)
                        added = []
                        index_text()  # while the workers parse on: less left for the run's end
            if added:
                added_count += _store(added, _inserter(cursor, root_row.pk, now), failed)
        touched = [(*found.files[rel], known[rel]) for rel in touched_paths if rel in known]
        for start in range(0, len(updated), UPDATE_BATCH):
            batch = updated[start : start + UPDATE_BATCH]
            if tests is not None:  # the test ids the changed rows had before
                pks = [row["pk"] for row in batch]
                tests.update(RecordingEntry.objects.filter(pk__in=pks).values_list("test_id", flat=True))
            _store(batch, _updater(root_row.pk, now), failed)
        if touched:  # new stamps, the same bytes (a checkout, a touch)
            update_entries(("size", "mtime_ns", "ctime_ns"), touched)
        # A run that only added rows (a new root's, say) adds their counts to the tests'.
        only_added = tests is not None and not updated and not gone
        if tests is not None and len(tests) > TESTS_RECOUNT_ALL:
            tests = None  # one pass over every row costs less than this many lists of test ids
        root_row.summary = aggregates.refresh(root_row.pk, tests, added_since=last_id if only_added else None)
        report = IndexReport(
            root=name,
            path=stored_root,
            added=added_count,
            updated=len(updated),
            removed=len(gone) + repointed,
            unchanged=len(found.files) - added_count - len(updated) - vanished,
            failed=tuple(failed),
            skipped=tuple(found.skipped),
            copied=copier.copied,
            seconds=time.perf_counter() - started,
            judged_by=judged.describe(),
        )
        root_row.last_indexed_at = timezone.now()
        root_row.last_report = report.as_dict()
        root_row.generation = new_generation()  # rows were written: what pages cached of the old ones is stale
        root_row.recorder, root_row.recorder_source = judged.recorder, judged.source[:300]
        fields = ["last_indexed_at", "last_report", "generation", "summary", "recorder", "recorder_source"]
        root_row.save(update_fields=fields)
        whole.write()  # the catalog's summary, with this root's new one (still under the catalog lock)
    if report.added + report.updated + report.removed >= SETTLE_MIN_CHANGES:
        search.settle()  # PostgreSQL: the first searches after a bulk load should not wait for autovacuum
    return dataclasses.replace(report, seconds=time.perf_counter() - started)  # the commit and the settling too


# The (size, mtime_ns, ctime_ns) of each row of a root as one generation of it left them, kept by this process
# between runs (a running server re-scans every few seconds): a re-scan that finds nothing changed then reads no
# row. Every run that writes a root's rows draws it a new generation, in the same transaction, so a kept map is
# never stale.
_stamps: dict[tuple[str, int], tuple[int, dict[str, Stamp]]] = {}


def _known_stamps(existing: Root) -> dict[str, Stamp]:
    """path -> (size, mtime_ns, ctime_ns) of the root's rows; the caller only reads it."""
    key = (str(connection.settings_dict["NAME"]), existing.pk)
    kept = _stamps.get(key)
    if kept is not None and kept[0] == existing.generation:
        return kept[1]
    rows = existing.entries.values_list("path", "size", "mtime_ns", "ctime_ns")
    found = {path: (size, mtime, ctime) for path, size, mtime, ctime in rows}
    _stamps[key] = (existing.generation, found)
    return found


# What a database says of a value it cannot hold (as opposed to a failure of the database itself).
_VALUE_ERRORS = (DataError, IntegrityError, OverflowError, UnicodeError, ValueError)


def _value_problem(exc: Exception) -> bool:
    if isinstance(exc, _VALUE_ERRORS):
        return True
    state = str(getattr(exc.__cause__, "sqlstate", "") or "")
    return state[:2] in ("22", "23", "54")  # data exception, constraint, program limit (an index entry too big)


Rows = list[dict[str, object]]


def _store(rows: Rows, write: Callable[[Rows], None], failed: list[FileError]) -> int:
    """Write rows with write. Should the database refuse a value, they are written one by one: a refused row
    as an error row instead, and a file whose row cannot be written at all is left out with its reason, so
    one file never costs the rest of the run. Returns how many rows were written."""
    if _refused(write, rows) is None:
        return len(rows)
    stored = 0
    for row in rows:
        problem = _refused(write, [row])
        if problem is not None:
            reason = f"cannot be stored in the index: {one_line(problem)}"
            problem = _refused(write, [_error_row(row, reason)])
            if problem is not None:
                reason = f"not indexed: its row cannot be stored ({one_line(problem)})"
            failed.append(FileError(str(row["path"]), reason))
        stored += problem is None
    return stored


def _refused(write: Callable[[Rows], None], rows: Rows) -> Exception | None:
    """Write rows in a savepoint of their own: the value problem the database raised, or None once written.
    Any other failure (the database itself) propagates and fails the run."""
    try:
        with transaction.atomic():
            write(rows)
    except Exception as exc:
        if not _value_problem(exc):
            raise
        return exc
    return None


def _inserter(cursor: CursorWrapper, root_id: int, now: object) -> Callable[[Rows], None]:
    return lambda rows: _insert(cursor, rows, root_id=root_id, now=now)


# Columns the aggregates fill once the rows are written (aggregates.refresh), not the parse.
AGGREGATE_DEFAULTS = {"superseded_by": None, "superseded_added": "", "superseded_by_usage": False, "usage_fate": ""}


def _updater(root_id: int, now: object) -> Callable[[Rows], None]:
    """Rewrite changed rows (statements.update_entries): every column the parse gives, and the time."""
    skip = {"id", "root", "path", "indexed_at", *AGGREGATE_DEFAULTS}
    fields = [f for f in RecordingEntry._meta.concrete_fields if f.name not in skip]
    columns = ["indexed_at", *(f.column for f in fields)]
    stamp = RecordingEntry._meta.get_field("indexed_at").get_db_prep_save(now, connection)
    own = itemgetter(*(f.attname for f in fields))

    def update(rows: Rows) -> None:
        for field in fields:
            if rows and field.attname not in rows[0]:
                raise KeyError(f"no value for column {field.attname}")  # a new column the indexer does not fill yet
        update_entries(columns, ((stamp, *own(row), row["pk"], root_id) for row in rows), where=("id", "root_id"))

    return update


def _error_row(row: dict[str, object], reason: str) -> dict[str, object]:
    """The row of a file whose values the database refused: where it is, and why, and nothing else."""
    blank = entry_values(Recording(path=str(row["path"]), kind=Kind.INVALID, error=reason), rel_path=str(row["path"]))
    blank["parsed_by"] = ""  # not what the parse gave: never copied to another root
    return {k: row[k] for k in ("pk", "path", "size", "mtime_ns", "ctime_ns", "sha256") if k in row} | blank


def _run_values(root_id: int, now: object) -> dict[str, object]:
    """The columns every new row of a run shares: its root, the time, the aggregates' defaults."""
    return {
        "root_id": root_id,
        "indexed_at": RecordingEntry._meta.get_field("indexed_at").get_db_prep_save(now, connection),
        **AGGREGATE_DEFAULTS,
    }


def _insert(cursor: CursorWrapper, rows: list[dict[str, object]], *, root_id: int, now: object) -> None:
    """Insert new rows with one prepared statement: on a cold index, the ORM's per-value work costs more than
    the parse. Values are plain str, int, bool and None, which every backend takes as they are."""
    fields = [f for f in RecordingEntry._meta.concrete_fields if not f.primary_key]
    fixed = _run_values(root_id, now)
    for field in fields:
        if field.attname not in fixed and field.attname not in rows[0]:
            raise KeyError(f"no value for column {field.attname}")  # a new column the indexer does not fill yet
    # The run's fixed values first, then the row's own, read by one itemgetter (C) rather than a loop per value.
    fields = [f for f in fields if f.attname in fixed] + [f for f in fields if f.attname not in fixed]
    head = tuple(fixed[f.attname] for f in fields if f.attname in fixed)
    own = itemgetter(*(f.attname for f in fields if f.attname not in fixed))
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(RecordingEntry._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    cursor.executemany(sql, [head + own(row) for row in rows])


def root_at(folder: Path) -> str | None:
    """The name of the root that indexes this folder, if one does."""
    return Root.objects.filter(path=paths.escape(str(folder.resolve()))).values_list("name", flat=True).first()


def _same_content(real_root: Path, rel: str, old_sha: str, limit: int) -> bool:
    if not old_sha:
        return False
    data, _ = _read(real_root / paths.unescape(rel), limit, real_root)
    return data is not None and hashlib.sha256(data).hexdigest() == old_sha


def drop_root(*, name: str) -> int:
    """Forget a root and its rows and test counts (the files are untouched), in one transaction."""
    with transaction.atomic():
        row = Root.objects.select_for_update().filter(name=name).first()
        if row is None:
            return 0
        deleted, _ = Root.objects.filter(pk=row.pk).delete()
        aggregates.lock_catalog()
        whole.write()
    return deleted
