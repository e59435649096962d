"""Full-text search over RecordingEntry.search_text: PostgreSQL text search, SQLite FTS5, or substrings.

One small query language on every backend: words must all appear, "quoted phrases" must appear in order
(and as typed, when they hold punctuation: "Sunny!"), -word excludes, and the last plain word matches as a
prefix, so results follow the typing. Case does not matter. The query is reduced to letter-and-digit tokens
before it reaches a text index, so no input can be a syntax error.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import BooleanField, F, Func, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

from recorder_ui.models import RecordingEntry

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_TERMS = 12
MAX_TOKENS_PER_TERM = 16
FTS_TABLE = "recorder_ui_search"  # SQLite: the FTS5 table that migration 0004 keeps in step by triggers
FTS_TRIGGERS = ("recorder_ui_search_ai", "recorder_ui_search_ad", "recorder_ui_search_au")
# PostgreSQL: the text-search document of search_text with its ASCII punctuation turned to spaces (TOKEN),
# config "simple", stored in the generated column search_doc (migration 0016; unknown to the model, so neither
# Django nor the copier ever writes it), and the GIN index over that column.
PG_COLUMN = "search_doc"
PG_INDEX = "recorder_ui_search_stored"

# Tokens are runs of letters and digits; everything else (the underscore too) separates them, as in
# SQLite's unicode61 tokenizer. PostgreSQL's own parser would keep "tests/x/test_a.py" or "api.openai.com"
# as one token, so its document replaces ASCII punctuation by spaces first.
TOKEN = re.compile(r"[^\W_]+")
# SQLite: an external-content FTS5 table over search_text, kept in step by triggers. Migration 0004 holds a
# frozen copy of these statements; repair_sqlite_index() re-creates the triggers when a table rebuild
# (Django's SQLite schema editor copies a table to alter it) has dropped them.
FTS_TRIGGER_SQL = (
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_ai AFTER INSERT ON recorder_ui_recordingentry BEGIN "
    "INSERT INTO recorder_ui_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_ad AFTER DELETE ON recorder_ui_recordingentry BEGIN "
    "INSERT INTO recorder_ui_search(recorder_ui_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_au AFTER UPDATE OF search_text ON recorder_ui_recordingentry "
    "BEGIN INSERT INTO recorder_ui_search(recorder_ui_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO recorder_ui_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)
# A phrase, closed or not, or a run of anything else; either may carry a leading minus.
PIECE = re.compile(r'(?P<neg>-?)(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))')


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase of the query, as tokens that must appear next to each other."""

    tokens: tuple[str, ...]
    negated: bool = False
    prefix: bool = False  # the last token may be the start of a longer one
    literal: str = ""  # a quoted phrase with punctuation must also appear as typed: "Sunny!", "get_weather("


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[Term, ...]  # empty when the query has no letter or digit at all
    words: tuple[str, ...]  # the raw whitespace-separated words, for a substring match


@dataclass(frozen=True, slots=True)
class Snippet:
    """A short excerpt around the first match: (text, is_match) parts, for the template to escape and mark."""

    parts: tuple[tuple[str, bool], ...]


def parse(query: str) -> Query:
    """Split a user's query into terms of safe tokens; never fails."""
    # No NUL (PostgreSQL refuses it) and no lone surrogate (no database can encode it).
    query = query[:MAX_QUERY_CHARS].replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")
    terms: list[Term] = []
    last_plain = False
    for match in PIECE.finditer(query):
        text = match["phrase"] if match["phrase"] is not None else match["word"]
        tokens = tuple(t.lower() for t in TOKEN.findall(text))[:MAX_TOKENS_PER_TERM]
        if not tokens:
            continue
        literal = ""
        # A phrase whose closing quote is not typed yet: the user is typing it, so its last word is a prefix.
        open_phrase = match["phrase"] is not None and not match.group(0).endswith('"')
        if match["phrase"] is not None and not open_phrase and any(not (c.isspace() or TOKEN.match(c)) for c in text):
            literal = text.strip()
        term = Term(tokens=tokens, negated=bool(match["neg"]), literal=literal)
        if term not in terms and len(terms) < MAX_TERMS:
            terms.append(term)
            last_plain = (match["word"] is not None or open_phrase) and not term.negated
    if terms and last_plain:
        last = terms[-1]
        terms[-1] = Term(tokens=last.tokens, prefix=True)
    # A lone "-" is a word to exclude not typed yet (search follows typing): not a substring to look for.
    words = tuple(w for w in (w.strip('"') for w in query.split()[:MAX_TERMS]) if w and w != "-")
    return Query(terms=tuple(terms), words=words)


def text_index_count(query: str, *, using: str = "default") -> tuple[int, bool] | None:
    """SQLite with FTS5: how many rows the text index matches for the query's wanted terms, counted in the
    index alone (no row read), and whether that is exactly the search's rows (only plain words and phrases:
    nothing excluded, nothing to check as typed). None elsewhere, or when the query has no wanted term."""
    connection = connections[using]
    if connection.vendor != "sqlite" or not fts5_ready(connection):
        return None
    terms = parse(query).terms
    wanted = [t for t in terms if not t.negated]
    if not wanted:
        return None
    sql = f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        cursor.execute(sql, [" AND ".join(_fts_phrase(t) for t in wanted)])
        (count,) = cursor.fetchone()
    return int(count), all(not t.negated and not t.literal for t in terms)


def apply(
    queryset: QuerySet[RecordingEntry], query: str, *, walk: bool = False, dense: bool = False
) -> QuerySet[RecordingEntry]:
    """Narrow queryset to the entries whose search text matches query; an empty query changes nothing.

    walk (SQLite): the text index's matches are tested row by row along the sort's index (`+id IN ...`)
    instead of each match's row being read and the lot sorted: cheaper when the matches are many. dense
    (with walk): most rows match, so each row walked is looked up in the text index instead of every match
    being listed first, when each term reads one posting list (`_one_list`)."""
    parsed = parse(query)
    if not parsed.terms:
        # Nothing to tokenise ("*", "(", "%_"): match the punctuation itself as a substring.
        return _substrings(queryset, parsed.words)
    # The text index finds the tokens; a quoted phrase with punctuation is then checked as typed. Excluding
    # such a phrase only needs the check (the index cannot say "not these tokens in this exact spelling").
    indexed = tuple(t for t in parsed.terms if not (t.negated and t.literal))
    if indexed:
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and document_ready(connection):
            queryset = _postgres(queryset, indexed)
        elif connection.vendor == "sqlite" and fts5_ready(connection):
            queryset = _sqlite(queryset, indexed, walk=walk, dense=dense)
        else:
            queryset = _tokens(queryset, indexed)
    for term in parsed.terms:
        if term.literal:
            exact = Q(search_text__icontains=term.literal)
            queryset = queryset.exclude(exact) if term.negated else queryset.filter(exact)
    return queryset


def _postgres(queryset: QuerySet[RecordingEntry], terms: tuple[Term, ...]) -> QuerySet[RecordingEntry]:
    # A raw tsquery built from tokens we made, so the syntax is ours: 'a' & 'b' <-> 'c':* & !('d').
    # Against the stored document: its GIN index finds the rows, and a phrase's word order is checked on the
    # stored document rather than by parsing each row's text again.
    def render(term: Term) -> str:
        lexemes = [f"'{token}'" for token in term.tokens]
        if term.prefix:
            lexemes[-1] += ":*"
        joined = " <-> ".join(lexemes)
        return f"!({joined})" if term.negated else f"({joined})"

    tsquery = " & ".join(render(term) for term in terms)
    column = f"{queryset.model._meta.db_table}.{PG_COLUMN}"
    matches = RawSQL(f"{column} @@ to_tsquery('simple'::regconfig, %s)", (tsquery,), output_field=BooleanField())
    return queryset.filter(matches)


def _fts_phrase(term: Term) -> str:
    """A term as an FTS5 phrase in double quotes: "a", "b c", "d"* (the tokens hold letters and digits only)."""
    return '"' + " ".join(term.tokens) + '"' + ("*" if term.prefix else "")


PREFIX_LISTS = (2, 3)  # the prefix lengths the FTS5 table keeps lists of (migration 0019)


def _one_list(term: Term) -> bool:
    """Whether FTS5 finds a term from one posting list per token: a whole word, or a prefix of a length the
    table keeps its own list for. A longer prefix merges the list of every word it starts, at each lookup."""
    return not term.prefix or len(term.tokens[-1]) in PREFIX_LISTS


def _sqlite(
    queryset: QuerySet[RecordingEntry], terms: tuple[Term, ...], *, walk: bool, dense: bool = False
) -> QuerySet[RecordingEntry]:
    # FTS5 phrases joined: "a" AND "b c" AND "d"*. NOT needs a left side in FTS5, so exclusions are a second
    # match subtracted from the first.
    wanted = " AND ".join(_fts_phrase(t) for t in terms if not t.negated)
    unwanted = " OR ".join(_fts_phrase(t) for t in terms if t.negated)
    table = queryset.model._meta.db_table
    if walk and dense and not unwanted and all(_one_list(t) for t in terms):
        # Most rows match ("the" in four of five): a lookup of each walked row (a seek in each list) costs the
        # page's rows, where listing every match first costs them all (25,480 at ten roots of the corpus).
        sql = f"EXISTS (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid = {table}.id)"  # noqa: S608
        return queryset.filter(RawSQL(sql, (wanted,), output_field=BooleanField()))
    row_id = Func(F("pk"), template="+%(expressions)s", output_field=IntegerField()) if walk else F("pk")

    def matching(expression: str) -> Q:
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608 - fixed names
        return Q(In(row_id, RawSQL(sql, (expression,))))

    if wanted:
        queryset = queryset.filter(matching(wanted))
    if unwanted:
        queryset = queryset.exclude(matching(unwanted))
    return queryset


def _tokens(queryset: QuerySet[RecordingEntry], terms: tuple[Term, ...]) -> QuerySet[RecordingEntry]:
    """Without a text index (FTS5 missing from this SQLite, or another database): each token as a substring."""
    for term in terms:
        every = Q()
        for token in term.tokens:
            every &= Q(search_text__icontains=token)
        queryset = queryset.exclude(every) if term.negated else queryset.filter(every)
    return queryset


def _substrings(queryset: QuerySet[RecordingEntry], words: tuple[str, ...]) -> QuerySet[RecordingEntry]:
    for word in words:
        queryset = queryset.filter(search_text__icontains=word)
    return queryset


def document_ready(connection: BaseDatabaseWrapper) -> bool:
    """Whether this PostgreSQL database has the stored document (migration 0016; not before it is applied)."""
    return _document_column(connection) is not None


def document_copied(connection: BaseDatabaseWrapper) -> bool:
    """Whether this PostgreSQL database keeps the stored document by a trigger (migration 0020), so that a
    row written with a document keeps it: a copied row brings its source's instead of having it computed."""
    return connection.vendor == "postgresql" and _document_column(connection) in ("", b"")


def _document_column(connection: BaseDatabaseWrapper) -> str | bytes | None:
    """The stored document column's `attgenerated` ("s" while generated, "" for a plain one); None without it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attgenerated FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped",
            [RecordingEntry._meta.db_table, PG_COLUMN],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def fts5_ready(connection: BaseDatabaseWrapper) -> bool:
    """Whether this SQLite database has the FTS5 table (migration 0004 skips it when FTS5 is missing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
        return cursor.fetchone() is not None


@contextlib.contextmanager
def bulk_insert(cursor: CursorWrapper) -> Iterator[Callable[[], None]]:
    """Around a batch of new rows, inside the caller's transaction: on SQLite, the FTS5 entries are added by a
    statement per batch of rows instead of by the insert trigger row by row (about seven times quicker). The
    context gives `flush`, which adds the entries of the rows written since the last flush: called while
    worker processes still parse, it takes that work out of the run's serial end. The trigger is dropped and
    made again in the same transaction, so no other connection ever sees it missing."""
    connection = cursor.db
    if connection.vendor != "sqlite" or not connection.in_atomic_block or not fts5_ready(connection):
        yield lambda: None
        return
    table = RecordingEntry._meta.db_table
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - fixed names
    (first,) = cursor.fetchone()
    done = [first]  # the rows up to this id have their entries (ids only grow: AUTOINCREMENT)

    def flush() -> None:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - fixed names
        (last,) = cursor.fetchone()
        if last > done[0]:
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, search_text) "  # noqa: S608 - fixed names
                f"SELECT id, search_text FROM {table} WHERE id > %s AND id <= %s",
                [done[0], last],
            )
            done[0] = last

    cursor.execute(f"DROP TRIGGER IF EXISTS {FTS_TRIGGERS[0]}")
    try:
        yield flush
        flush()
    finally:  # the transaction is rolled back on an error, the trigger's drop with it; this is for a caller
        cursor.execute(FTS_TRIGGER_SQL[0])  # that catches the error inside an outer atomic block


def repair_sqlite_index(*, using: str = "default", **_: object) -> None:
    """After migrate: give the FTS5 table back its triggers if a table rebuild dropped them, then re-fill it."""
    connection = connections[using]
    if connection.vendor != "sqlite" or not fts5_ready(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'recorder_ui_recordingentry'"
        )
        if set(FTS_TRIGGERS) <= {row[0] for row in cursor.fetchall()}:
            return
        for sql in FTS_TRIGGER_SQL:
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def settle(*, using: str = "default") -> None:
    """After a bulk change to the rows: refresh the planner's statistics, and on PostgreSQL fold the GIN index's
    pending list in. Right after a bulk load both are stale there: new index entries wait in a list every search
    must read, and the planner guesses a handful of rows per filter. It then re-parses the text of every row
    instead of using the index (0.9 s instead of 2 ms for a search of the corpus) until autovacuum catches up.
    """
    connection = connections[using]
    if connection.vendor == "sqlite":
        # The planner's statistics: without them it takes any filter's index and sorts every match, where
        # walking the sort's own index to the page's rows costs a fraction (a list filtered by kind, say).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [PG_INDEX])
    except DatabaseError:  # the index is missing, or belongs to another role: autovacuum will do it
        log.warning("could not clean the pending list of %s", PG_INDEX, exc_info=True)
    # The statistics of the columns the pages filter and sort on, not of the long texts and the stored
    # document: a whole-table ANALYZE samples those too (0.84 s at four roots of the corpus, against 0.18 s;
    # 4.6 s before migration 0016, when it re-parsed each sampled text for the index's expression). Searches
    # need no statistics of the document: their plan comes from the list's order (recording_list._ordering),
    # and autovacuum's own ANALYZE fills them in later, in the background.
    quote, table = connection.ops.quote_name, RecordingEntry._meta.db_table
    long = {"search_text", "summary", "lineage"}
    wanted = {f.column for f in RecordingEntry._meta.concrete_fields if f.column not in long}
    with connection.cursor() as cursor:
        present = [c.name for c in connection.introspection.get_table_description(cursor, table) if c.name in wanted]
        cursor.execute(f"ANALYZE {quote(table)} ({', '.join(quote(name) for name in present)})")


def snippet(text: str, query: str, *, width: int = 160) -> Snippet | None:
    """An excerpt of text around the first token of query that it contains, or None when none is found."""
    tokens = sorted({t for term in parse(query).terms if not term.negated for t in term.tokens}, key=len, reverse=True)
    if not tokens or not text:
        return None
    # A token matches at the start of a word, as it does in the index; the whole word is marked.
    pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(t) for t in tokens) + r")[^\W_]*", re.IGNORECASE)
    first = pattern.search(text)
    if first is None:
        return None
    start = max(0, first.start() - width // 3)
    end = min(len(text), start + width)
    window = text[start:end]
    parts: list[tuple[str, bool]] = []
    if start:
        parts.append(("…", False))
    position = 0
    for hit in pattern.finditer(window):
        if hit.start() > position:
            parts.append((window[position : hit.start()], False))
        parts.append((hit.group(), True))
        position = hit.end()
    if position < len(window):
        parts.append((window[position:], False))
    if end < len(text):
        parts.append(("…", False))
    return Snippet(parts=tuple(parts))
