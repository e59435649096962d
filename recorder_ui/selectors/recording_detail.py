"""One recording with its tabs (conversation, chunks, raw), read through the parsed-file cache."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.http import Http404

from recorder_ui import indexer, presenters
from recorder_ui.domain import checks, jsontext, paths, replay, stream, threads
from recorder_ui.domain.model import Chunk, Kind, Recording
from recorder_ui.models import RecordingEntry
from recorder_ui.selectors.cache import PARSE_CACHE_BYTES, _details, _generation, _parsed
from recorder_ui.selectors.common import ROOT_HEAVY
from recorder_ui.selectors.lifecycle import SupersededRow, variants_of

TABS = ("conversation", "chunks", "raw")


@dataclass(frozen=True, slots=True)
class RecordingDetail:
    entry: dict[str, Any]
    recording: Recording
    summary: dict[str, Any]
    history: tuple[threads.Turn, ...]
    answer: tuple[threads.Turn, ...]
    params_json: str
    tools_json: str
    details_json: str  # kind-specific extras (model ids, embedding sizes, tool results, exception data)
    findings: tuple[str, ...]  # every check finding, for the JSON twin
    notices: tuple[str, ...]  # findings the page shows in a box (missing usage and parse errors have their own)
    prev_pk: int | None
    next_pk: int | None
    raw_too_large: bool
    is_stream: bool
    tab: str = "conversation"
    chunks: tuple[Chunk, ...] = ()  # filled for the Chunks tab only
    raw_text: str = ""  # the file, pretty-printed, for the Raw tab only
    raw_state: str = ""  # Raw tab: "shown", "too-large" or "missing"
    result_pks: dict[str, int] = field(default_factory=dict)  # tool-call id -> the recording carrying its result
    replay: replay.ReplayKey | None = None  # the hash replay looks this request up by, and whether the name carries it
    replay_pk: int | None = None  # another indexed file replay would open for this request
    superseded_by: SupersededRow | None = None
    supersedes: tuple[SupersededRow, ...] = ()


Stamp = tuple[str, str, int, int, int]  # (root, path, size, mtime_ns, ctime_ns) of a file, as _stamp gives it


def _load(entry: RecordingEntry) -> Recording:
    return _load_stamped(entry)[0]


def _load_stamped(entry: RecordingEntry) -> tuple[Recording, Stamp, bool]:
    """The parsed file, through the parse cache; the file's stamp, taken before it was read; and whether the
    parsed file is kept (not when it is gone, unreadable or too large), which a page built from it may be too."""
    stamp = _stamp(entry.root.path, entry.path)
    if stamp[2] < 0:
        return indexer.load_entry(entry), stamp, False  # gone or unreachable: the safe read says which
    key = (entry.pk, *stamp)
    rec = _parsed.get(key)
    if rec is None:
        rec = indexer.load_entry(entry)
        if rec.kind == Kind.INVALID or stamp[2] > PARSE_CACHE_BYTES // 4:
            return rec, stamp, False
        _parsed.put(key, rec, stamp[2])
    return rec, stamp, True


def _stamp(root: str, path: str) -> Stamp:
    """(root, path, size, mtime_ns, ctime_ns) of a file as it is now; all three -1 when it is gone or unreachable."""
    try:
        now = os.stat(os.path.join(paths.unescape(root), paths.unescape(path)))
    except (OSError, ValueError):
        return root, path, -1, -1, -1
    return root, path, now.st_size, now.st_mtime_ns, now.st_ctime_ns


def _unchanged(stamps: tuple[Stamp, ...]) -> bool:
    """Are the files a page was built from as they were then (one stat each)?"""
    return all(_stamp(stamp[0], stamp[1]) == stamp for stamp in stamps)


def _entry_or_404(pk: int) -> RecordingEntry:
    try:
        return RecordingEntry.objects.select_related("root").defer("search_text", *ROOT_HEAVY).get(pk=pk)
    except (RecordingEntry.DoesNotExist, OverflowError, ValueError):
        raise Http404("no such recording") from None


def _pretty(value: Any) -> str:
    return jsontext.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


# Recording pages as built, kept for as long as no root's rows change and the file is as it was. Their rows
# (the previous and next file, the variants, replay's file, where tool results went) come from the index,
# which each index run that writes marks with a new generation, and the rest from the file, checked by one
# stat. A kept page holds what it shows, not the file's whole JSON (the raw tab's text aside), so it weighs
# less than a parsed file and more of them are kept (selectors/cache.py): a warm page then costs no query but
# the generation's, whatever other files were opened since.


def recording_get(*, pk: int, tab: str = "conversation") -> RecordingDetail:
    """One recording, read from its file and reassembled, with what its tab needs; raises Http404."""
    tab = tab if tab in TABS else "conversation"
    key = (pk, tab, _generation(), settings.RAW_VIEW_MAX_BYTES, settings.MAX_RECORDING_BYTES)
    kept = _details.get(key)
    if kept is not None and _unchanged(kept[0]):
        return kept[1]
    detail, stamps = _recording_build(pk=pk, tab=tab)
    if stamps:
        _details.put(key, (stamps, detail), detail.entry["size"] + len(detail.raw_text))
    return detail


def _recording_build(*, pk: int, tab: str) -> tuple[RecordingDetail, tuple[Stamp, ...]]:
    entry = _entry_or_404(pk)
    rec, stamp, kept = _load_stamped(entry)
    test_rows = _test_rows(entry)
    # Previous and next in the order the conversation goes: a later step's request carries more messages (side
    # calls, such as model lists and safety checks, after the conversation's steps); then by file name.
    siblings = [row[0] for row in sorted(test_rows, key=lambda row: (row[2], row[3], row[1]))]
    position = siblings.index(entry.pk) if entry.pk in siblings else -1
    raw = rec.raw if isinstance(rec.raw, dict) else {}
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    body = request.get("body") or request.get("payload") or {}
    tools = body.get("tools") if isinstance(body, dict) else None
    findings = checks.run(rec)
    key = replay.key_for(rec) if rec.kind != Kind.INVALID else None
    superseded_by, supersedes = variants_of(entry)
    raw_text, raw_state = _raw_tab(entry) if tab == "raw" else ("", "")
    # The files the page was made from: its own, and the later ones of the test read for its tool results.
    results, read = _result_pks(entry, rec, test_rows) if tab == "conversation" else ({}, ())
    detail = RecordingDetail(
        entry=_entry_dict(entry),
        recording=dataclasses.replace(rec, raw=None),  # the page shows what was made of it: the kept page is lighter
        summary=presenters.recording_summary(rec),
        history=threads.pair_tool_results(rec.request_messages),
        answer=threads.pair_tool_results(rec.choices),
        params_json=_pretty(rec.request_params) if rec.request_params else "",
        tools_json=_pretty(tools) if tools else "",
        details_json=_pretty(rec.details) if rec.details else "",
        findings=tuple(f"{f.rule}: {f.message}" for f in findings),
        notices=tuple(f.message for f in findings if f.rule not in OWN_BOXES),
        prev_pk=siblings[position - 1] if position > 0 else None,
        next_pk=siblings[position + 1] if 0 <= position < len(siblings) - 1 else None,
        raw_too_large=entry.size > settings.RAW_VIEW_MAX_BYTES,
        is_stream=rec.chunk_count > 0,
        tab=tab,
        chunks=stream.chunk_rows(rec) if tab == "chunks" else (),
        raw_text=raw_text,
        raw_state=raw_state,
        result_pks=results,
        replay=key,
        replay_pk=_replay_pk(entry, key),
        superseded_by=superseded_by,
        supersedes=supersedes,
    )
    return detail, (stamp, *read) if kept else ()  # a page from a file not kept is not kept either


OWN_BOXES = ("missing-usage", "parse-error", "unreachable", "name-mismatch")  # findings with a box of their own


def _test_rows(entry: RecordingEntry) -> list[tuple[int, str, bool, int]]:
    """(pk, path, is_side_call, message_count) of every row of this test in this root, by path."""
    if not entry.test_id:
        return []
    # Sorted here rather than by ORDER BY path: without table statistics SQLite would walk the (root, path)
    # index through the whole root to skip the sort, instead of using the test_id index (5 ms, not 0.5).
    rows = RecordingEntry.objects.filter(root_id=entry.root_id, test_id=entry.test_id)
    return sorted(rows.values_list("pk", "path", "is_side_call", "message_count"), key=lambda row: row[1])


def _replay_pk(entry: RecordingEntry, key: replay.ReplayKey | None) -> int | None:
    """The file of the same root whose name carries this request's hash, when it is another file."""
    if key is None or not key.hash or key.status == replay.CURRENT:
        return None
    # By the hash alone (a handful of rows, through its index); the rest is sorted out here, for the same
    # reason as in _test_rows.
    rows = RecordingEntry.objects.filter(replay_hash=key.hash).values_list("pk", "path", "root_id", "replay_status")
    found = sorted(
        (path, pk)
        for pk, path, root_id, status in rows
        if root_id == entry.root_id and status == replay.CURRENT and pk != entry.pk
    )
    return found[0][1] if found else None


RESULT_LOOKUPS = 8  # files read at most to find where a tool call's result went


def _result_pks(
    entry: RecordingEntry, rec: Recording, test_rows: list[tuple[int, str, bool, int]]
) -> tuple[dict[str, int], tuple[Stamp, ...]]:
    """The later recordings of the same test whose requests carry this answer's tool results, and the stamps
    (_stamp) of the files read to find them, each taken before its read."""
    wanted = {call.id for choice in rec.choices for call in choice.tool_calls if call.id}
    if not wanted or not entry.test_id:
        return {}, ()
    # The next step repeats this request's messages, then the answer, then one tool message per call.
    later = [
        (count, path, pk)
        for pk, path, side, count in test_rows
        if not side and count > entry.message_count + 1 and pk != entry.pk
    ]
    pks = [pk for _, _, pk in sorted(later)[:RESULT_LOOKUPS]]
    candidates = RecordingEntry.objects.select_related("root").defer("search_text", *ROOT_HEAVY).in_bulk(pks)
    found: dict[str, int] = {}
    read = []
    for pk in pks:
        if pk not in candidates:
            continue  # removed since
        later, stamp, _ = _load_stamped(candidates[pk])
        read.append(stamp)
        for message in later.request_messages:
            if message.role == "tool" and message.tool_call_id in wanted:
                found.setdefault(message.tool_call_id, pk)
        if len(found) == len(wanted):
            break
    return found, tuple(read)


def _raw_tab(entry: RecordingEntry) -> tuple[str, str]:
    if entry.size > settings.RAW_VIEW_MAX_BYTES:
        return "", "too-large"
    _, data = recording_raw(pk=entry.pk, entry=entry, limit=settings.RAW_VIEW_MAX_BYTES)
    if data is None:
        path = indexer.entry_path(entry)
        return "", "too-large" if path is not None and path.is_file() else "missing"
    try:
        return jsontext.dumps(jsontext.loads(data), option=orjson.OPT_INDENT_2).decode(), "shown"
    except (ValueError, TypeError):
        return data.decode("utf-8", errors="replace"), "shown"


def _entry_dict(entry: RecordingEntry) -> dict[str, Any]:
    return {
        "pk": entry.pk,
        "root": entry.root.name,
        "path": entry.path,
        "size": entry.size,
        "test_id": entry.test_id,
        "suite": entry.suite,
        "kind": entry.kind,
        "provider": entry.provider,
        "provider_name": entry.provider_name,
        "model": entry.model,
        "streaming": entry.streaming,
        "total_tokens": entry.total_tokens,
        "missing_usage": entry.missing_usage,
        "missing_usage_reason": entry.missing_usage_reason,
        # What to do about it, by what replay does with the file: re-record a live one, delete one never replayed or
        # superseded (lifecycle.FATES).
        "usage_fate": entry.usage_fate,
        "missing_usage_why": checks.without_advice(entry.missing_usage_reason),
        "invalid_tool_args": entry.invalid_tool_args,
        "error": entry.error,
        "parse_error": entry.parse_error,
        "tool_call_count": entry.tool_call_count,
        "replay": {
            "hash": entry.replay_hash or None,
            "status": entry.replay_status or None,
            "rule": entry.replay_rule or None,
            "looked_up_as": entry.replay_name or None,
        },
    }


def recording_chunks(*, pk: int) -> tuple[Chunk, ...]:
    """The stream elements of one recording, for the Chunks tab's JSON twin."""
    return stream.chunk_rows(_load(_entry_or_404(pk)))


def recording_raw(
    *, pk: int, entry: RecordingEntry | None = None, limit: int | None = None
) -> tuple[RecordingEntry, bytes | None]:
    """The file's bytes, read from inside its root only (None when gone or over limit, MAX_RECORDING_BYTES)."""
    entry = entry or _entry_or_404(pk)
    limit = settings.MAX_RECORDING_BYTES if limit is None else limit
    if entry.size > limit:
        return entry, None
    data, _ = indexer.read_entry(entry, limit)  # None when gone, outside the root, or grown over the limit
    return entry, data


def raw_twin(data: bytes, path: str) -> bytes | dict[str, Any] | Any:
    """The Raw tab's JSON twin of a file's bytes, JSON whatever they hold: the bytes themselves when strict JSON
    parsers read them; what only Python's reader takes (NaN, integers beyond 64 bits, lone surrogates) as its
    values, for the twin to write as every twin does; anything else as an object saying why, with the text."""
    try:
        orjson.loads(data)
        return data
    except orjson.JSONDecodeError:
        pass
    try:
        return jsontext.loads(data)
    except (ValueError, RecursionError) as exc:
        why = f"not valid JSON: {indexer.one_line(exc)}"
        return {"path": path, "error": why, "text": data.decode("utf-8", "replace")}
