"""Rows indexed before replay keys and provider names existed are read again by the next index run."""

from django.db import migrations


def forget_stamps(apps, schema_editor):  # type: ignore[no-untyped-def]
    # An empty digest and an impossible mtime make the next run parse every file anew (writer._same_content).
    apps.get_model("recorder_ui", "RecordingEntry").objects.update(sha256="", mtime_ns=-1)


class Migration(migrations.Migration):
    dependencies = [("recorder_ui", "0007_replay_keys_and_provider_names")]
    operations = [migrations.RunPython(forget_stamps, migrations.RunPython.noop)]
