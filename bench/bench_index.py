"""Index benchmark on the real corpus: cold index, no-change re-scan, one-file-changed re-scan, peak memory.

Each figure is printed beside a floor measured in the same run: a bare loop that reads and orjson-parses the
same files. The corpus is copied to a temporary folder first (recordings are read-only to us, and the
one-file-changed case has to change a file). Run with RECORDER_UI_CORPUS set: `make bench`.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

from _corpus import on_corpus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    return on_corpus("bench_index", run)


def floor(files: list[Path]) -> tuple[float, float]:
    """Seconds of the bare read + orjson.loads loop, wall clock and CPU."""
    import orjson

    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        orjson.loads(path.read_bytes())
    return time.perf_counter() - started, time.process_time() - cpu


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the worker processes of a run)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(corpus: Path, work: Path) -> int:
    tree = work / "llama-stack"
    shutil.copytree(corpus, tree)
    os.environ["RECORDER_UI_DB"] = str(work / "bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_ui.settings")
    os.environ["RECORDER_UI_AUTO_REFRESH_SECONDS"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    from recorder_ui import indexer

    call_command("migrate", verbosity=0)
    files = sorted(tree.rglob("*.json"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Three rounds, each measuring the floor, the one-process index and the worker index one after the other,
    # so that a busy moment of the machine weighs on all three alike; the medians are reported.
    jobs = indexer.default_jobs()
    # CPU seconds beside the wall clock: on a machine others share, the CPU a run takes moves less than its wall
    # time, and CPU / cores is what the workers could at best bring the wall time down to.
    floors, serials, colds, floor_cpus, serial_cpus, cold_cpus = [], [], [], [], [], []
    for round_ in range(3):
        wall, cpu = floor(files)
        floors.append(wall)
        floor_cpus.append(cpu)
        started, cpu = time.perf_counter(), _cpu()
        indexer.index_recordings(root=tree, name="corpus", jobs=1)
        serials.append(time.perf_counter() - started)
        serial_cpus.append(_cpu() - cpu)
        indexer.drop_root(name="corpus")
        started, cpu = time.perf_counter(), _cpu()
        cold = indexer.index_recordings(root=tree, name="corpus", jobs=jobs)
        colds.append(time.perf_counter() - started)
        cold_cpus.append(_cpu() - cpu)
        if round_ < 2:
            indexer.drop_root(name="corpus")
    floor_s, serial_s, cold_s = (statistics.median(x) for x in (floors, serials, colds))
    floor_cpu, serial_cpu, cold_cpu = (statistics.median(x) for x in (floor_cpus, serial_cpus, cold_cpus))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # A second checkout of the same repository (a team's catalog holds several): a new root whose files the first
    # root's rows already have, path for path and byte for byte. Its rows are copied, not parsed.
    seconds, second_floors = [], []
    for _ in range(3):
        second_floors.append(floor(files)[0])
        started = time.perf_counter()
        second = indexer.index_recordings(root=tree, name="second-checkout", jobs=jobs)
        seconds.append(time.perf_counter() - started)
        assert second.copied == second.added == len(files), second
        indexer.drop_root(name="second-checkout")
    second_s, second_floor = statistics.median(seconds), statistics.median(second_floors)

    rescans = []
    for _ in range(5):
        started = time.perf_counter()
        again = indexer.index_recordings(root=tree, name="corpus")
        rescans.append(time.perf_counter() - started)
        assert not again.changed, again
    rescan_s = statistics.median(rescans)

    target = files[len(files) // 2]
    one = []
    for round_ in range(3):
        text = target.read_bytes()
        target.write_bytes(text.rstrip(b"\n") + b"\n" * (round_ + 2))  # same JSON, new size and mtime
        started = time.perf_counter()
        changed = indexer.index_recordings(root=tree, name="corpus")
        one.append(time.perf_counter() - started)
        assert changed.updated == 1, changed
    one_s = statistics.median(one)

    print(f"corpus: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB; {len(cold.failed)} failed")
    print(f"floor (read + orjson.loads):  {floor_s:6.2f} s   (each figure: median of 3 rounds)")
    ratio = cold_s / floor_s
    print(
        f"cold index, {jobs} workers:  {cold_s:6.2f} s  = {ratio:.2f} x floor   (target <= 1.5 x)  {_ok(ratio <= 1.5)}"
    )
    print(f"cold index, 1 process:  {serial_s:6.2f} s  = {serial_s / floor_s:.2f} x floor")
    ratio = second_s / second_floor
    print(
        f"cold index of a second checkout (every row copied from the first's): {second_s:6.2f} s = {ratio:.2f} x "
        f"its floor of {second_floor:.2f} s  {_ok(ratio <= 1.5)}"
    )
    print(
        f"CPU seconds: floor {floor_cpu:.2f}, 1 process {serial_cpu:.2f} = {serial_cpu / floor_cpu:.2f} x, "
        f"{jobs} workers (all processes) {cold_cpu:.2f} = {cold_cpu / floor_cpu:.2f} x"
    )
    share = rescan_s / cold_s * 100
    print(f"no-change re-scan:      {rescan_s * 1000:6.0f} ms = {share:.1f}% of cold (target <= 3%)  {_ok(share <= 3)}")
    print(f"one-file-changed scan:  {one_s * 1000:6.0f} ms = {one_s / cold_s * 100:.1f}% of cold")
    print(
        f"peak RSS:               {rss_after:6.0f} MB (before indexing {rss_before:.0f} MB; target <= 200 MB)  "
        f"{_ok(rss_after <= 200)}"
    )
    return 0


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


if __name__ == "__main__":
    raise SystemExit(main())
