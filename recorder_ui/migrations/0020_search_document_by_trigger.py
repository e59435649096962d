"""PostgreSQL: the text-search document kept by a trigger instead of generated, so that a copied row can bring
its own.

A generated column is computed for every row written, whatever the row: a second checkout's rows, copied from
the first's with the same search text, had their document computed again, about 1 s of the server's time per
3,162 rows of the corpus (the document itself, as text, is read back in 0.1 s). The trigger computes it when a
row comes without one, and again whenever the search text changes, as the generated column did. The values and
the GIN index stay as they are; SQLite is untouched.
"""

import string

from django.db import migrations

# The document as 0016 generated it (a migration keeps its own copy: later code may change).
PUNCTUATION = string.punctuation.replace("'", "''")
SPACES = " " * len(string.punctuation)
DOCUMENT_SQL = (
    "to_tsvector('simple'::regconfig, COALESCE(translate(search_text, "
    f"'{PUNCTUATION}'::text, '{SPACES}'::text), ''::text))"
)
NEW_DOCUMENT_SQL = DOCUMENT_SQL.replace("(search_text,", "(NEW.search_text,")

FUNCTION = f"""
CREATE OR REPLACE FUNCTION recorder_ui_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.search_doc IS NULL THEN
            NEW.search_doc := {NEW_DOCUMENT_SQL};
        END IF;
    ELSIF NEW.search_text IS DISTINCT FROM OLD.search_text OR NEW.search_doc IS NULL THEN
        NEW.search_doc := {NEW_DOCUMENT_SQL};
    END IF;
    RETURN NEW;
END
$$
"""
TRIGGER = (
    "CREATE TRIGGER recorder_ui_search_doc BEFORE INSERT OR UPDATE ON recorder_ui_recordingentry "
    "FOR EACH ROW EXECUTE FUNCTION recorder_ui_search_doc()"
)
FORWARDS = (
    "ALTER TABLE recorder_ui_recordingentry ALTER COLUMN search_doc DROP EXPRESSION",
    FUNCTION,
    TRIGGER,
)
BACKWARDS = (
    "DROP TRIGGER IF EXISTS recorder_ui_search_doc ON recorder_ui_recordingentry",
    "DROP FUNCTION IF EXISTS recorder_ui_search_doc()",
    "ALTER TABLE recorder_ui_recordingentry DROP COLUMN search_doc",  # its GIN index goes with it
    f"ALTER TABLE recorder_ui_recordingentry ADD COLUMN search_doc tsvector GENERATED ALWAYS AS ({DOCUMENT_SQL}) STORED",
    "CREATE INDEX recorder_ui_search_stored ON recorder_ui_recordingentry USING gin (search_doc)",
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARDS:
            schema_editor.execute(sql, params=None)  # no placeholders: the punctuation holds a %


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARDS:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("recorder_ui", "0019_search_prefix_index")]
    operations = [migrations.RunPython(forwards, backwards)]
