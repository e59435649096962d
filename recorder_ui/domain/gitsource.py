"""Read recordings straight from git, read-only: changed paths between two revisions, and blob contents."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

WORKTREE = "worktree"
_GIT = ("git", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "--no-optional-locks")


class GitError(ValueError):
    """A repository, revision or path that git cannot use; the message is fit to show a user."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never refresh the index behind the user's back
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def git(repo: Path, *args: str) -> bytes:
    """Run one read-only git command in repo and return its output."""
    try:
        done = subprocess.run(
            [*_GIT, "-C", str(repo), *args], capture_output=True, env=_env(), check=False, timeout=120
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took too long") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.decode("utf-8", "replace").strip().splitlines()]
        fatal = [line for line in lines if line.startswith("fatal:")]
        if fatal and "dubious ownership" in fatal[0]:  # git's advice (the command that trusts it) follows it
            raise GitError(" ".join(lines))
        raise GitError((fatal or lines or [f"git {args[0]} failed"])[-1])
    return done.stdout


def in_work_tree(folder: Path) -> bool:
    """Whether a `.git` (a folder, or a worktree's file) sits beside folder or one of the folders above it: how
    git finds a work tree (GIT_DIR is never passed on), told without starting a git process."""
    absolute = folder.absolute()
    return any(os.path.lexists(os.path.join(up, ".git")) for up in (absolute, *absolute.parents))


def repo_root(path: Path) -> Path:
    """The top folder of the git repository that holds path."""
    folder = path if path.is_dir() else path.parent
    if not folder.exists():
        raise GitError(f"{path} does not exist")
    # With no .git on the way up there is no repository to ask for, and no git process to start per folder.
    if not in_work_tree(folder):
        raise GitError(f"{path} is not inside a git repository")
    try:
        return Path(git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except GitError as exc:
        if "dubious ownership" in str(exc):  # git refuses a repository another user owns (since 2.35.2)
            hint = str(exc).rpartition("call:")[2].strip() or "git config --global --add safe.directory TOP"
            raise GitError(
                f"git refuses the repository holding {path}: another user owns it. To let this process's user read "
                f"it: {hint} (or --system for every user; see docs/hosting.md)"
            ) from None
        raise GitError(f"{path} is not inside a git repository") from None


def resolve(repo: Path, rev: str) -> str:
    """The commit a revision names; anything that could pass as an option is refused."""
    rev = rev.strip()
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n\r") or len(rev) > 256:
        raise GitError(f"not a revision: {rev!r}")
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"unknown revision {rev!r}") from None


def has_path(repo: Path, rev: str, path: str) -> bool:
    """Whether a file or folder at path exists in a commit (rev WORKTREE: in the working tree)."""
    if rev == WORKTREE:
        return os.path.lexists(os.path.join(repo, path))
    try:
        git(repo, "cat-file", "-e", f"{rev}:{path.rstrip('/')}")
    except GitError:
        return False
    return True


def branches(repo: Path) -> tuple[str, ...]:
    """Local and remote branch names, newest commit first."""
    out = git(repo, "for-each-ref", "--sort=-committerdate", "--format=%(refname:short)", "refs/heads", "refs/remotes")
    return tuple(line for line in out.decode("utf-8", "replace").splitlines() if line and not line.endswith("/HEAD"))


def is_recording(path: str) -> bool:
    """A JSON file inside a recordings/ folder."""
    return path.endswith(".json") and "/recordings/" in f"/{path}"


@dataclass(frozen=True, slots=True)
class Change:
    status: str  # "A" added, "D" deleted, "M" modified
    path: str


def changes(repo: Path, *, base: str, head: str, pathspec: str = "") -> tuple[Change, ...]:
    """Recording files that differ between base and head (a commit, or WORKTREE for uncommitted files)."""
    args = ["diff", "--name-status", "-z", "--no-renames", "--no-ext-diff", base]
    if head != WORKTREE:
        args.append(head)
    args += ["--", pathspec] if pathspec else ["--"]
    out = git(repo, *args).split(b"\0")
    found: list[Change] = []
    for status, path in zip(out[0::2], out[1::2], strict=False):
        name = path.decode("utf-8", "surrogateescape")
        if is_recording(name):
            found.append(Change(status.decode()[:1], name))
    if head == WORKTREE:
        untracked = git(
            repo, "ls-files", "--others", "--exclude-standard", "-z", "--", *([pathspec] if pathspec else [])
        )
        for raw in untracked.split(b"\0"):
            name = raw.decode("utf-8", "surrogateescape")
            if name and is_recording(name):
                found.append(Change("A", name))
    return tuple(found)


class BlobReader:
    """Reads many blobs through one long-lived `git cat-file --batch`."""

    def __init__(self, process: subprocess.Popen[bytes], repo: Path | None = None) -> None:
        self._process = process
        self._repo = repo
        assert process.stdin is not None and process.stdout is not None
        self._in: IO[bytes] = process.stdin
        self._out: IO[bytes] = process.stdout

    def read(self, rev: str, path: str) -> bytes | None:
        """The content of path at rev, or None when it is not there."""
        if "\0" in path:
            return None
        request = f"{rev}:{path}"
        # The batch reads a line a request: a name with a line break (git allows it) is asked for by its blob's id.
        if "\n" in path and not (request := self._blob_id(rev, path)):
            return None
        self._in.write(f"{request}\n".encode("utf-8", "surrogateescape"))
        self._in.flush()
        header = self._out.readline().split()
        if len(header) < 3 or header[-1] == b"missing" or header[1] != b"blob":
            return None
        size = int(header[2])
        data = self._out.read(size)
        self._out.read(1)  # the newline after each blob
        return data

    def _blob_id(self, rev: str, path: str) -> str:
        if self._repo is None:
            return ""
        try:
            listed = git(self._repo, "--literal-pathspecs", "ls-tree", "-z", rev, "--", path)
        except GitError:
            return ""
        meta, _, name = listed.partition(b"\t")
        parts = meta.split()
        same = name.rstrip(b"\0") == path.encode("utf-8", "surrogateescape")
        return parts[2].decode() if same and len(parts) == 3 and parts[1] == b"blob" else ""


@contextmanager
def blob_reader(repo: Path) -> Iterator[BlobReader]:
    """A BlobReader on repo, closed afterwards."""
    try:
        process = subprocess.Popen(
            [*_GIT, "-C", str(repo), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    try:
        yield BlobReader(process, repo)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stdout:
            process.stdout.close()


def read_worktree(repo: Path, path: str) -> bytes | None:
    """A file of the working tree, never from outside the repository."""
    top = repo.resolve()
    target = (top / path).resolve()
    if not target.is_relative_to(top) or not target.is_file():
        return None
    try:
        return target.read_bytes()
    except OSError:
        return None


def open_history(source: Path, work: Path) -> Path:
    """A repository with a work tree for source: source itself when it is one, else a clone of the bundle into work."""
    if source.is_dir():
        return repo_root(source)
    if not source.is_file():
        raise GitError(f"{source} is neither a git repository nor a bundle")
    target = work / "history"
    try:
        done = subprocess.run(
            [*_GIT, "clone", "--quiet", "--", str(source), str(target)],
            capture_output=True,
            env=_env(),
            check=False,
            timeout=300,
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        raise GitError(f"cannot clone {source}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return target


def history(repo: Path, rev: str = "HEAD") -> tuple[tuple[str, str, str], ...]:
    """(commit, first parent or "", subject) for every commit reachable from rev, newest first."""
    out = git(repo, "log", "--first-parent", "--format=%H%x00%P%x00%s", "--end-of-options", rev, "--")
    found = []
    for line in out.decode("utf-8", "replace").splitlines():
        commit, parents, subject = (line.split("\0") + ["", ""])[:3]
        found.append((commit, parents.split(" ")[0] if parents else "", subject))
    return tuple(found)


def commit_times(repo: Path, paths: Sequence[str]) -> dict[str, int]:
    """path -> the Unix time of the newest commit that touched it, for paths (relative to repo) git knows.

    One `git log` for all of them, stopped as soon as every path has been seen (the log runs newest first)."""
    wanted = set(paths)
    found: dict[str, int] = {}
    if not wanted:
        return found
    args = [*_GIT, "-C", str(repo), "--literal-pathspecs", "log", "--no-renames", "--format=%x00@%ct", "--name-only"]
    try:
        process = subprocess.Popen(
            [*args, "-z", "--end-of-options", "HEAD", "--", *sorted(wanted)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
    except (FileNotFoundError, OSError):
        raise GitError("git is not installed") from None
    assert process.stdout is not None
    when, tail = 0, b""
    try:
        while len(found) < len(wanted) and (block := os.read(process.stdout.fileno(), 65536)):
            *tokens, tail = (tail + block).split(b"\0")
            for token in tokens:
                name = token.lstrip(b"\n").decode("utf-8", "surrogateescape")
                if name.startswith("@") and name[1:].isdigit():
                    when = int(name[1:])
                elif name in wanted and name not in found:
                    found[name] = when
    finally:
        process.kill()  # our own child: done early, or failed (no commit yet); either way nothing more is needed
        process.stdout.close()
        process.wait(timeout=10)
    return found


def dirty_paths(repo: Path, paths: Sequence[str]) -> set[str]:
    """The paths (relative to repo) that are untracked or changed in the work tree since the last commit."""
    if not paths:
        return set()
    out = git(repo, "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--no-renames",
              "--untracked-files=all", "--", *paths)  # fmt: skip
    return {entry[3:].decode("utf-8", "surrogateescape") for entry in out.split(b"\0") if len(entry) > 3}
