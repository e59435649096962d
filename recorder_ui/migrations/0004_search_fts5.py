"""Full-text search indexes: an FTS5 table with triggers on SQLite, a GIN index on PostgreSQL.

Each half does nothing on the other database. The statements are frozen here on purpose; recorder_ui/search.py
queries what they build (tests/test_search.py checks the two agree).
"""

import string

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F, Func, TextField, Value

FTS_CREATE = (
    "CREATE VIRTUAL TABLE recorder_ui_search USING fts5(search_text, content='recorder_ui_recordingentry', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
)
FTS_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_ai AFTER INSERT ON recorder_ui_recordingentry BEGIN "
    "INSERT INTO recorder_ui_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_ad AFTER DELETE ON recorder_ui_recordingentry BEGIN "
    "INSERT INTO recorder_ui_search(recorder_ui_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS recorder_ui_search_au AFTER UPDATE OF search_text ON recorder_ui_recordingentry "
    "BEGIN INSERT INTO recorder_ui_search(recorder_ui_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO recorder_ui_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)
FTS_FILL = "INSERT INTO recorder_ui_search(recorder_ui_search) VALUES ('rebuild')"
FTS_DROP = (
    "DROP TRIGGER IF EXISTS recorder_ui_search_ai",
    "DROP TRIGGER IF EXISTS recorder_ui_search_ad",
    "DROP TRIGGER IF EXISTS recorder_ui_search_au",
    "DROP TABLE IF EXISTS recorder_ui_search",
)

# PostgreSQL: ASCII punctuation becomes spaces before the 'simple' parser runs, so paths, URLs and
# snake_case names split into words as they do in SQLite's unicode61 tokenizer.
PUNCTUATION = string.punctuation
PG_INDEX = GinIndex(
    SearchVector(
        Func(F("search_text"), Value(PUNCTUATION), Value(" " * len(PUNCTUATION)), function="translate",
             output_field=TextField()),
        config="simple",
    ),
    name="recorder_ui_search_doc",
)
PG_OLD_INDEX = (  # from 0002: the raw text, whole paths and URLs as single words
    "CREATE INDEX IF NOT EXISTS recorder_ui_search_text_fts ON recorder_ui_recordingentry "
    "USING gin (to_tsvector('simple'::regconfig, search_text))"
)


def _sqlite_has_fts5(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("PRAGMA compile_options")
        return any(row[0] == "ENABLE_FTS5" for row in cursor.fetchall())


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite" and _sqlite_has_fts5(schema_editor):  # without FTS5, search falls back to substrings
        schema_editor.execute(FTS_CREATE)
        for sql in FTS_TRIGGERS:
            schema_editor.execute(sql)
        schema_editor.execute(FTS_FILL)
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS recorder_ui_search_text_fts")
        schema_editor.add_index(apps.get_model("recorder_ui", "RecordingEntry"), PG_INDEX)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in FTS_DROP:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("recorder_ui", "RecordingEntry"), PG_INDEX)
        schema_editor.execute(PG_OLD_INDEX)


class Migration(migrations.Migration):
    dependencies = [("recorder_ui", "0003_request_key")]
    operations = [migrations.RunPython(forwards, backwards)]
