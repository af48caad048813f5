"""The search page in a real browser (Playwright, Debian's Chromium): hybrid mode finds a document
asked for in other words than its coverage, at 1280 and 390 px, without sideways scrolling.

Run on its own: `pytest -m browser -p no:cacheprovider tests/test_search_browser.py`.
"""
import os
import time
import urllib.parse
import urllib.request

import pytest

from tests.support.briefs import CLAUDE_STORY
from tests.support.search import OTHER_WORDS, build_embedded_db
from tests.support.serving import serving

CHROMIUM = os.environ.get("INCIDENTWIRE_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    path = tmp_path_factory.mktemp("search-browser") / "t.db"
    build_embedded_db(path)
    with serving(path) as base:
        deadline = time.monotonic() + 120    # the catalog loads the model on the first search
        while b'"meaning"' not in urllib.request.urlopen(
                base + "/incidentwire/search.json?q=" + urllib.parse.quote(OTHER_WORDS)).read():
            assert time.monotonic() < deadline, "the catalog never searched by meaning"
            time.sleep(0.5)
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_hybrid_search_page_finds_other_words(browser, url, width, tmp_path):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url + "/incidentwire/search")
    page.fill("form.iw-search input[name=q]", OTHER_WORDS)
    assert page.locator("form.iw-search select[name=mode]").input_value() == "hybrid"
    page.select_option("form.iw-search select[name=mode]", "hybrid")
    page.click("form.iw-search button[type=submit]")
    page.wait_for_url("**/incidentwire/search?q=*")
    first = page.locator("ul.iw-results > li").first
    assert first.locator(f'a[href="/stories/{CLAUDE_STORY}"]').count() == 1
    assert "matched by meaning" in first.inner_text()
    assert "by words and meaning" in page.locator(".iw-page").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(tmp_path / f"search-{width}.png"), full_page=True)
    assert overflow <= 0, f"{overflow}px of sideways scrolling at {width}px"
    words = page.locator("form.iw-search select[name=mode]")
    words.select_option("words")
    page.click("form.iw-search button[type=submit]")
    page.wait_for_url("**mode=words**")
    assert page.locator("ul.iw-results > li").first.inner_text().startswith("No documents match")
    page.close()
