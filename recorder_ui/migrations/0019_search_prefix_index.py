"""SQLite: the FTS5 table made again with prefix indexes of two and three characters.

Every word of a search matches as a prefix (`weath` finds weather). Without a prefix index FTS5 merges the
posting list of every term that starts with the prefix: for a short one (`the`: the, them, then, there, ...)
that is most of the index, 4 ms at ten roots of the corpus for the count alone; with one it reads a single list
(0.9 ms). It costs about twice the text index's writes. The triggers stay as 0004 made them; PostgreSQL is
untouched.
"""

from django.db import migrations

TABLE = (
    "CREATE VIRTUAL TABLE recorder_ui_search USING fts5(search_text, content='recorder_ui_recordingentry', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0'{prefix})"
)
FILL = "INSERT INTO recorder_ui_search(recorder_ui_search) VALUES ('rebuild')"


def _remake(schema_editor, prefix):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'recorder_ui_search'")
        if cursor.fetchone() is None:  # no FTS5 in this SQLite (0004 skipped it): search uses substrings
            return
        cursor.execute("PRAGMA compile_options")
        if not any(row[0] == "ENABLE_FTS5" for row in cursor.fetchall()):  # a file made by another SQLite
            return
    # The triggers write into the table by name: dropping and making it again in one transaction leaves them
    # pointing at the new one.
    schema_editor.execute("DROP TABLE recorder_ui_search")
    schema_editor.execute(TABLE.format(prefix=prefix))
    schema_editor.execute(FILL)


def forwards(apps, schema_editor):
    _remake(schema_editor, ", prefix='2 3'")


def backwards(apps, schema_editor):
    _remake(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [("recorder_ui", "0018_test_root_index")]
    operations = [migrations.RunPython(forwards, backwards)]
