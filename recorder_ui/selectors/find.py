"""The Find page and find_recording: which recording a replay miss wanted, or the recordings it might have been.

The paste is read by domain/misses.py and the answer worded by domain/miss_report.py; this module reads the
index, git (for how recently each candidate was recorded) and the candidates' files (for what they hash).
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import replace

from django.conf import settings
from django.db.models import Q, QuerySet

from recorder_ui import indexer
from recorder_ui.domain import copies, gitsource, jsontext, lifecycle, loader, miss_report, misses, paths, replay
from recorder_ui.domain.miss_report import Candidate, FindReport, MissReport
from recorder_ui.domain.misses import Miss
from recorder_ui.models import RecordingEntry
from recorder_ui.selectors.common import ROOT_HEAVY

FOUND_LIMIT = 50  # recordings listed for one key or prefix
CANDIDATE_ROWS = 500  # files ranked for one miss (a test has up to a few hundred recordings)
COPY_ROWS = 4 * CANDIDATE_ROWS  # rows read for them: a file's copies in other roots are rows too
CANDIDATE_LIMIT = 30  # candidates listed for one miss, newest first
PARTS_LIMIT = 10  # candidates of one miss whose file is read to list what it hashes
READ_BUDGET = 200  # files read for one paste, over all its misses
RENAMED_LOOKUPS = 100  # files of the same model and endpoint hashed under a miss's test id, at most, per miss
RENAMED_BUDGET = 300  # such files read for one paste, over all its misses (apart from READ_BUDGET)
RENAMED_LIMIT = 5
NOT_READ = "its file was not read (the paste names too many misses)"
RANKED_BY = (
    "files new or changed in the work tree first, then by the time of the last commit that touched each file, "
    "then (for roots outside git) by content hints: the replay rule its name carries, the writer's keys, the SDK "
    "version, and last the file's modification time"
)


def find_misses(*, text: object) -> FindReport:
    """Every replay miss in text (a hash, a prefix or a CI log), each with its recording or its candidates."""
    parsed = misses.parse(text)
    if parsed.error:
        return FindReport(parsed.input_kind, parsed.error, parsed.notes, parsed.cut, False, (), 0, 0)
    empty = not RecordingEntry.objects.exists()
    budget = [READ_BUDGET, RENAMED_BUDGET]  # files read for the candidates' parts, and for renamed tests
    reports = tuple(_report(miss, budget) for miss in parsed.misses)
    resolved = sum(1 for r in reports if r.resolved)
    notes = parsed.notes
    if any(c.note == NOT_READ for r in reports for c in (*r.found, *r.candidates)):
        notes += ("The paste names many misses: the hashed parts of the later candidates were not read.",)
    return FindReport(parsed.input_kind, "", notes, parsed.cut, empty, reports, resolved, len(reports) - resolved)


def _entries() -> QuerySet[RecordingEntry]:
    return RecordingEntry.objects.select_related("root").defer("search_text", "summary", *ROOT_HEAVY)


def _carrying(miss: Miss) -> list[RecordingEntry]:
    """Recordings whose request hashes to the key, or whose name carries it (a prefix: starts with it)."""
    key = miss.hash
    if not key:
        return []
    # Two indexed columns, never a search through every path: the hash of the request, and the one the file's
    # name carries (paths.name_hash). A prefix of hex digits as a range, which both databases' indexes serve
    # (a LIKE 'abc%' is no index range on SQLite, nor on PostgreSQL outside the C collation).
    if miss.prefix:
        end = key + "g"  # past every hex digit: the range holds exactly the values that start with key
        carries = Q(replay_hash__gte=key, replay_hash__lt=end) | Q(name_hash__gte=key, name_hash__lt=end)
    else:
        carries = Q(replay_hash=key) | Q(name_hash=key)
    # The rows first, then their roots: joined in one query, SQLite would walk every root's rows for a range.
    pks = list(RecordingEntry.objects.filter(carries).order_by("path", "pk").values_list("pk", flat=True)[:COPY_ROWS])
    rows = _entries().in_bulk(pks)
    found = []
    for entry in (rows[pk] for pk in pks if pk in rows):
        name = posixpath.basename(entry.path).removeprefix("models-")
        if entry.replay_hash.startswith(key) or name.startswith(key):
            found.append(entry)
    return found  # listed up to FOUND_LIMIT files, once the copies of a file in several roots are one


def _files(rows: QuerySet[RecordingEntry]) -> tuple[list[RecordingEntry], int]:
    """The rows of the first CANDIDATE_ROWS files (by path), with their copies in other roots (the same path
    and bytes); and how many files the rows hold in all, each counted once however many roots have it."""
    light = list(rows.order_by("path", "pk").values_list("pk", "path", "sha256")[:COPY_ROWS])
    files = copies.by_file(light, lambda row: (row[1], row[2]), limit=CANDIDATE_ROWS)
    kept = {pk for first, later in files for pk, *_ in (first, *later)}
    if len(light) < COPY_ROWS and len(files) < CANDIDATE_ROWS:
        total = len(files)
    else:
        known = rows.exclude(sha256="").order_by()
        total = known.values("path", "sha256").distinct().count() + rows.filter(sha256="").count()
    chosen = _entries().in_bulk(kept)
    return [chosen[pk] for pk, *_ in light if pk in chosen], total


def _model_rows(miss: Miss) -> QuerySet[RecordingEntry] | None:
    """The recordings of the miss's model at its URL's path (request.endpoint, or its end: the URL's path often
    doubles it, /v1/v1/chat/completions); None when the paste tells neither."""
    path = miss.url_path
    if not path or not miss.model or miss.model == "unknown":
        return None
    suffixes = {path[i:] for i in range(len(path)) if path[i] == "/"}
    return _entries().filter(model=miss.model, endpoint__in=suffixes)


def _candidate_rows(miss: Miss) -> tuple[str, QuerySet[RecordingEntry] | None]:
    """What the candidates share, in words, and their rows: the test's, else the model's at the URL path."""
    rows = _entries()
    if miss.kind == misses.TOOL and miss.tool:
        # A tool run's hash has no test id (tests of one folder share its recordings): what compares with the
        # miss is the tool's recordings, not the test's chat calls.
        return f"the tool {miss.tool}", rows.filter(kind="tool", provider=miss.provider)
    if miss.test_id:
        return "the test", rows.filter(test_id=miss.test_id)
    if miss.test_name:
        name, params = misses.split_header(miss.test_name)
        return f"a test named {miss.test_name}", rows.filter(test_name=name, test_params=params)
    path = miss.url_path
    if not path:
        return "", None
    # request.endpoint is the logical endpoint; the URL's path often doubles it (/v1/v1/chat/completions).
    suffixes = {path[i:] for i in range(len(path)) if path[i] == "/"}
    same = _model_rows(miss) if miss.kind == misses.INFERENCE else None
    if same is not None:
        # The host is not hashed, but a miss against one server is best compared with what that server answered.
        host = paths.url_parts(miss.url).netloc if "://" in miss.url else ""
        if host and same.filter(provider=host).exists():
            return f"model {miss.model} at {host}{path}", same.filter(provider=host)
        return f"model {miss.model} at {path}", same
    return f"requests to {path}", rows.filter(endpoint__in=suffixes)


def _report(miss: Miss, budget: list[int]) -> MissReport:
    folders = miss_report.lookup_folders(miss)
    carrying = _carrying(miss)
    found = tuple(_dated(carrying, miss, folders, budget, detail=FOUND_LIMIT, listed=FOUND_LIMIT))
    candidates: tuple[Candidate, ...] = ()
    total, what = 0, ""
    renamed: tuple[Candidate, ...] = ()
    if not found:
        renamed = tuple(_dated(_renamed(miss, budget), miss, folders, budget, detail=0, listed=RENAMED_LIMIT))
        what, rows = _candidate_rows(miss)
        if rows is not None:
            picked, total = _files(rows)
            candidates = tuple(_dated(picked, miss, folders, budget, detail=PARTS_LIMIT, listed=CANDIDATE_LIMIT))
    report = MissReport(
        miss=miss,
        url_path=miss.url_path,
        looked_for=miss_report.looked_for(miss),
        folders=folders,
        found=found,
        candidates=candidates,
        candidate_total=total,
        candidates_of=what,
        ranked_by=RANKED_BY,
        resolved=bool(found),
        summary="",
        renamed_from=renamed,
    )
    return miss_report.finish(report)


def _renamed(miss: Miss, budget: list[int]) -> list[RecordingEntry]:
    """Recordings of the miss's model at its endpoint whose request, sent by the miss's test id, hashes to the
    miss's key: the test's own file first, then the others; each file read counts against the paste's budget
    for this search (budget[1]), not the one for the candidates' parts."""
    if miss.kind != misses.INFERENCE or miss.prefix or len(miss.hash) != 64 or not miss.test_id:
        return []
    rows = _model_rows(miss)
    if rows is None:
        return []
    test_file = miss.test_id.partition("::")[0]
    rows = rows.exclude(test_id=miss.test_id)
    pks = [*rows.filter(test_file=test_file).values_list("pk", flat=True)[:RENAMED_LOOKUPS]]
    if len(pks) < RENAMED_LOOKUPS:
        pks += rows.exclude(test_file=test_file).values_list("pk", flat=True)[: RENAMED_LOOKUPS - len(pks)]
    entries = _entries().in_bulk(pks)
    found = []
    for pk in pks:
        if budget[1] <= 0 or len(found) >= RENAMED_LIMIT:
            break
        entry = entries.get(pk)
        if entry is None:
            continue
        budget[1] -= 1
        data, _ = indexer.read_entry(entry, settings.MAX_RECORDING_BYTES)
        try:
            raw = jsontext.loads(data) if data is not None else None
        except (ValueError, RecursionError):
            continue
        if replay.hash_for_test(raw, miss.test_id, entry.root.recorder) == miss.hash:
            found.append(entry)
    return found


def _dated(
    entries: list[RecordingEntry],
    miss: Miss,
    folders: tuple[str, ...],
    budget: list[int],
    *,
    detail: int,
    listed: int,
) -> list[Candidate]:
    """Candidates for the rows, one per file (its copies in other roots beside it), newest first: the first
    `listed`, and of those the first `detail` with their hashed parts."""
    times = _recency(entries)
    ranked = miss_report.group_copies(miss_report.rank([_candidate(entry, times.get(entry.pk)) for entry in entries]))
    by_pk = {entry.pk: entry for entry in entries}
    compared: dict[str, Candidate] = {}
    out = []
    for index, candidate in enumerate(ranked[:listed]):
        where = miss_report.in_folders(candidate.path, folders or _own_folders(candidate.test_id, miss))
        candidate = replace(candidate, in_lookup_folder=where)
        if index < detail:
            if budget[0] > 0:
                budget[0] -= 1
                candidate = _with_parts(candidate, by_pk[candidate.pk], miss, compared)
            else:
                candidate = replace(candidate, note=NOT_READ)
        out.append(candidate)
    return out


def _own_folders(test_id: str, miss: Miss) -> tuple[str, ...]:
    """For a key whose test the paste does not name: the folders replay looks in for the recording's own test."""
    if miss.test_id or miss.no_test or not test_id or miss.url_path.endswith(("/models", "/api/tags")):
        return ()
    return miss_report.lookup_folders(Miss(misses.HASH, "", test_id=test_id))


def _candidate(entry: RecordingEntry, when: tuple[str, int | None] | None) -> Candidate:
    lineage = lifecycle.Lineage.from_json(entry.lineage)
    hint = miss_report.hints(status=entry.replay_status, lineage=lineage, mtime_ns=entry.mtime_ns)
    recency, at = when or (miss_report.CONTENT, None)
    return Candidate(
        pk=entry.pk,
        root=entry.root.name,
        path=entry.path,
        test_id=entry.test_id,
        model=entry.model,
        kind=entry.kind,
        replay_hash=entry.replay_hash,
        replay_status=entry.replay_status,
        replay_rule=entry.replay_rule,
        replay_name=entry.replay_name,
        recency=recency,
        recorded_at=at,
        recorded=miss_report.recorded_words(recency, at, hint),
        hints=hint,
        sha256=entry.sha256,
    )


def _with_parts(candidate: Candidate, entry: RecordingEntry, miss: Miss, compared: dict[str, Candidate]) -> Candidate:
    """The candidate with the hashed parts of its file beside the miss's. Files with the same bytes (the same
    fixture in several checkouts) are parsed and compared once: compared holds the answer by content."""
    data, problem = indexer.read_entry(entry, settings.MAX_RECORDING_BYTES)
    if data is None:
        return replace(candidate, note=f"its file could not be read: {problem}"[:300])
    digest = hashlib.sha256(data).hexdigest()
    if digest not in compared:
        rec = loader.parse(data, path=entry.path)
        if rec.raw is None:
            compared[digest] = replace(candidate, note=f"its file could not be read: {rec.error}"[:300])
        else:
            parts, differs = miss_report.compare(rec.raw, miss)
            compared[digest] = replace(candidate, parts=parts, differs=differs)
    same = compared[digest]
    return replace(candidate, parts=same.parts, differs=same.differs, note=same.note)


def _recency(entries: list[RecordingEntry]) -> dict[int, tuple[str, int | None]]:
    """pk -> how recently the file was recorded: (WORK_TREE, mtime) or (GIT, commit time), for roots in git.
    One `git status` and one `git log` per root, for all its files at once."""
    by_root: dict[int, list[RecordingEntry]] = {}
    for entry in entries:
        by_root.setdefault(entry.root_id, []).append(entry)
    found: dict[int, tuple[str, int | None]] = {}
    for rows in by_root.values():
        try:
            repo = gitsource.repo_root(indexer.root_path(rows[0].root.path))  # a root out of git: no file resolved
            files = [(entry, path) for entry in rows if (path := indexer.entry_path(entry)) is not None]
            relative = {entry.pk: path.relative_to(repo).as_posix() for entry, path in files}
            dirty = gitsource.dirty_paths(repo, sorted(set(relative.values())))
            times = gitsource.commit_times(repo, sorted(set(relative.values()) - dirty))
        except (gitsource.GitError, ValueError, OSError):
            continue  # not in git (or git failed): content hints rank these
        for entry, _ in files:
            name = relative[entry.pk]
            if name in dirty:
                found[entry.pk] = (miss_report.WORK_TREE, entry.mtime_ns // 1_000_000_000)
            elif name in times:
                found[entry.pk] = (miss_report.GIT, times[name])
    return found
