"""The recordings list: filters, sorting, paging and full-text search."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, Value
from django.db.models.expressions import OrderBy
from django.db.models.functions import Concat
from django.db.models.lookups import Exact

from recorder_ui import indexer
from recorder_ui import search as search_backend
from recorder_ui.domain import jsontext, lifecycle, providers, replay
from recorder_ui.models import Facet, RecordingEntry, Root
from recorder_ui.selectors import catalog
from recorder_ui.selectors.cache import _cached
from recorder_ui.selectors.common import ERROR_FILTER, _clean

PAGE_SIZE = 50
# PostgreSQL counts a search's matches up to this many: beyond it the list says "more than" and walks the sort's
# index. Counting and sorting every match of a common word reads each match's row (0.19 s for "the" in 31,620
# rows, where the text index alone cannot say); two thousand cost the same whatever the catalog's size.
SEARCH_COUNT_LIMIT = 2000
MAX_PAGE = 1_000_000  # a page number "next" may carry past a lower-bound total, at most
BROAD = 20  # a filter that keeps more than 1 row in BROAD: walk the sort's index rather than the filter's
DENSE = 2  # a search matching more than 1 row in DENSE: look each walked row up in the text index
# Each sort's columns, descending or not; the row id breaks the last ties, so every row has one place.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "path": (("path", False),),
    "test": (("test_id", False), ("path", False)),
    "-tokens": (("total_tokens", True), ("path", False)),
    "tokens": (("total_tokens", False), ("path", False)),
    "-size": (("size", True), ("path", False)),
    "size": (("size", False), ("path", False)),
}
NULLABLE = frozenset({"total_tokens"})  # sorted after every number, whichever the direction, on every backend
FILTERS = (
    "root",
    "suite",
    "test_file",
    "kind",
    "provider",
    "model",
    "streaming",
    "tools",
    "missing",
    "errors",
    "replay",
    "fate",
)
REPLAY_STATUSES = replay.STATUSES
# A filter left empty means "any"; NONE asks for the rows that have no value there: a recording outside any test
# has no test file (the Missing usage page links its "(no test)" groups so).
NONE = "-"
BLANKABLE = frozenset({"test_file", "model"})
# Columns with an index of (column, path) (models.RecordingEntry): under the path sort an equal filter on one
# takes its index, whose rows come in the sort's order; a walk of the path index would pass over every row
# before the first matches, ten times as many at ten roots.
PATH_ORDERED = frozenset({"suite", "kind", "model", "replay_status", "missing_usage"})
# The filters whose columns the path walk index carries (entry_path_walk_2): two or more of them together are
# tested in that index, a row read only once it matches, which beats any one filter's own index.
WALK_CARRIED = frozenset({"kind", "streaming", "tools", "missing", "replay"})


LIST_COLUMNS = (
    "pk", "path", "test_id", "test_name", "test_params", "suite", "kind", "model", "provider", "provider_name",
    "streaming",
    "total_tokens", "tool_call_count", "tool_names", "missing_usage", "error", "parse_error", "invalid_tool_args",
    "size", "root_id", "replay_status",
)  # fmt: skip


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
    provider_labels: dict[str, str] = field(default_factory=dict)  # provider name -> "name (host, host)"
    total_exact: bool = True  # False: a PostgreSQL search with more than `total` (SEARCH_COUNT_LIMIT) matches
    prev_query: str = ""
    next_query: str = ""
    permalink: str = ""
    sort_links: dict[str, str] = field(default_factory=dict)
    fate_labels: dict[str, str] = field(default_factory=lambda: dict(lifecycle.FATES))
    # Filter values asked for that no indexed recording has (a typed URL, a root since dropped): each select
    # shows its value as chosen, so the form says what the empty list was filtered by.
    unknown: dict[str, str] = field(default_factory=dict)


def search(
    queryset: QuerySet[RecordingEntry], query: str, *, walk: bool = False, dense: bool = False
) -> QuerySet[RecordingEntry]:
    """Full-text search over messages, assembled output and tool arguments (recorder_ui/search.py)."""
    return search_backend.apply(queryset, query, walk=walk, dense=dense)


def _equal(name: str, value: object, unindexed: bool) -> Q | Exact:
    """column = value; with unindexed, in a form SQLite takes no index for (`+column`), so that it walks the
    sort's index to the page's rows instead of reading every match through the filter's index and sorting."""
    if not unindexed:
        return Q(**{name: value})
    field = RecordingEntry._meta.get_field(name)
    return Exact(Func(F(name), template="+%(expressions)s", output_field=field), value)


def _conditions(
    params: dict[str, str], *, facets: bool = False, plain: bool = False, path_sorted: bool = False
) -> list[Q | Exact]:
    """What the list's filters ask, on the rows or (facets=True) on the kept Facet rows that count them: one
    mapping for both, so a count always matches its list. plain: no filter's index (see _equal), but for a
    PATH_ORDERED column when path_sorted."""

    def equal(name: str, value: object) -> Q | Exact:
        return (
            Q(**{name: value}) if facets else _equal(name, value, plain and not (path_sorted and name in PATH_ORDERED))
        )

    found = [
        equal(name, "" if name in BLANKABLE and params[name] == NONE else params[name])
        for name in ("suite", "test_file", "kind", "model")
        if params.get(name)
    ]
    if params.get("provider"):  # a provider's name ("ollama"), or a host as older links give it
        found.append(Q(provider_name=params["provider"]) | Q(provider=params["provider"]))
    if params.get("fate") in lifecycle.FATES:  # a stream without usage, by what to do with it
        found.append(equal("usage_fate", params["fate"]))
    if params.get("replay") in REPLAY_STATUSES:
        found.append(equal("replay_status", params["replay"]))
    if params.get("root") and facets:
        found.append(Q(root__name=params["root"]))
    elif params.get("root"):  # by id, not through a join: with one table the planner can walk the sort's index
        found.append(_equal("root_id", Root.objects.filter(name=params["root"]).values("pk")[:1], False))
    if params.get("streaming") in ("yes", "no"):
        found.append(Q(streaming=params["streaming"] == "yes"))
    if params.get("tools") in ("yes", "no"):
        yes = params["tools"] == "yes"
        found.append(Q(tools=yes) if facets else Q(tool_call_count__gt=0) if yes else Q(tool_call_count=0))
    if params.get("missing") == "yes":
        found.append(equal("missing" if facets else "missing_usage", True))
    if params.get("errors") == "yes":
        found.append(Q(errors=True) if facets else ERROR_FILTER)
    return found


def _filtered(
    params: dict[str, str],
    *,
    walk_sort: bool = False,
    walk_search: bool = False,
    dense_search: bool = False,
    sort: str = "",
) -> QuerySet[RecordingEntry]:
    """The rows the filters keep. walk_sort (SQLite, a filter that keeps many rows): no filter's index but a
    (column, path) one under the path sort; walk_search (SQLite, a search that matches many rows): the text
    index's matches tested along the sort's; dense_search (with it: most rows match): each row walked looked
    up in the text index."""
    plain = walk_sort and connection.vendor == "sqlite"
    # The filters that apply (a value the list ignores, such as missing=no, is no filter), by _conditions' rules.
    asked = {name for name in FILTERS if params.get(name) and _conditions({name: params[name]}, facets=True)}
    carried = len(asked) > 1 and asked <= WALK_CARRIED
    path_sorted = sort == "path" and not walk_search and not carried
    qs = RecordingEntry.objects.filter(*_conditions(params, plain=plain, path_sorted=path_sorted))
    if params.get("test_id"):
        qs = qs.filter(test_id=indexer.stored_test_id(params["test_id"]))  # an id over 2,400 bytes as kept
    if params.get("q"):
        qs = search(qs, params["q"], walk=walk_search, dense=dense_search)
    return qs


def _options(kept: catalog.State) -> dict[str, tuple[str, ...]]:
    """The filters' choices, from the catalog's summary."""

    def keys(table: str) -> tuple[str, ...]:
        return tuple(sorted(catalog.firsts(kept.whole, table) - {""}))

    return {
        "root": tuple(item.name for item in kept.roots),
        "suite": keys("suites"),
        "test_file": (*keys("test_files"), NONE),  # "(no test)": calls made outside any test
        "kind": keys("kinds"),
        "provider": tuple(sorted(catalog.firsts(kept.whole, "providers") - {""})),
        "model": (*keys("models"), NONE),  # "(no model)": what Missing usage links for a stream without one
        "replay": REPLAY_STATUSES,
    }


def _unknown(params: dict[str, str], options: dict[str, tuple[str, ...]], whole: dict[str, Any]) -> dict[str, str]:
    """The filters whose value is none of their choices (a provider is chosen by its name or one of its hosts)."""
    hosts = {host for _name, host in catalog.keys(whole, "providers", width=2)}
    return {
        name: value
        for name, choices in options.items()
        if (value := params.get(name, "")) and value not in choices and not (name == "provider" and value in hosts)
    }


def _provider_labels(whole: dict[str, Any]) -> dict[str, str]:
    """Each provider's name with the hosts it was reached at, for the filter."""
    hosts: dict[str, list[str]] = {}
    for name, host in sorted(catalog.keys(whole, "providers", width=2)):
        if not name:
            continue
        if host and host != name:
            hosts.setdefault(name, []).append(host)
        else:
            hosts.setdefault(name, [])
    return {
        name: providers.label(name, ", ".join(found[:3]) + (", …" if len(found) > 3 else ""))
        for name, found in hosts.items()
    }


def _with_snippets(rows: tuple[dict[str, Any], ...], query: str) -> tuple[dict[str, Any], ...]:
    """Each searched row with an excerpt around its first match, so a reviewer sees why it matched."""
    texts = dict(RecordingEntry.objects.filter(pk__in=[row["pk"] for row in rows]).values_list("pk", "search_text"))
    return tuple({**row, "snippet": search_backend.snippet(texts.get(row["pk"], ""), query)} for row in rows)


def recording_page(*, params: dict[str, str]) -> RecordingPage:
    """One page of the recordings list, with every filter state in its query strings."""
    params = _clean({k: params.get(k, "")[:4096] for k in (*FILTERS, "q", "sort", "page", "test_id", "after")})
    return _cached("recordings", params, lambda: _recording_page(params))


def _counted(whole: dict[str, Any], params: dict[str, str]) -> int | None:
    """The list's length without counting its rows: the catalog's summary for the whole list, the kept facets
    (models.Facet) under any other filters; None under a search or a test id, which the database counts."""
    asked = {k for k in params if k not in ("sort", "page")}
    if not asked:
        return catalog.total(whole, "recordings")
    if asked & {"q", "test_id"}:
        return None
    facets = Facet.objects.filter(*_conditions(params, facets=True))
    return sum(facets.values_list("recordings", flat=True))


def _recording_page(params: dict[str, str]) -> RecordingPage:
    sort = params.get("sort", "path") if params.get("sort") in SORTS else "path"
    kept = catalog.state()
    everything = catalog.total(kept.whole, "recordings")
    query = params.get("q", "")
    # The filters' length without counting rows (None under a test id); under a search, the filters' alone.
    filtered = _counted(kept.whole, {k: v for k, v in params.items() if k != "q"})
    total = None if query else filtered
    # A search on SQLite: the text index counts its matches without reading a row; when the search is all
    # there is to the list, that count is its length.
    matched = search_backend.text_index_count(query) if query else None
    if matched is not None and matched[1] and filtered == everything and not params.get("test_id"):
        total = matched[0]
    # Rows the list keeps, expected (filters and search taken as independent): when they are more than 1 in
    # BROAD, SQLite walks the sort's index to the page's rows rather than reading every match and sorting.
    expected = (
        filtered if not query or filtered is None else filtered * (matched[0] if matched else 0) / max(everything, 1)
    )
    walk = expected is not None and expected * BROAD > everything
    exact = True
    if total is None and query and connection.vendor == "postgresql":
        # Counted up to the limit; past it the matches are many: the sort's index, walked with each row's stored
        # document tested, reaches the page's rows sooner than all the matches sorted.
        total = _filtered(params).values("pk")[: SEARCH_COUNT_LIMIT + 1].count()
        if total > SEARCH_COUNT_LIMIT:
            total, exact, walk = SEARCH_COUNT_LIMIT, False, True
    if total is None:  # the database counts: through the filter's or the text index's matches, never walking
        total = _filtered(params).count()
    # Most rows match (SQLite's count says so): each walked row is looked up rather than every match listed.
    dense = walk and matched is not None and matched[0] * DENSE > everything
    qs = _filtered(params, walk_sort=walk, walk_search=walk and bool(query), dense_search=dense, sort=sort)
    qs = qs.order_by(*_ordering(sort, searched=bool(query) and exact))
    # Pages: counted from the total; when the total is only a lower bound, as far as the rows go (one row more
    # than the page is read to tell whether another page follows).
    pages = max(1, math.ceil(total / PAGE_SIZE)) if exact else MAX_PAGE
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    wanted = PAGE_SIZE + (0 if exact else 1)
    cursor = _cursor(params.get("after", ""), sort) if number > 1 else None
    if not exact and cursor is None:
        # A page asked for by number alone, past a lower-bound total: only the pages the count vouches for
        # (2,000 matches fill 40); further pages are reached by "next", which starts past a row.
        number = max(1, min(number, SEARCH_COUNT_LIMIT // PAGE_SIZE))
    if cursor is not None:  # the page after a row: walks the sort's order from that row, skipping none
        rows = tuple(qs.filter(_after(sort, cursor)).values(*LIST_COLUMNS)[:wanted])
    else:
        rows = tuple(qs.values(*LIST_COLUMNS)[(number - 1) * PAGE_SIZE : (number - 1) * PAGE_SIZE + wanted])
    if not exact:
        pages = number + 1 if len(rows) > PAGE_SIZE else number
        rows = rows[:PAGE_SIZE]
    names = {item.pk: item.name for item in kept.roots}  # the roots read with the summary, not read again
    rows = tuple({**row, "root__name": names.get(row["root_id"], "")} for row in rows)
    if params.get("q") and rows:
        rows = _with_snippets(rows, params["q"])
    state = {k: v for k, v in params.items() if k not in ("page", "after")}
    after = _encode([rows[-1][column] for column, _ in SORTS[sort]] + [rows[-1]["pk"]]) if rows else ""
    return RecordingPage(
        rows=rows,
        number=number,
        pages=pages,
        total=total,
        query=params.get("q", ""),
        sort=sort,
        filters={k: params.get(k, "") for k in (*FILTERS, "test_id")},
        options=(options := _options(kept)),
        unknown=_unknown(params, options, kept.whole),
        provider_labels=_provider_labels(kept.whole),
        total_exact=exact,
        prev_query=urlencode({**state, "page": number - 1}) if number > 1 else "",
        next_query=urlencode({**state, "page": number + 1, "after": after}) if number < pages and after else "",
        permalink=urlencode(state),
        sort_links={key: urlencode({**state, "sort": key}) for key in SORTS},
    )


# Keyset paging: "next" carries the last row's sort values (`after`), and the next page starts past them, so a
# page deep in the list reads its own rows, not every row before them. A page asked for by number alone
# (a typed URL) still counts its way there.


def _ordering(sort: str, *, searched: bool = False) -> list[OrderBy]:
    """The sort's ORDER BY. Under a search on PostgreSQL the first key is an expression no index gives: the
    planner would otherwise walk the sort's index and test every row's text-search document (a second for a
    common word over 31,620 rows, when the document was computed from the text row by row) instead of taking
    the text index's matches and sorting them."""
    keys: list[Any] = [F(column) for column, _ in SORTS[sort]]
    if searched and connection.vendor == "postgresql":
        first = SORTS[sort][0][0]
        keys[0] = F(first) + 0 if first in ("total_tokens", "size") else Concat(F(first), Value(""))
    order = [
        (key.desc(nulls_last=True) if desc else key.asc(nulls_last=True))
        if column in NULLABLE
        else (key.desc() if desc else key.asc())
        for key, (column, desc) in zip(keys, SORTS[sort], strict=True)
    ]
    return [*order, F("pk").asc()]


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(jsontext.dumps(values)).decode().rstrip("=")


def _cursor(text: str, sort: str) -> list[Any] | None:
    """The sort values of the row a page follows, or None for a cursor that is not one of ours."""
    if not text:
        return None
    try:
        values = jsontext.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        return None
    columns = [column for column, _ in SORTS[sort]]
    if not isinstance(values, list) or len(values) != len(columns) + 1:
        return None
    for column, value in zip([*columns, "pk"], values, strict=True):
        if value is None and column in NULLABLE:
            continue
        if column in ("total_tokens", "size", "pk"):
            if type(value) is not int or not -(2**63) <= value < 2**63:
                return None
        elif not isinstance(value, str) or "\x00" in value:  # PostgreSQL refuses NUL in text
            return None
    return values


def _after(sort: str, cursor: list[Any]) -> Q:
    """Rows strictly after the cursor in the sort's order: (a, b, pk) > (x, y, id), column by column."""
    columns = [*SORTS[sort], ("pk", False)]
    found = Q(pk__in=[])
    same = Q()
    for (column, desc), value in zip(columns, cursor, strict=True):
        if value is None:  # nothing sorts after a null but other nulls, ordered by the next columns
            beyond = Q(pk__in=[])
            equal = Q(**{f"{column}__isnull": True})
        else:
            beyond = Q(**{f"{column}__lt" if desc else f"{column}__gt": value})
            if column in NULLABLE:
                beyond |= Q(**{f"{column}__isnull": True})
            equal = Q(**{column: value})
        found |= same & beyond
        same &= equal
    return found
