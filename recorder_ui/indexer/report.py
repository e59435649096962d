"""What an index run reports: the files it could not index, and what it did to one root."""

from __future__ import annotations

from dataclasses import dataclass

from recorder_ui.domain import paths


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
    copied: int = 0  # of those added: files whose path and bytes another root's row had, copied from it unparsed
    seconds: float = 0.0
    judged_by: str = ""  # the recorder whose replay judges the root's files, in words (domain/checkout.py)

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
            "copied": self.copied,
            "seconds": round(self.seconds, 3),
            "judged_by": self.judged_by,
        }


def one_line(exc: BaseException) -> str:
    """An error in one line of storable text: its first line, clipped, or its type's name."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return paths.storable(text[:300])
