"""article spider on real recorded pages (trafilatura text and metadata, canonical URL)."""
from tests.support.collect import fixture, items, requests, response, run_callback, spider


def test_article_page_text_title_author_date_canonical():
    s = spider("article", url="https://threatpost.com/android-apps/?utm_source=x")
    [doc] = items(run_callback(s.parse, response(s.source["url"], fixture("trafilatura_threatpost.com.android.html"))))
    assert doc["type"] == "document" and doc["kind"] == "article"
    assert doc["title"] and doc["published"].startswith("2019-")
    assert doc["canonical_url"] and doc["canonical_url"].startswith("https://threatpost.com/")
    assert len(doc["text"].split()) > 300 and "<" not in doc["text"]


def test_cnn_article_metadata():
    s = spider("article", url="https://www.cnn.com/2013/11/27/justice/tucson-arizona-captive-girls/")
    [doc] = items(run_callback(s.parse, response(s.source["url"], fixture("newspaper4k_cnn_article.html"))))
    assert doc["published"].startswith("2013-11-27")
    assert "storm" in doc["text"] and doc["title"]


def test_index_page_links_are_followed_by_pattern():
    html = b"""<html><body><a href="/ai/one">One</a><a href="/ai/two?utm_source=x">Two</a>
    <a href="/about">About</a><a href="/ai/one">One again</a></body></html>"""
    s = spider("article", url="https://news.example/ai/", link_pattern=r"/ai/\w+", known={"https://news.example/ai/two": {}})
    reqs = requests(run_callback(s.parse, response(s.source["url"], html)))
    assert [r.url for r in reqs] == ["https://news.example/ai/one"]
