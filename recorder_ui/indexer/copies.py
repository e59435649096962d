"""Rows copied from another root's instead of parsed: a team's catalog holds several checkouts of one
repository, and a file with the same path and bytes as another root's row, which the same code wrote, has the
same values (indexer.values.parser_version marks the code). Used by writer.py, inside its transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from django.db import connection
from django.db.backends.utils import CursorWrapper

from recorder_ui import search
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.indexer.pool import Elsewhere, Parsed, _parse_file
from recorder_ui.indexer.roots import Stamp
from recorder_ui.indexer.values import entry_values, parser_version
from recorder_ui.models import RecordingEntry, Root


@functools.cache
def parsed_columns() -> tuple[str, ...]:
    """The columns a parse fills (entry_values), which a row copied from another root takes from it."""
    return tuple(entry_values(Recording(path="x", kind=Kind.INVALID), rel_path="x"))


def rows_elsewhere(existing: Root | None, rels: list[str], recorder: str = "") -> Elsewhere:
    """For those of rels that other roots have: the (sha256, id) of their rows there that today's code wrote,
    for files judged by the same recorder (Recording.recorder)."""
    wanted = set(rels)
    rows = RecordingEntry.objects.filter(parsed_by=parser_version(recorder)).exclude(sha256="")
    if existing is not None:
        rows = rows.exclude(root_id=existing.pk)
    found: dict[str, dict[str, int]] = {}
    for path, sha, pk in rows.values_list("path", "sha256", "pk").iterator(2000):
        if path in wanted:
            found.setdefault(path, {}).setdefault(sha, pk)
    return {path: tuple(shas.items()) for path, shas in found.items()}


class Copied(dict[str, object]):
    """In place of a parse's values: the row is written already, copied from another root's (Copier). Holds
    its test id only."""


class Copier:
    """Writes the rows of the files whose bytes another root's row has (the parse gives that row's id for them)
    as copies of those rows, a batch at a time: on SQLite one SELECT of their columns, one prepared INSERT of
    them as the database gave them; on PostgreSQL one INSERT ... SELECT in the server. A copy is made only
    while the row is still the file's (its path, bytes and code): one another run changed or dropped since the
    look-up is not, and the file is parsed here instead."""

    def __init__(
        self,
        fixed: dict[str, object],
        known: dict[str, int],
        stamps: dict[str, Stamp],
        real_root: str,
        limit: int,
        *,
        batch: int,
        recorder: str = "",
    ) -> None:
        """fixed: the values of the run's own columns (the root, the time, the aggregates' defaults); known: the
        root's rows by path; stamps: (size, mtime_ns, ctime_ns) by path."""
        self.known, self.stamps = known, stamps
        self.real_root, self.limit, self.batch = real_root, limit, batch
        self.copied = 0
        self.recorder, self.version = (
            recorder,
            parser_version(recorder),
        )  # the rows it copies, and those it writes, are this code's for it
        # The source rows' columns as the database gives them, written back by one prepared statement (an INSERT
        # ... SELECT from the same table costs SQLite a temporary table per row: three times as long).
        table, quote, parsed = RecordingEntry._meta.db_table, connection.ops.quote_name, parsed_columns()
        own = ("path", "sha256", "size", "mtime_ns", "ctime_ns")
        fields = {f.attname: f for f in RecordingEntry._meta.concrete_fields if not f.primary_key}
        if fields.keys() != {*fixed, *own, *parsed}:
            raise KeyError("the copy does not fill every column")  # a new column neither the parse nor this fills
        names = [quote(fields[n].column) for n in (*fixed, *own, *parsed)]
        copied = [quote(fields[n].column) for n in parsed]
        self.select = f"SELECT id, path, sha256, {', '.join(copied)} FROM {table} WHERE parsed_by = %s AND id IN "  # noqa: S608
        self.insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608
        self.head = tuple(fixed.values())
        self.test_id, self.error = parsed.index("test_id"), parsed.index("parse_error")
        # PostgreSQL copies a batch in the server, one INSERT ... SELECT (no row comes to Python and back), with
        # the source's text-search document when a trigger keeps it (migration 0020) rather than computing it
        # again: 2.5 s of a second checkout of the corpus was that, 1 s of it the documents.
        self.in_server = ""
        if connection.vendor == "postgresql":
            doc = [quote(search.PG_COLUMN)] if search.document_copied(connection) else []
            typed = [f"CAST(%s AS {fields[n].db_type(connection)})" for n in fixed]
            self.in_server = (
                f"INSERT INTO {table} ({', '.join([*names, *doc])}) "  # noqa: S608 - fixed names
                f"SELECT {', '.join(typed)}, v.path, v.sha256, v.size, v.mtime_ns, v.ctime_ns, "
                f"{', '.join(f's.{c}' for c in [*copied, *doc])} "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                "AS v(id, path, sha256, size, mtime_ns, ctime_ns) "
                f"JOIN {table} s ON s.id = v.id AND s.path = v.path AND s.sha256 = v.sha256 "
                f"WHERE s.parsed_by = %s RETURNING {quote(fields['path'].column)}, "
                f"{quote(fields['test_id'].column)}, {quote(fields['parse_error'].column)}"
            )

    def resolve(
        self, cursor: CursorWrapper, parsed_files: Iterable[tuple[str, Parsed | None]]
    ) -> Iterator[tuple[str, Parsed | None]]:
        """parsed_files, with a row id in them written as a copy and given as (Copied, sha256, the row's error)."""
        pending: list[tuple[str, int, str]] = []
        for rel, parsed in parsed_files:
            if parsed is None or not isinstance(parsed[0], int):
                yield rel, parsed
            elif rel in self.known:  # written by another run since the look-up: an update, which a parse gives
                yield rel, _parse_file(self.real_root, rel, self.limit, recorder=self.recorder)
            else:
                pending.append((rel, parsed[0], parsed[1]))
                if len(pending) == self.batch:
                    yield from self._copy(cursor, pending)
                    pending = []
        if pending:
            yield from self._copy(cursor, pending)

    def _copy(self, cursor: CursorWrapper, pending: list[tuple[str, int, str]]) -> Iterator[tuple[str, Parsed | None]]:
        """Copy the pending rows still the files' (the same path, bytes and code); parse the others here."""
        written = (self._written_in_server if self.in_server else self._written)(cursor, pending)
        self.copied += len(written)
        again = []
        for rel, _, digest in pending:
            if rel in written:
                test_id, error = written[rel]
                yield rel, (Copied(test_id=test_id), digest, str(error))
            else:
                again.append(rel)
        for rel in again:
            yield rel, _parse_file(self.real_root, rel, self.limit, recorder=self.recorder)

    def _written(self, cursor: CursorWrapper, pending: list[tuple[str, int, str]]) -> dict[str, tuple[object, object]]:
        """The copies written, by path: (test id, error). The source rows read, then written back as they came."""
        cursor.execute(
            f"{self.select}({', '.join(['%s'] * len(pending))})", [self.version, *(pk for _, pk, _ in pending)]
        )
        rows = {row[0]: row for row in cursor.fetchall()}
        batch, written = [], {}
        for rel, pk, digest in pending:
            row = rows.get(pk)
            if row is None or row[1] != rel or row[2] != digest:  # no longer the file's: changed, gone, other code
                continue
            batch.append((*self.head, rel, digest, *self.stamps[rel], *row[3:]))
            written[rel] = (row[3 + self.test_id], row[3 + self.error])
        cursor.executemany(self.insert, batch)
        return written

    def _written_in_server(
        self, cursor: CursorWrapper, pending: list[tuple[str, int, str]]
    ) -> dict[str, tuple[object, object]]:
        """_written on PostgreSQL: one INSERT ... SELECT, which gives back the path, test id and error of each copy."""
        columns = list(zip(*((pk, rel, digest, *self.stamps[rel]) for rel, pk, digest in pending), strict=True))
        cursor.execute(self.in_server, [*self.head, *(list(c) for c in columns), self.version])
        return {path: (test_id, error) for path, test_id, error in cursor.fetchall()}
