"""A file whose name is no hash at all, for a request the recorder names by hash, is now a name mismatch (replay
never opens it by its name) rather than status none: rows written before keep "none" until their file is parsed
again, so this migration has the next index run parse those once more (their stamps and hashes are cleared; the
rows stay, and pages go on showing them until that run)."""

from django.db import migrations


def parse_hashless_again(apps, schema_editor):  # type: ignore[no-untyped-def]
    entry = apps.get_model("recorder_ui", "RecordingEntry")
    entry.objects.using(schema_editor.connection.alias).filter(replay_status="none").update(sha256="", mtime_ns=-1)


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0025_tests_per_root"),
    ]

    operations = [migrations.RunPython(parse_hashless_again, migrations.RunPython.noop)]
