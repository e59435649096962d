"""Opening a file beneath a root without following a link out of it, and reading it up to a limit.

Pure Python: no Django. The folder handle of a running index run is kept per thread (`_run_folders`)."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

# O_NONBLOCK: a FIFO swapped in after the scan must not hang the run (no effect on regular files).
# O_NOFOLLOW: a symlink is followed only after checking where it leads.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
_OUT_OF_ROOT = "became a link out of the root while indexing: not read"


def _read(path: str | Path, max_bytes: int, real_root: str | Path) -> tuple[bytes | None, str]:
    # The scan skipped symlinks out of the root, but a file or a folder on its way can become one before it is
    # read (a git checkout running beside the index run, or between a page's check and its open): the file is
    # opened one folder at a time with no link followed, so what is opened is inside the root by construction.
    # Paths as strings: on a cold index, pathlib's conversions cost as much as the open and the read.
    path, real_root = os.fspath(path), os.fspath(real_root)
    try:
        try:
            fd = _open_beneath(real_root, path)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            # A symlink on the way: follow it only where it stays inside the root, to a path with no link left.
            try:
                target = Path(path).resolve(strict=True)
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


def _open_beneath(real_root: str | Path, path: str | Path) -> int:
    """Open path, which lies under real_root, one component at a time without following any symlink: ELOOP
    (or ENOTDIR) when one is met. Where the platform has no dir_fd support, a plain guarded open."""
    base, full = os.fspath(real_root), os.fspath(path)  # strings: pathlib's relative_to costs more than the open
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


def _read_upto(fd: int, count: int) -> bytes:
    chunks: list[bytes] = []
    while count > 0 and (chunk := os.read(fd, count)):
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _opened_inside(real_root: str, fd: int, path: str, st: os.stat_result) -> bool:
    """Whether the open file fd lies inside real_root: /proc names the file itself; elsewhere, resolve the
    path and check it leads to the very same file."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        try:
            resolved = Path(path).resolve(strict=True)
            here = os.stat(resolved)
        except (OSError, RuntimeError):
            return False
        return resolved.is_relative_to(real_root) and (here.st_dev, here.st_ino) == (st.st_dev, st.st_ino)
    return opened.startswith(os.path.join(real_root, ""))
