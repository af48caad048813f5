"""Hostile input through the spiders and the store: every case is a counted, logged skip (or a
clean document), never a crash and never a half-written row."""
import json

import pytest

from pipeline.crawl.local import crawl_sources
from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer
from pipeline.store.documents import save_item
from tests.support.collect import FAST, config, fixture, pdf_bytes, response, run_callback, spider, store_db

ARTICLE = fixture("trafilatura_threatpost.com.android.html")


def feed_through(db, s, resp, callback=None):
    """Run one spider callback on `resp` and store every item; return the store's answers."""
    outputs = run_callback(callback or s.parse, resp)
    return [save_item(db, o, run_id=1, relevance_min=0) for o in outputs if isinstance(o, dict)]


@pytest.fixture
def db(tmp_path):
    return store_db(tmp_path, {"name": "hostile", "kind": "feed", "url": "https://h.example/feed"})


def skips(db):
    return [r["reason"] for r in db.query("select reason from skips where run_id = 1 order by id")]


def test_feed_with_incomplete_cdata(db):
    s = spider("feed", name="hostile", url="https://h.example/feed")
    answers = feed_through(db, s, response(s.source["url"], fixture("feedparser_illformed_rss_incomplete_cdata.xml"),
                                           "application/rss+xml"))
    assert answers and set(answers) == {"skipped"}
    assert any("ill-formed feed" in r for r in skips(db))
    assert db["documents"].count == 0
    assert "link" in next(db.query("select last_error from sources where name = 'hostile'"))["last_error"]


def test_koi8r_feed_without_encoding_information(db):
    s = spider("feed", name="hostile", url="https://h.example/feed")
    feed_through(db, s, response(s.source["url"], fixture("feedparser_illformed_chardet_koi8r.xml"), "application/xml"))
    reasons = skips(db)
    assert any("wrong or missing encoding: decoded as koi8" in r for r in reasons)
    # Its one entry has no link: skipped, and the title is readable Cyrillic, not mojibake.
    assert any("Как пережить новогоднюю ночь" in r for r in reasons)


def test_duplicate_guids_and_scripts_in_feed(db):
    rss = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
    <item><title>&lt;script&gt;alert(1)&lt;/script&gt;Claude agent safety incident</title><link>https://h.example/a</link>
    <guid>same</guid><description>&lt;p onclick="x()"&gt;An AI model safety incident.&lt;/p&gt;&lt;script&gt;alert("xss")&lt;/script&gt;</description></item>
    <item><title>Copy</title><link>https://h.example/b</link><guid>same</guid><description>dup</description></item>
    </channel></rss>"""
    s = spider("feed", name="hostile", url="https://h.example/feed", follow="never")
    answers = feed_through(db, s, response(s.source["url"], rss, "application/rss+xml"))
    assert answers == ["inserted", "skipped"]
    assert "duplicate GUID in feed: same" in skips(db)[0]
    [doc] = db["documents"].rows
    assert "alert" not in doc["text"] and "<" not in doc["text"] and "onclick" not in doc["text"]
    assert doc["title"] == "Claude agent safety incident"


def test_html_page_with_scripts_keeps_only_text(db):
    page = ARTICLE.replace(b"</head>", b"<script>document.write('<h1>pwned</h1>');alert(1)</script></head>") \
                  .replace(b"<body", b"<body onload=\"alert(2)\"", 1)
    s = spider("article", name="hostile", url="https://threatpost.com/x/")
    assert feed_through(db, s, response(s.source["url"], page)) == ["inserted"]
    [doc] = db["documents"].rows
    assert "pwned" not in doc["text"] and "alert(" not in doc["text"]


@pytest.mark.parametrize("body, ctype, reason", [
    (fixture("trafilatura_npr_technology_feed.json")[:5000], "text/html", "JSON where an HTML page"),
    (b"<html><head><title>x</title></head><body><nav>Home</nav></body></html>", "text/html", "no article text"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "text/html", "binary content"),
    (b"", "text/html", "empty response"),
    (b"<html><body>" + b"<p>" + b"word " * 400_000 + b"</p></body></html>", "text/html", "larger than"),
])
def test_pages_that_are_not_articles(db, body, ctype, reason):
    s = spider("article", name="hostile", url="https://h.example/page", max_response_bytes=1_000_000)
    assert feed_through(db, s, response(s.source["url"], body, ctype)) == ["skipped"]
    assert reason in skips(db)[0]
    assert db["documents"].count == 0


def test_broken_and_encrypted_pdfs(db):
    from fpdf import FPDF
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "secret system card")
    pdf.set_encryption(owner_password="owner", user_password="user")
    encrypted = bytes(pdf.output())
    good = pdf_bytes(["A system card paragraph about model safety evaluations and agentic misuse."])
    s = spider("system_cards", name="hostile", url="https://h.example/cards")
    for body in (good[: len(good) // 3], b"%PDF-1.7\n%garbage\n" + b"\x00" * 100, encrypted):
        feed_through(db, s, response("https://h.example/card.pdf", body, "application/pdf"), s.parse_card)
    reasons = skips(db)
    assert len(reasons) == 3 and "encrypted PDF" in reasons[2]
    assert all("PDF" in r for r in reasons) and db["documents"].count == 0


@pytest.mark.parametrize("kind, body", [
    ("mastodon", [{"id": "1"}, {"content": "<p>no id</p>"}, "junk"]),
    ("hn", {"hits": [{"title": "no objectID"}, {"objectID": "2"}]}),
    ("lobsters", [{"title": "no url"}]),
    ("bluesky", {"posts": [{"uri": "at://x/app.bsky.feed.post/1", "record": {}}]}),
    ("wordpress", {"code": "rest_post_invalid_page_number", "message": "The page number requested is larger."}),
    ("mastodon", "{not json"),
])
def test_json_with_missing_fields(db, kind, body):
    s = spider(kind, name="hostile", url="https://h.example/api")
    raw = body if isinstance(body, str) else json.dumps(body)
    answers = feed_through(db, s, response(s.source["url"], raw, "application/json"))
    assert answers and set(answers) == {"skipped"}
    assert db["documents"].count == 0 and len(skips(db)) == len(answers)


def test_crawl_level_hostility(tmp_path):
    """Over HTTP: a page over DOWNLOAD_MAXSIZE, a 500 that stays 500, binary served as HTML."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "huge.html").write_bytes(b"<html><body><p>" + b"word " * 700_000 + b"</p></body></html>")
    (root / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100)
    with LoopbackServer(root) as server:
        def broken(handler):
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        server.httpd.hooks["/down.xml"] = broken
        db = open_db(tmp_path / "h.db")
        cfg = config([{"name": "huge", "kind": "article", "url": f"{server.url}/huge.html"},
                      {"name": "down", "kind": "feed", "url": f"{server.url}/down.xml"},
                      {"name": "image", "kind": "article", "url": f"{server.url}/image.html"}],
                     max_response_bytes=1_000_000)
        counts = crawl_sources(db, cfg, settings_overrides=FAST)
        assert server.stats["paths"].count("/down.xml") == 3  # first try + RETRY_TIMES=2 with backoff
    assert counts["skipped"] == 3 and counts["inserted"] == 0
    src = {r["name"]: r for r in db["sources"].rows}
    assert "larger than" in src["huge"]["last_error"]
    assert src["down"]["last_error"] == "HTTP 500" and src["down"]["consecutive_failures"] == 1
    assert "binary content" in src["image"]["last_error"]
    run = next(db.query("select * from runs"))
    assert run["status"] == "ok" and json.loads(run["counts"])["skipped"] == 3
    assert db["skips"].count == 3 and db["documents"].count == 0
