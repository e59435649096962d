"""The mark of the code that wrote a row's values (indexer.values.parser_version): a new root's file whose path
and bytes match a row another root has, written by the same code, takes that row's values instead of a parse.
Existing rows get "", which matches no code: they are never copied, only parsed again when their file changes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0013_sort_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordingentry",
            name="parsed_by",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
