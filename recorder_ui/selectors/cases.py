"""The tests list (one row per test id, grouped by file) and one test's recordings stitched into threads.

Named cases rather than tests, so that no test runner takes it for test code.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef
from django.http import Http404

from recorder_ui import indexer
from recorder_ui.domain import lifecycle, replay, threads
from recorder_ui.domain.model import Kind, Recording
from recorder_ui.models import RecordingEntry, Root, TestSummary
from recorder_ui.selectors import catalog
from recorder_ui.selectors.cache import _cached, _tests, _tests_now
from recorder_ui.selectors.common import _clean

TEST_PAGE_SIZE = 100
TEST_FILTERS = ("q", "suite", "missing", "page", "root")


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
    root: str = ""  # the root whose tests these are: one at a time (a team's checkouts hold the same tests)
    roots: tuple[str, ...] = ()  # every root
    unknown_root: str = ""  # the root asked for, when none has that name


def test_page(*, params: dict[str, str]) -> TestPage:
    """One page of tests (one row per test id), grouped by test file, with recordings, tokens and missing usage."""
    params = _clean({k: params.get(k, "")[:500] for k in TEST_FILTERS})
    return _cached("tests", params, lambda: _test_page(params))


def _test_page(params: dict[str, str]) -> TestPage:
    """From the kept test counts (TestSummary: a row per root, test and suite), never the recordings. One root at
    a time, the first unless one is asked for: its tests' counts are its own, whatever other checkouts hold."""
    names = tuple(item.name for item in catalog.roots())
    root = params.get("root") or (names[0] if names else "")
    known = root in names
    rows = TestSummary.objects.filter(root__name=root) if known else TestSummary.objects.none()
    if params.get("suite"):
        rows = rows.filter(suite=params["suite"])
    words = [word.casefold() for word in params.get("q", "").split()[:12]]
    by_id: dict[str, dict[str, Any]] = {}
    for test_id, test_file, test_name, test_params, recordings, tokens, missing in rows.values_list(
        "test_id", "test_file", "test_name", "test_params", "recordings", "tokens", "missing"
    ):
        if words and not all(word in test_id.casefold() for word in words):
            continue
        row = by_id.get(test_id)
        if row is None:
            by_id[test_id] = {"test_file": test_file, "test_id": test_id, "test_name": test_name,
                              "test_params": test_params, "recordings": recordings, "tokens": tokens,
                              "missing": missing}  # fmt: skip
        else:  # the same test in another suite
            row["recordings"] += recordings
            row["missing"] += missing
            row["tokens"] = None if row["tokens"] is None and tokens is None else (row["tokens"] or 0) + (tokens or 0)
    tests = sorted(by_id.values(), key=lambda r: (r["test_file"], r["test_name"], r["test_params"], r["test_id"]))
    if params.get("missing") == "yes":
        tests = [row for row in tests if row["missing"] > 0]
    total = len(tests)
    pages = max(1, math.ceil(total / TEST_PAGE_SIZE))
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    page_rows = tests[(number - 1) * TEST_PAGE_SIZE : number * TEST_PAGE_SIZE]
    files: dict[str, list[Any]] = {}
    for row in tests:  # every matching test of a file counts toward its header, on whatever page
        whole = files.setdefault(row["test_file"], [0, 0, None, 0])
        whole[0] += 1
        whole[1] += row["recordings"]
        if row["tokens"] is not None:
            whole[2] = (whole[2] or 0) + row["tokens"]
        whole[3] += row["missing"]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in page_rows:
        row["query"] = urlencode({"id": row["test_id"], "root": root} if len(names) > 1 else {"id": row["test_id"]})
        by_file.setdefault(row["test_file"], []).append(row)
    previous = tests[(number - 1) * TEST_PAGE_SIZE - 1] if number > 1 else None
    groups = []
    for position, (name, members) in enumerate(by_file.items()):
        count, recordings, tokens, missing = files[name]
        groups.append(
            TestGroup(
                test_file=name,
                tests=tuple(members),
                test_count=count,
                recordings=recordings,
                tokens=tokens,
                missing=missing,
                continued=position == 0 and previous is not None and previous["test_file"] == name,
            )
        )
    state = {k: v for k, v in params.items() if k != "page"}
    return TestPage(
        groups=tuple(groups),
        number=number,
        pages=pages,
        total=total,
        query=params.get("q", ""),
        filters={k: params.get(k, "") for k in ("suite", "missing", "root")},
        options={"suite": tuple(sorted(catalog.firsts(catalog.state().whole, "suites") - {""}))},
        prev_query=urlencode({**state, "page": number - 1}) if number > 1 else "",
        next_query=urlencode({**state, "page": number + 1}) if number < pages else "",
        permalink=urlencode(state),
        root=root if known else "",
        roots=names,
        unknown_root="" if known or not params.get("root") else root,
    )


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
    test_id = indexer.stored_test_id(test_id)  # an id over 2,400 bytes, as the index keeps it
    if not test_id:
        raise Http404("no such test")
    # The roots that hold the test: one probe of the (test id, root) index per root, not a pass over the
    # test's rows in every root.
    held = Exists(RecordingEntry.objects.filter(root_id=OuterRef("pk"), test_id=test_id))
    found = {name: (pk, generation) for name, pk, generation in _holding(held)}
    roots = tuple(found)
    if not roots or (root and root not in found):
        raise Http404("no such test")
    root = root or roots[0]
    root_id, generation = found[root]
    # While the root keeps its generation, so does each of its tests (a run that writes its rows draws a new
    # one in the same transaction): then the kept test's key is known without reading its rows, and one query
    # answers. After a run, the test's own (row, sha256) pairs say whether the kept test still holds, so a run
    # that changed other files keeps it.
    now = (test_id, root, generation)
    known = _tests_now.get(now)
    same = _tests.get(known) if known is not None else None
    if same is not None:
        return dataclasses.replace(same, roots=roots)
    rows = RecordingEntry.objects.filter(test_id=test_id, root_id=root_id).order_by("path")
    key = (test_id, root, tuple(rows.values_list("pk", "sha256")))  # two columns: a hit builds no model objects
    _tests_now.put(now, key, 1)
    cached = _tests.get(key)
    if cached is not None:
        return dataclasses.replace(cached, roots=roots)
    # Only the columns the page reads: the root's summary and report are JSON a row need not decode 331 times.
    entries = list(rows.only("pk", "path", "total_tokens", "missing_usage", "replay_status", "lineage"))
    detail = _test_build(test_id, root, roots, entries)
    _tests.put(key, detail, detail.recordings)
    return detail


def _holding(held: Exists) -> list[tuple[str, int, int]]:
    """The roots that hold a test, with their ids and generations, by name."""
    return list(Root.objects.filter(held).order_by("name").values_list("name", "pk", "generation"))


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
    found = Root.objects.filter(name=root).values_list("path", "recorder").first()
    if found is None:  # dropped since the rows were read
        raise Http404("no such test")
    root_path, recorder = found
    # The stitched test is kept whole: its files need not be.
    for entry, rec in zip(entries, indexer.load_entries(entries, root_path, recorder), strict=True):
        if rec.kind == Kind.INVALID:
            unreadable.append({"pk": entry.pk, "path": entry.path, "error": rec.error})
        else:
            # A file replay serves outranks one it never opens, however new the latter looks.
            freshness[rec.path] = (entry.replay_status == replay.CURRENT, *_freshness(rec))
            recordings.append(dataclasses.replace(rec, raw=None))  # the page never needs the raw JSON
    offered = {}  # the tool definitions' digest the index keeps per row, for the variant labels
    for entry in entries:
        lineage = lifecycle.Lineage.from_json(entry.lineage) if entry.lineage else None
        offered[entry.path] = lineage.tools if lineage is not None else None
    stitched = threads.stitch(recordings, offered)
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
    """At each step follow the variant replay serves, linked exactly, newest-looking; fold the others, with what
    followed them, beside it."""
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
        """Served by replay first, then an exact link over a probable one, then the newest-looking, the longest."""
        step = thread.steps[index]
        fresh = freshness.get(step.recording.path, ())
        return fresh[:1], step.link != "probable", fresh[1:], size(index)

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
