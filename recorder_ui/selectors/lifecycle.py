"""Fixture lifecycle over the whole index: which rows a newer variant supersedes, and the Cleanup page."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q

from recorder_ui import indexer
from recorder_ui.domain import checkout, gitsource, lifecycle, paths, replay
from recorder_ui.models import RecordingEntry, Root
from recorder_ui.selectors import catalog
from recorder_ui.selectors.cache import _cached
from recorder_ui.selectors.common import _clean

# Reasons a file is on the Cleanup page, the certain first; name-mismatch is shown only when asked for.
REASONS = {
    "unreachable": "replay can never serve it: its name carries an older rule's hash (certain)",
    "superseded": "a newer variant of the same call replaced it (an inference from the files)",
    "name-mismatch": "its name matches no rule for its request: edited or renamed; not known to be dead",
}
DEFAULT_REASONS = ("unreachable", "superseded")


@dataclass(frozen=True, slots=True)
class SupersededRow:
    pk: int
    by_pk: int
    by_path: str
    added: tuple[str, ...]
    by_has_usage: bool

    @property
    def sentence(self) -> str:
        return lifecycle.superseded_sentence(self.added)


def variants_of(entry: RecordingEntry) -> tuple[SupersededRow | None, tuple[SupersededRow, ...]]:
    """What supersedes this row, and what it supersedes, as the index run worked them out (the row's
    superseded_* columns, indexer/aggregates.py): a recording page costs the same whatever the catalog's size."""
    by = None
    if entry.superseded_by is not None:
        path = RecordingEntry.objects.filter(pk=entry.superseded_by).values_list("path", flat=True).first()
        if path is not None:
            by = SupersededRow(entry.pk, entry.superseded_by, path, _added(entry.superseded_added),
                               entry.superseded_by_usage)  # fmt: skip
    older = RecordingEntry.objects.filter(root_id=entry.root_id, superseded_by=entry.pk).order_by("path")
    return by, tuple(
        SupersededRow(pk, entry.pk, entry.path, _added(added), usage)
        for pk, added, usage in older.values_list("pk", "superseded_added", "superseded_by_usage")
    )


def _added(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class CleanupGroup:
    test_file: str
    reason: str
    rows: tuple[dict[str, Any], ...]
    size: int


@dataclass(frozen=True, slots=True)
class Cleanup:
    reasons: tuple[str, ...]  # the reasons shown
    counts: dict[str, int]  # every reason, whatever the filter
    sizes: dict[str, int]
    groups: tuple[CleanupGroup, ...]
    total: int
    size: int
    paths: tuple[str, ...]  # the selection, relative to its root
    commands: tuple[str, ...]  # `git -C ROOT --literal-pathspecs rm -- ...` for the whole selection
    # The same, a set per reason, in REASONS' order: the certain (unreachable) apart from the inferred (superseded)
    commands_by_reason: dict[str, tuple[str, ...]]
    filter_links: dict[str, str]
    root: str  # the root shown
    roots: tuple[tuple[str, int, str], ...] = ()  # every root: (name, files for the reasons asked, its query)
    unknown_root: str = ""  # the root asked for, when no root has that name
    judged_by: str = ""  # the recorder whose replay the verdicts are judged by, in words (domain/checkout.py)


def cleanup(*, params: dict[str, str]) -> Cleanup:
    """The recordings replay cannot serve and the superseded ones, grouped by test file and reason."""
    params = _clean({k: params.get(k, "") for k in ("reason", "root")})
    return _cached("cleanup", params, lambda: _cleanup(params))


def _cleanup(params: dict[str, str]) -> Cleanup:
    """One root at a time (the first, unless one is asked for): its `git rm` runs in its folder, and the page
    costs what that root's files cost, whatever the number of roots. Counts come from the roots' summaries."""
    asked = tuple(r for r in params.get("reason", "").split(",") if r in REASONS) or DEFAULT_REASONS
    items = catalog.roots()
    root = params.get("root") or (items[0].name if items else "")
    chosen = next((item for item in items if item.name == root), None)
    kept = (chosen.summary.get("cleanup") or {}) if chosen is not None else {}
    counts = {reason: int((kept.get(reason) or (0, 0))[0]) for reason in REASONS}
    sizes = {reason: int((kept.get(reason) or (0, 0))[1]) for reason in REASONS}
    columns = ("pk", "path", "size", "test_id", "test_file", "test_name", "test_params", "replay_status",
               "replay_rule", "replay_name", "root__name", "root__path", "missing_usage", "superseded_by",
               "superseded_added")  # fmt: skip
    wanted = Q(pk__in=[])
    if "unreachable" in asked:
        wanted |= Q(replay_status=replay.OLDER_RULE)
    if "superseded" in asked:  # a superseded file whose name also mismatches: superseded says more
        wanted |= Q(superseded_by__isnull=False) & ~Q(replay_status=replay.OLDER_RULE)
    if "name-mismatch" in asked:
        wanted |= Q(replay_status=replay.MISMATCH, superseded_by__isnull=True)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in RecordingEntry.objects.filter(wanted, root__name=root).order_by("path").values(*columns):
        reason = lifecycle.cleanup_reason(
            replay_status=row["replay_status"], superseded=row["superseded_by"] is not None
        )
        row["reason"] = reason
        row["why"] = _why(reason, row)
        row["by_pk"] = row["superseded_by"] if reason == "superseded" else None
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        groups.setdefault((row["test_file"], reason), []).append(row)
    order = list(REASONS)
    built = tuple(
        CleanupGroup(test_file, reason, tuple(rows), sum(r["size"] for r in rows))
        for (test_file, reason), rows in sorted(groups.items(), key=lambda item: (item[0][0], order.index(item[0][1])))
    )
    selection = [row for group in built for row in group.rows]
    others = {k: v for k, v in params.items() if k != "root"}
    return Cleanup(
        reasons=asked,
        counts=counts,
        sizes=sizes,
        groups=built,
        total=len(selection),
        size=sum(row["size"] for row in selection),
        paths=tuple(row["path"] for row in selection),
        commands=_commands(selection),
        commands_by_reason={reason: _commands(rows) for reason, rows in _by_reason(selection).items()},
        filter_links={r: urlencode({**params, "reason": r}) for r in REASONS}
        | {"default": urlencode({k: v for k, v in params.items() if k != "reason"})},
        root=root,
        roots=tuple((item.name, _files_of(item, asked), urlencode({**others, "root": item.name})) for item in items),
        unknown_root=root if chosen is None and params.get("root") else "",
        judged_by=_judged_by(root) if chosen is not None else "",
    )


def _judged_by(root: str) -> str:
    recorder, source = Root.objects.filter(name=root).values_list("recorder", "recorder_source").first() or ("", "")
    return checkout.CheckoutRecorder(recorder, source).describe()


def _files_of(item: catalog.RootSummary, asked: tuple[str, ...]) -> int:
    kept = item.summary.get("cleanup") or {}
    return sum(int((kept.get(reason) or (0, 0))[0]) for reason in asked)


def _why(reason: str, row: dict[str, Any]) -> str:
    if reason == "unreachable":
        rule, name = row["replay_rule"], row["replay_name"]
        return f"its name carries the hash of an older rule ({rule}); replay looks it up as {name}"
    if reason == "superseded":
        return lifecycle.superseded_sentence(_added(row["superseded_added"]))
    return f"replay looks it up as {row['replay_name']}"


def _by_reason(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rows by their reason, in REASONS' order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["reason"], []).append(row)
    return {reason: grouped[reason] for reason in REASONS if reason in grouped}


def _commands(rows: list[dict[str, Any]], per_command: int = 200) -> tuple[str, ...]:
    """`git rm` for the selection, run in each root's folder; long selections split into several commands. A
    root that is no git checkout (a folder of recordings copied out of one) gets `rm` in its folder instead.

    Each path is given to git as itself (`--literal-pathspecs`: a name such as `old[12].json` is no pattern that
    also removes old1.json and old2.json) and to the shell as its very bytes (shell_path).
    """
    by_root: dict[str, list[str]] = {}
    for row in rows:
        by_root.setdefault(row["root__path"], []).append(row["path"])
    commands = []
    for root, files in sorted(by_root.items()):
        git = gitsource.in_work_tree(indexer.root_path(root))
        for start in range(0, len(files), per_command):
            chunk = " ".join(shell_path(f) for f in files[start : start + per_command])
            if git:
                commands.append(f"git -C {shell_path(root)} --literal-pathspecs rm -- {chunk}")
            else:
                commands.append(f"cd {shell_path(root)} && rm -- {chunk}")
    return tuple(commands)


def shell_path(stored: str) -> str:
    """A path as the index stores it (domain/paths.py's escaped form), quoted for a POSIX shell so that it names
    that very file: single quotes for a printable UTF-8 name; for any other (bytes that are not UTF-8, a
    newline, a control character), `$'...'` with those bytes as \\xNN, which bash, zsh, ksh and POSIX.1-2024
    shells read back to the same bytes."""
    name = paths.unescape(stored)
    if name.isprintable():
        return shlex.quote(name)
    raw = os.fsencode(name)
    out = []
    for byte in raw:
        char = chr(byte)
        if char in "\\'":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"
