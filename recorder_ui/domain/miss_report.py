"""What a replay miss means, in words: where replay looked, which file carries the key, and for a key no file
carries, what the test's other recordings hash and which of those parts cannot match the miss.

Pure values in, pure values out: the caller (selectors/find.py) reads the index, git and the files, and hands
each recording in as a Candidate; this module compares, ranks and words (and writes the command's text).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from recorder_ui.domain import copies, hashed, misses, paths, replay
from recorder_ui.domain.folders import COMMON, for_test
from recorder_ui.domain.folders import in_folders as in_folders  # re-exported: find and the tests ask it here
from recorder_ui.domain.misses import Miss

SAME = "same"
DIFFERS = "differs"
UNKNOWN = "unknown"  # the log does not show this part

# How a candidate's age is known, newest tier first.
WORK_TREE = "work tree"  # untracked or changed since the last commit: newer than any commit
GIT = "git"  # the time of the newest commit that touched the file
CONTENT = "content"  # no git history: content hints only (the replay rule of its name, writer keys, SDK version)


@dataclass(frozen=True, slots=True)
class Part:
    """One thing the recorder hashes, with this recording's value and whether it can match the miss."""

    name: str
    value: str
    verdict: str  # SAME, DIFFERS or UNKNOWN
    miss_value: str = ""  # what the log shows, when it shows it


@dataclass(frozen=True, slots=True)
class Copy:
    """The same file (same path, same bytes) in another root of the index."""

    root: str
    pk: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """One recording, as the finder shows it: its replay key, its age and its hashed parts."""

    pk: int
    root: str
    path: str
    test_id: str
    model: str
    kind: str
    replay_hash: str
    replay_status: str
    replay_rule: str
    replay_name: str
    recency: str = CONTENT  # WORK_TREE, GIT or CONTENT
    recorded_at: int | None = None  # Unix time (commit time, or modification time for the work tree)
    recorded: str = ""  # the age in words
    hints: tuple[Any, ...] = ()  # content hints of age, larger is newer (see hints())
    parts: tuple[Part, ...] = ()
    differs: tuple[str, ...] = ()  # the hashed parts that cannot match the miss
    in_lookup_folder: bool | None = None  # None when the test, and so the folder, is unknown
    note: str = ""  # why parts are missing (the file is unreadable, or not read: too many)
    sha256: str = ""  # of the file's bytes, as indexed ("" when unknown: never grouped)
    also_in: tuple[Copy, ...] = ()  # the same file in other roots (see group_copies)


@dataclass(frozen=True, slots=True)
class MissReport:
    miss: Miss
    url_path: str
    looked_for: str  # the name replay opens: "<hash>.json", "models-<hash>-*.json", "" when the log shows no hash
    folders: tuple[str, ...]  # where replay looks, in order
    found: tuple[Candidate, ...]  # recordings that carry the key (by name or by their request's hash)
    candidates: tuple[Candidate, ...]  # otherwise: the test's (or the model's) recordings, newest first
    candidate_total: int  # candidates in the index, of which the first are listed
    candidates_of: str  # what the candidates share, in words
    ranked_by: str
    resolved: bool  # a recording carries the key
    summary: str
    # Recordings whose request, sent by the miss's test id, hashes to the key: the test was renamed since.
    renamed_from: tuple[Candidate, ...] = ()


@dataclass(frozen=True, slots=True)
class FindReport:
    input_kind: str  # "hash", "prefix", "log", or "" (error says why)
    error: str
    notes: tuple[str, ...]
    cut: bool
    index_empty: bool
    misses: tuple[MissReport, ...]
    resolved: int
    unresolved: int


def lookup_folders(miss: Miss) -> tuple[str, ...]:
    """Where replay looks for the miss: the test file's recordings/ folder, then common/recordings/."""
    if miss.test_id or miss.no_test:
        return for_test(miss.test_id)
    return ()


def looked_for(miss: Miss) -> str:
    if not miss.hash or miss.prefix:
        return ""
    return replay.looked_up_as({"request": {"url": miss.url}}, miss.hash)


def hints(*, status: str, lineage: Any, mtime_ns: int = 0) -> tuple[Any, ...]:
    """Content hints of age, larger is newer: the name's replay rule (an older rule's name is older), then the
    writer's keys (test_id, id_normalization_mapping), the SDK version, how many parameters it sets, and last
    the file's modification time (a checkout gives every file the same one, a local re-recording a newer one)."""
    rank = {replay.CURRENT: 2, replay.MISMATCH: 1, replay.NONE: 1}.get(status, 0)
    if lineage is None:
        return (rank, False, False, (), 0, mtime_ns)
    return (rank, lineage.has_test_id, lineage.has_mapping, tuple(lineage.sdk), len(lineage.params), mtime_ns)


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Newest first: the work tree, then by commit time, then by content hints; the path breaks ties."""
    tier = {WORK_TREE: 2, GIT: 1, CONTENT: 0}

    def key(c: Candidate) -> tuple[Any, ...]:
        return (tier.get(c.recency, 0), c.recorded_at or 0, c.hints, c.path)

    return sorted(candidates, key=key, reverse=True)


def group_copies(ranked: list[Candidate]) -> list[Candidate]:
    """One candidate per file: a file with the same path and bytes in several roots (the checkouts of a team's
    catalog) is listed once, where its newest copy ranks, with the others in also_in (in rank order). Files
    whose bytes differ, or are not known, stay apart: their requests, and so their verdicts, may differ."""
    return [
        replace(first, also_in=first.also_in + tuple(Copy(c.root, c.pk) for c in later)) if later else first
        for first, later in copies.by_file(ranked, lambda c: (c.path, c.sha256))
    ]


def roots_words(candidate: Candidate) -> str:
    """Where the candidate is: "root main", or "root main, and the same file in release, pr-12"."""
    if not candidate.also_in:
        return f"root {candidate.root}"
    others = [c.root for c in candidate.also_in[:5]]
    more = f" and {len(candidate.also_in) - 5} more" if len(candidate.also_in) > 5 else ""
    return f"root {candidate.root}, and the same file in {', '.join(others)}{more}"


def recorded_words(recency: str, when: int | None, hint: tuple[Any, ...]) -> str:
    if recency == WORK_TREE:
        return "not committed: new or changed in the work tree" + (f" ({_date(when)})" if when else "")
    if recency == GIT and when:
        return f"committed {_date(when)}"
    words = ["no git history"]
    if hint:
        words.append({2: "its name carries today's hash", 0: "its name carries an older rule's hash"}.get(hint[0], ""))
        if len(hint) > 3 and hint[3]:
            words.append("SDK " + ".".join(str(v) for v in hint[3]))
    return "; ".join(w for w in words if w)


def _date(when: int | None) -> str:
    return datetime.fromtimestamp(when or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):  # keys of mixed types, or nested too deeply
        return repr(value)[:2000]


def compare(raw: Any, miss: Miss) -> tuple[tuple[Part, ...], tuple[str, ...]]:
    """The parts the recorder hashes for this recording, each judged against the miss; and those that differ."""
    kind = replay.key_of(raw, "").kind
    request = raw.get("request") if isinstance(raw, dict) else None
    if not isinstance(request, dict):
        return (), ()
    known: dict[str, tuple[bool, str]] = {}  # part -> (does it match, the miss's value)
    test_id = raw.get("test_id") if isinstance(raw, dict) else None
    if miss.test_id or miss.no_test:
        want = miss.test_id or None
        known["test_id"] = (test_id == want, _json(want))
    elif miss.test_name:
        known["test_id"] = (misses.header_form(str(test_id or "")) == miss.test_name, miss.test_name + " (header)")
    if kind == "inference":
        path = paths.url_parts(str(request.get("url", ""))).path
        if miss.url:
            known["endpoint (the URL's path)"] = (path == _path(miss.url), _json(_path(miss.url)))
        body = request.get("body")
        if miss.model and miss.model != "unknown" and isinstance(body, dict):
            known["body.model"] = (body.get("model") == miss.model, _json(miss.model))
        known["method"] = (True, '"POST"')
    elif kind == "tool":
        if miss.tool:
            known["provider"] = (request.get("provider") == miss.provider, _json(miss.provider))
            known["tool_name"] = (request.get("tool_name") == miss.tool_name, _json(miss.tool_name))
            kwargs = misses.literal_kwargs(miss.kwargs)
            if kwargs is not None:
                known["kwargs"] = (_json(request.get("kwargs")) == _json(kwargs), miss.kwargs[:200])
    elif kind == "http" and miss.url:
        known["url"] = (request.get("url") == miss.url, _json(miss.url))
        known["method"] = (True, '"POST"')
    parts = []
    for name, value in hashed.hashed_parts(raw):
        if name in known:
            same, logged = known[name]
            parts.append(Part(name, value, SAME if same else DIFFERS, "" if same else logged))
        else:
            parts.append(Part(name, value, UNKNOWN))
    wanted = {misses.INFERENCE: "inference", misses.TOOL: "tool", misses.HTTP: "http"}.get(miss.kind)
    if wanted and kind != wanted:
        what = {"inference": "an inference request", "tool": "a tool call", "http": "an HTTP passthrough request"}
        parts.insert(0, Part("kind", what.get(kind, "not a request replay hashes"), DIFFERS, what[wanted]))
    return tuple(parts), tuple(p.name for p in parts if p.verdict == DIFFERS)


def _path(url: str) -> str:
    return paths.url_path(url)


def _listing(names: tuple[str, ...] | list[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _one_of(folders: tuple[str, ...], at: str = "in") -> str:
    """Where to put a file replay should find: the first folder it looks in (a test's own), or either."""
    if not folders:
        return f"{at} the test's own recordings/ folder (or {COMMON})"
    return f"{at} {folders[0]}" + (f" (or {' or '.join(folders[1:])})" if len(folders) > 1 else "")


def _folders_words(folders: tuple[str, ...]) -> str:
    return _listing(list(folders)) if folders else "the test's own recordings/ folder and " + COMMON


def summary(report: MissReport) -> str:
    """The report in a few sentences a maintainer can act on."""
    miss = report.miss
    looked = report.looked_for or (f"a name starting {miss.hash}" if miss.hash else "")
    where = _folders_words(report.folders)
    if report.found:
        return _found_words(report, looked, where)
    head = (f"Replay looked for {looked} in {where}; no file in the index carries it." if looked
            else f"The log shows no hash for this {_what(miss)}; replay looked in {where}.")  # fmt: skip
    if report.renamed_from:
        first = report.renamed_from[0]
        more = f" (and {len(report.renamed_from) - 1} more)" if len(report.renamed_from) > 1 else ""
        return (f"{head} But {first.path}{more} holds this very request, recorded under the test id "
                f"{first.test_id}: sent by {miss.test_id} it hashes to {miss.hash}. The test was renamed, or its "
                "parameters' ids changed, since it was recorded: re-record it (the old file is then left "
                "behind for Cleanup).")  # fmt: skip
    if not report.candidates:
        if not report.candidates_of:
            return head + " The paste names no test, model or URL to look for other recordings by."
        return head + (f" The index has no recording of {report.candidates_of}: it was never recorded here, or "
                       "its recordings are in a checkout that is not indexed. Record it with "
                       "--inference-mode record-if-missing.")  # fmt: skip
    total = report.candidate_total
    first = report.candidates[0]
    has = f"{_upper(report.candidates_of)} has"
    # When the first two share their time (one commit, or none known), what ranks them is content hints: a guess.
    tied = len(report.candidates) > 1 and _when(report.candidates[1]) == _when(first)
    newest = "the newest-looking (they share one time, so ranked by what their content hints)" if tied else "the newest"
    text = (
        f"{head} {has} one recording ({first.recorded}, {first.path}), which"
        if total == 1
        else (f"{head} {has} {total} recordings; {newest} ({first.recorded}, {first.path})")
    )
    text += _differs_words(first, miss)
    close = next((c for c in report.candidates if c.parts and not c.differs), None)
    if close is not None and close is not first:
        text += f" The newest that matches everything the log shows is {close.path} ({close.recorded})"
        text += _unknown_words(close, lead="; ")
    return text


def _when(candidate: Candidate) -> tuple[str, int | None]:
    return candidate.recency, candidate.recorded_at


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _what(miss: Miss) -> str:
    return {misses.TOOL: "tool call", misses.HTTP: "HTTP request"}.get(miss.kind, "request")


def _differs_words(candidate: Candidate, miss: Miss) -> str:
    if not candidate.parts:
        return f": {candidate.note or 'its file was not read'}."
    if candidate.differs:
        return f" differs in {_listing(candidate.differs)}, so it cannot be the request the test sends now."
    same = _listing([p.name for p in candidate.parts if p.verdict == SAME] or ["nothing"])
    return f" matches what the log shows ({same})" + _unknown_words(candidate, lead=", so ")


def _unknown_words(candidate: Candidate, *, lead: str) -> str:
    unknown = [p.name for p in candidate.parts if p.verdict == UNKNOWN]
    if not unknown:
        return f"{lead}every part it hashes matches the log: compare its request with the test's."
    shown = _listing(unknown[:6] + (["..."] if len(unknown) > 6 else []))
    return (
        f"{lead}the request must differ in a part the log does not show: {shown} changed, or a parameter was "
        "added to the body or removed from it."
    )


def _found_words(report: MissReport, looked: str, where: str) -> str:
    found, miss = report.found, report.miss
    if len(found) > 1:
        several = len({c.root for c in found} | {o.root for c in found for o in c.also_in}) > 1
        names = "; ".join(f"{c.path} ({c.replay_status}{', ' + roots_words(c) if several else ''})" for c in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        if miss.prefix:
            return f"The prefix {miss.hash} matches {len(found)} recordings: {names}{more}."
        return f"{len(found)} recordings carry {looked}: {names}{more}."
    rec = found[0]
    name = posixpath.basename(rec.path)
    wrong_form = rec.replay_rule == replay.RULE_WRONG_FORM  # a model list's name for one recording, or the reverse
    carries_name = bool(miss.hash) and name.removeprefix("models-").startswith(miss.hash) and not wrong_form
    lead = f"The prefix {miss.hash} matches {rec.path} ({roots_words(rec)})" if miss.prefix else ""
    if not carries_name:
        older = rec.replay_status == replay.OLDER_RULE
        why = (f"the hash of an older rule ({rec.replay_rule})" if older
               else "the right hash, but in the other name form (a model list's models-<hash>-*.json, or a single "
                    "recording's <hash>.json)" if wrong_form
               else "no hash the recorder names files by" if rec.replay_status == replay.NONE
               else "a hash no rule we know gives (edited after recording?)")  # fmt: skip
        head = (
            f"{lead}: its request hashes to it"
            if lead
            else f"No file is named {looked}, but {rec.path} holds this very request"
        )
        target = rec.replay_name or looked
        return (f"{head}, yet its name carries {why}, so replay never opens it. Rename it to {target} "
                f"{_one_of(report.folders)}, "
                "or re-record the test.")  # fmt: skip
    if rec.in_lookup_folder is False:
        return (f"{rec.path} carries {looked or rec.replay_name}, but replay looks only in {where}: move it "
                f"{_one_of(report.folders, 'to')}.")  # fmt: skip
    text = (
        f"{lead}: replay opens it as {rec.replay_name}"
        if lead
        else f"The index has {looked} at {rec.path} ({roots_words(rec)})"
    )
    if rec.replay_status == replay.MISMATCH:
        text += "; its request no longer hashes to its name (edited after recording?), but replay opens it by name"
    if lead:
        return text + "."
    return text + (": replay finds it there, so the run that missed it used a checkout without this file "
                   "(not committed or not pushed, or another branch).")  # fmt: skip


def finish(report: MissReport) -> MissReport:
    return replace(report, summary=summary(report))


def as_text(report: FindReport) -> str:
    """The command's text output."""
    lines: list[str] = []
    if report.error:
        return report.error + "\n"
    lines.extend(report.notes)
    if report.index_empty:
        lines.append("The index is empty: run `python manage.py index_recordings` first.")
    for number, item in enumerate(report.misses, start=1):
        miss = item.miss
        title = miss.hash or miss.tool or miss.url or "(no hash)"
        lines += ["", f"Miss {number}: {title}"]
        for label, value in (("test", miss.test_id or miss.test_name), ("model", miss.model),
                             ("request", f"{miss.method} {miss.url}".strip()), ("tool", miss.tool),
                             ("kwargs", miss.kwargs[:300]), ("from", f"{miss.source}, line {miss.line}"
                                                               if miss.line else miss.source)):  # fmt: skip
            if value:
                lines.append(f"  {label}: {value}")
        lines.extend(f"  note: {note}" for note in miss.notes)
        lines.append("  " + item.summary)
        for heading, group in (("carries the key", item.found), ("candidates, newest first", item.candidates)):
            if group:
                lines.append(f"  {heading}:")
                for c in group:
                    lines.append(f"    {c.path}  [{c.root}]  {c.replay_status}  {c.recorded}")
                    if c.also_in:
                        lines.append(f"      the same file in: {', '.join(o.root for o in c.also_in)}")
                    lines.append(f"      key {c.replay_hash or '-'} (replay opens {c.replay_name or '-'})")
                    if c.differs:
                        lines.append(f"      differs in: {', '.join(c.differs)}")
        if item.candidate_total > len(item.candidates):
            lines.append(f"  ({item.candidate_total - len(item.candidates)} older candidates not listed)")
    lines += ["", f"{report.resolved} resolved to a file, {report.unresolved} with no recording."]
    return "\n".join(lines).lstrip("\n") + "\n"
