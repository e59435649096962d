"""Diff two versions of the recordings (git revisions, the working tree, or two folders) and render the report."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings

from recorder_ui.domain import diff, gitsource, jsontext, loader, paths, rawdiff
from recorder_ui.domain.model import Kind, Recording

CACHE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class DiffReport:
    repo: str
    base: str
    head: str
    base_commit: str
    head_commit: str  # "" for the working tree or folders
    diffs: tuple[diff.RecordingDiff, ...]
    summary: diff.Summary

    def changed(self) -> tuple[diff.RecordingDiff, ...]:
        return tuple(d for d in self.diffs if d.categories != ("noise-only",))


@dataclass(frozen=True, slots=True)
class PairView:
    diff: diff.RecordingDiff
    raw: str


class DiffError(ValueError):
    """Bad repository, revision or folder: the message is fit for a user."""


def default_folder() -> Path:
    """The folder a diff compares when no root is named: the first configured root (the first of
    RECORDER_UI_ROOTS, else RECORDINGS_DIR)."""
    from recorder_ui.indexer import roots

    try:
        return roots.configured_roots()[0][1]
    except (roots.RootError, IndexError):
        return Path(settings.RECORDINGS_DIR)


def default_repo() -> Path:
    """The git repository that holds the first configured root."""
    try:
        return gitsource.repo_root(default_folder())
    except gitsource.GitError as exc:
        raise DiffError(str(exc)) from None


def scope_for(*, root: str = "") -> tuple[Path, str]:
    """The git repository of a root (a named one of the catalog, or the first configured root), and the root's
    folder inside it ("" when the root is the repository's top): a root inside a larger repository compares its
    own files."""
    if not root:
        folder = default_folder()
    else:
        from recorder_ui.models import Root

        found = Root.objects.filter(name=root).values_list("path", flat=True).first()
        if found is None:
            raise DiffError(f"no root named {root!r}")
        folder = Path(paths.unescape(found))
    try:
        top = gitsource.repo_root(folder)
    except gitsource.GitError as exc:
        raise DiffError(str(exc)) from None
    try:
        inside = folder.resolve().relative_to(top.resolve()).as_posix()
    except (OSError, ValueError):
        inside = ""
    return top, "" if inside == "." else inside


def _parse(data: bytes | None, path: str) -> Recording | None:
    if data is None:
        return None
    if len(data) > settings.MAX_RECORDING_BYTES:  # too large to read: shown as unreadable, never as noise
        limit = settings.MAX_RECORDING_BYTES
        error = f"{len(data):,} bytes, over the {limit:,}-byte limit (RECORDER_UI_MAX_RECORDING_BYTES)"
        return Recording(path=path, kind=Kind.INVALID, error=error)
    return loader.parse(data, path=path)


_cache: dict[tuple[str, str, str, str], tuple[float, DiffReport, dict[str, tuple[bytes | None, bytes | None]]]] = {}
_cache_lock = threading.Lock()


def diff_revisions(*, repo: Path, base: str, head: str = gitsource.WORKTREE, subpath: str = "") -> DiffReport:
    """Compare the recordings of two revisions (head may be the working tree), reading git without changing it."""
    report, _ = _diff_revisions(repo=repo, base=base, head=head, subpath=subpath)
    return report


def _diff_revisions(
    *, repo: Path, base: str, head: str, subpath: str
) -> tuple[DiffReport, dict[str, tuple[bytes | None, bytes | None]]]:
    try:
        top = gitsource.repo_root(repo)
        base_commit = gitsource.resolve(top, base)
        head_commit = "" if head == gitsource.WORKTREE else gitsource.resolve(top, head)
        if subpath and (subpath.startswith(("-", "/")) or ".." in Path(subpath).parts):
            raise gitsource.GitError(f"not a path inside the repository: {subpath!r}")
        key = (str(top), base_commit, head_commit or gitsource.WORKTREE, subpath)
        now = time.monotonic()
        with _cache_lock:
            cached = _cache.get(key)
        if cached and head_commit and now - cached[0] < CACHE_SECONDS:
            return cached[1], cached[2]
        changes = gitsource.changes(top, base=base_commit, head=head_commit or gitsource.WORKTREE, pathspec=subpath)
        if (
            subpath
            and not changes
            and not any(
                gitsource.has_path(top, rev, subpath) for rev in (base_commit, head_commit or gitsource.WORKTREE)
            )
        ):  # a typo would otherwise read as "nothing changed", and pass a CI gate
            raise gitsource.GitError(f"no path {subpath!r} in either revision")
        blobs: dict[str, tuple[bytes | None, bytes | None]] = {}
        old: list[Recording] = []
        new: list[Recording] = []
        with gitsource.blob_reader(top) as reader:
            for change in changes:
                before = reader.read(base_commit, change.path) if change.status != "A" else None
                if head_commit:
                    after = reader.read(head_commit, change.path) if change.status != "D" else None
                else:
                    after = gitsource.read_worktree(top, change.path) if change.status != "D" else None
                blobs[change.path] = (before, after)
                if (rec := _parse(before, change.path)) is not None:
                    old.append(rec)
                if (rec := _parse(after, change.path)) is not None:
                    new.append(rec)
    except gitsource.GitError as exc:
        raise DiffError(str(exc)) from None
    report = _report(str(top), base, head, base_commit, head_commit, old, new)
    with _cache_lock:
        _cache[key] = (now, report, blobs)
        for stale in [k for k, v in _cache.items() if now - v[0] > CACHE_SECONDS]:
            _cache.pop(stale, None)
    return report, blobs


def diff_folders(*, old: Path, new: Path) -> DiffReport:
    """Compare two folders of recordings (for example two checkouts)."""
    return _diff_folders(old=old, new=new)[0]


def _diff_folders(*, old: Path, new: Path) -> tuple[DiffReport, dict[str, tuple[bytes | None, bytes | None]]]:
    from recorder_ui.indexer import scan

    for folder in (old, new):
        if not folder.is_dir():
            raise DiffError(f"{folder} is not a folder")
    old_files, new_files = scan(old).files, scan(new).files
    olds, news = [], []
    blobs: dict[str, tuple[bytes | None, bytes | None]] = {}
    for rel in sorted(old_files.keys() | new_files.keys()):
        before = _read(old / rel) if rel in old_files else None
        after = _read(new / rel) if rel in new_files else None
        if before is not None and before == after:
            continue
        blobs[rel] = (before, after)
        if (rec := _parse(before, rel)) is not None:
            olds.append(rec)
        if (rec := _parse(after, rel)) is not None:
            news.append(rec)
    return _report("", str(old), str(new), "", "", olds, news), blobs


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Loaded:
    """A report with the file contents it was made from, to show any pair's raw JSON diff."""

    report: DiffReport
    blobs: dict[str, tuple[bytes | None, bytes | None]]

    def view(self, found: diff.RecordingDiff) -> PairView:
        old = self.blobs.get(found.old_path, (None, None))[0] if found.old_path else None
        new = self.blobs.get(found.new_path, (None, None))[1] if found.new_path else None
        base, head = self.report.base, self.report.head
        old_name, new_name = f"{base}:{paths.escape(found.old_path)}", f"{head}:{paths.escape(found.new_path)}"
        raw = rawdiff.raw_diff(old, new, old_name=old_name, new_name=new_name)
        return PairView(diff=found, raw=raw)


def load(*, base: str, head: str, repo: Path | None = None, subpath: str = "", folders: bool = False) -> Loaded:
    """Diff two revisions of repo (default: the one holding RECORDINGS_DIR), or two folders, keeping the files."""
    if folders:
        return Loaded(*_diff_folders(old=Path(base), new=Path(head)))
    return Loaded(*_diff_revisions(repo=repo or default_repo(), base=base, head=head, subpath=subpath))


def _report(
    repo: str, base: str, head: str, base_commit: str, head_commit: str, old: list[Recording], new: list[Recording]
) -> DiffReport:
    diffs = tuple(
        sorted(
            (
                dataclasses.replace(
                    diff.compare(p.old, p.new, how=p.how, ambiguous=p.ambiguous, candidates=p.candidates),
                    candidate_sides=p.candidate_sides,
                )
                for p in diff.pair(old, new)
            ),
            key=lambda d: (d.test_id, d.old_path or d.new_path),
        )
    )
    return DiffReport(
        repo=repo,
        base=base,
        head=head,
        base_commit=base_commit,
        head_commit=head_commit,
        diffs=diffs,
        summary=diff.summarize(diffs),
    )


def pair_view(*, repo: Path, base: str, head: str, key: str, subpath: str = "") -> PairView | None:
    """One pair's semantic view and its raw JSON diff, for the page's on-demand detail."""
    loaded = load(repo=repo, base=base, head=head, subpath=subpath)
    found = next((d for d in loaded.report.diffs if d.key == key), None)
    return None if found is None else loaded.view(found)


def shown(found: diff.RecordingDiff) -> diff.RecordingDiff:
    """The pair with its paths as printable text, for pages: a name need not be UTF-8 (domain/paths.py)."""
    return dataclasses.replace(
        found,
        old_path=paths.escape(found.old_path),
        new_path=paths.escape(found.new_path),
        candidates=tuple(paths.escape(p) for p in found.candidates),
    )


def shown_report(report: DiffReport) -> DiffReport:
    """The report with every pair as shown(): what the diff page renders."""
    diffs = tuple(shown(d) for d in report.diffs)
    return dataclasses.replace(report, diffs=diffs, summary=diff.summarize(diffs))


def as_json(report: DiffReport) -> bytes:
    """The report for scripts: changed recordings with their paths, test ids and categories, and the summary."""
    data: dict[str, Any] = {
        "base": report.base,
        "head": report.head,
        "base_commit": report.base_commit,
        "head_commit": report.head_commit or None,
        "summary": {
            "counts": report.summary.counts,
            "tokens_before": report.summary.tokens_old,
            "tokens_after": report.summary.tokens_new,
        },
        "recordings": [
            {
                "old_path": paths.escape(d.old_path) if d.old_path else None,  # a name need not be UTF-8
                "new_path": paths.escape(d.new_path) if d.new_path else None,
                "test_id": d.test_id or None,
                "primary": d.primary,
                "categories": list(d.categories),
                "pairing": d.pairing or None,
                "ambiguous": d.ambiguous,
                "candidates": [paths.escape(p) for p in d.candidates],
                "candidate_sides": list(d.candidate_sides),
                "test_id_old": d.test_id_old or None,
                "request_fields": list(d.request_fields),
                "response_fields": list(d.response_fields),
                "models_added": list(d.listing.added),
                "models_removed": list(d.listing.removed),
                "models_changed": list(d.listing.changed),
                "noise": list(d.noise),
                "note": d.note or None,
                "tokens_before": d.tokens_old if d.usage_old else None,
                "tokens_after": d.tokens_new if d.usage_new else None,
                "usage_delta": d.usage_delta,  # each count's change, when usage changed
                "finish_before": list(d.finish_old) if "finish-changed" in d.categories else None,
                "finish_after": list(d.finish_new) if "finish-changed" in d.categories else None,
            }
            for d in report.diffs
        ],
    }
    return jsontext.dumps(data, option=orjson.OPT_INDENT_2)
