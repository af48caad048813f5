"""feed spider on real recorded feeds: RSS 2.0, Atom, JSON Feed, and following entries to pages."""
from tests.support.collect import fixture, items, requests, response, run_callback, spider


def test_rss_lab_feed_entries_become_blog_documents():
    s = spider("feed", url="https://www.anthropic.com/news/rss.xml", doc_kind="blog", follow="never",
               publisher="Anthropic", max_entries=500)
    out = run_callback(s.parse, response(s.source["url"], fixture("olshansk_feed_anthropic_news.xml"),
                                         "application/rss+xml"))
    docs = items(out)
    assert len(docs) == 255 and not requests(out)
    by_title = {d["title"]: d for d in docs}
    claude4 = by_title["Introducing Claude 4"]
    assert claude4["kind"] == "blog" and claude4["publisher"] == "Anthropic"
    assert claude4["url"].startswith("https://www.anthropic.com/")
    assert claude4["published"].startswith("2025-05-22")
    assert "Activating AI Safety Level 3 protections" in by_title
    assert all(d["type"] == "document" and d["text"] for d in docs)


def test_summary_only_entries_are_followed_unless_already_stored():
    s = spider("feed", url="https://www.anthropic.com/news/rss.xml", max_entries=3,
               known={"https://www.anthropic.com/news/claude-text-watermark": {}})
    out = run_callback(s.parse, response(s.source["url"], fixture("olshansk_feed_anthropic_news.xml"),
                                         "application/rss+xml"))
    followed = requests(out)
    assert len(followed) == 2 and not items(out)  # the first entry is already stored
    assert all(r.callback == s.parse_page for r in followed)


def test_followed_page_gives_article_text_and_feed_metadata():
    s = spider("feed", url="https://feeds.example/tech.xml")
    fields = {"title": "Vision Pro hands-on", "author": None, "published": None, "guid": "g1",
              "lang": "en", "extra": {"summary": "short"}}
    page = response("https://www.theverge.com/23752959/apple-vision-pro?utm_source=rss",
                    fixture("readability_theverge.html"))
    [doc] = items(run_callback(s.parse_page, page, fields=fields))
    assert doc["title"] == "Vision Pro hands-on"
    assert doc["published"] == "2023-06-07T00:00:00+00:00"
    assert doc["author"] == "Alex Heath"
    assert doc["canonical_url"].startswith("https://www.theverge.com/23752959/")
    assert "iPhone 4" in doc["text"] and len(doc["text"].split()) > 500


def test_atom_feed_with_full_content_needs_no_follow():
    s = spider("feed", url="http://touchnokia.ru/feed/atom")
    out = run_callback(s.parse, response(s.source["url"], fixture("feedparser_large_atom_css_sanitisation.xml"),
                                         "application/atom+xml"))
    docs = items(out)
    assert len(docs) + len(requests(out)) == 15
    assert all("<" not in d["title"] and "style=" not in d["text"] for d in docs)


def test_json_feed():
    s = spider("feed", url="https://feeds.npr.org/1019/feed.json", follow="never")
    docs = items(run_callback(s.parse, response(s.source["url"], fixture("trafilatura_npr_technology_feed.json"),
                                                "application/json")))
    assert len(docs) > 5
    first = docs[0]
    assert first["title"] == "Keller Rinaudo: How can delivery drones save lives?"
    assert first["guid"] == "1050315385" and first["published"]
    assert "Zipline" in first["text"] and "<img" not in first["text"]


def test_an_entry_without_a_date_takes_the_day_its_address_files_it_under():
    import json
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "https://news.example/2025/06/20/agents-blackmail/", "title": "Filed by day",
         "content_text": "Anthropic's study found models resorting to blackmail in stress tests."},
        {"id": "2", "url": "https://news.example/2025/06/agents-again/", "title": "Filed by month",
         "content_text": "A month names no day, so this entry stays undated."},
        {"id": "3", "url": "https://news.example/2025/06/20/dated/", "title": "Dated",
         "date_published": "2025-06-21T09:00:00Z", "content_text": "Its own date wins over its address."}]}
    s = spider("feed", url="https://news.example/feed.json", follow="never")
    docs = items(run_callback(s.parse, response(s.source["url"], json.dumps(feed).encode(), "application/json")))
    assert [d["published"] for d in docs] == ["2025-06-20T00:00:00+00:00", None, "2025-06-21T09:00:00+00:00"]


def test_not_modified_entry_yields_nothing():
    s = spider("feed", url="https://example.com/feed.xml")
    assert run_callback(s.parse, response(s.source["url"], b"", status=304)) == []
    assert s.not_modified
