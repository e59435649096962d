"""Full-text search on the database in use: SQLite's FTS5 by default, PostgreSQL when DATABASE_URL says so.

The same expectations hold on both, since CI runs the suite once on each.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recorder_ui import indexer, search, selectors
from recorder_ui.indexer import writer
from recorder_ui.models import RecordingEntry, Root
from tests.builders import stream_recording, write

SAMPLES = Path(__file__).resolve().parent.parent / "recordings"
TEXTS = {
    "a": 'What is the weather in Paris?\nget_weather {"city": "Paris"}\n'
    "tests/integration/inference/test_tools.py::test_weather[gpt-4o-mini]",
    "b": "The largest moon of Saturn is Titan.",
    "c": "Which moon is the largest? Ganymede, of Jupiter.",
    "d": "Wetter in Zürich: 日本語テキスト, café au lait",
    "e": "The weatherman forecasts rain *** heavy, 42% chance",
}


def _rows() -> None:
    root = Root.objects.create(name="hand", path="/nonexistent")
    for name, text in TEXTS.items():
        RecordingEntry.objects.create(
            root=root, path=f"{name}.json", size=1, mtime_ns=1, sha256="", kind="chat", search_text=text
        )


def _found(query: str) -> set[str]:
    return {p.removesuffix(".json") for p in search.apply(RecordingEntry.objects.all(), query).values_list("path", flat=True)}  # fmt: skip


@pytest.fixture
def hand(db: None) -> None:
    _rows()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("paris", {"a"}),
        ("PARIS", {"a"}),
        ("weather", {"a", "e"}),  # the last word is a prefix: weatherman
        ("weather paris", {"a"}),  # every word must appear
        ("weather saturn", set()),
        ("largest moon", {"b", "c"}),
        ('"largest moon"', {"b"}),  # a phrase: in this order, side by side
        ('"moon largest"', set()),
        ('"largest moon', {"b"}),  # an unterminated phrase runs to the end
        ('"largest mo', {"b"}),  # ... and is being typed: its last word is a prefix
        ('"get_weath', {"a"}),
        ('"Titan', {"b"}),  # no "as typed" check on a phrase not closed yet
        ("get_weather(", {"a"}),  # snake_case and punctuation: tokens side by side
        ("test_tools.py", {"a"}),
        ("inference", {"a"}),  # a folder inside a test path
        ("gpt-4o", {"a"}),
        ("Titan.", {"b"}),
        ('"Titan."', {"b"}),  # a quoted phrase with punctuation must appear as typed
        ('"Titan!"', set()),
        ('"get_weather {"', {"a"}),
        ('-"Paris?"', {"b", "c", "d", "e"}),
        ("moon -saturn", {"c"}),  # -word excludes
        ("-moon", {"a", "d", "e"}),
        ('-"largest moon"', {"a", "c", "d", "e"}),
        ("zür", {"d"}),
        ("café", {"d"}),
        ("日本語", {"d"}),
        ("42", {"e"}),
        ("*", {"e"}),  # no letter or digit at all: matched as a substring
        ("***", {"e"}),
        ("", set(TEXTS)),
        ("   ", set(TEXTS)),
        ("-", set(TEXTS)),  # a word to exclude, not typed yet: no filter
        ("moon -", {"b", "c"}),
    ],
)
def test_search_query_language(hand: None, query: str, expected: set[str]) -> None:
    assert _found(query) == expected


HOSTILE = [
    "get_weather(",
    '"unterminated',
    '"',
    '""',
    '"" ""',
    "*",
    "AND OR NOT",
    "NOT",
    "x OR",
    "NEAR(a b)",
    "a:b",
    "{search_text}: x",
    "^x",
    "x*",
    "(",
    ")",
    "%_\\",
    "'; drop table recorder_ui_recordingentry; --",
    "-",
    "--",
    "- -x",
    "\x00",
    "a\x00b",
    "\ud800",
    "²³",
    "a\u0301",
    "\U0001f600",
    "x" * 5000,
    " ".join(["word"] * 400),
    "日本",
    "tsquery ' & | ! <-> :* \\",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(hand: None, client: Client, query: str) -> None:
    assert search.apply(RecordingEntry.objects.all(), query).count() >= 0
    if "\ud800" not in query:  # a URL cannot carry a lone surrogate: Django decodes %ED%A0%80 as U+FFFD
        for url in ("/recordings/", "/recordings.json"):
            assert client.get(url, {"q": query}).status_code in (200, 400), url  # 400: NUL, refused up front


def test_random_queries_never_raise(hand: None) -> None:
    alphabet = list("abcxyz019 \"'-*:^()[]{}<>!&|~%_\\.,;+/@#$=?") + ["é", "ü", "日", "\U0001f600", "\u0301", "²"]
    rng = random.Random(5)
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        search.apply(RecordingEntry.objects.all(), query).count()


def test_parse_makes_safe_terms() -> None:
    parsed = search.parse('Weather -rain "Largest moon" get_weather(')
    assert parsed.terms == (
        search.Term(("weather",)),
        search.Term(("rain",), negated=True),
        search.Term(("largest", "moon")),
        search.Term(("get", "weather"), prefix=True),
    )
    assert search.parse('"closed phrase"').terms == (search.Term(("closed", "phrase")),)  # no prefix in quotes
    assert search.parse("a -b").terms[-1].prefix is False  # nor on an exclusion
    assert len(search.parse(" ".join(f"w{n}" for n in range(100))).terms) == search.MAX_TERMS
    assert search.parse("*** %%").terms == () and search.parse("*** %%").words == ("***", "%%")


def test_the_index_follows_updates_and_deletes(hand: None) -> None:
    row = RecordingEntry.objects.get(path="b.json")
    row.search_text = "Europa is icy"
    row.save()
    assert _found("titan") == set() and _found("europa") == {"b"}
    RecordingEntry.objects.filter(path="b.json").delete()
    assert _found("europa") == set()
    RecordingEntry.objects.filter(path="a.json").update(search_text="Lisbon")
    assert _found("lisbon") == {"a"} and _found("paris") == set()


@pytest.mark.django_db
def test_reindexed_files_are_found_by_their_new_words(tmp_path: Path) -> None:
    path = write(tmp_path, "inference", stream_recording(test_id="tests/integration/a.py::test_a", text="Oslo is cold"))
    indexer.index_recordings(root=tmp_path, name="main")
    assert selectors.recording_page(params={"q": "oslo"}).total == 1
    path.write_text(path.read_text().replace("Oslo", "Bergen"))
    indexer.index_recordings(root=tmp_path, name="main")
    assert selectors.recording_page(params={"q": "oslo"}).total == 0
    assert selectors.recording_page(params={"q": "berg"}).total == 1
    path.unlink()
    indexer.index_recordings(root=tmp_path, name="main")
    assert selectors.recording_page(params={"q": "bergen"}).total == 0


def test_without_a_text_index_tokens_match_as_substrings(hand: None, monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the fallback is for an SQLite built without FTS5")
    monkeypatch.setattr(search, "fts5_ready", lambda connection: False)
    assert _found("paris") == {"a"}
    assert _found("weather paris") == {"a"}
    assert _found("moon -saturn") == {"c"}
    assert _found("*") == {"e"}
    for query in HOSTILE:
        search.apply(RecordingEntry.objects.all(), query).count()


def test_snippet_marks_the_words_found() -> None:
    text = "x" * 300 + " The largest moon of Saturn is Titan. " + "y" * 300
    found = search.snippet(text, "saturn tit")
    assert found is not None
    assert [part for part, hit in found.parts if hit] == ["Saturn", "Titan"]
    assert found.parts[0] == ("…", False) and found.parts[-1] == ("…", False)
    assert sum(len(part) for part, _ in found.parts) <= 160 + 2
    assert search.snippet("<script>alert(1)</script>", "script") is not None  # plain text: the template escapes
    assert search.snippet("nothing here", "titan") is None
    assert search.snippet("anything", "***") is None


@pytest.mark.django_db
def test_sample_recordings_are_searchable_through_the_list() -> None:
    indexer.index_recordings(root=SAMPLES, name="samples")

    def found(query: str) -> set[str]:
        return {row["test_id"] for row in selectors.recording_page(params={"q": query}).rows}

    assert len(found("Titan")) == 1
    assert found("Saturn Titan") == found("Titan")
    assert found("Titan Lucerne") == set()
    assert any("trip_planner" in t for t in found("find_train"))  # a tool name
    assert any("parallel_tool_calls" in t for t in found("Lima"))  # a tool argument
    assert any("reasoning" in t for t in found("42"))  # assembled output
    assert len(found('"largest moon"')) == 1


def _migration() -> object:
    return importlib.import_module("recorder_ui.migrations.0004_search_fts5")


@pytest.mark.django_db
def test_postgres_queries_use_the_gin_index() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run the suite with DATABASE_URL=postgres://... (CI does)")
    _rows()
    # The list's own order under a search: the path index must not stand in for the text index.
    ordering = selectors.recording_list._ordering("path", searched=True)
    queryset = search.apply(RecordingEntry.objects.all(), '"largest moon" saturn').order_by(*ordering)[:50]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # six rows: without this a scan is cheaper
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert search.PG_INDEX in plan, plan  # the stored document's GIN index finds the rows
    assert [row.path for row in queryset] == ["b.json"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch", [500, 5])  # one statement at the end, or some while the parse goes on
def test_a_bulk_index_run_fills_the_text_index_and_keeps_its_triggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The indexer adds a batch's text-index entries in one statement (SQLite); the index must end up exactly
    as the triggers would have left it, and the triggers must still be there for the next single change."""
    monkeypatch.setattr(writer, "INSERT_BATCH", batch)
    for n in range(12):
        write(tmp_path, "inference", stream_recording(test_id=f"tests/integration/a.py::test_{n}", text=f"Fjord {n}"))
    indexer.index_recordings(root=tmp_path, name="main", jobs=2)
    assert selectors.recording_page(params={"q": "fjord"}).total == 12
    assert selectors.recording_page(params={"q": '"fjord 7"'}).total == 1
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # With rank 1, FTS5 compares its index with the content table and fails on any difference.
            cursor.execute(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            assert set(search.FTS_TRIGGERS) <= {row[0] for row in cursor.fetchall()}
    RecordingEntry.objects.create(
        root=Root.objects.get(name="main"), path="x.json", size=1, mtime_ns=1, sha256="", kind="chat",
        search_text="Geyser",
    )  # fmt: skip
    assert selectors.recording_page(params={"q": "geyser"}).total == 1


@pytest.mark.django_db
def test_sqlite_has_the_fts5_table_and_its_triggers() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert search.fts5_ready(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert set(search.FTS_TRIGGERS) <= {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [search.FTS_TABLE])
        assert "prefix='2 3'" in cursor.fetchone()[0]  # migration 0019: short prefixes read one list
    assert _migration().FTS_TRIGGERS == search.FTS_TRIGGER_SQL  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_short_and_long_prefixes_find_the_same_rows_as_whole_words(hand: None) -> None:
    """Two- and three-character prefixes come from the prefix index, longer ones from the terms: both match
    every word they start."""
    assert _found("th") == _found("the") == {"a", "b", "c", "e"}
    assert _found("we") == {"a", "d", "e"} and _found("wea") == _found("weath") == {"a", "e"}  # Wetter: not "wea"
    assert _found("ti") == {"b"} and _found("tit") == {"b"} and _found("Zü") == {"d"}


@pytest.mark.django_db(transaction=True)
def test_sqlite_triggers_come_back_after_a_table_rebuild() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: Django alters a SQLite table by copying it, which drops its triggers")
    with connection.schema_editor() as editor:
        editor._remake_table(RecordingEntry)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert cursor.fetchone()[0] == 0
    call_command("migrate", verbosity=0)  # post_migrate re-creates them
    _rows()
    assert _found('"largest moon"') == {"b"}


@pytest.mark.django_db(transaction=True)
def test_the_search_migration_reverses_and_reapplies() -> None:
    def state() -> tuple[bool, bool]:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                return search.fts5_ready(connection), False
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'recorder_ui_recordingentry'")
            names = {row[0] for row in cursor.fetchall()}
            return search.PG_INDEX in names, "recorder_ui_search_text_fts" in names

    assert state()[0]
    _rows()  # made with today's models; the rows outlive the step back
    try:
        call_command("migrate", "recorder_ui", "0003", verbosity=0)
        assert state() == ((False, False) if connection.vendor == "sqlite" else (False, True))
        assert _found("paris") == {"a"}  # no text index: tokens as substrings
        search.settle()  # the GIN index is gone: settling is skipped, not an error
    finally:
        call_command("migrate", "recorder_ui", verbosity=0)
    assert state()[0]
    assert _found('"largest moon"') == {"b"}  # the index was filled from the rows already there
    assert search.document_copied(connection) == (connection.vendor == "postgresql")  # 0020's trigger is back


@pytest.mark.django_db
def test_postgres_index_is_settled_right_after_a_bulk_index(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    for n in range(indexer.SETTLE_MIN_CHANGES):
        write(tmp_path, "inference", stream_recording(test_id=f"tests/integration/a.py::test_{n}", text=f"n{n}"))
    indexer.index_recordings(root=tmp_path, name="main")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'recorder_ui_recordingentry'")
        # Without them the planner guesses a handful of rows per filter and re-parses every text row by row.
        assert cursor.fetchone()[0] >= indexer.SETTLE_MIN_CHANGES
        # The filters' columns have their statistics (the planner's choice between a filter's index and a walk).
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = 'recorder_ui_recordingentry'")
        assert {"kind", "path", "replay_status", "missing_usage"} <= {row[0] for row in cursor.fetchall()}


def _walk_catalog(tmp_path: Path) -> None:
    """Two roots of 60 recordings each: "weather" in most, "titan" in three, models and tools mixed."""
    rng = random.Random(7)
    for root in ("main", "pr"):
        folder = tmp_path / root
        for n in range(60):
            words = ["weather in Paris" if rng.random() < 0.7 else "moons", "titan" if n in (5, 17, 42) else "rain"]
            tool = ("get_weather", '{"city": "Oslo"}') if n % 3 == 0 else None
            rec = stream_recording(test_id=f"tests/integration/t{n % 7}.py::test_{n}", text=" ".join(words),
                                   tool=tool, model=("gpt-4o" if n % 2 else "llama3.2:3b"), usage=n % 5 != 0)  # fmt: skip
            write(folder, "inference", rec, name=f"{n:03d}-{rng.randrange(10**6):06d}.json")
        indexer.index_recordings(root=folder, name=root)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "weather"},
        {"q": "wea"},
        {"q": "wea", "sort": "-tokens"},
        {"q": "in", "model": "gpt-4o"},
        {"q": "weather", "sort": "-tokens"},
        {"q": "weather", "sort": "test"},
        {"q": "weather", "kind": "chat", "tools": "yes"},
        {"q": "weather", "model": "gpt-4o"},
        {"q": "weather -moons"},
        {"q": '"weather in"'},
        {"q": "titan"},
        {"q": "titan", "root": "pr"},
        {"kind": "chat", "streaming": "yes", "tools": "yes"},
        {"missing": "yes"},
        {},
    ],
)
def test_a_walked_list_shows_the_rows_and_count_a_sorted_one_does(
    tmp_path: Path, db: None, monkeypatch: pytest.MonkeyPatch, params: dict[str, str]
) -> None:
    """Many matches are walked along the sort's index (and a plain search counted in the text index alone): a
    choice of plan only, so every page, its count and its next page equal what reading every match gives."""
    _walk_catalog(tmp_path)
    from recorder_ui.selectors import recording_list

    def pages(query: dict[str, str]) -> list[tuple[int, list[int]]]:
        seen = []
        for _ in range(4):  # PAGE_SIZE rows a page: 120 rows are at most 3 pages
            selectors.clear_caches()
            page = selectors.recording_page(params=query)
            seen.append((page.total, [row["pk"] for row in page.rows]))
            if not page.next_query:
                break
            query = dict(parse_qsl(page.next_query))
        return seen

    with CaptureQueriesContext(connection) as captured:
        walked = pages(dict(params))
    if params == {"q": "weather"} and connection.vendor == "sqlite":
        assert any('+"recorder_ui_recordingentry"."id" IN' in q["sql"] for q in captured.captured_queries)
    if params == {"q": "wea"} and connection.vendor == "sqlite":  # most rows match, and "wea" has its own list
        assert any(f"EXISTS (SELECT 1 FROM {search.FTS_TABLE}" in q["sql"] for q in captured.captured_queries)
    monkeypatch.setattr(recording_list, "BROAD", 10**9)  # no list is broad: every match read, then sorted
    monkeypatch.setattr(search, "text_index_count", lambda query, **_: None)  # and counted row by row
    assert walked == pages(dict(params))
    every = RecordingEntry.objects.count()
    assert walked[0][0] == len({pk for _, pks in walked for pk in pks})  # the count is the rows shown
    if params == {"q": "weather"}:
        assert walked[0][0] * recording_list.BROAD > every  # this case does walk


@pytest.mark.parametrize("params", [{"q": "weather"}, {"q": "weather", "sort": "-tokens"}, {"q": "weather rain"}])
def test_a_search_with_more_matches_than_postgresql_counts_pages_through_every_one(
    tmp_path: Path, db: None, client: Client, monkeypatch: pytest.MonkeyPatch, params: dict[str, str]
) -> None:
    """PostgreSQL counts a search's matches up to SEARCH_COUNT_LIMIT (here 10): past it the list says "more
    than 10", numbers its pages as far as the rows go, and its next links still reach every match once, in
    the order of the full count. SQLite counts them all."""
    _walk_catalog(tmp_path)
    from recorder_ui.selectors import recording_list

    def pages(query: dict[str, str]) -> list[selectors.RecordingPage]:
        seen = []
        for _ in range(6):
            selectors.clear_caches()
            seen.append(selectors.recording_page(params=query))
            if not seen[-1].next_query:
                break
            query = dict(parse_qsl(seen[-1].next_query))
        return seen

    exact = pages(dict(params))
    assert exact[0].total_exact and exact[0].total > 50 and len(exact) > 1
    monkeypatch.setattr(recording_list, "SEARCH_COUNT_LIMIT", 10)
    capped = pages(dict(params))
    assert [[r["pk"] for r in p.rows] for p in capped] == [[r["pk"] for r in p.rows] for p in exact]
    body = client.get("/recordings/", params).content.decode()
    if connection.vendor != "postgresql":
        assert [(p.total, p.total_exact, p.pages) for p in capped] == [(p.total, True, p.pages) for p in exact]
        return
    assert all(p.total == 10 and not p.total_exact for p in capped)
    assert [p.pages for p in capped] == [n + 1 for n in range(1, len(capped))] + [len(capped)]
    assert "more than 10 recordings" in body and "page 1 of" not in body and 'rel="next"' in body
    assert client.get("/recordings.json", params).json()["total_exact"] is False
    # A page typed by number past what the count vouches for is the last one it does, not an empty one.
    selectors.clear_caches()
    typed = selectors.recording_page(params={**params, "page": "999999"})
    assert typed.number == 1 and [r["pk"] for r in typed.rows] == [r["pk"] for r in capped[0].rows]


@pytest.mark.django_db(transaction=True)
def test_the_sort_indexes_migration_makes_and_drops_the_postgres_only_index() -> None:
    """The "most tokens" sort needs total_tokens DESC NULLS LAST on PostgreSQL (migration 0013); SQLite takes
    no such index and gets none. Both get the size index."""

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            else:
                cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'recorder_ui_recordingentry'")
            return {row[0] for row in cursor.fetchall()}

    postgres = connection.vendor == "postgresql"
    assert ("entry_tokens_desc" in indexes()) == postgres and "recorder_ui_size_31d36f_idx" in indexes()
    try:
        call_command("migrate", "recorder_ui", "0012", verbosity=0)
        assert "entry_tokens_desc" not in indexes() and "recorder_ui_size_31d36f_idx" not in indexes()
    finally:
        call_command("migrate", "recorder_ui", verbosity=0)
    assert ("entry_tokens_desc" in indexes()) == postgres


@pytest.mark.django_db(transaction=True)
def test_a_second_checkouts_copied_rows_are_searchable_like_parsed_ones(tmp_path: Path) -> None:
    """Rows a second checkout copies from the first's (never parsed) get their text-index entries too: on
    PostgreSQL the stored document is generated by the database for every row, however it was written."""
    for root in ("main", "release"):
        for n in range(writer.COPY_MIN_FILES + 2):
            text = f"Fjord {n} with get_weather" if n % 2 else f"Glacier {n}"
            write(
                tmp_path / root, "inference", stream_recording(test_id=f"tests/integration/a.py::test_{n}", text=text)
            )
    first = indexer.index_recordings(root=tmp_path / "main", name="main", jobs=2)
    second = indexer.index_recordings(root=tmp_path / "release", name="release", jobs=2)
    assert second.copied == second.added == first.added
    odd = (writer.COPY_MIN_FILES + 2) // 2
    assert selectors.recording_page(params={"q": "get_weather"}).total == 2 * odd  # a phrase: 'get' <-> 'weather'
    assert selectors.recording_page(params={"q": "glacier", "root": "release"}).total == writer.COPY_MIN_FILES + 2 - odd
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the copied rows' own stored documents, not the parsed rows'
            cursor.execute(
                f"SELECT count(*) FROM recorder_ui_recordingentry WHERE root_id = %s AND {search.PG_COLUMN} @@ "
                "to_tsquery('simple', 'get <-> weather')",
                [Root.objects.get(name="release").pk],
            )
            assert cursor.fetchone()[0] == odd


@pytest.mark.django_db
def test_postgres_keeps_a_rows_given_document_and_computes_a_missing_or_stale_one(hand: None) -> None:
    """Migration 0020: a trigger keeps the stored document. A row written with one (a copy, bringing its
    source's) keeps it; one written without gets it computed; a changed search text gets it computed again."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert search.document_copied(connection)
    root = Root.objects.get(name="hand")

    def words(pk: int) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {search.PG_COLUMN}::text FROM recorder_ui_recordingentry WHERE id = %s", [pk])
            return cursor.fetchone()[0]

    a = RecordingEntry.objects.get(path="a.json")
    assert "'paris'" in words(a.pk)  # computed when the row came without one
    columns = ", ".join(f.column for f in RecordingEntry._meta.concrete_fields if f.column not in ("id", "path"))
    with connection.cursor() as cursor:  # as a copy writes it: with a document of its own
        cursor.execute(
            f"INSERT INTO recorder_ui_recordingentry (path, {columns}, {search.PG_COLUMN}) "  # noqa: S608
            f"SELECT 'copy.json', {columns}, %s::tsvector FROM recorder_ui_recordingentry WHERE id = %s RETURNING id",
            ["'kept':1", a.pk],
        )
        (copy,) = cursor.fetchone()
    assert words(copy) == "'kept':1"
    RecordingEntry.objects.filter(pk=copy).update(size=2)  # the text unchanged: the document stays
    assert words(copy) == "'kept':1"
    RecordingEntry.objects.filter(pk=copy).update(search_text="Fjord of Oslo")
    assert words(copy) == "'fjord':1 'of':2 'oslo':3"
    assert {Path(e.path).stem for e in selectors.search(RecordingEntry.objects.filter(root=root), "fjord")} == {"copy"}
