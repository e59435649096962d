"""The aggregates kept by the index runs (indexer/aggregates.py) equal a recount from scratch (tests/recount.py)
after every kind of run: files added, changed, touched and removed, a second root, a full run, a dropped root,
a summary left by an older version, and two runs at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from recorder_ui import indexer, selectors
from recorder_ui.models import Catalog, RecordingEntry, Root, TestSummary
from recorder_ui.selectors.recording_list import _filtered
from tests.builders import stream_recording, write
from tests.recount import differences

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "recordings"


def _checkout(tmp_path: Path, name: str = "checkout") -> Path:
    """The sample recordings (every shape: variants, an older rule's name, missing usage, an unreadable file)
    copied into a folder of the test's own, with a few streams more."""
    root = tmp_path / name
    shutil.copytree(SAMPLES, root)
    for n in range(4):
        write(root, "inference", stream_recording(test_id=f"tests/integration/inference/test_s.py::test_{n}",
                                                  text=f"answer {n}", usage=n % 2 == 0))  # fmt: skip
    return root


def _agree() -> None:
    assert differences() == []


@pytest.mark.django_db
def test_aggregates_equal_a_recount_after_every_kind_of_run(tmp_path: Path) -> None:
    main = _checkout(tmp_path)
    indexer.index_recordings(root=main, name="main")
    assert RecordingEntry.objects.exclude(superseded_by=None).exists()  # the samples hold a superseded variant
    assert RecordingEntry.objects.filter(missing_usage=True).exists() and TestSummary.objects.exists()
    _agree()

    # Added, changed (to another test), touched and removed files, in one run.
    files = sorted(main.rglob("*.json"))
    write(main, "inference", stream_recording(test_id="tests/integration/inference/test_new.py::test_x", usage=False))
    changed = next(f for f in files if "test_s.py::test_1" in f.read_text())
    changed.write_text(json.dumps(stream_recording(test_id="tests/integration/inference/test_moved.py::test_y")))
    os.utime(files[0], ns=(1, 1))
    newer = RecordingEntry.objects.exclude(superseded_by=None).values_list("superseded_by", flat=True).first()
    (main / RecordingEntry.objects.get(pk=newer).path).unlink()  # the newer variant goes: the old is live again
    report = indexer.index_recordings(root=main, name="main")
    assert report.added == 1 and report.updated == 1 and report.removed == 1
    assert not RecordingEntry.objects.filter(superseded_by=newer).exists()
    _agree()

    # A second root, a copy of the first: each test counted in each root, as many recordings in both.
    other = tmp_path / "other"
    shutil.copytree(main, other)
    indexer.index_recordings(root=other, name="other")
    _agree()
    per_root = {(t.root.name, t.test_id, t.suite): t.recordings for t in TestSummary.objects.select_related("root")}
    assert per_root and {(t, s): n for (r, t, s), n in per_root.items() if r == "main"} == {
        (t, s): n for (r, t, s), n in per_root.items() if r == "other"
    }

    # A full run, then a root whose summary an older version wrote, then nothing changed.
    indexer.index_recordings(root=main, name="main", full=True)
    _agree()
    Root.objects.filter(name="other").update(summary={})
    TestSummary.objects.filter(root__name="other").delete()
    indexer.index_recordings(root=other, name="other")
    _agree()
    assert (
        indexer.index_recordings(root=other, name="other").unchanged
        == RecordingEntry.objects.filter(root__name="other").count()
    )
    _agree()

    # The same name pointed at another folder, then a dropped root.
    indexer.index_recordings(root=other, name="main")
    _agree()
    indexer.drop_root(name="other")
    _agree()
    assert set(RecordingEntry.objects.values_list("root__name", flat=True)) == {"main"}


@pytest.mark.django_db
def test_pages_read_the_aggregates(tmp_path: Path, client: Client) -> None:
    indexer.index_recordings(root=_checkout(tmp_path, "a"), name="a")
    indexer.index_recordings(root=_checkout(tmp_path, "b"), name="b")
    overview = client.get("/overview.json").json()
    assert overview["recordings"] == RecordingEntry.objects.count()
    assert overview["tests"] == RecordingEntry.objects.exclude(test_id="").values("test_id").distinct().count()
    for name, params in (("a", {}), ("a", {"root": "a"}), ("b", {"root": "b"})):  # one root at a time, "a" first
        tests = client.get("/tests.json", params).json()
        counted = sum(t["recordings"] for g in tests["groups"] for t in g["tests"])
        assert tests["root"] == name and tests["roots"] == ["a", "b"]
        assert counted == RecordingEntry.objects.filter(root__name=name).exclude(test_id="").count()
    unknown = client.get("/tests.json", {"root": "nosuch"}).json()
    assert unknown["unknown_root"] == "nosuch" and unknown["total"] == 0
    listed = client.get("/recordings.json", {"missing": "yes"}).json()
    assert listed["total"] == RecordingEntry.objects.filter(missing_usage=True).count()
    assert client.get("/recordings.json", {"suite": "inference"}).json()["total"] == (
        RecordingEntry.objects.filter(suite="inference").count()
    )
    combos = [{"kind": "chat", "streaming": "yes", "tools": "no"}, {"root": "b", "missing": "yes"},
              {"errors": "yes"}, {"replay": "older-rule", "suite": "inference"}, {"provider": "openai"},
              {"provider": "api.openai.com", "fate": "live"}, {"streaming": "no", "model": "gpt-4o-mini"},
              {"test_file": "tests/integration/inference/test_s.py", "tools": "yes"}, {"streaming": "maybe"}]  # fmt: skip
    for params in combos:  # counted from the kept facets: the same as counting the rows
        assert client.get("/recordings.json", params).json()["total"] == _filtered(params).count(), params
    assert _filtered({"kind": "chat", "streaming": "yes"}).count() > 0
    missing = client.get("/missing-usage.json").json()
    assert missing["total"] == RecordingEntry.objects.filter(missing_usage=True).count()
    assert sum(g["count"] for g in missing["groups"]) == missing["total"]
    for group in missing["groups"]:
        more = client.get("/recordings.json?" + group["list_query"]).json()
        assert more["total"] == group["count"]  # the group's link lists exactly its streams
    cleanup = client.get("/cleanup.json").json()
    assert cleanup["root"] == "a" and [name for name, _n, _q in cleanup["roots"]] == ["a", "b"]
    assert all(path for path in cleanup["paths"]) and "/b/" not in " ".join(cleanup["commands"])


@pytest.mark.django_db
def test_pages_add_up_the_roots_themselves_when_the_catalog_summary_is_not_current(
    tmp_path: Path, client: Client
) -> None:
    """A catalog no run has written since the whole summary came (or whose row names other generations) reads
    the same on every page: the roots' summaries are added up by the reader, with the same code."""
    for name in ("a", "b"):
        indexer.index_recordings(root=_checkout(tmp_path, name), name=name)
    pages = ("/overview.json", "/missing-usage.json", "/recordings.json?missing=yes", "/errors.json", "/cleanup.json")
    selectors.clear_caches()
    kept = {url: client.get(url).json() for url in pages}
    assert kept["/missing-usage.json"]["groups"] and any(
        row["also_in"] for g in kept["/missing-usage.json"]["groups"] for row in g["rows"]
    )  # b's copies of a's files, beside them
    row = Catalog.objects.get()
    current = row.summary
    row.summary = {**current, "recordings": 12_345}  # the same sources: pages take the row as it is
    row.save()
    selectors.clear_caches()
    assert client.get("/overview.json").json()["recordings"] == 12_345
    row.summary = {**current, "recordings": 1, "sources": [[0, 0]]}  # another catalog's
    row.save()
    assert differences()  # the recount sees it
    selectors.clear_caches()
    assert {url: client.get(url).json() for url in pages} == kept
    Catalog.objects.all().delete()
    selectors.clear_caches()
    assert {url: client.get(url).json() for url in pages} == kept
    report = indexer.index_recordings(root=tmp_path / "a", name="a")  # the next run writes it again,
    assert report.added == report.updated == report.removed == 0  # even one that finds nothing changed
    assert Catalog.objects.count() == 1
    _agree()


def test_two_runs_at_once_on_two_roots_and_on_one_keep_the_aggregates_exact(tmp_path: Path) -> None:
    """Separate processes on one database file (or the PostgreSQL test database), started together."""
    env = {
        "PATH": "/usr/bin:/bin",
        "RECORDER_UI_AUTO_REFRESH_SECONDS": "0",
        "DJANGO_SETTINGS_MODULE": "recorder_ui.settings",
    }
    if os.environ.get("DATABASE_URL"):
        pytest.skip("the two-process run on PostgreSQL is test_two_runs_at_once_on_postgres")
    env["RECORDER_UI_DB"] = str(tmp_path / "index.sqlite3")
    _run_together(tmp_path, env)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_on_postgres(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run the suite with DATABASE_URL=postgres://... (CI does)")
    db = connection.settings_dict
    env = {"PATH": "/usr/bin:/bin", "RECORDER_UI_AUTO_REFRESH_SECONDS": "0", "DJANGO_SETTINGS_MODULE": "recorder_ui.settings",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}  # fmt: skip
    _run_together(tmp_path, env)


def _run_together(tmp_path: Path, env: dict[str, str]) -> None:
    def manage(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    migrate = manage("migrate", "-v", "0")
    assert migrate.wait(timeout=300) == 0, migrate.communicate()
    roots = [_checkout(tmp_path, f"root-{n}") for n in range(3)]
    for n in range(4):  # the same tests in every root, so that two runs count the same TestSummary rows
        for root in roots:
            write(root, "inference", stream_recording(test_id=f"tests/integration/inference/test_t.py::test_{n}",
                                                      text=f"{root.name} {n}"))  # fmt: skip
    runs = [manage("index_recordings", str(root), "--name", root.name) for root in (*roots, roots[0])]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), outputs
    check = subprocess.run(
        [sys.executable, "-c", "import django, json; django.setup(); from tests.recount import differences; "
         "print(json.dumps(differences()))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout.strip().splitlines()[-1]) == []
