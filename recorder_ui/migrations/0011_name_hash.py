"""The hash each file's name carries, in a column of its own with an index: Find looks a key up there instead
of searching every path. Existing rows get it from their path here (a frozen copy of paths.name_hash)."""

import re

from django.db import migrations, models

_LEADING_HEX = re.compile(r"(?:models-)?([0-9a-f]{1,64})")


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    entry = apps.get_model("recorder_ui", "RecordingEntry")
    batch = []
    for pk, path in entry.objects.using(schema_editor.connection.alias).values_list("pk", "path").iterator(2000):
        found = _LEADING_HEX.match(path.rsplit("/", 1)[-1])
        if found:
            batch.append(entry(pk=pk, name_hash=found.group(1)))
        if len(batch) >= 1000:
            entry.objects.using(schema_editor.connection.alias).bulk_update(batch, ["name_hash"])
            batch = []
    if batch:
        entry.objects.using(schema_editor.connection.alias).bulk_update(batch, ["name_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0010_list_walk_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordingentry",
            name="name_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="recordingentry",
            index=models.Index(fields=["name_hash"], name="recorder_ui_name_ha_1ca61d_idx"),
        ),
    ]
