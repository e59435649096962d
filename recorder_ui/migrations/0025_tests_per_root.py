"""The tests list counts each test in its own root: a team's catalog holds several checkouts of one repository,
whose tests it counted once per checkout, added up. The kept counts (TestSummary) are rebuilt here, a row per
root, test id and suite, from the index's rows (the same counts the index runs keep from now on)."""

import hashlib

import django.db.models.deletion
from django.db import migrations, models

BIG = 2**63 - 1


def per_root(apps, schema_editor):  # type: ignore[no-untyped-def]
    alias = schema_editor.connection.alias
    entry = apps.get_model("recorder_ui", "RecordingEntry")
    summary = apps.get_model("recorder_ui", "TestSummary")
    summary.objects.using(alias).all().delete()
    tests: dict = {}
    columns = ("root_id", "test_id", "suite", "test_file", "test_name", "test_params", "total_tokens", "missing_usage")
    rows = entry.objects.using(alias).exclude(test_id="").values_list(*columns)
    for root_id, test_id, suite, test_file, test_name, test_params, tokens, missing in rows.iterator(chunk_size=2000):
        kept = tests.setdefault((root_id, test_id, suite), [test_file, test_name, test_params, 0, None, 0])
        kept[3] += 1
        if tokens is not None:
            kept[4] = (kept[4] or 0) + tokens
        kept[5] += bool(missing)
    made = []
    for (root_id, test_id, suite), (test_file, test_name, test_params, count, tokens, missing) in tests.items():
        key = hashlib.sha256(f"{root_id}\x00{suite}\x00{test_id}".encode("utf-8", "surrogatepass")).hexdigest()
        made.append(summary(key=key, root_id=root_id, test_id=test_id, suite=suite, test_file=test_file,
                            test_name=test_name, test_params=test_params, recordings=count,
                            tokens=min(tokens, BIG) if tokens is not None else None, missing=missing))  # fmt: skip
    summary.objects.using(alias).bulk_create(made, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("recorder_ui", "0024_chat_lineage_again"),
    ]

    operations = [
        migrations.AddField(
            model_name="testsummary",
            name="root",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="tests", to="recorder_ui.root"
            ),
        ),
        migrations.RunPython(per_root, migrations.RunPython.noop),
    ]
