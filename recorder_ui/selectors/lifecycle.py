"""Fixture lifecycle over the whole index: which rows a newer variant supersedes, and the Cleanup page."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet

from recorder_ui.domain import lifecycle, replay
from recorder_ui.models import RecordingEntry
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
        return f"a newer variant of the same call sets {', '.join(self.added)} too"


def superseded_rows() -> dict[int, SupersededRow]:
    """pk -> what supersedes it, over every root (variants never cross roots)."""
    return _cached("superseded", {}, _superseded_rows)


def _superseded_rows() -> dict[int, SupersededRow]:
    return _superseded_in(RecordingEntry.objects.exclude(lineage="").exclude(test_id=""))


def _superseded_in(rows: QuerySet[RecordingEntry]) -> dict[int, SupersededRow]:
    found = rows.values_list("pk", "path", "root_id", "test_id", "kind", "model", "request_key", "lineage",
                             "total_tokens")  # fmt: skip
    candidates = []
    path_of: dict[str, str] = {}
    for pk, path, root_id, test_id, kind, model, request_key, text, tokens in found:
        parsed = lifecycle.Lineage.from_json(text)
        if parsed is None or not request_key:
            continue
        key = str(pk)
        path_of[key] = path
        group = (str(root_id), test_id, kind, model, request_key)
        candidates.append(lifecycle.Candidate(key, group, parsed, tokens is not None))
    return {
        int(item.path): SupersededRow(int(item.path), int(item.by), path_of[item.by], item.added, item.by_has_usage)
        for item in lifecycle.superseded(candidates).values()
    }


def variants_of(entry: RecordingEntry) -> tuple[SupersededRow | None, tuple[SupersededRow, ...]]:
    """What supersedes this row, and what it supersedes: computed on its own group of variants only, so a
    recording page costs the same whatever the catalog's size."""
    if not entry.lineage or not entry.test_id or not entry.request_key:
        return None, ()
    group = RecordingEntry.objects.filter(root_id=entry.root_id, test_id=entry.test_id, request_key=entry.request_key,
                                          kind=entry.kind, model=entry.model).exclude(lineage="")  # fmt: skip
    found = _superseded_in(group)
    return found.get(entry.pk), tuple(row for row in found.values() if row.by_pk == entry.pk)


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
    commands: tuple[str, ...]  # `git -C ROOT rm -- ...`, one per root of the selection
    filter_links: dict[str, str]
    root: str


def cleanup(*, params: dict[str, str]) -> Cleanup:
    """The recordings replay cannot serve and the superseded ones, grouped by test file and reason."""
    params = _clean({k: params.get(k, "") for k in ("reason", "root")})
    return _cached("cleanup", params, lambda: _cleanup(params))


def _cleanup(params: dict[str, str]) -> Cleanup:
    asked = tuple(r for r in params.get("reason", "").split(",") if r in REASONS) or DEFAULT_REASONS
    superseded = superseded_rows()
    base = RecordingEntry.objects.all()
    if params.get("root"):
        base = base.filter(root__name=params["root"])
    columns = ("pk", "path", "size", "test_id", "test_file", "test_name", "test_params", "replay_status",
               "replay_rule", "replay_name", "root__name", "root__path", "missing_usage")  # fmt: skip
    reason_of: dict[int, str] = {}
    found: dict[int, dict[str, Any]] = {}
    for row in base.filter(replay_status__in=(replay.OLDER_RULE, replay.MISMATCH)).values(*columns):
        reason_of[row["pk"]] = "unreachable" if row["replay_status"] == replay.OLDER_RULE else "name-mismatch"
        found[row["pk"]] = row
    wanted_superseded = [pk for pk in superseded if reason_of.get(pk) != "unreachable"]
    for row in base.filter(pk__in=wanted_superseded).values(*columns):
        reason_of[row["pk"]] = "superseded"  # a superseded file whose name also mismatches: superseded says more
        found[row["pk"]] = row
    counts = dict.fromkeys(REASONS, 0)
    sizes = dict.fromkeys(REASONS, 0)
    for pk, reason in reason_of.items():
        counts[reason] += 1
        sizes[reason] += found[pk]["size"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for pk, reason in reason_of.items():
        if reason not in asked:
            continue
        row = dict(found[pk])
        row["reason"] = reason
        row["why"] = _why(reason, row, superseded.get(pk))
        row["by_pk"] = superseded[pk].by_pk if reason == "superseded" else None
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        groups.setdefault((row["test_file"], reason), []).append(row)
    order = list(REASONS)
    built = tuple(
        CleanupGroup(test_file, reason, tuple(sorted(rows, key=lambda r: r["path"])), sum(r["size"] for r in rows))
        for (test_file, reason), rows in sorted(groups.items(), key=lambda item: (item[0][0], order.index(item[0][1])))
    )
    selection = [row for group in built for row in group.rows]
    return Cleanup(
        reasons=asked,
        counts=counts,
        sizes=sizes,
        groups=built,
        total=len(selection),
        size=sum(row["size"] for row in selection),
        paths=tuple(row["path"] for row in selection),
        commands=_commands(selection),
        filter_links={r: urlencode({**params, "reason": r}) for r in REASONS}
        | {"default": urlencode({k: v for k, v in params.items() if k != "reason"})},
        root=params.get("root", ""),
    )


def _why(reason: str, row: dict[str, Any], item: SupersededRow | None) -> str:
    if reason == "unreachable":
        rule, name = row["replay_rule"], row["replay_name"]
        return f"its name carries the hash of an older rule ({rule}); replay looks it up as {name}"
    if reason == "superseded" and item is not None:
        return item.sentence
    return f"replay looks it up as {row['replay_name']}"


def _commands(rows: list[dict[str, Any]], per_command: int = 200) -> tuple[str, ...]:
    """`git rm` for the selection, run in each root's folder; long selections split into several commands.

    Paths are as the index stores them: a name that is not UTF-8 shows its bytes escaped (domain/paths.py).
    """
    by_root: dict[str, list[str]] = {}
    for row in rows:
        by_root.setdefault(row["root__path"], []).append(row["path"])
    commands = []
    for root, files in sorted(by_root.items()):
        for start in range(0, len(files), per_command):
            chunk = " ".join(shlex.quote(f) for f in files[start : start + per_command])
            commands.append(f"git -C {shlex.quote(root)} rm -- {chunk}")
    return tuple(commands)
