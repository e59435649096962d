"""A GIN index for PostgreSQL full-text search over search_text; nothing on SQLite."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS recorder_ui_search_text_fts ON recorder_ui_recordingentry "
    "USING gin (to_tsvector('simple'::regconfig, search_text))"
)
DROP = "DROP INDEX IF EXISTS recorder_ui_search_text_fts"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("recorder_ui", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
