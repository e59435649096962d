"""Keeps RecordingEntry rows in line with the recording files on disk. The only ORM writer."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from recorder_ui import search
from recorder_ui.domain import checks, loader, paths, threads
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.models import RecordingEntry, Root, new_generation

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})
SEARCH_TEXT_LIMIT = 32_000  # characters of searchable text kept per recording
TEXT_PIECE_LIMIT = 4_000  # characters kept of any one message, so a huge prompt does not crowd out the rest

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class FileError:
    path: str
    error: str


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What one index run did to one root."""

    root: str
    path: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: tuple[FileError, ...] = ()  # files that are not readable recordings (they are indexed, with the error)
    skipped: tuple[FileError, ...] = ()  # files not indexed at all (outside the root, not a regular file)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def as_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "path": self.path,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "skipped": [{"path": f.path, "error": f.error} for f in self.skipped],
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class _Scan:
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # relative path -> (size, mtime_ns)
    skipped: list[FileError] = field(default_factory=list)


class RootError(ValueError):
    """The folder cannot be indexed (missing, not a folder)."""


def configured_roots() -> list[tuple[str, Path]]:
    """The roots named in settings: RECORDINGS_DIR, plus RECORDER_UI_ROOTS ("name=path;name=path")."""
    roots: list[tuple[str, Path]] = []
    spec = settings.RECORDINGS_ROOTS.strip()
    if spec:
        for item in spec.split(";"):
            if not item.strip():
                continue
            name, sep, path = item.partition("=")
            if not sep or not name.strip() or not path.strip():
                raise RootError(f"RECORDER_UI_ROOTS entry {item!r} is not of the form name=path")
            roots.append((name.strip(), Path(path.strip()).expanduser()))
    else:
        roots.append((root_name_for(Path(settings.RECORDINGS_DIR)), Path(settings.RECORDINGS_DIR)))
    return roots


def root_name_for(path: Path) -> str:
    """A default display name for a root: its folder name."""
    return path.expanduser().resolve().name or "recordings"


def _is_recordings_tree(root: Path) -> bool:
    """A root that is, or sits inside, a recordings folder: every *.json below it is a recording."""
    return "recordings" in root.parts


def scan(root: Path) -> _Scan:
    """Stat every recording file under root without reading any. Symlinks that leave the root are skipped."""
    result = _Scan()
    real_root = root.resolve()
    whole_tree = _is_recordings_tree(real_root)
    stack: list[tuple[str, bool]] = [("", whole_tree)]
    seen_dirs: set[tuple[int, int]] = set()
    while stack:
        rel_dir, inside = stack.pop()
        abs_dir = os.path.join(real_root, rel_dir) if rel_dir else str(real_root)
        try:
            dir_stat = os.stat(abs_dir)
            key = (dir_stat.st_dev, dir_stat.st_ino)
            if key in seen_dirs:
                continue  # a symlink loop, or the same folder twice
            seen_dirs.add(key)
            entries = list(os.scandir(abs_dir))
        except OSError as exc:
            result.skipped.append(FileError(paths.escape(rel_dir or "."), f"cannot list folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=False) or (is_link and entry.is_dir()):
                    if entry.name in SKIP_DIRS or entry.name.startswith("."):
                        continue
                    if is_link and not _inside(real_root, Path(entry.path)):
                        continue
                    stack.append((rel, inside or entry.name == "recordings"))
                    continue
                if not entry.name.endswith(".json"):
                    continue
                if is_link and not _inside(real_root, Path(entry.path)):
                    result.skipped.append(FileError(paths.escape(rel), "symlink to a file outside the root: not read"))
                    continue
                st = entry.stat()  # follows a symlink that stays inside the root
            except OSError as exc:
                if entry.name.endswith(".json"):
                    result.skipped.append(FileError(paths.escape(rel), f"cannot stat: {exc.strerror or exc}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if inside or _looks_like_recording_folder(rel):
                result.files[paths.escape(rel)] = (st.st_size, st.st_mtime_ns)
    if not whole_tree and not result.files:
        # A root with no recordings/ folder at all (a plain folder of recordings): take every *.json in it.
        return _scan_flat(real_root, result.skipped)
    return result


def _scan_flat(real_root: Path, skipped: list[FileError]) -> _Scan:
    result = _Scan(skipped=skipped)
    for dirpath, dirnames, filenames in os.walk(real_root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            if not name.endswith(".json"):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, real_root).replace(os.sep, "/")
            try:
                if os.path.islink(full) and not _inside(real_root, Path(full)):
                    result.skipped.append(FileError(paths.escape(rel), "symlink to a file outside the root: not read"))
                    continue
                st = os.stat(full)
            except OSError as exc:
                result.skipped.append(FileError(paths.escape(rel), f"cannot stat: {exc.strerror or exc}"))
                continue
            if stat.S_ISREG(st.st_mode):
                result.files[paths.escape(rel)] = (st.st_size, st.st_mtime_ns)
    return result


def _looks_like_recording_folder(rel: str) -> bool:
    return "/recordings/" in f"/{rel}"


def _inside(real_root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def entry_path(entry: RecordingEntry) -> Path | None:
    """The file behind an index row, or None when it would leave its root or ends in a symlink loop."""
    real_root = root_path(entry.root.path).resolve()
    try:
        candidate = (real_root / paths.unescape(entry.path)).resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError up to Python 3.12, OSError after)
        return None
    if not candidate.is_relative_to(real_root):
        return None
    return candidate


def root_path(stored: str) -> Path:
    """The folder behind a Root row's path (kept escaped: a folder name need not be UTF-8)."""
    return Path(paths.unescape(stored))


def read_entry(entry: RecordingEntry, limit: int) -> tuple[bytes | None, str]:
    """The bytes of the file behind an index row, read only if what is opened lies inside its root (a file
    or folder swapped for a link since the index run is not followed out), and never more than limit bytes."""
    path = entry_path(entry)
    if path is None:
        return None, "the file lies outside its root, or in a symlink loop: not read"
    return _read(path, limit, root_path(entry.root.path).resolve())


def load_entry(entry: RecordingEntry) -> Recording:
    """Parse the file behind an index row; a vanished or unreadable file gives an INVALID recording."""
    data, problem = read_entry(entry, settings.MAX_RECORDING_BYTES)
    if data is None:
        return Recording(path=entry.path, kind=Kind.INVALID, error=problem)
    return loader.parse(data, path=entry.path)


def split_test_id(test_id: str) -> tuple[str, str, str]:
    """'tests/x/test_a.py::Cls::test_b[p-q]' -> ('tests/x/test_a.py', 'Cls::test_b', 'p-q')."""
    if not test_id:
        return "", "", ""
    file_part, _, rest = test_id.partition("::")
    params = ""
    if rest.endswith("]") and "[" in rest:
        bracket = rest.index("[")
        rest, params = rest[:bracket], rest[bracket + 1 : -1]
    return file_part, rest, params


def suite_for(rel_path: str, test_file: str) -> str:
    """The area folder: tests/integration/<area>/recordings/x.json -> <area>."""
    parts = rel_path.split("/")[:-1]
    if "recordings" in parts:
        parts = parts[: len(parts) - parts[::-1].index("recordings") - 1]
    if "integration" in parts:
        parts = parts[parts.index("integration") + 1 :]
    elif len(parts) >= 1 and parts[0] == "tests":
        parts = parts[1:]
    if parts:
        return "/".join(parts)
    if test_file:
        folder = test_file.rsplit("/", 1)[0] if "/" in test_file else ""
        return folder.removeprefix("tests/integration/").removeprefix("tests/") or folder
    return ""


def _clip(text: str, limit: int = TEXT_PIECE_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit]


def search_text_for(rec: Recording) -> str:
    """What full-text search looks at: messages, assembled output, tool names and arguments."""
    pieces: list[str] = []
    if rec.test_id:
        pieces.append(rec.test_id)
    if rec.model:
        pieces.append(rec.model)
    for message in (*rec.request_messages, *rec.choices):
        if message.content:
            pieces.append(_clip(message.content))
        if message.reasoning:
            pieces.append(_clip(message.reasoning))
        if message.refusal:
            pieces.append(message.refusal)
        for call in message.tool_calls:
            pieces.append(call.name)
            pieces.append(_clip(call.arguments))
    pieces.extend(rec.tools)
    if rec.summary:
        pieces.append(rec.summary)
    if rec.error:
        pieces.append(_clip(rec.error))
    text = "\n".join(dict.fromkeys(p for p in pieces if p))  # a history repeats: keep each piece once
    return text[:SEARCH_TEXT_LIMIT]


def entry_values(rec: Recording, *, rel_path: str) -> dict[str, object]:
    """Column values for one parsed recording."""
    test_file, test_name, test_params = split_test_id(rec.test_id or "")
    usage = rec.usage
    findings = checks.run(rec)
    rules = {f.rule for f in findings}
    tool_calls = [call for choice in rec.choices for call in choice.tool_calls]
    finish = next((c.finish_reason for c in rec.choices if c.finish_reason), "")
    invalid = rec.kind == Kind.INVALID
    values: dict[str, object] = {
        "test_id": rec.test_id or "",
        "test_file": test_file,
        "test_name": test_name,
        "test_params": test_params,
        "suite": suite_for(rel_path, test_file),
        "kind": str(rec.kind),
        "endpoint": rec.endpoint[:512],
        "provider": rec.provider[:512],
        "model": rec.model[:512],
        "streaming": rec.streaming,
        "chunk_count": rec.chunk_count,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "missing_usage": "missing-usage" in rules,
        "missing_usage_reason": checks.missing_usage_reason(rec),
        "include_usage": rec.include_usage,
        "tool_call_count": len(tool_calls),
        "tool_names": " ".join(dict.fromkeys(call.name for call in tool_calls if call.name)),
        "invalid_tool_args": "invalid-tool-arguments" in rules,
        "message_count": len(rec.request_messages),
        "finish_reason": finish[:64],
        "is_side_call": (not invalid) and threads.is_side_call(rec),
        "request_key": threads.messages_key(rec.request_messages),
        "error": "" if invalid else rec.error,
        "parse_error": rec.error if invalid else "",
        "summary": rec.summary[:2000],
        "search_text": search_text_for(rec),
    }
    # No database takes a lone surrogate, and PostgreSQL refuses NUL: both kept as visible escapes.
    values = {k: paths.storable(v) if isinstance(v, str) else v for k, v in values.items()}
    out_of_range = []
    for name in TOKEN_COLUMNS:
        count = values[name]
        if isinstance(count, int) and not -MAX_COUNT <= count <= MAX_COUNT:
            out_of_range.append(f"usage {name} is {count}")
            values[name] = None  # left out of every total: no real count is that large
    if out_of_range:
        note = f"{', '.join(out_of_range)}: beyond any real count (over 2**40), so the index leaves it out of totals"
        values["error"] = f"{values['error']}; {note}" if values["error"] else note
    test_id = str(values["test_id"])
    if len(test_id.encode()) > TEST_ID_BYTES:
        values["test_id"] = test_id.encode()[:TEST_ID_BYTES].decode("utf-8", "ignore")
        note = f"the test id is {len(test_id):,} characters long: the index keeps its first {TEST_ID_BYTES:,} bytes"
        values["error"] = f"{values['error']}; {note}" if values["error"] else note
    for name, limit in CHAR_LIMITS.items():
        text = values[name]
        if isinstance(text, str) and len(text) > limit:
            values[name] = text[:limit]
    return values


TOKEN_COLUMNS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
MAX_COUNT = 2**40  # a token count beyond this is no real count; sums of millions of rows still fit 64 bits
TEST_ID_BYTES = 2400  # PostgreSQL's b-tree takes index entries of about 2,700 bytes at most
CHAR_LIMITS = {"test_file": 1024, "test_name": 1024, "suite": 512, "finish_reason": 64}


# O_NONBLOCK: a FIFO swapped in after the scan must not hang the run (no effect on regular files).
# O_NOFOLLOW: a symlink is followed only after checking where it leads.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
_OUT_OF_ROOT = "became a link out of the root while indexing: not read"


def _read(path: Path, max_bytes: int, real_root: Path) -> tuple[bytes | None, str]:
    # The scan skipped symlinks out of the root, but a file or a folder on its way can become one before it is
    # read (a git checkout running beside the index run, or between a page's check and its open): the file is
    # opened one folder at a time with no link followed, so what is opened is inside the root by construction.
    try:
        try:
            fd = _open_beneath(real_root, path)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            # A symlink on the way: follow it only where it stays inside the root, to a path with no link left.
            try:
                target = path.resolve(strict=True)
            except RuntimeError:  # a symlink loop (Python 3.12)
                return None, "cannot read: a symlink loop"
            if not target.is_relative_to(real_root):
                return None, _OUT_OF_ROOT
            try:
                fd = _open_beneath(real_root, target)
            except OSError as again:
                if again.errno == errno.ELOOP:  # swapped again since resolve(): not followed
                    return None, _OUT_OF_ROOT
                raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None, "cannot read: not a regular file"
            if not _opened_inside(real_root, fd, path, st):  # a folder on the way was swapped for a link
                return None, _OUT_OF_ROOT
            if st.st_size > max_bytes:  # refused unread
                return None, f"too large: over {max_bytes} bytes (RECORDER_UI_MAX_RECORDING_BYTES)"
            # Ask for the size the file has (a buffered read(max_bytes) allocates the whole cap on every call),
            # plus one byte that shows a file grown since fstat; then read on up to the cap.
            wanted = min(st.st_size, max_bytes) + 1
            data = _read_upto(fd, wanted)
            if len(data) == wanted <= max_bytes:
                data += _read_upto(fd, max_bytes + 1 - wanted)
        finally:
            os.close(fd)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if len(data) > max_bytes:
        return None, f"too large: over {max_bytes} bytes (RECORDER_UI_MAX_RECORDING_BYTES)"
    return data, ""


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _open_beneath(real_root: Path, path: Path) -> int:
    """Open path, which lies under real_root, one component at a time without following any symlink: ELOOP
    (or ENOTDIR) when one is met. Where the platform has no dir_fd support, a plain guarded open."""
    base, full = str(real_root), str(path)  # strings: pathlib's relative_to costs more than the open itself
    if not full.startswith(base + os.sep):
        raise OSError(errno.ENOENT, "not a file under the root")
    parts = tuple(full[len(base) + 1 :].split(os.sep))
    if any(part in ("", ".", "..") for part in parts):
        raise OSError(errno.ENOENT, "not a file under the root")
    if os.open not in os.supports_dir_fd:
        return os.open(path, _OPEN_FLAGS)
    run = getattr(_run_folders, "value", None)  # inside an index run: reuse its folder handle
    folders = run or _Folders()
    try:
        return os.open(parts[-1], _OPEN_FLAGS, dir_fd=folders.fd(base, parts[:-1]))
    finally:
        if folders is not run:
            folders.close()


class _Folders:
    """The open folder of one index run (or of one worker process of it). Files come in path order, so most
    opens reuse the last folder: walking every folder for every file costs as much as the JSON parse. The
    handle is reused only while the folder's path still leads to that very folder (one lstat); a folder
    deleted, replaced or moved since is walked to again from the root."""

    def __init__(self) -> None:
        self._key: tuple[str, tuple[str, ...]] | None = None
        self._fd = -1
        self._id = (0, 0)

    def fd(self, real_root: str, folders: tuple[str, ...]) -> int:
        key = (real_root, folders)
        if key == self._key:
            try:
                now = os.stat(os.path.join(real_root, *folders), follow_symlinks=False)
            except OSError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == self._id:
                return self._fd
        self.close()
        fd = os.open(real_root, _DIR_FLAGS)
        try:
            for part in folders:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = inner
            opened = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        self._key, self._fd, self._id = key, fd, (opened.st_dev, opened.st_ino)
        return fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._key, self._fd = None, -1


# The folder handle of the index run going on in this thread, if any (set by _parse_all, and in each worker).
_run_folders = threading.local()


def _worker_start() -> None:
    _run_folders.value = _Folders()  # closed with the worker process


def _read_upto(fd: int, count: int) -> bytes:
    chunks: list[bytes] = []
    while count > 0 and (chunk := os.read(fd, count)):
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _opened_inside(real_root: Path, fd: int, path: Path, st: os.stat_result) -> bool:
    """Whether the open file fd lies inside real_root: /proc names the file itself; elsewhere, resolve the
    path and check it leads to the very same file."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        try:
            resolved = path.resolve(strict=True)
            here = os.stat(resolved)
        except (OSError, RuntimeError):
            return False
        return resolved.is_relative_to(real_root) and (here.st_dev, here.st_ino) == (st.st_dev, st.st_ino)
    return opened.startswith(os.path.join(real_root, ""))


def _parse_file(real_root: Path, rel: str, max_bytes: int) -> tuple[dict[str, object], str, str] | None:
    """Values, sha256 and error of one file; None when it vanished before it could be read."""
    path = real_root / paths.unescape(rel)
    data, problem = _read(path, max_bytes, real_root)
    if data is None:
        if not path.exists():
            return None
        rec = Recording(path=rel, kind=Kind.INVALID, error=problem)
        return entry_values(rec, rel_path=rel), "", problem
    digest = hashlib.sha256(data).hexdigest()
    rec = loader.parse(data, path=rel)
    error = rec.error if rec.kind == Kind.INVALID else ""
    return entry_values(rec, rel_path=rel), digest, error


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
    name = name or root_name_for(real_root)
    limit = max_bytes if max_bytes is not None else settings.MAX_RECORDING_BYTES
    found = scan(real_root)

    # Decide what to read before the write transaction: a re-scan that finds nothing new takes no lock.
    existing = Root.objects.filter(name=name).first()
    stored_root = paths.escape(str(real_root))
    if existing is not None and existing.path != stored_root:
        full = True  # the same name now points elsewhere: every row is stale
    known_before: dict[str, tuple[int, int]] = (
        {path: (size, mtime) for path, size, mtime in existing.entries.values_list("path", "size", "mtime_ns")}
        if existing is not None
        else {}
    )
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
    if (
        existing is not None
        and not full
        and not to_parse
        and not touched_paths
        and known_before.keys() == found.files.keys()
    ):
        # Nothing changed: the common case of a running server's re-scan. Record the scan and stop.
        report = IndexReport(
            root=name, path=stored_root, unchanged=len(found.files), skipped=tuple(found.skipped),
            seconds=time.perf_counter() - started,
        )  # fmt: skip
        Root.objects.filter(pk=existing.pk).update(last_indexed_at=timezone.now(), last_report=report.as_dict())
        return report

    # Worker processes start parsing now, before the transaction opens (a forked child must not share a
    # connection inside one), and the rows are written while they go on; a small batch is parsed first.
    with contextlib.ExitStack() as workers:
        parsed_files = _parse_all(real_root, to_parse, limit, jobs, workers)
        workers.enter_context(transaction.atomic())  # opened after the fork; committed before the workers end
        root_row, _ = Root.objects.select_for_update().get_or_create(name=name, defaults={"path": stored_root})
        if root_row.path != stored_root:
            root_row.path = stored_root
            root_row.save(update_fields=["path"])
            root_row.entries.all().delete()
        # Re-read under the lock: another run may have written since we looked.
        known = dict(root_row.entries.values_list("path", "pk"))
        gone = [known[p] for p in known.keys() - found.files.keys()]
        if gone:  # first, so that a path that moved to another row cannot clash with its old one
            for start in range(0, len(gone), 500):
                RecordingEntry.objects.filter(pk__in=gone[start : start + 500]).delete()
        added: list[dict[str, object]] = []
        added_count = 0
        updated: list[RecordingEntry] = []
        failed: list[FileError] = []
        vanished = 0
        now = timezone.now()
        # New rows go in batches as the parse goes on; their text-index entries follow in one statement.
        with connection.cursor() as cursor, search.bulk_insert(cursor):
            for number, (rel, parsed) in enumerate(parsed_files, 1):
                if progress:
                    progress(number, len(to_parse))
                size, mtime = found.files[rel]
                if parsed is None:
                    vanished += 1
                    if rel in known:
                        RecordingEntry.objects.filter(pk=known[rel]).delete()
                        gone.append(known[rel])
                    continue
                values, digest, error = parsed
                if error:
                    failed.append(FileError(rel, error))
                row = {"path": rel, "size": size, "mtime_ns": mtime, "sha256": digest, **values}
                if rel in known:
                    updated.append(RecordingEntry(pk=known[rel], root=root_row, indexed_at=now, **row))
                else:
                    added.append(row)
                    if len(added) == INSERT_BATCH:
                        added_count += len(_write_rows(cursor, added, root_id=root_row.pk, now=now, failed=failed))
                        added = []
            if added:
                added_count += len(_write_rows(cursor, added, root_id=root_row.pk, now=now, failed=failed))
        touched = [
            RecordingEntry(pk=known[rel], size=found.files[rel][0], mtime_ns=found.files[rel][1])
            for rel in touched_paths
            if rel in known
        ]
        if updated:
            _update_rows(updated, failed)
        if touched:
            RecordingEntry.objects.bulk_update(touched, ["size", "mtime_ns"], batch_size=500)
        report = IndexReport(
            root=name,
            path=stored_root,
            added=added_count,
            updated=len(updated),
            removed=len(gone),
            unchanged=len(found.files) - added_count - len(updated) - vanished,
            failed=tuple(failed),
            skipped=tuple(found.skipped),
            seconds=time.perf_counter() - started,
        )
        root_row.last_indexed_at = timezone.now()
        root_row.last_report = report.as_dict()
        root_row.generation = new_generation()  # rows were written: what pages cached of the old ones is stale
        root_row.save(update_fields=["last_indexed_at", "last_report", "generation"])
    if report.added + report.updated + report.removed >= SETTLE_MIN_CHANGES:
        search.settle()  # PostgreSQL: the first searches after a bulk load should not wait for autovacuum
    return report


# What a database says of a value it cannot hold (as opposed to a failure of the database itself).
_VALUE_ERRORS = (DataError, IntegrityError, OverflowError, UnicodeError, ValueError)


def _value_problem(exc: Exception) -> bool:
    if isinstance(exc, _VALUE_ERRORS):
        return True
    state = str(getattr(exc.__cause__, "sqlstate", "") or "")
    return state[:2] in ("22", "23", "54")  # data exception, constraint, program limit (an index entry too big)


def _write_rows(
    cursor: CursorWrapper, rows: list[dict[str, object]], *, root_id: int, now: object, failed: list[FileError]
) -> list[str]:
    """Insert new rows; a row the database will not take is written as an error row instead (and a file whose
    row cannot be written at all is left out with its reason), so one file never costs the rest of the run.
    Returns the paths written."""
    try:
        with transaction.atomic():
            _insert(cursor, rows, root_id=root_id, now=now)
        return [str(row["path"]) for row in rows]
    except Exception as exc:
        if not _value_problem(exc):
            raise
    written = []
    for row in rows:
        try:
            with transaction.atomic():
                _insert(cursor, [row], root_id=root_id, now=now)
            written.append(str(row["path"]))
            continue
        except Exception as exc:
            if not _value_problem(exc):
                raise
            reason = f"cannot be stored in the index: {_one_line(exc)}"
        try:
            with transaction.atomic():
                _insert(cursor, [_error_row(row, reason)], root_id=root_id, now=now)
            written.append(str(row["path"]))
        except Exception as exc:
            if not _value_problem(exc):
                raise
            reason = f"not indexed: its row cannot be stored ({_one_line(exc)})"
        failed.append(FileError(str(row["path"]), reason))
    return written


def _error_row(row: dict[str, object], reason: str) -> dict[str, object]:
    """The row of a file whose values the database refused: where it is, and why, and nothing else."""
    blank = entry_values(Recording(path=str(row["path"]), kind=Kind.INVALID, error=reason), rel_path=str(row["path"]))
    return {k: row[k] for k in ("path", "size", "mtime_ns", "sha256")} | blank


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return paths.storable(text[:300])


def _insert(cursor: CursorWrapper, rows: list[dict[str, object]], *, root_id: int, now: object) -> None:
    """Insert new rows with one prepared statement: on a cold index, the ORM's per-value work costs more than
    the parse. Values are plain str, int, bool and None, which every backend takes as they are."""
    fields = [f for f in RecordingEntry._meta.concrete_fields if not f.primary_key]
    fixed = {
        "root_id": root_id,
        "indexed_at": RecordingEntry._meta.get_field("indexed_at").get_db_prep_save(now, connection),
    }
    names = [f.attname for f in fields]
    for name in names:
        if name not in fixed and name not in rows[0]:
            raise KeyError(f"no value for column {name}")  # a new column the indexer does not fill yet
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(RecordingEntry._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    cursor.executemany(sql, [tuple(fixed[n] if n in fixed else row[n] for n in names) for row in rows])


def _update_rows(rows: list[RecordingEntry], failed: list[FileError]) -> None:
    """Update changed rows; one the database will not take becomes an error row, as in _write_rows."""
    columns = [f.name for f in RecordingEntry._meta.concrete_fields if f.name not in {"id", "root", "path"}]
    for start in range(0, len(rows), 200):
        batch = rows[start : start + 200]
        try:
            with transaction.atomic():
                RecordingEntry.objects.bulk_update(batch, columns)
            continue
        except Exception as exc:
            if not _value_problem(exc):
                raise
        for row in batch:
            try:
                with transaction.atomic():
                    RecordingEntry.objects.bulk_update([row], columns)
                continue
            except Exception as exc:
                if not _value_problem(exc):
                    raise
                reason = f"cannot be stored in the index: {_one_line(exc)}"
            values = {k: getattr(row, k) for k in ("path", "size", "mtime_ns", "sha256")}
            for key, value in _error_row(values, reason).items():
                setattr(row, key, value)
            with transaction.atomic():
                RecordingEntry.objects.bulk_update([row], columns)
            failed.append(FileError(row.path, reason))


PARALLEL_MIN_FILES = 200
INSERT_BATCH = 500  # new rows written per statement batch while the parse goes on
SETTLE_MIN_CHANGES = 200  # rows added, updated or removed by one run that leave the search index unsettled


def _parse_all(
    real_root: Path, names: list[str], limit: int, jobs: int, workers: contextlib.ExitStack
) -> Iterator[tuple[str, tuple[dict[str, object], str, str] | None]]:
    """Parse files in order. Many files: in worker processes, which start at once and end with `workers`, so
    the caller can write rows while they parse (the parse is pure: no database). Otherwise here and now,
    before the caller opens its transaction."""
    serial = jobs <= 1 or len(names) < PARALLEL_MIN_FILES or "fork" not in multiprocessing.get_all_start_methods()
    # A fork of a process with other threads running (a server's threads, its background re-scan) can
    # deadlock in the child: worker processes are forked only from a single-threaded process (the command).
    serial = serial or threading.active_count() > 1
    if serial or connection.in_atomic_block:  # a forked child must not share an open transaction's connection
        _run_folders.value = folders = _Folders()
        try:
            return iter([(rel, _parse_file(real_root, rel, limit)) for rel in names])
        finally:
            _run_folders.value = None
            folders.close()
    connections.close_all()  # the children never touch the database; the parent reconnects when it needs to
    pool = workers.enter_context(multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_start))
    args = [(real_root, rel, limit) for rel in names]
    return zip(names, pool.imap(_parse_star, args, chunksize=32), strict=True)


def _parse_star(args: tuple[Path, str, int]) -> tuple[dict[str, object], str, str] | None:
    return _parse_file(*args)


def default_jobs() -> int:
    """Worker processes for a large index run: the cores there are, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _same_content(real_root: Path, rel: str, old_sha: str, limit: int) -> bool:
    if not old_sha:
        return False
    data, _ = _read(real_root / paths.unescape(rel), limit, real_root)
    return data is not None and hashlib.sha256(data).hexdigest() == old_sha


def index_configured_roots(*, full: bool = False, progress: Progress | None = None, jobs: int = 1) -> list[IndexReport]:
    """Index every root named in settings, then every other root already in the catalog that still exists."""
    reports = []
    done: set[str] = set()
    for name, path in configured_roots():
        reports.append(index_recordings(root=path, name=name, full=full, progress=progress, jobs=jobs))
        done.add(name)
    for row in Root.objects.exclude(name__in=done):
        if root_path(row.path).is_dir():
            reports.append(
                index_recordings(root=root_path(row.path), name=row.name, full=full, progress=progress, jobs=jobs)
            )
    return reports


def drop_root(*, name: str) -> int:
    """Forget a root and its rows (the files are untouched)."""
    deleted, _ = Root.objects.filter(name=name).delete()
    return deleted


def iter_roots() -> Iterator[Root]:
    yield from Root.objects.order_by("name")


# Keeping the index fresh while the server runs: a page request starts a background re-scan at most every
# AUTO_REFRESH_SECONDS. The scan only stats files; it parses just the ones that changed.
_refresh_lock = threading.Lock()
_last_refresh = 0.0
_refresh_state: dict[str, object] = {"running": False, "reports": [], "error": "", "finished_at": None}


def refresh_state() -> dict[str, object]:
    """What the last background refresh did, for the overview page."""
    return dict(_refresh_state)


def refresh_if_stale(*, wait: bool = False, force: bool = False) -> bool:
    """Start a re-scan of every known root when the last one is older than AUTO_REFRESH_SECONDS."""
    global _last_refresh
    interval = settings.AUTO_REFRESH_SECONDS
    now = time.monotonic()
    if not force and (interval <= 0 or now - _last_refresh < interval):
        return False
    if not _refresh_lock.acquire(blocking=False):
        return False  # one is running already
    _last_refresh = now
    _refresh_state["running"] = True
    if wait or not settings.REFRESH_IN_BACKGROUND:
        _refresh_run()
        return True
    threading.Thread(target=_refresh_run, name="recorder-ui-refresh", daemon=True).start()
    return True


def _progress(done: int, total: int) -> None:
    """Files parsed so far in the running re-scan: the overview polls this."""
    _refresh_state.update(done=done, total=total)


def _refresh_run() -> None:
    try:
        reports = []
        for row in list(Root.objects.all()):
            if root_path(row.path).is_dir():
                _refresh_state.update(root=row.name, done=0, total=0)
                reports.append(
                    index_recordings(
                        root=root_path(row.path), name=row.name, progress=_progress, jobs=default_jobs()
                    ).as_dict()
                )  # never forks: this is not the process's only thread (see _parse_all)
        _refresh_state.update(reports=reports, error="", root="")
    except Exception as exc:  # a background thread has nobody to raise to: keep it for the overview page
        log.exception("background re-index failed")
        _refresh_state["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        _refresh_state["running"] = False
        _refresh_state["finished_at"] = timezone.now().isoformat()
        _refresh_lock.release()
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()  # this thread's own connections: kept ones would outlive the thread
