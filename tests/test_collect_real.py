"""Issue #18 on the real recordings (tests/fixtures/real): spider callbacks on the recorded
responses, and the real crawl over loopback with the hosts' Content-Types (bench.collect)."""
import json
import pathlib

import pytest
from scrapy.http import Request

from bench import collect
from pipeline.crawl.plan import known_documents
from pipeline.store.documents import save_item
from tests.support.collect import items, requests, response, run_callback, spider, store_db

REAL = pathlib.Path(__file__).resolve().parent / "fixtures" / "real"


def real(path):
    return (REAL / path).read_bytes()


# ------------------------------------------------------------------ spider callbacks

def test_verge_teasers_are_followed_and_full_entries_kept():
    s = spider("feed", url="https://www.theverge.com/rss/index.xml")
    out = run_callback(s.parse, response(s.source["url"], real("outlets/verge_index.xml"),
                                         "application/atom+xml; charset=utf-8"))
    docs, followed = items(out), requests(out)
    assert len(docs) == 6 and len(followed) == 4  # 4 of 10 end "Read the full story at The Verge."
    assert all("Read the full story" not in d["text"][-200:] for d in docs)
    assert all(d["lang"] == "en-US" for d in docs)  # the store keeps "en" (test_language_codes_are_one)
    senate = next(d for d in docs + [r.cb_kwargs["fields"] for r in followed]
                  if (d.get("title") or "").startswith("Senate drops plan"))
    assert senate["author"] == "Tina Nguyen" and senate["published"] == "2025-07-01T13:15:48+00:00"


def test_text_plain_lab_feed_is_not_ill_formed():
    s = spider("feed", url="https://raw.githubusercontent.com/Olshansk/rss-feeds/main/feeds/feed_mistral.xml",
               max_entries=500, follow="never")
    out = run_callback(s.parse, response(s.source["url"], real("feeds/olshansk_feed_mistral.xml"),
                                         "text/plain; charset=utf-8"))
    assert [o["reason"] for o in items(out) if o["type"] == "skip"] == []
    assert len(items(out)) == 54


def test_bluesky_posts_keep_links_quotes_and_a_visible_author():
    s = spider("bluesky", url="https://public.api.bsky.app/xrpc/app.bsky.feed.getFeed")
    out = items(run_callback(s.parse, response(s.source["url"], real("bluesky/getFeed_foryou_items_2025-09.json"),
                                               "application/json")))
    by_handle = {}
    for d in out:
        by_handle.setdefault(d["extra"]["handle"], []).append(d)
    [vscode] = by_handle["@ngerakines.me"]
    assert vscode["extra"]["link"] == "https://code.visualstudio.com/updates/v1_104#_auto-model-selection-preview"
    assert vscode["extra"]["link"] in vscode["text"] and "v1_1..." not in vscode["text"]
    croissant = by_handle["@croissanthology.com"]
    assert all(d["author"] == "croissanthology.com" and d["title"].startswith("croissanthology.com: ")
               for d in croissant)
    [quote] = by_handle["@norvid-studies.bsky.social"]
    assert quote["extra"]["quoted_url"] == "https://bsky.app/profile/croissanthology.com/post/3lyjcosj2us2i"
    [image_only] = by_handle["@oppi.li"]  # no text: its image's description is its text
    assert image_only["text"].startswith("who would win?")
    assert len(out) == 19 and all(d["type"] == "document" for d in out)


def test_image_only_post_without_description_is_not_the_sources_error(tmp_path):
    post = {"uri": "at://did:plc:x/app.bsky.feed.post/1", "author": {"handle": "a.example"},
            "record": {"text": "", "createdAt": "2025-09-11T15:00:00Z",
                       "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": ""}]}}}
    db = store_db(tmp_path, {"name": "test-bluesky", "kind": "bluesky", "url": "https://b.example/"})
    s = spider("bluesky", url="https://b.example/xrpc/app.bsky.feed.getAuthorFeed")
    [skip] = items(run_callback(s.parse, response(s.source["url"], json.dumps({"feed": [{"post": post}]}),
                                                  "application/json")))
    assert skip["type"] == "skip" and skip["benign"]
    assert save_item(db, skip, run_id=1) == "skipped"
    row = next(db.query("select last_error, n_skipped from sources"))
    assert row == {"last_error": None, "n_skipped": 1}


def test_mastodon_recording_and_card_link():
    statuses = json.loads(real("mastodon/public_timeline_anonymous.json"))
    statuses[0]["card"] = {"url": "https://example.com/article", "title": "An article"}
    statuses[1]["card"] = {"url": "javascript:alert(1)"}
    s = spider("mastodon", url="https://mastodon.example/api/v1/timelines/public")
    docs = items(run_callback(s.parse, response(s.source["url"], json.dumps(statuses), "application/json")))
    assert len(docs) == 8 and docs[0]["extra"]["link"] == "https://example.com/article"
    assert docs[1]["extra"].get("link") is None
    assert docs[0]["author"] == "mastodonpy_test_2"  # display_name "" -> the account


# ------------------------------------------------------------------ pages that fail

def _followed(s, link="https://news.example/a"):
    rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>n</title><item><title>A title</title>'
           f"<link>{link}</link><guid>g1</guid><pubDate>Tue, 01 Jul 2025 10:00:00 GMT</pubDate>"
           f"<description>Short summary of the story</description></item></channel></rss>")
    [req] = requests(run_callback(s.parse, response(s.source["url"], rss, "application/rss+xml")))
    return req


@pytest.mark.parametrize("error, reason", [
    ("http", "HTTP 429"), ("timeout", "TimeoutError"), ("refused", "refused")])
def test_a_page_that_fails_keeps_the_entry_summary_only(error, reason):
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet.error import TimeoutError
    from twisted.python.failure import Failure

    s = spider("feed", url="https://news.example/feed")
    req = _followed(s)
    exc = {"http": lambda: HttpError(response(req.url, "busy", status=429)),
           "timeout": lambda: TimeoutError("took too long"),
           "refused": lambda: IgnoreRequest("refused https://news.example/a: private")}[error]()
    failure = Failure(exc)
    failure.request = req
    [doc] = list(req.errback(failure))
    assert doc["type"] == "document" and doc["url"] == "https://news.example/a"
    assert doc["title"] == "A title" and doc["published"] == "2025-07-01T10:00:00+00:00"
    assert doc["text"] == "Short summary of the story" and doc["guid"] == "g1"
    assert doc["extra"]["summary_only"] and reason in doc["extra"]["fetch_error"]


def test_a_cloudflare_challenge_is_a_failed_page():
    s = spider("feed", url="https://news.example/feed")
    req = _followed(s)
    page = (b"<html><head><title>Just a moment...</title></head><body>" + b"Checking your browser. " * 40 +
            b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script></body></html>")
    [doc] = items(run_callback(req.callback, response(req.url, page, status=200), **req.cb_kwargs))
    assert doc["extra"]["summary_only"] and "Cloudflare" in doc["extra"]["fetch_error"]


def test_summary_only_entry_is_retried_and_upgraded_and_redirected_links_are_known(tmp_path):
    db = store_db(tmp_path, {"name": "test-feed", "kind": "feed", "url": "https://news.example/feed"})
    s = spider("feed", url="https://news.example/feed")
    req = _followed(s, "https://go.news.example/feed/news.example/2025/07/01/a")
    failure = __import__("twisted.python.failure", fromlist=["Failure"]).Failure(TimeoutError("slow"))
    failure.request = req
    assert save_item(db, next(req.errback(failure)), run_id=1, relevance_min=0) == "inserted"
    source_id = next(db.query("select id from sources"))["id"]
    known = known_documents(db, source_id)
    s2 = spider("feed", url="https://news.example/feed", known=known)
    assert not s2.is_known(req.url, "g1")  # summary-only: the page is tried again ...
    [retry] = [r for r in s2.entry_requests() if r.url != s2.source["url"]]  # ... even if the feed is unchanged
    article = (pathlib.Path(__file__).parent / "fixtures/collect/trafilatura_threatpost.com.android.html").read_bytes()
    landed = response("https://news.example/2025/07/01/a", article)  # where the redirecting link landed
    [full] = items(run_callback(retry.callback, landed, **retry.cb_kwargs))
    assert save_item(db, full, run_id=2, relevance_min=0) == "updated"
    row = next(db.query("select title, extra, canonical_url, word_count from documents"))
    assert row["title"] == "A title" and row["word_count"] > 100 and "summary_only" not in json.loads(row["extra"])
    known = known_documents(db, source_id)
    s3 = spider("feed", url="https://news.example/feed", known=known)
    assert s3.is_known(req.url, None) and s3.is_known("https://other.example/x", "g1")
    assert [r.url for r in s3.entry_requests()] == [s3.source["url"]]


# ------------------------------------------------------------------ the real crawl (bench.collect)

SUBSET = [r for r in collect.RECORDINGS if r[0] in (
    "outlets/verge_index.xml", "feeds/olshansk_feed_anthropic_red.xml", "feeds/trafilatura_npr_technology_feed.json",
    "reddit/reddit_front_2015.rss", "mastodon/public_timeline_anonymous.json", "bluesky/getFeed_foryou_items_2025-09.json")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("collect")
    return {"reachable": collect.run(False, SUBSET, work), "refused": collect.run(True, SUBSET, work)}


@pytest.mark.parametrize("run", ["reachable", "refused"])
def test_every_real_entry_is_stored_with_its_fields(runs, run):
    for row in runs[run].values():
        assert row["stored"] == row["entries"] == row["with_address"] and not row["missing"], row
        assert row["fields_right"] == row["fields_checked"] == 5 * row["entries"], row
        assert row["skips"] == [], row
        assert row["second_crawl_bodies"] == 0 and row["second_inserted"] == 0, row


def test_refused_pages_keep_entries_summary_only_then_upgrade(runs):
    verge = runs["refused"]["outlets/verge_index.xml"]
    assert (verge["full"], verge["summary_only"], verge["pages_failed"]) == (6, 4, 4)
    lab = runs["refused"]["feeds/olshansk_feed_anthropic_red.xml"]
    assert lab["summary_only"] == lab["pages_failed"] == 21
    assert all(r["upgraded_later"] == r["summary_only"] for r in runs["refused"].values())
    assert runs["reachable"]["outlets/verge_index.xml"]["full"] == 10


def test_status_shows_summary_only_entries_and_failed_pages(tmp_path):
    from click.testing import CliRunner
    import click
    from db.connection import open_db
    from pipeline.crawl.local import crawl_sources
    from pipeline.ops.loopback import LoopbackServer
    from pipeline.ops.status import print_status

    subset = [r for r in collect.RECORDINGS if r[0] == "feeds/olshansk_feed_anthropic_red.xml"]
    root = tmp_path / "site"
    root.mkdir()
    with LoopbackServer(root) as server:
        collect.build_site(root, server, subset)
        collect.refuse_pages(server)
        db = open_db(tmp_path / "s.db")
        counts = crawl_sources(db, collect.crawl_config(server.url, subset),
                               settings_overrides=collect.mirror_settings(server.url))
    assert counts["pages_failed"] == counts["summary_only"] == 21
    out = CliRunner().invoke(click.command()(lambda: print_status(db))).output
    line = next(l for l in out.splitlines() if l.startswith("olshansk-feed-anthropic-red"))
    assert "\t21\t21\t21 entry page(s) failed" in line and "HTTP 403" in line


def test_a_redirecting_entry_link_is_not_downloaded_again(tmp_path):
    """The Register's go.theregister.com/feed/... links: the page lands elsewhere; the next crawl of a
    changed feed knows the entry by its link and GUID and fetches neither the link nor the page."""
    from db.connection import open_db
    from pipeline.crawl.local import crawl_sources
    from pipeline.ops.loopback import LoopbackServer
    from tests.support.collect import FAST, config

    root = tmp_path / "site"
    (root / "pages/a").mkdir(parents=True)
    (root / "pages/a/index.html").write_bytes(
        (pathlib.Path(__file__).parent / "fixtures/collect/trafilatura_threatpost.com.android.html").read_bytes())

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", "/pages/a/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def feed(base, n):
        entries = "".join(f"<item><title>Entry {i}</title><link>{base}/go/feed/{'a' if i == 0 else f'x{i}'}</link>"
                          f"<guid>tag:reg,{i}</guid><description>short</description></item>" for i in range(n))
        (root / "feed.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>r</title>'
                                       f"{entries}</channel></rss>")

    with LoopbackServer(root) as server:
        server.hooks["/go/feed/a"] = redirect
        feed(server.url, 1)
        db = open_db(tmp_path / "r.db")
        cfg = config([{"name": "reg", "kind": "feed", "url": f"{server.url}/feed.xml"}])
        assert crawl_sources(db, cfg, settings_overrides=FAST)["inserted"] == 1
        [row] = db.query("select url, extra from documents")
        assert row["url"].endswith("/pages/a/") and json.loads(row["extra"])["entry_link"].endswith("/go/feed/a")
        feed(server.url, 2)  # the feed changes: a new entry beside the known one
        n = len(server.stats["paths"])
        crawl_sources(db, cfg, settings_overrides=FAST)
        later = server.stats["paths"][n:]
    assert "/go/feed/a" not in later and "/pages/a/" not in later and "/go/feed/x1" in later
