"""Indexes for the list's other sorts: by size (both databases), and on PostgreSQL by tokens descending with
nulls last, the order the "most tokens" sort asks for, which the ascending index cannot give there (its
reverse puts nulls first). SQLite takes no NULLS LAST in an index, and needs none: its nulls sort first, so
the ascending index read backwards is that very order."""

from django.db import migrations, models

TOKENS_DESC = "entry_tokens_desc"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TOKENS_DESC} ON recorder_ui_recordingentry (total_tokens DESC NULLS LAST)"
        )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TOKENS_DESC}")


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0012_list_walk_replay_and_flagged"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="recordingentry",
            index=models.Index(fields=["size"], name="recorder_ui_size_31d36f_idx"),
        ),
        migrations.RunPython(create, drop),
    ]
