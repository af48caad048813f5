"""The HTML digest in a real browser (Debian Chromium via Playwright), offline, at 1280 and 390 px;
the 390 px screenshot is README's docs/digest.png (kept small)."""
import pathlib

import pytest

from pipeline.enrich import enrich_stories
from pipeline.publish.digest import write_digest
from tests.support.briefs import build_db

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture()
def digest_html(tmp_path):
    db = build_db(tmp_path / "t.db")
    enrich_stories(db)      # quotes are read from the quotes table, as after `incidentwire process`
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path / "digests"), base_url="https://catalog.example.org")
    return result["paths"]["html"]


DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("width", [1280, 390])
def test_digest_renders_in_chromium(digest_html, tmp_path, width):
    import os
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"file://{digest_html}")
            for selector in ("#subject", "#this-week", "#story-1", "td.quote", "td.msp"):
                assert page.locator(selector).first.is_visible(), selector
            body = page.inner_text("body").lower()   # h3 headings are uppercased by CSS
            for text in ("This week", "First reported by", "Sam Bowman", "Read:", "Reactions:",
                         "Why it matters for MSPs", "Generated guidance", "Story brief", "View in browser",
                         "Unsubscribe", "New this week"):
                assert text.lower() in body, text
            # inline CSS took effect without any stylesheet: the masthead is dark, the MSP box tinted
            assert page.eval_on_selector("td.masthead", "e => getComputedStyle(e).backgroundColor") == "rgb(17, 24, 39)"
            assert page.eval_on_selector("td.msp", "e => getComputedStyle(e).backgroundColor") == "rgb(255, 251, 235)"
            # fluid: nothing is cut off or scrolls sideways, at either width
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.eval_on_selector("table.inner", "e => e.getBoundingClientRect().right") <= width
            shot = DOCS / "digest.png" if width == 390 else tmp_path / "digest.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=False, clip={"x": 0, "y": 0, "width": width, "height": 900})
            assert shot.stat().st_size > 10_000
            assert width != 390 or shot.stat().st_size < 150_000     # README's screenshot stays small
        finally:
            browser.close()
    # renders without network: the only request is the file itself
    assert all(u.startswith("file://") for u in requests), requests
