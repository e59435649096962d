"""The aggregates the index runs keep, counted again from scratch by other means: the database's own GROUP BY
for the roots' summaries and the tests, and the whole-index variant check for the rows' variants.

`differences()` lists every place where what is kept differs from the recount; [] when they agree.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Case, Count, Q, Sum, Value, When

from recorder_ui.domain import lifecycle
from recorder_ui.indexer import whole
from recorder_ui.models import Catalog, Facet, RecordingEntry, Root, TestSummary


def _table(rows: Any, keys: tuple[str, ...], blank: Q | None = None, *, tokens: bool = True) -> list[list[Any]]:
    if blank is not None:
        rows = rows.exclude(blank)
    counted = rows.values(*keys).annotate(n=Count("pk"), t=Sum("total_tokens")).order_by(*keys)
    return sorted([[*(row[k] for k in keys), row["n"], *((row["t"] or 0,) if tokens else ())] for row in counted])


def expected_summary(root: Root | None) -> dict[str, Any]:
    """One root's summary recounted; with None, the same counts over every root's rows at once."""
    rows = RecordingEntry.objects.filter(root=root) if root is not None else RecordingEntry.objects.all()
    missing = rows.filter(missing_usage=True)
    groups = (
        missing.values("usage_fate", "test_file", "provider_name", "provider", "model")
        .annotate(n=Count("pk"), asked=Count("pk", filter=Q(include_usage=True)))
        .order_by("usage_fate", "test_file", "provider_name", "provider", "model")
    )
    with_usage = rows.filter(kind="chat", streaming=True, total_tokens__isnull=False)
    keys = set(with_usage.exclude(request_key="").values_list("test_id", "provider", "request_key"))
    wanting = missing.exclude(request_key="").values_list("test_id", "provider", "request_key")
    older = Q(replay_status="older-rule")
    superseded = Q(superseded_by__isnull=False) & ~older
    mismatch = Q(replay_status="mismatch", superseded_by__isnull=True)
    return {
        "version": 3,
        "recordings": rows.count(),
        "tokens": rows.aggregate(t=Sum("total_tokens"))["t"] or 0,
        "missing": missing.count(),
        "parse_errors": rows.exclude(parse_error="").count(),
        "errors": rows.filter(~Q(error="") | ~Q(parse_error="") | Q(invalid_tool_args=True)).count(),
        "recorded_errors": rows.filter(parse_error="").exclude(error="").count(),
        "suites": _table(rows, ("suite",)),
        "models": _table(rows, ("model",), Q(model="")),
        "kinds": _table(rows, ("kind",), Q(kind="")),
        "providers": _table(rows, ("provider_name", "provider"), Q(provider_name="", provider="")),
        "test_files": _table(rows, ("test_file",), Q(test_file="")),
        "missing_groups": sorted(
            [g["usage_fate"], g["test_file"], g["provider_name"], g["provider"], g["model"], g["n"], g["asked"]]
            for g in groups
        ),
        "missing_examples": _examples(missing),
        "with_variant": sum(1 for key in wanting if key in keys),
        "fates": {fate: missing.filter(usage_fate=fate).count() for fate in lifecycle.FATES},
        "cleanup": {
            name: [rows.filter(q).count(), rows.filter(q).aggregate(s=Sum("size"))["s"] or 0]
            for name, q in (("unreachable", older), ("superseded", superseded), ("name-mismatch", mismatch))
        },
    }


def _examples(missing: Any) -> list[list[Any]]:
    groups: dict[tuple[Any, ...], list[tuple[str, str, int]]] = {}
    for *key, test_id, path, pk in missing.values_list(
        "usage_fate", "test_file", "provider_name", "provider", "model", "test_id", "path", "pk"
    ):
        groups.setdefault(tuple(key), []).append((test_id, path, pk))
    return [[*key, [pk for *_, pk in sorted(rows)[:5]]] for key, rows in sorted(groups.items())]


def expected_tests() -> dict[tuple[Any, str, str], tuple[Any, ...]]:
    """Per root, test id and suite: what the root's rows count."""
    rows = (
        RecordingEntry.objects.exclude(test_id="")
        .values("root_id", "test_id", "suite", "test_file", "test_name", "test_params")
        .annotate(n=Count("pk"), t=Sum("total_tokens"), m=Count("pk", filter=Q(missing_usage=True)))
    )
    return {
        (r["root_id"], r["test_id"], r["suite"]): (
            r["test_file"], r["test_name"], r["test_params"], r["n"], r["t"], r["m"]
        )
        for r in rows
    }  # fmt: skip


def kept_tests() -> dict[tuple[Any, str, str], tuple[Any, ...]]:
    return {
        (t.root_id, t.test_id, t.suite): (t.test_file, t.test_name, t.test_params, t.recordings, t.tokens, t.missing)
        for t in TestSummary.objects.all()
    }


def expected_variants() -> dict[int, tuple[Any, ...]]:
    """pk -> (superseded_by, added, by_usage, usage_fate), from the variant check over every root at once."""
    rows = list(
        RecordingEntry.objects.values_list(
            "pk", "root_id", "test_id", "kind", "streaming", "model", "provider", "request_key", "lineage",
            "total_tokens", "missing_usage", "replay_status",
        )
    )  # fmt: skip
    candidates = []
    for pk, root_id, test_id, kind, streaming, model, host, request_key, text, tokens, _missing, status in rows:
        parsed = lifecycle.Lineage.from_json(text) if text else None
        if parsed is not None and request_key:  # a call outside any test has variants too, at its host
            group = (str(root_id), test_id, kind, bool(streaming), model, host, request_key)
            served = status == "current"  # only a file replay serves supersedes another
            candidates.append(lifecycle.Candidate(str(pk), group, parsed, tokens is not None, served))
    verdicts = lifecycle.superseded(candidates)
    found = {}
    for pk, *_rest, missing, status in rows:
        item = verdicts.get(str(pk))
        fate = lifecycle.usage_fate(replay_status=status, superseded_by=item) if missing else ""
        if item is None:
            found[pk] = (None, "", False, fate)
        else:
            found[pk] = (int(item.by), " ".join(item.added), item.by_has_usage, fate)
    return found


def kept_variants() -> dict[int, tuple[Any, ...]]:
    return {
        pk: (by, added, usage, fate)
        for pk, by, added, usage, fate in RecordingEntry.objects.values_list(
            "pk", "superseded_by", "superseded_added", "superseded_by_usage", "usage_fate"
        )
    }


def expected_facets() -> dict[tuple[Any, ...], int]:
    rows = RecordingEntry.objects.annotate(
        tools=Case(When(tool_call_count__gt=0, then=Value(True)), default=Value(False), output_field=BooleanField()),
        errors=Case(When(~Q(error="") | ~Q(parse_error="") | Q(invalid_tool_args=True), then=Value(True)),
                    default=Value(False), output_field=BooleanField()),
    ).values("root_id", "suite", "test_file", "kind", "provider_name", "provider", "model", "streaming", "tools",
             "missing_usage", "errors", "replay_status", "usage_fate").annotate(n=Count("pk"))  # fmt: skip
    return {tuple(v for k, v in row.items() if k != "n"): row["n"] for row in rows}


def kept_facets() -> dict[tuple[Any, ...], int]:
    columns = ("root_id", "suite", "test_file", "kind", "provider_name", "provider", "model", "streaming", "tools",
               "missing", "errors", "replay_status", "usage_fate")  # fmt: skip
    return {row[:-1]: row[-1] for row in Facet.objects.values_list(*columns, "recordings")}


def differences() -> list[str]:
    found = []
    facets, kept_f = expected_facets(), kept_facets()
    for key in facets.keys() | kept_f.keys():
        if facets.get(key) != kept_f.get(key):
            found.append(f"facet {key}: kept {kept_f.get(key)!r}, recounted {facets.get(key)!r}")
    for root in Root.objects.order_by("name"):
        expected, kept = expected_summary(root), root.summary
        for key in expected.keys() | kept.keys():
            if expected.get(key) != kept.get(key):
                found.append(f"root {root.name}: {key}: kept {kept.get(key)!r}, recounted {expected.get(key)!r}")
    found += whole_differences()
    tests, kept_t = expected_tests(), kept_tests()
    for key in tests.keys() | kept_t.keys():
        if tests.get(key) != kept_t.get(key):
            found.append(f"test {key}: kept {kept_t.get(key)!r}, recounted {tests.get(key)!r}")
    variants, kept_v = expected_variants(), kept_variants()
    for pk in variants.keys() | kept_v.keys():
        if variants.get(pk) != kept_v.get(pk):
            found.append(f"row {pk}: kept {kept_v.get(pk)!r}, recounted {variants.get(pk)!r}")
    return found


def whole_differences() -> list[str]:
    """The catalog's kept summary against a recount: its totals and tables against the same GROUP BY over every
    root's rows at once, its per-root parts and the variants with usage (a root's own) against each root's
    recount, and its listed missing-usage files against the rows."""
    row = Catalog.objects.filter(pk=whole.KEY).first()
    kept = row.summary if row is not None else {}
    roots = list(Root.objects.order_by("name"))
    if not roots and not kept:
        return []
    found = []
    if not whole.current(kept, [(r.pk, r.generation) for r in roots]):
        found.append(f"catalog: sources {kept.get('sources')!r}, roots {[(r.pk, r.generation) for r in roots]!r}")
    everything = expected_summary(None)
    each = {r.pk: expected_summary(r) for r in roots}
    for key in (*whole.TOTALS, *whole.TABLES, "fates"):
        expected = sum(s[key] for s in each.values()) if key == "with_variant" else everything[key]
        if kept.get(key) != expected:
            found.append(f"catalog: {key}: kept {kept.get(key)!r}, recounted {expected!r}")
    per_root = {
        str(pk): {"recordings": s["recordings"], "parse_errors": s["parse_errors"], "cleanup": s["cleanup"]}
        for pk, s in each.items()
    }
    if kept.get("per_root") != per_root:
        found.append(f"catalog: per_root: kept {kept.get('per_root')!r}, recounted {per_root!r}")
    sums: dict[str, list[int]] = {}  # the tests over every root, from the rows themselves
    for test_id, tokens in RecordingEntry.objects.exclude(test_id="").values_list("test_id", "total_tokens"):
        entry = sums.setdefault(test_id, [0, 0])
        entry[0] += tokens or 0
        entry[1] += 1
    ranked = sorted(((t, v) for t, v in sums.items() if v[0] > 0), key=lambda item: (-item[1][0], item[0]))
    tests = {"count": len(sums), "top": [[t, n, r] for t, (n, r) in ranked[: whole.TOP_TESTS]]}
    if kept.get("tests") != tests:
        found.append(f"catalog: tests: kept {kept.get('tests')!r}, recounted {tests!r}")
    rows = {r["pk"]: r for r in RecordingEntry.objects.filter(missing_usage=True).values(
        "pk", "root_id", "path", "sha256", "usage_fate", "test_file", "provider_name", "provider", "model")}  # fmt: skip
    groups = [list(g[:5]) for g in everything["missing_groups"]]
    if [list(g[:5]) for g in kept.get("missing_files") or ()] != groups:
        found.append(f"catalog: missing_files groups {kept.get('missing_files')!r}, recounted {groups!r}")
    for *key, files in kept.get("missing_files") or ():
        listed = set()
        for first, later in files:
            members = [rows.get(first)] + [rows.get(pk) for _root, pk in later]
            if any(m is None or [m["usage_fate"] or "live", m["test_file"], m["provider_name"], m["provider"],
                                 m["model"]] != key for m in members):  # fmt: skip
                found.append(f"catalog: {key}: lists {first} {later}, not all rows of the group")
                continue
            if len({(m["path"], m["sha256"]) for m in members}) != 1 or any(
                rows[pk]["root_id"] != root for root, pk in later
            ):
                found.append(f"catalog: {key}: {first}'s copies {later} are not one file")
            listed.add((rows[first]["path"], rows[first]["sha256"]))
        if len(listed) != len(files) or not 0 < len(files) <= 5:
            found.append(f"catalog: {key}: {len(files)} files listed, {len(listed)} distinct")
    return found
