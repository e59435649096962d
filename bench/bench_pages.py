"""Server time of the main pages on the real corpus: Django's test client, warm, median of repeated runs.

Each run computes its page: the per-process caches (whole-index pages, parsed files) are emptied before it,
as after an index run that changed rows; "cold" also empties the stitched-test cache, and "kept" rows show
the same page served from the caches.

Run with RECORDER_UI_CORPUS set: `make bench`. It indexes the corpus into a temporary SQLite database.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from _corpus import on_corpus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = 15
HEAVY_TEST = (
    "tests/integration/agents/test_openai_responses.py::test_output_safety_guardrails_unsafe_content"
    "[openai_client-txt=ollama/llama3.2:3b-instruct-fp16-False]"
)
VARIANT_TEST = (
    "tests/integration/responses/test_tool_responses.py::test_response_streaming_multi_turn_tool_execution"
    "[client_with_models-txt=openai/gpt-4o-user_permissions_workflow]"
)
LARGEST = "tests/integration/responses/recordings/0ea735928993b5a2de3a444256136d53ab666dbfb7582e5562268f809aa8d5f3.json"


def main() -> int:
    return on_corpus("bench_pages", run)


def run(corpus: Path, work: Path) -> int:
    os.environ["RECORDER_UI_DB"] = str(work / "pages.sqlite3")
    os.environ["RECORDER_UI_AUTO_REFRESH_SECONDS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_ui.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from recorder_ui import indexer
    from recorder_ui.models import RecordingEntry

    call_command("migrate", verbosity=0)
    indexer.index_recordings(root=Path(corpus), name="corpus", jobs=indexer.default_jobs())
    largest = RecordingEntry.objects.get(path=LARGEST)
    client = Client()
    from recorder_ui import selectors

    heavy = "/test/?" + urlencode({"id": HEAVY_TEST})
    search = "/recordings/?" + urlencode({"q": "get_weather Tokyo"})
    cases: list[tuple[str, str, int | None, str]] = [
        ("overview", "/", None, "computed"),
        ("list", "/recordings/", None, "computed"),
        (
            "list filtered",
            "/recordings/?" + urlencode({"suite": "responses", "kind": "chat", "streaming": "yes"}),
            50,
            "computed",
        ),
        ("list searched", search, 50, "computed"),
        ("list searched, one word", "/recordings/?" + urlencode({"q": "weather"}), 50, "computed"),
        ("list sorted by tokens", "/recordings/?sort=-tokens", 50, "computed"),
        ("list htmx partial", "/recordings/?" + urlencode({"q": "weather", "kind": "chat"}), 50, "computed"),
        ("largest recording (1.1 MB)", f"/recordings/{largest.pk}/", 150, "computed"),
        ("largest recording, Chunks tab", f"/recordings/{largest.pk}/chunks/", None, "computed"),
        ("largest recording, Raw tab", f"/recordings/{largest.pk}/raw/", None, "computed"),
        ("331-recording test page", heavy, 300, "computed"),
        ("331-recording test page, cold", heavy, 300, "cold"),
        ("4-variant test page, cold", "/test/?" + urlencode({"id": VARIANT_TEST}), None, "cold"),
        ("tests list", "/tests/", None, "computed"),
        ("tests list, page 5", "/tests/?page=5", None, "computed"),
        ("missing usage", "/missing-usage/", None, "computed"),
        ("errors", "/errors/", None, "computed"),
        ("overview JSON", "/overview.json", None, "computed"),
        ("overview, kept", "/", None, "kept"),
        ("list searched, kept", search, None, "kept"),
        ("a recording, kept", f"/recordings/{largest.pk - 1}/", None, "kept"),
    ]
    print(f"{'page':34} {'median':>9} {'p90':>9}  target    (median of up to {RUNS} warm runs)")
    missed = 0
    for label, url, target, mode in cases:
        headers = {"HTTP_HX_REQUEST": "true"} if "partial" in label else {}
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        deadline = time.monotonic() + 60
        for _ in range(RUNS):
            if mode != "kept":  # "cold": the test page also re-reads and re-stitches every file
                selectors.clear_caches(tests=mode == "cold")
            started = time.perf_counter()
            client.get(url, **headers)
            times.append((time.perf_counter() - started) * 1000)
            if time.monotonic() > deadline:
                break
        median = statistics.median(times)
        p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
        verdict = "" if target is None else f"<= {target} ms  {'ok' if median <= target else 'MISSED'}"
        missed += target is not None and median > target
        print(f"{label:34} {median:7.1f} ms {p90:7.1f} ms  {verdict}")
    if missed:
        print(f"{missed} page(s) missed their target", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
