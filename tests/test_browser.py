"""A real browser (Playwright driving Debian's Chromium) against `serve_datasette` on loopback.

Run on its own: `pytest -m browser` (Playwright's event loop must not share a process run with
the async datasette.client tests).
"""
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.catalog_fixture import build_catalog_db

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("INCIDENTWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.browser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def catalog_url(tmp_path_factory, shared):
    """serve_datasette in a child process over a catalog DB; stopped when the tests finish."""
    db_path = tmp_path_factory.mktemp("browser") / "catalog.db"
    build_catalog_db(db_path, shared).conn.close()
    port = free_port()
    code = ("import sys; from pipeline.serve import serve_datasette; "
            "serve_datasette(sys.argv[1], port=int(sys.argv[2]))")
    log = open(db_path.with_suffix(".log"), "w+")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db_path), str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"catalog server did not start: {log.read()[-2000:]}")
                time.sleep(0.2)
        log.seek(0)
        assert f"{url}/" in log.read()  # serve_datasette says where it listens
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_search_to_story_timeline(browser, catalog_url, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 1500})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(catalog_url + "/")
    assert page.title().startswith("incidentwire")
    page.fill("form.iw-search input[name=q]", "blackmail")
    page.press("form.iw-search input[name=q]", "Enter")
    page.wait_for_url("**/incidentwire/search?q=blackmail**")
    results = page.locator("ul.iw-results > li")
    assert results.count() >= 3
    assert page.locator("ul.iw-results mark").count() >= 3
    # The hostile mirror's title shows as text and runs nothing.
    assert "<script>" in page.locator("ul.iw-results").inner_text()
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    story_link = page.locator("ul.iw-results .iw-meta a", has_text="Claude Opus 4").first
    story_link.click()
    page.wait_for_url("**/stories/**")
    assert "Claude Opus 4" in page.locator("h1").inner_text()
    timeline = page.locator("ol.iw-timeline").inner_text()
    assert "VentureBeat" in timeline
    assert "Anthropic faces backlash to Claude 4 Opus behavior" in timeline
    assert "The Business of Tech" in timeline
    assert "Also published at" in timeline
    assert "VentureBeat" in page.locator(".iw-first-report").inner_text()
    shot = tmp_path / "story.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")
    assert dialogs == []
    page.close()


def test_hostile_pages_run_nothing(browser, catalog_url):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ("/incidentwire/documents", "/incidentwire/documents/9", "/incidentwire/quotes",
                 "/incidentwire/digests/2025-W21", "/incidentwire/search?q=mirror",
                 "/stories/s-2025-w21-claude-opus-4", "/stories/s-2025-w21-claude-opus-4/brief",
                 "/incidentwire/system_cards", "/-/search?q=mirror",
                 "/incidentwire/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(8)%3E"):
        page.goto(catalog_url + path)
        page.wait_for_load_state("networkidle")
        for element in page.locator("div[onmouseover], img[onerror]").all():
            pytest.fail(f"{path}: live hostile element {element.evaluate('e => e.outerHTML')}")
    assert dialogs == []
    page.close()
