"""Each row keeps its file's ctime beside its size and mtime: a rewrite that keeps the size and puts the mtime
back (cp -p, rsync -t, touch -r) still moves the ctime. Rows written before have 0, so the first index run after
this migration hashes each file again (a file whose bytes did not change is not parsed again)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0020_search_document_by_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordingentry",
            name="ctime_ns",
            field=models.BigIntegerField(default=0),
        ),
    ]
