"""Which roots there are (settings), and the scan that stats every recording file under one."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from recorder_ui.domain import paths
from recorder_ui.indexer.report import FileError

Stamp = tuple[int, int, int]  # (size, mtime_ns, ctime_ns) of a file: a change to any of them makes the file read again

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})


@dataclass(slots=True)
class _Scan:
    files: dict[str, Stamp] = field(default_factory=dict)  # relative path -> (size, mtime_ns, ctime_ns)
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
            if any(name.strip() == known for known, _ in roots):
                raise RootError(
                    f"RECORDER_UI_ROOTS names the root {name.strip()!r} twice: each root needs its own name"
                )
            roots.append((name.strip(), Path(path.strip()).expanduser()))
    else:
        roots.append((root_name_for(Path(settings.RECORDINGS_DIR)), Path(settings.RECORDINGS_DIR)))
    return roots


NAME_LIMIT = 200  # Root.name's length


def root_name_for(path: Path) -> str:
    """A default display name for a root: its folder name, in printable form and cut to fit."""
    return paths.escape(path.expanduser().resolve().name or "recordings")[:NAME_LIMIT]


def check_name(name: str) -> str:
    """A root's name as given (--name, RECORDER_UI_ROOTS): printable, with no space at either end (nor all spaces),
    and short enough for every page's links."""
    if not name or not name.isprintable() or len(name) > NAME_LIMIT or name != name.strip():
        raise RootError(
            f"a root's name must be 1 to {NAME_LIMIT} printable characters, with no space at either end: "
            f"{paths.escape(name[:80])!r}"
        )
    return name


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
                result.files[paths.escape(rel)] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
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
                result.files[paths.escape(rel)] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return result


def _looks_like_recording_folder(rel: str) -> bool:
    return "/recordings/" in f"/{rel}"


def _inside(real_root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def root_path(stored: str) -> Path:
    """The folder behind a Root row's path (kept escaped: a folder name need not be UTF-8)."""
    return Path(paths.unescape(stored))
