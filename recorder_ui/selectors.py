"""Read queries for the pages. They return dataclasses, so a page and its JSON twin share one source."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import Http404

from recorder_ui import indexer, presenters
from recorder_ui import search as search_backend
from recorder_ui.domain import checks, jsontext, paths, stream, threads
from recorder_ui.domain.model import Chunk, Kind, Recording
from recorder_ui.models import RecordingEntry, Root

PAGE_SIZE = 50
SORTS = {
    "path": ("path",),
    "test": ("test_id", "path"),
    "-tokens": ("-total_tokens", "path"),
    "tokens": ("total_tokens", "path"),
    "-size": ("-size", "path"),
    "size": ("size", "path"),
}
FILTERS = ("root", "suite", "test_file", "kind", "provider", "model", "streaming", "tools", "missing", "errors")
# The list's "errors" filter and the overview's count: recorded errors, unreadable files, bad tool arguments.
ERROR_FILTER = ~Q(error="") | ~Q(parse_error="") | Q(invalid_tool_args=True)
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


class _Lru[K, V]:
    """A least-recently-used map of this process, bounded by the total weight of what it holds (the newest
    entry is always kept). Safe to share between threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V, weight: int = 1) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._weight += weight - (old[1] if old else 0)
            self._items[key] = (value, weight)
            while self._weight > self.limit and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0


# Pages over the whole index (overview, lists, missing usage, errors) are kept for as long as no root's rows
# change: each key holds every root's generation, which each index run that writes draws anew.
PAGE_CACHE_ENTRIES = 256
_pages: _Lru[tuple[object, ...], Any] = _Lru(PAGE_CACHE_ENTRIES)

# Parsed files, keyed by the file's size and mtime as they are now (one stat per request), so a changed or
# vanished file is read again at once, as it would be without the cache. Weighed by the bytes of the files;
# unreadable files are not kept.
PARSE_CACHE_BYTES = 8 * 1024 * 1024  # of files on disk; parsed, they take about four times as much
_parsed: _Lru[tuple[object, ...], Recording] = _Lru(PARSE_CACHE_BYTES)

# Stitched tests, weighed by the recordings they hold, not by tests: tests vary from 1 to 331 recordings.
TEST_CACHE_RECORDINGS = 4000
_tests: _Lru[tuple[object, ...], TestDetail] = _Lru(TEST_CACHE_RECORDINGS)


def _load(entry: RecordingEntry) -> Recording:
    try:
        now = os.stat(os.path.join(paths.unescape(entry.root.path), paths.unescape(entry.path)))
    except (OSError, ValueError):
        return indexer.load_entry(entry)  # gone or unreachable: the safe read says which, never from the cache
    key = (entry.pk, entry.root.path, entry.path, now.st_size, now.st_mtime_ns)
    rec = _parsed.get(key)
    if rec is None:
        rec = indexer.load_entry(entry)
        if rec.kind != Kind.INVALID and now.st_size <= PARSE_CACHE_BYTES // 4:
            _parsed.put(key, rec, now.st_size)
    return rec


def clear_caches(*, tests: bool = False) -> None:
    """Forget every kept page and parsed file of this process (and the stitched tests, with tests=True)."""
    _pages.clear()
    _parsed.clear()
    if tests:
        _tests.clear()


def _generation() -> tuple[tuple[int, int], ...]:
    return tuple(Root.objects.order_by("pk").values_list("pk", "generation"))


def _cached[T](name: str, params: dict[str, str], build: Callable[[], T]) -> T:
    key = (name, _generation(), tuple(sorted(params.items())))
    value = _pages.get(key)
    if value is None:
        value = build()
        _pages.put(key, value)
    return value  # type: ignore[no-any-return]


def overview() -> Overview:
    """Totals, token charts, problems and index freshness for the overview page."""
    totals = _cached("overview", {}, _overview_totals)
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
    return dataclasses.replace(totals, roots=roots, refresh=indexer.refresh_state())


def _overview_totals() -> Overview:
    entries = RecordingEntry.objects.all()
    totals = entries.aggregate(
        recordings=Count("pk"),
        tokens=Sum("total_tokens"),
        missing=Count("pk", filter=Q(missing_usage=True)),
        parse_errors=Count("pk", filter=~Q(parse_error="")),
        errors=Count("pk", filter=ERROR_FILTER),
    )
    suites = list(entries.values("suite").annotate(tokens=Sum("total_tokens")).order_by("-tokens", "suite"))
    models = list(
        entries.exclude(model="").values("model").annotate(tokens=Sum("total_tokens")).order_by("-tokens")[:15]
    )
    top_tests = tuple(
        entries.exclude(test_id="")
        .values("test_id")
        .annotate(tokens=Sum("total_tokens"), recordings=Count("pk"))
        .filter(tokens__gt=0)
        .order_by("-tokens", "test_id")[:10]
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
        roots=(),
        refresh={},
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
    """Full-text search over messages, assembled output and tool arguments (recorder_ui/search.py)."""
    return search_backend.apply(queryset, query)


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
        qs = qs.filter(ERROR_FILTER)
    if params.get("q"):
        qs = search(qs, params["q"])
    return qs


def _options() -> dict[str, tuple[str, ...]]:
    return {
        "root": tuple(Root.objects.order_by("name").values_list("name", flat=True)),
        "suite": _distinct("suite"),
        "test_file": _distinct("test_file"),
        "kind": _distinct("kind"),
        "provider": _distinct("provider"),
        "model": _distinct("model"),
    }


def _with_snippets(rows: tuple[dict[str, Any], ...], query: str) -> tuple[dict[str, Any], ...]:
    """Each searched row with an excerpt around its first match, so a reviewer sees why it matched."""
    texts = dict(RecordingEntry.objects.filter(pk__in=[row["pk"] for row in rows]).values_list("pk", "search_text"))
    return tuple({**row, "snippet": search_backend.snippet(texts.get(row["pk"], ""), query)} for row in rows)


def recording_page(*, params: dict[str, str]) -> RecordingPage:
    """One page of the recordings list, with every filter state in its query strings."""
    params = _clean({k: params.get(k, "") for k in (*FILTERS, "q", "sort", "page", "test_id")})
    return _cached("recordings", params, lambda: _recording_page(params))


def _recording_page(params: dict[str, str]) -> RecordingPage:
    sort = params.get("sort", "path") if params.get("sort") in SORTS else "path"
    qs = _filtered(params).order_by(*SORTS[sort])
    total = qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    rows = tuple(qs.values(*LIST_COLUMNS)[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    if params.get("q") and rows:
        rows = _with_snippets(rows, params["q"])
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


def _entry_or_404(pk: int) -> RecordingEntry:
    try:
        return RecordingEntry.objects.select_related("root").defer("search_text").get(pk=pk)
    except (RecordingEntry.DoesNotExist, OverflowError, ValueError):
        raise Http404("no such recording") from None


def _pretty(value: Any) -> str:
    return jsontext.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def recording_get(*, pk: int, tab: str = "conversation") -> RecordingDetail:
    """One recording, read from its file and reassembled, with what its tab needs; raises Http404."""
    entry = _entry_or_404(pk)
    tab = tab if tab in TABS else "conversation"
    rec = _load(entry)
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
    findings = checks.run(rec)
    raw_text, raw_state = _raw_tab(entry) if tab == "raw" else ("", "")
    return RecordingDetail(
        entry=_entry_dict(entry),
        recording=rec,
        summary=presenters.recording_summary(rec),
        history=threads.pair_tool_results(rec.request_messages),
        answer=threads.pair_tool_results(rec.choices),
        params_json=_pretty(rec.request_params) if rec.request_params else "",
        tools_json=_pretty(tools) if tools else "",
        details_json=_pretty(rec.details) if rec.details else "",
        findings=tuple(f"{f.rule}: {f.message}" for f in findings),
        notices=tuple(f.message for f in findings if f.rule not in ("missing-usage", "parse-error")),
        prev_pk=siblings[position - 1] if position > 0 else None,
        next_pk=siblings[position + 1] if 0 <= position < len(siblings) - 1 else None,
        raw_too_large=entry.size > settings.RAW_VIEW_MAX_BYTES,
        is_stream=rec.chunk_count > 0,
        tab=tab,
        chunks=stream.chunk_rows(rec) if tab == "chunks" else (),
        raw_text=raw_text,
        raw_state=raw_state,
        result_pks=_result_pks(entry, rec) if tab == "conversation" else {},
    )


RESULT_LOOKUPS = 8  # files read at most to find where a tool call's result went


def _result_pks(entry: RecordingEntry, rec: Recording) -> dict[str, int]:
    """The later recordings of the same test whose requests carry this answer's tool results."""
    wanted = {call.id for choice in rec.choices for call in choice.tool_calls if call.id}
    if not wanted or not entry.test_id:
        return {}
    # The next step repeats this request's messages, then the answer, then one tool message per call.
    candidates = (
        RecordingEntry.objects.select_related("root")
        .filter(root=entry.root, test_id=entry.test_id, is_side_call=False, message_count__gt=entry.message_count + 1)
        .exclude(pk=entry.pk)
        .order_by("message_count", "path")[:RESULT_LOOKUPS]
    )
    found: dict[str, int] = {}
    for candidate in candidates:
        for message in _load(candidate).request_messages:
            if message.role == "tool" and message.tool_call_id in wanted:
                found.setdefault(message.tool_call_id, candidate.pk)
        if len(found) == len(wanted):
            break
    return found


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


TEST_PAGE_SIZE = 100
TEST_FILTERS = ("q", "suite", "missing", "page")


@dataclass(frozen=True, slots=True)
class TestGroup:
    test_file: str
    tests: tuple[dict[str, Any], ...]  # the file's tests on this page
    test_count: int  # every matching test of the file, on any page
    recordings: int
    tokens: int | None  # None when no recording of the file carries usage
    missing: int
    continued: bool = False  # the file's first tests are on the previous page


@dataclass(frozen=True, slots=True)
class TestPage:
    groups: tuple[TestGroup, ...]
    number: int
    pages: int
    total: int
    query: str
    filters: dict[str, str]
    options: dict[str, tuple[str, ...]]
    prev_query: str = ""
    next_query: str = ""
    permalink: str = ""


def test_page(*, params: dict[str, str]) -> TestPage:
    """One page of tests (one row per test id), grouped by test file, with recordings, tokens and missing usage."""
    params = _clean({k: params.get(k, "")[:500] for k in TEST_FILTERS})
    return _cached("tests", params, lambda: _test_page(params))


def _test_page(params: dict[str, str]) -> TestPage:
    qs = RecordingEntry.objects.exclude(test_id="")
    if params.get("suite"):
        qs = qs.filter(suite=params["suite"])
    if params.get("q"):
        for word in params["q"].split()[:12]:
            qs = qs.filter(test_id__icontains=word)
    tests = (
        qs.values("test_file", "test_id", "test_name", "test_params")
        .annotate(recordings=Count("pk"), tokens=Sum("total_tokens"), missing=Count("pk", filter=Q(missing_usage=True)))
        .order_by("test_file", "test_name", "test_params", "test_id")
    )
    if params.get("missing") == "yes":
        tests = tests.filter(missing__gt=0)
    total = tests.count()
    pages = max(1, math.ceil(total / TEST_PAGE_SIZE))
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    rows = list(tests[(number - 1) * TEST_PAGE_SIZE : number * TEST_PAGE_SIZE])
    files = {row["test_file"] for row in rows}
    totals = {
        row["test_file"]: row
        for row in tests.order_by()
        .filter(test_file__in=files)
        .values("test_file")
        .annotate(
            tests=Count("test_id", distinct=True),
            file_recordings=Count("pk"),
            file_tokens=Sum("total_tokens"),
            file_missing=Count("pk", filter=Q(missing_usage=True)),
        )
    } if params.get("missing") != "yes" else {}  # fmt: skip
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["query"] = urlencode({"id": row["test_id"]})
        by_file.setdefault(row["test_file"], []).append(row)
    groups = []
    for position, (name, members) in enumerate(by_file.items()):
        whole = totals.get(name)
        groups.append(
            TestGroup(
                test_file=name,
                tests=tuple(members),
                test_count=whole["tests"] if whole else len(members),
                recordings=whole["file_recordings"] if whole else sum(t["recordings"] for t in members),
                tokens=whole["file_tokens"] if whole else sum(t["tokens"] or 0 for t in members),
                missing=whole["file_missing"] if whole else sum(t["missing"] for t in members),
                continued=position == 0 and number > 1 and _file_starts_before(tests, name, number),
            )
        )
    state = {k: v for k, v in params.items() if k != "page"}
    return TestPage(
        groups=tuple(groups),
        number=number,
        pages=pages,
        total=total,
        query=params.get("q", ""),
        filters={k: params.get(k, "") for k in ("suite", "missing")},
        options={"suite": _distinct("suite")},
        prev_query=urlencode({**state, "page": number - 1}) if number > 1 else "",
        next_query=urlencode({**state, "page": number + 1}) if number < pages else "",
        permalink=urlencode(state),
    )


def _file_starts_before(tests: QuerySet[Any], test_file: str, number: int) -> bool:
    """Does the page before this one end with a test of the same file?"""
    offset = (number - 1) * TEST_PAGE_SIZE - 1
    previous = list(tests[offset : offset + 1])
    return bool(previous) and previous[0]["test_file"] == test_file


def _distinct(column: str) -> tuple[str, ...]:
    values = RecordingEntry.objects.exclude(**{column: ""}).values_list(column, flat=True).distinct()
    return tuple(sorted(values))


@dataclass(frozen=True, slots=True)
class StepView:
    """A thread step as the test page shows it: on the main line, or inside a folded variant branch."""

    step: threads.Step
    pk: int | None
    number: int  # the step's position in its conversation, from 1
    indent: int = 0  # nesting inside a variant branch where it forks again
    in_variant: bool = False
    variants: tuple[VariantView, ...] = ()  # other recordings of this same step, each with what followed it


@dataclass(frozen=True, slots=True)
class VariantView:
    label: str
    steps: tuple[StepView, ...]
    tokens: int


@dataclass(frozen=True, slots=True)
class ThreadView:
    steps: tuple[StepView, ...]  # the main line: at each step its newest-looking variant
    tokens: int  # the main line's tokens
    all_tokens: int  # with every variant
    variant_count: int


@dataclass(frozen=True, slots=True)
class SideGroup:
    label: str
    calls: tuple[dict[str, Any], ...]
    tokens: int
    verdicts: tuple[tuple[str, int], ...] = ()  # safety checks: ("safe", 329), ("unsafe S1", 1)


@dataclass(frozen=True, slots=True)
class TestDetail:
    test_id: str
    root: str
    roots: tuple[str, ...]  # every root holding this test (a picker shows when there are several)
    recordings: int
    tokens: int
    missing: int
    stitched: threads.TestThreads
    thread_views: tuple[ThreadView, ...]
    side_groups: tuple[SideGroup, ...]
    pk_by_path: dict[str, int]
    unreadable: tuple[dict[str, Any], ...]


def test_get(*, test_id: str, root: str = "") -> TestDetail:
    """One test's recordings stitched into conversation threads; raises Http404.

    Stitching reads every file of the test, so the result is kept per process until one of them changes.
    """
    if not test_id:
        raise Http404("no such test")
    roots = tuple(
        RecordingEntry.objects.filter(test_id=test_id).values_list("root__name", flat=True).distinct().order_by()
    )
    roots = tuple(sorted(roots))
    if not roots or (root and root not in roots):
        raise Http404("no such test")
    root = root or roots[0]
    rows = RecordingEntry.objects.filter(test_id=test_id, root__name=root).order_by("path")
    key = (test_id, root, tuple(rows.values_list("pk", "sha256")))  # two columns: a hit builds no model objects
    cached = _tests.get(key)
    if cached is not None:
        return dataclasses.replace(cached, roots=roots)
    detail = _test_build(test_id, root, roots, list(rows.select_related("root").defer("search_text")))
    _tests.put(key, detail, detail.recordings)
    return detail


def _freshness(rec: Recording) -> tuple[Any, ...]:
    """How new a recording looks (format doc, section 8): later writers add keys, SDK versions and parameters."""
    raw = rec.raw if isinstance(rec.raw, dict) else {}
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    metadata = request.get("provider_metadata") if isinstance(request.get("provider_metadata"), dict) else {}
    versions = [v for k, v in metadata.items() if k.endswith("_version") and isinstance(v, str)]
    sdk = tuple(int(part) if part.isdigit() else 0 for part in versions[0].split(".")[:4]) if versions else ()
    params_set = sum(rec.request_params.get(k) is not None for k in threads.VARIANT_KEYS)
    return ("id_normalization_mapping" in raw, "test_id" in raw, rec.include_usage is True, sdk, params_set)


def _test_build(test_id: str, root: str, roots: tuple[str, ...], entries: list[RecordingEntry]) -> TestDetail:
    recordings = []
    unreadable = []
    freshness: dict[str, tuple[Any, ...]] = {}
    for entry in entries:
        rec = indexer.load_entry(entry)  # the stitched test is kept whole: its files need not be
        if rec.kind == Kind.INVALID:
            unreadable.append({"pk": entry.pk, "path": entry.path, "error": rec.error})
        else:
            freshness[rec.path] = _freshness(rec)
            recordings.append(dataclasses.replace(rec, raw=None))  # the page never needs the raw JSON
    stitched = threads.stitch(recordings)
    pk_by_path = {e.path: e.pk for e in entries}
    return TestDetail(
        test_id=test_id,
        root=root,
        roots=roots,
        recordings=len(entries),
        tokens=sum(e.total_tokens or 0 for e in entries),
        missing=sum(1 for e in entries if e.missing_usage),
        stitched=stitched,
        thread_views=tuple(_thread_view(t, pk_by_path, freshness) for t in stitched.threads),
        side_groups=_side_groups(stitched.side_calls, pk_by_path),
        pk_by_path=pk_by_path,
        unreadable=tuple(unreadable),
    )


def _thread_view(
    thread: threads.Thread, pk_by_path: dict[str, int], freshness: dict[str, tuple[Any, ...]]
) -> ThreadView:
    """Follow the newest-looking variant at each step; fold the others, with what followed them, beside it."""
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    stack: list[int] = []  # the open path of the depth-first step list
    for index, step in enumerate(thread.steps):
        del stack[step.depth :]
        (children.setdefault(stack[-1], []) if stack else roots).append(index)
        stack.append(index)

    def size(index: int) -> int:
        return 1 + sum(size(child) for child in children.get(index, ()))

    def rank(index: int) -> tuple[Any, ...]:
        return freshness.get(thread.steps[index].recording.path, ()), size(index)

    def branch(index: int, indent: int) -> list[StepView]:
        """A folded variant and what followed it; only a further fork indents."""
        step = thread.steps[index]
        views = [StepView(step=step, pk=pk_by_path.get(step.recording.path), number=step.depth + 1, indent=indent,
                          in_variant=True)]  # fmt: skip
        kids = children.get(index, [])
        for child in kids:
            views.extend(branch(child, indent + (len(kids) > 1)))
        return views

    main: list[StepView] = []
    variant_count = 0
    siblings = roots
    while siblings:
        chosen = max(siblings, key=rank)
        variants = []
        for other in siblings:
            if other != chosen:
                steps = branch(other, 0)
                label = thread.steps[other].variant_label or "same request"
                variants.append(
                    VariantView(label=label, steps=tuple(steps), tokens=sum(v.step.tokens or 0 for v in steps))
                )
        variant_count += len(variants)
        step = thread.steps[chosen]
        main.append(StepView(step=step, pk=pk_by_path.get(step.recording.path), number=step.depth + 1,
                             variants=tuple(variants)))  # fmt: skip
        siblings = children.get(chosen, [])
    return ThreadView(
        steps=tuple(main),
        tokens=sum(v.step.tokens or 0 for v in main),
        all_tokens=thread.tokens,
        variant_count=variant_count,
    )


def _verdict(rec: Recording) -> str:
    text = rec.choices[0].content.strip() if rec.choices else ""
    return " ".join(text.split())[:40] or "(no answer)"


def _side_groups(side_calls: tuple[threads.SideCall, ...], pk_by_path: dict[str, int]) -> tuple[SideGroup, ...]:
    """Side calls by kind; safety checks in the order their checked conversation grew, with their verdicts."""
    by_label: dict[str, list[threads.SideCall]] = {}
    for call in side_calls:
        by_label.setdefault(call.label, []).append(call)
    groups = []
    for label, calls in sorted(by_label.items(), key=lambda item: -len(item[1])):
        safety = label == "safety check"
        if safety:
            calls.sort(key=lambda c: (sum(len(m.content) for m in c.recording.request_messages), c.recording.path))
        rows = tuple(
            {
                "pk": pk_by_path.get(c.recording.path),
                "path": c.recording.path,
                "model": c.recording.model,
                "text": _verdict(c.recording) if safety or c.recording.choices else c.recording.summary,
                "tokens": c.recording.usage.total_tokens if c.recording.usage else None,
                "attached_to": c.attached_to,
            }
            for c in calls
        )
        counts: dict[str, int] = {}
        if safety:
            for row in rows:
                counts[row["text"]] = counts.get(row["text"], 0) + 1
        groups.append(
            SideGroup(
                label=label,
                calls=rows,
                tokens=sum(row["tokens"] or 0 for row in rows),
                verdicts=tuple(sorted(counts.items(), key=lambda item: -item[1])),
            )
        )
    return tuple(groups)


@dataclass(frozen=True, slots=True)
class MissingGroup:
    test_file: str
    provider: str
    model: str
    rows: tuple[dict[str, Any], ...]
    fix: str  # what to change, for this group
    requested: int  # streams that asked for usage and still got none


@dataclass(frozen=True, slots=True)
class MissingUsage:
    groups: tuple[MissingGroup, ...]
    total: int
    by_provider: tuple[tuple[str, int], ...]
    test_files: int
    with_variant: int  # streams whose call was also recorded with usage


def _missing_fix(test_file: str, requested: int, count: int) -> str:
    """What to change for one group of streams without usage."""
    if requested == count:
        return (
            "These requests set include_usage, yet no usage chunk came back: the provider ignores "
            "stream_options or the stream was cut short. Check the provider's support, then re-record."
        )
    if not test_file:
        return (
            "These calls ran outside any test (session setup, or a server that lost the test context). "
            'Set stream_options={"include_usage": True} where that code streams, then re-record.'
        )
    return (
        f'In {test_file}, pass stream_options={{"include_usage": True}} to each streaming chat completion call '
        "(or let the client fixture set it), then re-record these tests with OGX_TEST_INFERENCE_MODE=record."
    )


def missing_usage_list() -> MissingUsage:
    """Every stream without a usage chunk, grouped by test file, provider and model, with what to change."""
    return _cached("missing-usage", {}, _missing_usage_list)


def _missing_usage_list() -> MissingUsage:
    rows = RecordingEntry.objects.filter(missing_usage=True).order_by(
        "test_file", "provider", "model", "test_id", "path"
    )
    found = list(
        rows.values(
            "pk", "path", "test_id", "test_file", "test_name", "test_params", "provider", "model",
            "missing_usage_reason", "include_usage", "request_key", "root__name",
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
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    providers: dict[str, int] = {}
    for row in found:
        row["variant_with_usage"] = with_usage.get((row["test_id"], row["request_key"]))
        row["query"] = urlencode({"id": row["test_id"]}) if row["test_id"] else ""
        groups.setdefault((row["test_file"], row["provider"], row["model"]), []).append(row)
        providers[row["provider"]] = providers.get(row["provider"], 0) + 1
    built = []
    for (test_file, provider, model), members in groups.items():
        requested = sum(1 for row in members if row["include_usage"] is True)
        built.append(
            MissingGroup(
                test_file=test_file,
                provider=provider,
                model=model,
                rows=tuple(members),
                fix=_missing_fix(test_file, requested, len(members)),
                requested=requested,
            )
        )
    return MissingUsage(
        groups=tuple(built),
        total=len(found),
        by_provider=tuple(sorted(providers.items(), key=lambda item: -item[1])),
        test_files=len({row["test_file"] for row in found if row["test_file"]}),
        with_variant=sum(1 for row in found if row["variant_with_usage"]),
    )


@dataclass(frozen=True, slots=True)
class ErrorList:
    errors: tuple[dict[str, Any], ...]  # files the parser could not read
    recorded_errors: int  # readable recordings that hold a provider exception or an HTTP error


def error_list() -> ErrorList:
    """The files the parser could not read, each with its error."""
    return _cached("errors", {}, _error_list)


def _error_list() -> ErrorList:
    return ErrorList(
        errors=tuple(
            RecordingEntry.objects.exclude(parse_error="")
            .order_by("root__name", "path")
            .values("pk", "path", "parse_error", "size", "root__name")
        ),
        recorded_errors=RecordingEntry.objects.filter(parse_error="").exclude(error="").count(),
    )


def root_names() -> tuple[str, ...]:
    """The catalog's roots, for pickers."""
    return tuple(Root.objects.order_by("name").values_list("name", flat=True))


def health() -> dict[str, Any]:
    """A liveness answer that also proves the database answers."""
    last = Root.objects.aggregate(last=Max("last_indexed_at"))["last"]
    return {"status": "ok", "recordings": RecordingEntry.objects.count(), "last_indexed_at": last}
