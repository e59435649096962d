# Filters the list follows in path order: (column, path) indexes in place of the single-column ones; a call's variants by root.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recorder_ui', '0014_parsed_by'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_suite_f86eb6_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_kind_00ebb0_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_model_2d5015_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_missing_f5dc02_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_test_id_42a2ae_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordingentry',
            name='recorder_ui_replay__d9bb58_idx',
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['suite', 'path'], name='entry_suite_path'),
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['kind', 'path'], name='entry_kind_path'),
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['model', 'path'], name='entry_model_path'),
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['replay_status', 'path'], name='entry_replay_path'),
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['missing_usage', 'path'], name='entry_missing_path'),
        ),
        migrations.AddIndex(
            model_name='recordingentry',
            index=models.Index(fields=['test_id', 'request_key', 'root'], name='entry_call_root'),
        ),
    ]
