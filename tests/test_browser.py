"""A real browser (Playwright driving Debian's Chromium) against `serve_datasette` on loopback.

Run on its own: `pytest -m browser` (Playwright's event loop must not share a process run with
the async datasette.client tests).
"""
import contextlib
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from bench.catalog_db import build_catalog_db
from tests.support.serving import free_port, serving

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("INCIDENTWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_url(request):
    """The catalog over the demo DB ($INCIDENTWIRE_DEMO_DB reuses one built by `incidentwire demo`)."""
    path = os.environ.get("INCIDENTWIRE_DEMO_DB") or request.getfixturevalue("demo_db")
    with serving(path) as url:
        yield url


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory, shared):
    """The catalog over the small fixture DB, which carries a hostile document."""
    db_path = tmp_path_factory.mktemp("browser") / "catalog.db"
    build_catalog_db(db_path, shared).conn.close()
    with serving(db_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_search_to_story_timeline(browser, demo_url, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 1500})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(demo_url + "/")
    assert page.title().startswith("incidentwire")
    page.fill("form.iw-search input[name=q]", "blackmail")
    page.press("form.iw-search input[name=q]", "Enter")
    page.wait_for_url("**/incidentwire/search?q=blackmail**")
    results = page.locator("ul.iw-results > li")
    assert results.count() >= 2
    assert page.locator("ul.iw-results mark").count() >= 2
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    claude = re.compile(r"Claude (Opus 4|4 Opus)")
    story_link = page.locator("ul.iw-results .iw-meta a", has_text=claude).first
    story_link.click()
    page.wait_for_url("**/stories/**")
    assert claude.search(page.locator("h1").inner_text())
    timeline = page.locator("ol.iw-timeline").inner_text()
    assert "VentureBeat" in timeline
    assert "Anthropic faces backlash to Claude 4 Opus behavior" in timeline
    assert "Business of Tech" in timeline
    assert "Also published at" in timeline
    assert "VentureBeat" in page.locator(".iw-first-report").inner_text()
    shot = tmp_path / "story.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")
    assert dialogs == []
    page.close()


def test_hostile_pages_run_nothing(browser, hostile_url):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_url + "/incidentwire/search?q=blackmail")
    assert "<script>" in page.locator("ul.iw-results").inner_text()  # shown as text
    for path in ("/incidentwire/documents", "/incidentwire/documents/9", "/incidentwire/quotes",
                 "/incidentwire/digests/2025-W21", "/incidentwire/search?q=mirror",
                 "/stories/s-2025-w21-claude-opus-4", "/stories/s-2025-w21-claude-opus-4/brief",
                 "/incidentwire/system_cards", "/-/search?q=mirror",
                 "/incidentwire/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(8)%3E"):
        page.goto(hostile_url + path)
        page.wait_for_load_state("networkidle")
        for element in page.locator("div[onmouseover], img[onerror]").all():
            pytest.fail(f"{path}: live hostile element {element.evaluate('e => e.outerHTML')}")
    assert dialogs == []
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_story_page_reads_at_both_widths(browser, demo_url, width):
    """Issue 20: summary and lead excerpt shown, each quote once, nothing wider than the screen (long
    URLs wrap); the 1280 px view is README's docs/story.png, kept small."""
    import json
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_url + "/incidentwire/stories.json?_search=Claude&_shape=array&_col=headline")
    ids = [r["id"] for r in json.loads(page.inner_text("body"))]
    assert ids, "stories search found nothing"
    flagship = None
    for sid in ids:
        page.goto(demo_url + f"/stories/{sid}")
        if page.locator(".iw-summary").count():
            flagship = sid
            break
    assert flagship, "no story with a summary"
    assert page.locator(".iw-lead-excerpt").count() == 1
    texts = [re.sub(r"\W+", " ", t.lower()).strip()
             for t in page.locator("blockquote.iw-quote > p, .iw-reaction .iw-snippet").all_inner_texts()]
    assert len(texts) == len(set(texts)), texts
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 1280:
        shot = ROOT / "docs" / "story.png"
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": width, "height": 640})
        assert 10_000 < shot.stat().st_size < 150_000
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_document_digest_and_week_pages_are_readable_pages(browser, demo_url, width):
    """A document and a digest are pages (not one raw table row, not a 42,000 px cell); the week page
    links the weeks before and after; nothing is wider than the screen (long URLs wrap)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(demo_url + "/incidentwire/digests.json?_shape=array&_col=week&_size=1")
    week = __import__("json").loads(page.inner_text("body"))[0]["week"]
    checks = {f"/incidentwire/digests/{week}": "article.iw-digest h1",
              "/incidentwire/documents/1": "article.iw-document h1",
              f"/incidentwire/week?week={week}": "p.iw-weeknav a[rel=prev]"}
    for path, selector in checks.items():
        page.goto(demo_url + path)
        assert page.locator(selector).first.is_visible(), path
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        assert page.evaluate("document.documentElement.scrollHeight") < 20_000, path
    page.close()
