"""The diff as a static HTML folder: an index and one page per pair, to open from disk with no server.

The folder is meant to be uploaded as a CI artifact. It holds no script and asks for nothing over the
network: one stylesheet copied in, relative links only, and a Content-Security-Policy that says so. Every
page carries MARK, which is how a later run knows the folder holds a previous bundle it may replace.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from recorder_ui import diffing
from recorder_ui.domain import diff, paths

MARK = "recorder-ui diff bundle"
INDEX = "index.html"
STYLESHEET = "bundle.css"
PAIRS = "pairs"
_PAGE_NAME = re.compile(r"\d{4,}\.html")
_NOISE = ("noise-only",)


class BundleError(ValueError):
    """An output folder the bundle may not be written into: the message is fit for a user."""


@dataclass(frozen=True, slots=True)
class BundleReport:
    output: Path
    pages: int  # one per pair
    folded: int  # noise-only pairs, folded on the index
    replaced: bool  # a previous bundle was in the folder and was replaced


@dataclass(frozen=True, slots=True)
class PairLink:
    number: int
    diff: diff.RecordingDiff  # as shown: its paths in the printable form of paths.escape
    source: diff.RecordingDiff  # the report's own pair, whose paths name the files read

    @property
    def name(self) -> str:
        """A generated file name, never one derived from a recording's path."""
        return f"{self.number:04d}.html"

    @property
    def href(self) -> str:
        return f"{PAIRS}/{self.name}"


@dataclass(frozen=True, slots=True)
class TestGroup:
    summary: diff.TestSummary
    changed: tuple[PairLink, ...]
    noise: tuple[PairLink, ...]


@dataclass(frozen=True, slots=True)
class FileGroup:
    summary: diff.FileSummary
    tests: tuple[TestGroup, ...]


def write_bundle(*, loaded: diffing.Loaded, output: Path, protected: Sequence[Path] = ()) -> BundleReport:
    """Write the index, one page per pair and the stylesheet into output (replacing a previous bundle there)."""
    replaced = clear_output(output=output, protected=protected)
    files = group(loaded.report)
    links = [link for f in files for t in f.tests for link in (*t.changed, *t.noise)]
    (output / PAIRS).mkdir(exist_ok=True)
    _write(output / STYLESHEET, stylesheet())
    for index, link in enumerate(links):
        context = {
            "report": loaded.report,
            "link": link,
            "view": dataclasses.replace(loaded.view(link.source), diff=link.diff),
            "previous": links[index - 1] if index else None,
            "next": links[index + 1] if index + 1 < len(links) else None,
            "total": len(links),
        }
        _write(output / link.href, render_to_string("bundle/pair.html", {**context, "root": "../"}))
    folded = sum(len(t.noise) for f in files for t in f.tests)
    context = {"report": loaded.report, "files": files, "total": len(links), "folded": folded, "root": ""}
    _write(output / INDEX, render_to_string("bundle/index.html", context))  # last: a finished bundle has one
    return BundleReport(output=output, pages=len(links), folded=folded, replaced=replaced)


def group(report: diffing.DiffReport) -> tuple[FileGroup, ...]:
    """The summary's files and tests, each pair numbered in reading order and split into changes and noise."""
    number = 0
    files = []
    for file in report.summary.files:
        tests = []
        for test in file.tests:
            changed, noise = [], []
            for found in test.diffs:
                number += 1
                link = PairLink(number=number, diff=diffing.shown(found), source=found)
                (noise if found.categories == _NOISE else changed).append(link)
            tests.append(TestGroup(summary=test, changed=tuple(changed), noise=tuple(noise)))
        files.append(FileGroup(summary=file, tests=tuple(tests)))
    return tuple(files)


def stylesheet() -> str:
    """The app's stylesheet and the bundle's few additions, in one file that starts with MARK."""
    found = finders.find("recorder.css")
    if not found:
        raise BundleError("static/recorder.css is missing")
    app = Path(str(found)).read_text(encoding="utf-8")
    return f"/* {MARK} */\n{app}\n{render_to_string('bundle/extra.css')}"


def _write(path: Path, text: str) -> None:
    # A lone surrogate (a recorded \ud800, or a byte of a name that is not UTF-8) cannot be UTF-8: it is
    # written as the text \udc80 rather than failing the whole bundle.
    with path.open("w", encoding="utf-8", errors="backslashreplace", newline="\n") as out:
        out.write(text)


def check_output(*, output: Path, protected: Sequence[Path] = ()) -> bool:
    """Refuse an output folder the bundle may not use; True when it holds a previous bundle. Changes nothing."""
    where = output.resolve()
    for folder in (*protected, Path(settings.RECORDINGS_DIR)):
        if where == folder.resolve() or folder.resolve() in where.parents:
            raise BundleError(f"{output} is inside the recordings folder {folder}: write the bundle elsewhere")
    if "recordings" in where.parts:
        raise BundleError(f"{output} is inside a recordings folder: write the bundle elsewhere")
    if not output.exists():
        return False
    if not output.is_dir():
        raise BundleError(f"{output} exists and is not a folder")
    strays = _strays(output)
    if strays:
        shown = ", ".join(paths.escape(str(s.relative_to(output))) for s in strays[:3])
        raise BundleError(
            f"{output} is not empty and does not hold a previous bundle (it has {shown}"
            f"{' and more' if len(strays) > 3 else ''}): give an empty or a new folder"
        )
    return any(output.iterdir())


def clear_output(*, output: Path, protected: Sequence[Path] = ()) -> bool:
    """Check output, create it, and remove a previous bundle's files from it; True when one was there."""
    previous = check_output(output=output, protected=protected)
    output.mkdir(parents=True, exist_ok=True)
    if previous:
        for path in _bundle_files(output):
            path.unlink()
    return previous


def _bundle_files(output: Path) -> list[Path]:
    files = [output / name for name in (INDEX, STYLESHEET) if (output / name).is_file()]
    pairs = output / PAIRS
    if pairs.is_dir() and not pairs.is_symlink():
        files += sorted(p for p in pairs.iterdir() if _PAGE_NAME.fullmatch(p.name))
    return files


def _strays(output: Path) -> list[Path]:
    """What in output a bundle did not write: any other name, a link, or a file without MARK."""
    strays: list[Path] = []
    for entry in sorted(output.iterdir()):
        if entry.name == PAIRS and entry.is_dir() and not entry.is_symlink():
            strays += [p for p in sorted(entry.iterdir()) if not (_PAGE_NAME.fullmatch(p.name) and _marked(p))]
        elif entry.name not in (INDEX, STYLESHEET) or not _marked(entry):
            strays.append(entry)
    return strays


def _marked(path: Path) -> bool:
    """A regular file (not a link) whose first kilobyte names MARK."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        return MARK.encode() in handle.read(1024)
