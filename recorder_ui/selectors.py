"""Read queries for the pages. They return dataclasses, so a page and its JSON twin share one source."""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import Http404

from recorder_ui import indexer, presenters
from recorder_ui.domain import stream, threads
from recorder_ui.domain.model import Chunk, Kind, Recording
from recorder_ui.models import RecordingEntry, Root

PAGE_SIZE = 50
# Must match the expression of the GIN index in migration 0002, or PostgreSQL will not use the index.
TSVECTOR = 'to_tsvector(\'simple\'::regconfig, "recorder_ui_recordingentry"."search_text")'
SORTS = {
    "path": ("path",),
    "test": ("test_id", "path"),
    "-tokens": ("-total_tokens", "path"),
    "tokens": ("total_tokens", "path"),
    "-size": ("-size", "path"),
    "size": ("size", "path"),
}
FILTERS = ("root", "suite", "test_file", "kind", "provider", "model", "streaming", "tools", "missing", "errors")
LIST_COLUMNS = (
    "pk", "path", "test_id", "test_name", "test_params", "suite", "kind", "model", "provider", "streaming",
    "total_tokens", "tool_call_count", "tool_names", "missing_usage", "error", "parse_error", "invalid_tool_args",
    "size", "root__name",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    percent: float
    query: str = ""


@dataclass(frozen=True, slots=True)
class Overview:
    recordings: int
    tests: int
    suites: int
    tokens: int
    missing_usage: int
    parse_errors: int
    errors: int
    by_suite: tuple[Bar, ...]
    by_model: tuple[Bar, ...]
    top_tests: tuple[dict[str, Any], ...]
    roots: tuple[dict[str, Any], ...]
    refresh: dict[str, Any]


def _bars(rows: list[dict[str, Any]], key: str, param: str) -> tuple[Bar, ...]:
    top = max((r["tokens"] or 0 for r in rows), default=0) or 1
    return tuple(
        Bar(
            label=r[key] or "(none)",
            value=r["tokens"] or 0,
            percent=round(100 * (r["tokens"] or 0) / top, 1),
            query=urlencode({param: r[key]}),
        )
        for r in rows
    )


def overview() -> Overview:
    """Totals, token charts, problems and index freshness for the overview page."""
    entries = RecordingEntry.objects.all()
    totals = entries.aggregate(
        recordings=Count("pk"),
        tokens=Sum("total_tokens"),
        missing=Count("pk", filter=Q(missing_usage=True)),
        parse_errors=Count("pk", filter=~Q(parse_error="")),
        errors=Count("pk", filter=~Q(error="")),
    )
    suites = list(entries.values("suite").annotate(tokens=Sum("total_tokens")).order_by("-tokens", "suite"))
    models = list(
        entries.exclude(model="").values("model").annotate(tokens=Sum("total_tokens")).order_by("-tokens")[:15]
    )
    top_tests = tuple(
        entries.exclude(test_id="")
        .values("test_id")
        .annotate(tokens=Sum("total_tokens"), recordings=Count("pk"))
        .order_by("-tokens")[:10]
    )
    roots = tuple(
        {
            "name": root.name,
            "path": root.path,
            "last_indexed_at": root.last_indexed_at,
            "recordings": root.entries.count(),
            "last_report": root.last_report,
        }
        for root in Root.objects.order_by("name")
    )
    return Overview(
        recordings=totals["recordings"],
        tests=entries.exclude(test_id="").values("test_id").distinct().count(),
        suites=len(suites),
        tokens=totals["tokens"] or 0,
        missing_usage=totals["missing"],
        parse_errors=totals["parse_errors"],
        errors=totals["errors"],
        by_suite=_bars([s for s in suites if s["tokens"]], "suite", "suite"),
        by_model=_bars(models, "model", "model"),
        top_tests=top_tests,
        roots=roots,
        refresh=indexer.refresh_state(),
    )


@dataclass(frozen=True, slots=True)
class RecordingPage:
    rows: tuple[dict[str, Any], ...]
    number: int
    pages: int
    total: int
    query: str
    sort: str
    filters: dict[str, str]
    options: dict[str, tuple[str, ...]]
    prev_query: str = ""
    next_query: str = ""
    permalink: str = ""
    sort_links: dict[str, str] = field(default_factory=dict)


def _clean(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v not in ("", None)}


def search(queryset: QuerySet[RecordingEntry], query: str) -> QuerySet[RecordingEntry]:
    """Full-text search over messages, assembled output and tool arguments: every word must appear.

    PostgreSQL uses its own text search (websearch syntax: "quoted phrases", -excluded words), backed by a
    GIN index; SQLite, the zero-setup default, matches each word as a substring.
    """
    query = query.strip()[:500]
    words = [w.strip('"') for w in query.split()[:12] if w.strip('"')]
    substrings = Q()
    for word in words:
        substrings &= Q(search_text__icontains=word)
    if connection.vendor == "postgresql" and re.search(r"\w", query):
        # Text search finds words and phrases fast; a substring match keeps partial ids and names findable.
        matches = RecordingEntry.objects.extra(  # noqa: S610 - a fixed expression; the query is a bound parameter
            where=[f"{TSVECTOR} @@ websearch_to_tsquery('simple'::regconfig, %s)"], params=[query]
        ).values("pk")
        return queryset.filter(Q(pk__in=matches) | substrings)
    if words:
        queryset = queryset.filter(substrings)
    return queryset


def _filtered(params: dict[str, str]) -> QuerySet[RecordingEntry]:
    qs = RecordingEntry.objects.all()
    for name in ("suite", "test_file", "kind", "provider", "model"):
        if params.get(name):
            qs = qs.filter(**{name: params[name]})
    if params.get("root"):
        qs = qs.filter(root__name=params["root"])
    if params.get("test_id"):
        qs = qs.filter(test_id=params["test_id"])
    if params.get("streaming") in ("yes", "no"):
        qs = qs.filter(streaming=params["streaming"] == "yes")
    if params.get("tools") in ("yes", "no"):
        qs = qs.filter(tool_call_count__gt=0) if params["tools"] == "yes" else qs.filter(tool_call_count=0)
    if params.get("missing") == "yes":
        qs = qs.filter(missing_usage=True)
    if params.get("errors") == "yes":
        qs = qs.filter(~Q(error="") | ~Q(parse_error="") | Q(invalid_tool_args=True))
    if params.get("q"):
        qs = search(qs, params["q"])
    return qs


def _options() -> dict[str, tuple[str, ...]]:
    def distinct(column: str) -> tuple[str, ...]:
        values = RecordingEntry.objects.exclude(**{column: ""}).values_list(column, flat=True).distinct()
        return tuple(sorted(values))

    return {
        "root": tuple(Root.objects.order_by("name").values_list("name", flat=True)),
        "suite": distinct("suite"),
        "test_file": distinct("test_file"),
        "kind": distinct("kind"),
        "provider": distinct("provider"),
        "model": distinct("model"),
    }


def recording_page(*, params: dict[str, str]) -> RecordingPage:
    """One page of the recordings list, with every filter state in its query strings."""
    params = _clean({k: params.get(k, "") for k in (*FILTERS, "q", "sort", "page", "test_id")})
    sort = params.get("sort", "path") if params.get("sort") in SORTS else "path"
    qs = _filtered(params).order_by(*SORTS[sort])
    total = qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    rows = tuple(qs.values(*LIST_COLUMNS)[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    state = {k: v for k, v in params.items() if k != "page"}
    return RecordingPage(
        rows=rows,
        number=number,
        pages=pages,
        total=total,
        query=params.get("q", ""),
        sort=sort,
        filters={k: params.get(k, "") for k in (*FILTERS, "test_id")},
        options=_options(),
        prev_query=urlencode({**state, "page": number - 1}) if number > 1 else "",
        next_query=urlencode({**state, "page": number + 1}) if number < pages else "",
        permalink=urlencode(state),
        sort_links={key: urlencode({**state, "sort": key}) for key in SORTS},
    )


@dataclass(frozen=True, slots=True)
class RecordingDetail:
    entry: dict[str, Any]
    recording: Recording
    summary: dict[str, Any]
    history: tuple[threads.Turn, ...]
    answer: tuple[threads.Turn, ...]
    params_json: str
    tools_json: str
    findings: tuple[str, ...]
    prev_pk: int | None
    next_pk: int | None
    raw_too_large: bool
    is_stream: bool


def _entry_or_404(pk: int) -> RecordingEntry:
    try:
        return RecordingEntry.objects.select_related("root").get(pk=pk)
    except (RecordingEntry.DoesNotExist, OverflowError, ValueError):
        raise Http404("no such recording") from None


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def recording_get(*, pk: int) -> RecordingDetail:
    """One recording, read from its file and reassembled; raises Http404."""
    entry = _entry_or_404(pk)
    rec = indexer.load_entry(entry)
    siblings: list[int] = []
    if entry.test_id:
        siblings = list(
            RecordingEntry.objects.filter(root=entry.root, test_id=entry.test_id)
            .order_by("path")
            .values_list("pk", flat=True)
        )
    position = siblings.index(entry.pk) if entry.pk in siblings else -1
    raw = rec.raw if isinstance(rec.raw, dict) else {}
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    body = request.get("body") or request.get("payload") or {}
    tools = body.get("tools") if isinstance(body, dict) else None
    from recorder_ui.domain import checks

    return RecordingDetail(
        entry=_entry_dict(entry),
        recording=rec,
        summary=presenters.recording_summary(rec),
        history=threads.pair_tool_results(rec.request_messages),
        answer=threads.pair_tool_results(rec.choices),
        params_json=_pretty(rec.request_params) if rec.request_params else "",
        tools_json=_pretty(tools) if tools else "",
        findings=tuple(f"{f.rule}: {f.message}" for f in checks.run(rec)),
        prev_pk=siblings[position - 1] if position > 0 else None,
        next_pk=siblings[position + 1] if 0 <= position < len(siblings) - 1 else None,
        raw_too_large=entry.size > settings.RAW_VIEW_MAX_BYTES,
        is_stream=rec.chunk_count > 0,
    )


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
        "model": entry.model,
        "streaming": entry.streaming,
        "total_tokens": entry.total_tokens,
        "missing_usage": entry.missing_usage,
        "missing_usage_reason": entry.missing_usage_reason,
        "invalid_tool_args": entry.invalid_tool_args,
        "error": entry.error,
        "parse_error": entry.parse_error,
        "tool_call_count": entry.tool_call_count,
    }


def recording_chunks(*, pk: int) -> tuple[Chunk, ...]:
    """The stream elements of one recording, for the Chunks tab."""
    return stream.chunk_rows(indexer.load_entry(_entry_or_404(pk)))


def recording_raw(*, pk: int) -> tuple[RecordingEntry, bytes | None]:
    """The file's bytes, read from inside its root only (None when gone or too large)."""
    entry = _entry_or_404(pk)
    path = indexer.entry_path(entry)
    if path is None or not path.is_file() or entry.size > settings.MAX_RECORDING_BYTES:
        return entry, None
    try:
        return entry, path.read_bytes()
    except OSError:
        return entry, None


@dataclass(frozen=True, slots=True)
class TestGroup:
    test_file: str
    tests: tuple[dict[str, Any], ...]
    recordings: int
    tokens: int
    missing: int


def test_list(*, query: str = "", suite: str = "") -> tuple[TestGroup, ...]:
    """Tests grouped by test file, with recording counts, tokens and missing usage."""
    qs = RecordingEntry.objects.exclude(test_id="")
    if suite:
        qs = qs.filter(suite=suite)
    if query:
        qs = qs.filter(test_id__icontains=query)
    rows = (
        qs.values("test_file", "test_id", "test_name", "test_params")
        .annotate(recordings=Count("pk"), tokens=Sum("total_tokens"), missing=Count("pk", filter=Q(missing_usage=True)))
        .order_by("test_file", "test_name", "test_params")
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["query"] = urlencode({"id": row["test_id"]})
        groups.setdefault(row["test_file"], []).append(row)
    return tuple(
        TestGroup(
            test_file=name,
            tests=tuple(tests),
            recordings=sum(t["recordings"] for t in tests),
            tokens=sum(t["tokens"] or 0 for t in tests),
            missing=sum(t["missing"] for t in tests),
        )
        for name, tests in groups.items()
    )


@dataclass(frozen=True, slots=True)
class TestDetail:
    test_id: str
    recordings: int
    tokens: int
    missing: int
    stitched: threads.TestThreads
    pk_by_path: dict[str, int]
    unreadable: tuple[dict[str, Any], ...]


_test_cache: OrderedDict[tuple[str, tuple[tuple[int, str], ...]], TestDetail] = OrderedDict()
_test_cache_lock = threading.Lock()
TEST_CACHE_RECORDINGS = 4000  # bound the cache by the recordings it holds, not by tests: tests vary 1 to 331


def test_get(*, test_id: str) -> TestDetail:
    """One test's recordings stitched into conversation threads; raises Http404.

    Stitching reads every file of the test, so the result is kept per process until one of them changes.
    """
    entries = list(RecordingEntry.objects.select_related("root").filter(test_id=test_id).order_by("path"))
    if not test_id or not entries:
        raise Http404("no such test")
    key = (test_id, tuple((e.pk, e.sha256) for e in entries))
    with _test_cache_lock:
        cached = _test_cache.get(key)
        if cached is not None:
            _test_cache.move_to_end(key)
            return cached
    detail = _test_build(test_id, entries)
    with _test_cache_lock:
        _test_cache[key] = detail
        while len(_test_cache) > 1 and sum(d.recordings for d in _test_cache.values()) > TEST_CACHE_RECORDINGS:
            _test_cache.popitem(last=False)
    return detail


def _test_build(test_id: str, entries: list[RecordingEntry]) -> TestDetail:
    recordings = []
    unreadable = []
    for entry in entries:
        rec = indexer.load_entry(entry)
        if rec.kind == Kind.INVALID:
            unreadable.append({"pk": entry.pk, "path": entry.path, "error": rec.error})
        else:
            recordings.append(dataclasses.replace(rec, raw=None))  # the page never needs the raw JSON
    return TestDetail(
        test_id=test_id,
        recordings=len(entries),
        tokens=sum(e.total_tokens or 0 for e in entries),
        missing=sum(1 for e in entries if e.missing_usage),
        stitched=threads.stitch(recordings),
        pk_by_path={e.path: e.pk for e in entries},
        unreadable=tuple(unreadable),
    )


@dataclass(frozen=True, slots=True)
class MissingGroup:
    test_file: str
    provider: str
    model: str
    rows: tuple[dict[str, Any], ...]


def missing_usage_list() -> tuple[MissingGroup, ...]:
    """Every stream without a usage chunk, grouped by test file, provider and model."""
    rows = RecordingEntry.objects.filter(missing_usage=True).order_by(
        "test_file", "provider", "model", "test_id", "path"
    )
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    found = list(
        rows.values(
            "pk", "path", "test_id", "test_file", "provider", "model", "missing_usage_reason", "include_usage",
            "request_key",
        )
    )  # fmt: skip
    # A variant of the same call (same test, same messages) that was recorded with usage: link it.
    keys = {(row["test_id"], row["request_key"]) for row in found if row["request_key"]}
    with_usage: dict[tuple[str, str], int] = {}
    if keys:
        candidates = RecordingEntry.objects.filter(
            test_id__in={k[0] for k in keys},
            request_key__in={k[1] for k in keys},
            total_tokens__isnull=False,
            kind="chat",
            streaming=True,
        ).values_list("test_id", "request_key", "pk")
        for test_id, request_key, pk in candidates:
            with_usage.setdefault((test_id, request_key), pk)
    for row in found:
        row["variant_with_usage"] = with_usage.get((row["test_id"], row["request_key"]))
        groups.setdefault((row["test_file"], row["provider"], row["model"]), []).append(row)
    return tuple(MissingGroup(test_file=k[0], provider=k[1], model=k[2], rows=tuple(v)) for k, v in groups.items())


def error_list() -> tuple[dict[str, Any], ...]:
    """The files the parser could not read, each with its error."""
    return tuple(
        RecordingEntry.objects.exclude(parse_error="")
        .order_by("root__name", "path")
        .values("pk", "path", "parse_error", "size", "root__name")
    )


def root_names() -> tuple[str, ...]:
    """The catalog's roots, for pickers."""
    return tuple(Root.objects.order_by("name").values_list("name", flat=True))


def health() -> dict[str, Any]:
    """A liveness answer that also proves the database answers."""
    last = Root.objects.aggregate(last=Max("last_indexed_at"))["last"]
    return {"status": "ok", "recordings": RecordingEntry.objects.count(), "last_indexed_at": last}
