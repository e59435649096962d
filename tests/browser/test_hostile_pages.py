"""A sample of the hostile folder in a real browser: odd names read as escaped text, extreme values shown as
recorded, markup never runs, and no page logs an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recorder_ui import indexer
from recorder_ui.domain import paths
from recorder_ui.models import RecordingEntry
from tests import hostile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hostile_site(live_server: Any, tmp_path: Path) -> tuple[str, hostile.Tree]:
    tree = hostile.build(tmp_path, huge=False)
    indexer.index_recordings(root=tree.root, name="hostile", jobs=1)
    return str(live_server.url), tree


def _sample(tree: hostile.Tree) -> list[RecordingEntry]:
    """Odd names, a spread of the extreme values, every failing file and the markup file."""
    names = [paths.escape(n) for n in (*tree.odd_names[:2], *tree.odd_names[-6:])]
    names += list(tree.extreme)[::20] + list(tree.failing)
    entries = [e for e in RecordingEntry.objects.all() if e.path.rsplit("/", 1)[-1] in names]
    entries += list(RecordingEntry.objects.filter(path__contains="/markup"))
    return entries


def test_hostile_pages_render_as_text_in_chromium(hostile_site: tuple[str, hostile.Tree], page: Any, shot: Any) -> None:
    site, tree = hostile_site
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    entries = _sample(tree)
    assert len(entries) > 20
    for entry in entries:
        for suffix in ("", "chunks/", "raw/"):
            response = page.goto(f"{site}/recordings/{entry.pk}/{suffix}")
            assert response is not None and response.status < 500, (entry.path, suffix, response and response.status)
    for url in ("/", "/recordings/?per=200", "/errors/", "/tests/", "/missing-usage/"):
        response = page.goto(site + url)
        assert response is not None and response.status == 200, url

    latin1 = RecordingEntry.objects.get(path__endswith="/latin1-\\xe9-name.json")
    page.goto(f"{site}/recordings/{latin1.pk}/")
    assert "latin1-\\xe9-name.json" in page.locator("main").inner_text()  # the escaped name, as text
    big = next(n for n, f in tree.extreme.items() if f.endswith("usage.prompt_tokens=1180591620717411303424"))
    entry = RecordingEntry.objects.get(path__endswith="/" + big)
    page.goto(f"{site}/recordings/{entry.pk}/")
    text = page.locator("main").inner_text()
    assert "1180591620717411303424" in text or "1,180,591,620,717,411,303,424" in text  # as recorded
    shot(page, "hostile-big-count")
    assert problems == []
