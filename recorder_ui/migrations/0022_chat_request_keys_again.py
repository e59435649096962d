"""A chat request's key (which variants of a call share, `request_key`) now counts each message's images and
name: two requests that differ only by an image are two calls. Rows written before keep the old key until their
file is parsed again, so this migration has the next index run parse every chat recording once more: their
stamps and hashes are cleared (the rows stay, and pages go on showing them until that run)."""

from django.db import migrations


def parse_chats_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    entry = apps.get_model("recorder_ui", "RecordingEntry")
    entry.objects.using(schema_editor.connection.alias).filter(kind="chat").update(sha256="", mtime_ns=-1)


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0021_entry_ctime"),
    ]

    operations = [migrations.RunPython(parse_chats_again, migrations.RunPython.noop)]
