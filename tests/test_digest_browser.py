"""The HTML digest in a real browser (Debian Chromium via Playwright), offline; screenshot kept in tmp_path."""
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
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path / "digests"))
    return result["paths"]["html"]


def test_digest_renders_in_chromium(digest_html, tmp_path):
    import os
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 720, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"file://{digest_html}")
            for selector in ("#subject", "#this-week", "#story-1", "td.quote", "td.msp"):
                assert page.locator(selector).first.is_visible(), selector
            body = page.inner_text("body").lower()   # h3 headings are uppercased by CSS
            for text in ("This week", "First reported by", "Sam Bowman", "More:", "Reactions:",
                         "Why it matters for MSPs", "Generated guidance", "Story brief"):
                assert text.lower() in body, text
            # inline CSS took effect without any stylesheet: the masthead is dark, the MSP box tinted
            assert page.eval_on_selector("td.masthead", "e => getComputedStyle(e).backgroundColor") == "rgb(17, 24, 39)"
            assert page.eval_on_selector("td.msp", "e => getComputedStyle(e).backgroundColor") == "rgb(255, 251, 235)"
            shot = tmp_path / "digest.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    # renders without network: the only request is the file itself
    assert all(u.startswith("file://") for u in requests), requests
