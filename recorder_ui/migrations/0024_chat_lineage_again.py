"""A chat recording's lineage (what the supersede check compares) now keeps the request's other parameters: rows
written before keep the old lineage until their file is parsed again, so this migration has the next index run
parse every chat recording once more (their stamps and hashes are cleared; the rows stay, and pages go on showing
them until that run)."""

from django.db import migrations


def parse_chats_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    entry = apps.get_model("recorder_ui", "RecordingEntry")
    entry.objects.using(schema_editor.connection.alias).filter(kind="chat").update(sha256="", mtime_ns=-1)


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0023_root_recorder"),
    ]

    operations = [migrations.RunPython(parse_chats_again, migrations.RunPython.noop)]
