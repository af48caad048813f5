"""Issue #18, point 8 (and 7): hostile feeds as minimal probes. Only the bytes are parsed; one bad
entry skips only itself; wide encodings are text; entities are decoded once; only http(s) kept."""
import json

import pytest

from pipeline.store.documents import language_code
from spiders.feed_parse import parse_feed
from tests.support.collect import items, response, run_callback, spider

RSS = ('<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>t</title>{items}'
       "</channel></rss>")


def item(title, link=None, guid=None, extra=""):
    return (f"<item><title>{title}</title>" + (f"<link>{link}</link>" if link else "") +
            (f"<guid>{guid}</guid>" if guid else "") + f"<description>Some words here.</description>{extra}</item>")


def crawl(body, ctype="application/rss+xml", url="https://feeds.example/feed"):
    s = spider("feed", url=url, follow="never")
    out = items(run_callback(s.parse, response(url, body, ctype)))
    return [o for o in out if o["type"] == "document"], [o["reason"] for o in out if o["type"] == "skip"]


def test_a_body_that_is_a_local_path_is_never_opened(tmp_path):
    secret = tmp_path / "feed.xml"
    secret.write_text(RSS.format(enc="utf-8", items=item("Secret", "https://x.example/secret")))
    entries, _, problem = parse_feed(str(secret).encode())
    assert entries == [] and problem
    docs, skips = crawl(str(secret).encode(), "text/plain")
    assert docs == [] and len(skips) == 1


def test_json_feed_odd_shapes_lose_only_what_is_odd():
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [
        {"id": "1", "url": "https://j.example/1", "title": "One", "content_text": "Text one.", "attachments": 5},
        {"id": "2", "url": "https://j.example/2", "title": "Two", "content_text": "Text two.",
         "authors": {"name": "Ann"}},
        "not an object",
        {"id": "3", "url": "https://j.example/3", "title": "Three", "content_text": "Text three.",
         "attachments": [{"url": "javascript:alert(1)"}, {"url": "https://j.example/3.mp3"}]},
    ]}
    docs, skips = crawl(json.dumps(feed).encode(), "application/feed+json")
    assert [d["title"] for d in docs] == ["One", "Two", "Three"]
    assert docs[1]["author"] == "Ann" and docs[2]["extra"]["enclosures"] == ["https://j.example/3.mp3"]
    assert skips == ["JSON Feed item is not an object (str)"]


def test_a_link_that_cannot_be_joined_skips_only_its_entry():
    body = RSS.format(enc="utf-8", items=item("Bad", "http://[oops/") + item("Good", "https://x.example/good"))
    docs, skips = crawl(body.encode())
    assert [d["title"] for d in docs] == ["Good"] and len(skips) == 1 and "Bad" in skips[0]
    feed = {"version": "https://jsonfeed.org/version/1", "items": [
        {"id": "n", "url": 5, "title": "Number"}, {"id": "ok", "url": "https://x.example/ok", "title": "Ok"}]}
    docs, skips = crawl(json.dumps(feed).encode(), "application/json")
    assert [d["title"] for d in docs] == ["Ok"] and len(skips) == 1


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("bom", [True, False])
def test_utf16_and_utf32_feeds_are_text(encoding, bom):
    text = RSS.format(enc=encoding.upper()[:6], items=item("Café ünïcode", "https://x.example/c"))
    body = text.encode(encoding)
    if bom:
        body = "\ufeff".encode(encoding) + body
    docs, skips = crawl(body, "application/xml")
    assert skips == [] and [d["title"] for d in docs] == ["Café ünïcode"]


def test_entities_are_decoded_once():
    body = RSS.format(enc="utf-8", items=item("&amp;lt;script&amp;gt; AT&amp;T", "https://x.example/e") +
                      item("&lt;b&gt;Bold&lt;/b&gt; news", "https://x.example/f"))
    docs, _ = crawl(body.encode())
    assert [d["title"] for d in docs] == ["&lt;script&gt; AT&T", "Bold news"]


def test_entries_without_link_use_an_http_id_or_enclosure_never_a_bare_id():
    body = RSS.format(enc="utf-8", items=(
        item("By guid", guid="https://x.example/by-guid") +
        item("Podcast", extra='<enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/>') +
        item("Bare id", guid="1")))
    docs, skips = crawl(body.encode())
    assert [(d["title"], d["url"]) for d in docs] == [("By guid", "https://x.example/by-guid"),
                                                      ("Podcast", "https://cdn.example/ep1.mp3")]
    assert len(skips) == 1 and "Bare id" in skips[0] and "feeds.example/1" not in skips[0]


def test_javascript_urls_are_not_kept():
    body = RSS.format(enc="utf-8", items=item(
        "Js", "https://x.example/js", extra='<enclosure url="javascript:alert(1)" type="audio/mpeg" length="1"/>'))
    [doc], _ = crawl(body.encode())
    assert doc["extra"].get("enclosures", []) == []
    from spiders.items import document_item
    d = document_item({"name": "s"}, "https://x.example/1", "t", extra={"link": "javascript:alert(1)",
                                                                        "links": ["JavaScript:x", "https://ok.example/"]})
    assert "link" not in d["extra"] and d["extra"]["links"] == ["https://ok.example/"]


def test_language_codes_are_one():
    assert language_code("en-US") == language_code("en") == language_code("EN_gb") == "en"
    assert language_code("zh-Hant-TW") == "zh" and language_code("???") is None and language_code(None) is None


def test_json_feed_plain_text_is_not_decoded():
    feed = {"version": "https://jsonfeed.org/version/1.1", "items": [
        {"id": "1", "url": "https://j.example/1", "title": "T", "content_text": "Use &lt;b&gt; for bold. A < B."}]}
    [doc], _ = crawl(json.dumps(feed).encode(), "application/feed+json")
    assert doc["text"] == "Use &lt;b&gt; for bold. A < B."


def test_a_feed_served_as_octet_stream_is_read():
    body = RSS.format(enc="utf-8", items=item("Served badly", "https://x.example/o"))
    docs, skips = crawl(body.encode(), "application/octet-stream")
    assert skips == [] and [d["title"] for d in docs] == ["Served badly"]
    docs, skips = crawl(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "application/octet-stream")
    assert docs == [] and "binary content" in skips[0]
