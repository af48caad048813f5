"""The system card "what changed" page in a real browser (Playwright, Debian's Chromium) at 1280 and
390 px: the diff is readable and nothing overflows sideways. Run with `pytest -m browser`."""
import os

import pytest
import sqlite_utils

from tests.support.serving import serving

CHROMIUM = os.environ.get("INCIDENTWIRE_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_card_change_page_is_readable_without_horizontal_overflow(demo_db, width):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    card_id = sqlite_utils.Database(demo_db).execute("select id from documents where kind = 'system_card'").fetchone()[0]
    with serving(demo_db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{url}/cards/{card_id}")
        assert page.locator("del", has_text="frequently").first.is_visible()
        assert page.locator("ins", has_text="sometimes").first.is_visible()
        assert page.locator(".iw-silent").first.is_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
        font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.iw-change')).fontSize)")
        assert font >= 14
        page.click("text=Anthropic faces backlash")      # the story that followed the change
        assert "/stories/" in page.url and page.locator("#card-versions").is_visible()
        browser.close()
