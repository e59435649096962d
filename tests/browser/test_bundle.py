"""The static diff bundle opened from disk in Chromium: nothing leaves file:, nothing logs an error, every link
opens, the stylesheet passes the bundle's own CSP, and the folded noise opens with JavaScript off."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from django.core.management import call_command

from tests.test_bundle import build_repo

pytestmark = pytest.mark.browser


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    repo = build_repo(tmp_path / "llama-stack")
    out = tmp_path / "review bundle"  # a space, so links must be proper relative URLs
    args = ("main", "rerecord", "--repo", str(repo), "--format", "html", "--output", str(out))
    call_command("diff_recordings", *args, stdout=io.StringIO())
    return out


def _watch(page: Any) -> list[str]:
    """Fail any request that is not for a file: URL, and collect console errors and page errors."""
    problems: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            problems.append(f"request: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: None if req.url.startswith("file:") else problems.append(f"request: {req.url}"))
    page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return problems


def _file(url: str) -> Path:
    parts = urlsplit(url)
    assert parts.scheme == "file", url
    return Path(unquote(parts.path))


def test_bundle_opens_from_disk_with_no_request_out_and_every_link_resolving(
    bundle_dir: Path, page: Any, shot: Any
) -> None:
    problems = _watch(page)
    index = (bundle_dir / "index.html").as_uri()
    page.goto(index)
    # The stylesheet got through the CSP (a refusal would also be a console error).
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).position") == "sticky"
    shot(page, "bundle-index")
    seen: set[Path] = set()
    queue = [index]
    while queue:
        url = queue.pop()
        target = _file(url)
        if target in seen:
            continue
        assert target.is_file() and bundle_dir in target.parents, url
        seen.add(target)
        page.goto(url)
        assert page.title() and page.locator("main").count() == 1, url
        assert page.evaluate("document.scripts.length") == 0, url
        hrefs = page.eval_on_selector_all("a[href], link[href]", "els => els.map(e => e.href)")
        for href in hrefs:
            assert href.startswith("file:"), (url, href)
            if href.endswith(".css"):
                assert _file(href).is_file(), (url, href)
            else:
                queue.append(href.split("#")[0])
    pages = sorted((bundle_dir / "pairs").iterdir())
    assert seen == {bundle_dir / "index.html", *pages}  # every pair page is reached from the index
    page.goto(pages[0].as_uri())
    shot(page, "bundle-pair")
    assert problems == []


def test_folded_noise_opens_with_javascript_off(bundle_dir: Path, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        problems = _watch(page)
        page.goto((bundle_dir / "index.html").as_uri())
        noise = page.locator("details.difftest").filter(has_text="test_noise")
        link = noise.locator("a[href^='pairs/']")
        assert noise.get_attribute("open") is None and not link.is_visible()
        noise.locator("summary").click()  # one click
        assert link.is_visible()
        link.click()
        page.wait_for_load_state()
        assert "Only noise differs" in page.locator("main").inner_text()
        page.get_by_text("raw JSON diff").click()
        assert page.locator("pre.raw").is_visible()
        assert problems == []
    finally:
        context.close()
