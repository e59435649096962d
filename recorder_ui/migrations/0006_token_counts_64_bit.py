"""Token counts in 64-bit columns: PostgreSQL's integer stops at 2**31, well below the largest counts kept."""

from django.db import migrations, models

TOKEN_COLUMNS = ("cached_tokens", "completion_tokens", "prompt_tokens", "reasoning_tokens", "total_tokens")


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0005_root_generation"),
    ]

    operations = [
        migrations.AlterField(model_name="recordingentry", name=name, field=models.BigIntegerField(null=True))
        for name in TOKEN_COLUMNS
    ]
