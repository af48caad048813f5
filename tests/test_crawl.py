"""End to end over a loopback HTTP server: every spider kind, second crawl (304s, no bodies),
silent system-card change, address guard, robots.txt, Retry-After, run and source bookkeeping."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from pipeline.crawl.local import crawl_sources
from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer
from db.runs import process_alive
from tests.support.collect import FAST, FIXTURES, config, fixture, pdf_bytes
from tests.support.collect import CARD_TEXT, INDEX

ROOT = pathlib.Path(__file__).resolve().parent.parent

PAGES = ["readability_theverge.html", "trafilatura_threatpost.com.android.html", "newspaper4k_cnn_article.html"]
POST = " ".join(fixture("002_ee4b015b54fba806.txt").decode().split())[:400]


def build_site(root, base):
    """A static mirror: feed -> real pages, WordPress seed, card index + PDF, social API folders."""
    (root / "pages").mkdir(parents=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /drafts/\n")  # fetched once, then 304
    for name in PAGES:
        shutil.copy(FIXTURES / name, root / "pages" / name)
    (root / "copy").mkdir()
    shutil.copy(FIXTURES / PAGES[0], root / "copy/verge.html")  # the same page under another URL
    entries = "".join(f"<item><title>Page {i}</title><link>{base}/pages/{n}?utm_source=rss</link><guid>p{i}</guid>"
                      f"<description>summary {i}</description></item>" for i, n in enumerate(PAGES))
    (root / "feed.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Mirror</title>'
                                   f"{entries}</channel></rss>")
    wp = root / "wp-json/wp/v2/posts"
    wp.mkdir(parents=True)
    shutil.copy(FIXTURES / "wp_post_000_8692a8530e1160a9.json", wp / "index.json")
    (root / "cards").mkdir()
    (root / "cards/index.html").write_bytes(INDEX.replace(b"/cards/sonnet-model-card.html", b"/cards/missing.html"))
    (root / "cards/claude-opus-4-system-card.pdf").write_bytes(pdf_bytes(CARD_TEXT, "Claude Opus 4 System Card"))
    status = {"id": "1", "created_at": "2025-05-23T10:00:00Z", "url": f"{base}/@tester/1", "content": f"<p>{POST}</p>",
              "account": {"acct": "tester", "display_name": "Tester"}}
    for folder, body in [
        ("api/v1/timelines/tag/aisafety", [status]),
        ("hn/api/v1/search_by_date", {"hits": [{"objectID": "1", "title": "Claude Opus 4 blackmail in safety tests",
                                               "author": "tester", "created_at": "2025-05-23T10:00:00Z"}], "nbPages": 1}),
        ("xrpc/app.bsky.feed.searchPosts", {"posts": [{"uri": "at://did:plc:x/app.bsky.feed.post/1",
                                                       "author": {"handle": "tester.bsky.social"},
                                                       "record": {"text": POST, "createdAt": "2025-05-23T10:00:00Z"}}]}),
    ]:
        (root / folder).mkdir(parents=True)
        (root / folder / "index.json").write_text(json.dumps(body))
    (root / "t").mkdir()
    (root / "t/ai.json").write_text(json.dumps([{"short_id": "a", "short_id_url": f"{base}/s/a",
                                                 "title": "Claude Opus 4 system card and agent safety",
                                                 "created_at": "2025-05-23T10:00:00Z", "submitter_user": "tester"}]))
    (root / "r").mkdir()
    (root / "r/new.rss").write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>r</title><entry><id>t3_1</id>'
        f'<link href="{base}/r/1"/><title>Claude Opus 4 blackmail</title><author><name>/u/tester</name></author>'
        f"<updated>2025-05-23T10:00:00Z</updated><content type=\"text\">{POST}</content></entry></feed>")


def sources(base):
    return [
        {"name": "mirror-feed", "kind": "feed", "url": f"{base}/feed.xml"},
        {"name": "violet", "kind": "wordpress", "url": f"{base}/wp-json/wp/v2/posts", "publisher": "VentureBeat"},
        {"name": "cards", "kind": "system_cards", "url": f"{base}/cards/", "publisher": "Anthropic"},
        {"name": "masto", "kind": "mastodon", "url": f"{base}/api/v1/timelines/tag/aisafety"},
        {"name": "hn", "kind": "hn", "url": f"{base}/hn/api/v1/search_by_date", "query": "claude"},
        {"name": "bsky", "kind": "bluesky", "url": f"{base}/xrpc/app.bsky.feed.searchPosts", "query": "claude"},
        {"name": "lobsters", "kind": "lobsters", "url": f"{base}/t/ai.json"},
        {"name": "reddit", "kind": "reddit", "url": f"{base}/r/new.rss"},
        {"name": "page", "kind": "article", "url": f"{base}/copy/verge.html"},
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    server = LoopbackServer(root).start()
    build_site(root, server.url)
    yield root, server
    server.stop()


def test_end_to_end_then_second_crawl_downloads_no_bodies(site, tmp_path, monkeypatch):
    root, server = site
    monkeypatch.delenv("BLUESKY_HANDLE", raising=False)
    db = open_db(tmp_path / "crawl.db")
    cfg = config(sources(server.url))
    counts = crawl_sources(db, cfg, settings_overrides=FAST)
    assert counts["sources"]["mirror-feed"]["inserted"] == 3
    # 3 feed pages + the article page (same text as a feed page: kept, linked) + WP + card + 5 social
    assert counts["inserted"] == 11, counts
    assert counts["sources"]["cards"]["skipped"] == 1  # the index links a card that is missing (404)
    kinds = {r["kind"] for r in db.query("select distinct kind from documents")}
    assert kinds == {"article", "system_card", "social"}
    run = next(db.query("select * from runs order by id desc limit 1"))
    assert run["command"] == "crawl" and run["finished"] and json.loads(run["counts"])["inserted"] == 11
    src = {r["name"]: r for r in db["sources"].rows}
    assert all(src[n]["etag"] and src[n]["last_crawled"] for n in src)
    assert src["cards"]["last_error"] == "HTTP 404" and src["cards"]["consecutive_failures"] == 0
    assert src["violet"]["last_error"] is None
    pair = list(db.query("select id, duplicate_of from documents where url like '%verge%' order by id"))
    assert len(pair) == 2 and pair[1]["duplicate_of"] == pair[0]["id"] and pair[0]["duplicate_of"] is None

    bodies, n_paths = server.stats["bodies"], len(server.stats["paths"])
    again = crawl_sources(db, cfg, settings_overrides=FAST)
    assert server.stats["bodies"] == bodies, "a second crawl of unchanged sources downloaded bodies"
    assert again["inserted"] == 0 and again["not_modified"] >= len(sources(server.url))
    assert server.stats["paths"][n_paths:].count("/robots.txt") == 1  # one for all sources, answered 304

    # The lab silently edits its card: only the card's body is downloaded; a new version with a diff.
    card = root / "cards/claude-opus-4-system-card.pdf"
    card.write_bytes(pdf_bytes(CARD_TEXT[:2] + ["We added a paragraph about agentic misuse safeguards."],
                               "Claude Opus 4 System Card"))
    third = crawl_sources(db, cfg, only=["cards"], settings_overrides=FAST)
    assert third["updated"] == 1 and server.stats["bodies"] == bodies + 1
    diff = next(db.query("select diff from document_versions where diff is not null"))["diff"]
    assert "+We added a paragraph about agentic misuse safeguards." in diff


def test_address_guard_refuses_private_hosts_unless_allowed(site, tmp_path):
    root, server = site
    db = open_db(tmp_path / "guard.db")
    before = list(server.stats["paths"])
    cfg = config([{"name": "sneaky", "kind": "feed", "url": f"{server.url}/feed.xml", "allow_private": False},
                  {"name": "metadata", "kind": "article", "url": "http://169.254.169.254/latest/meta-data/",
                   "allow_private": False}])
    counts = crawl_sources(db, cfg, settings_overrides=FAST)
    assert counts["refused"] == 2 and counts["inserted"] == 0
    assert server.stats["paths"][len(before):] == []  # nothing reached the server, not even robots.txt
    src = next(db.query("select * from sources where name = 'sneaky'"))
    assert "loopback address" in src["last_error"] and src["consecutive_failures"] == 1
    reasons = [r["reason"] for r in db.query("select reason from skips")]
    assert any("metadata" in r for r in reasons)


def test_robots_txt_retry_after_and_offtopic(site, tmp_path):
    root, server = site
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (root / "private").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / PAGES[1], root / "private/page.html")
    calls = []

    def flaky(handler):
        calls.append(1)
        if len(calls) == 1:
            handler.send_response(503)
            handler.send_header("Retry-After", "0")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        del server.httpd.hooks["/flaky.html"]
        body = fixture(PAGES[2])
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server.httpd.hooks["/flaky.html"] = flaky
    try:
        db = open_db(tmp_path / "polite.db")
        cfg = config([{"name": "private", "kind": "article", "url": f"{server.url}/private/page.html"},
                      {"name": "flaky", "kind": "article", "url": f"{server.url}/flaky.html"},
                      {"name": "strict", "kind": "article", "url": f"{server.url}/pages/{PAGES[0]}", "relevance_min": 0.9}])
        counts = crawl_sources(db, cfg, settings_overrides=FAST)
    finally:
        (root / "robots.txt").unlink()
    assert "/private/page.html" not in server.stats["paths"]
    assert counts["sources"]["private"]["skipped"] == 1
    assert "robots.txt" in next(db.query("select reason from skips where source = 'private'"))["reason"]
    assert len(calls) == 2 and counts["sources"]["flaky"]["inserted"] == 1
    assert counts["sources"]["strict"]["offtopic"] == 1 and counts["sources"]["strict"]["inserted"] == 0


def test_unknown_source_name_is_reported(site, tmp_path):
    db = open_db(tmp_path / "x.db")
    counts = crawl_sources(db, config([]), only=["nope"])
    assert counts["inserted"] == 0 and "unknown source 'nope'" in counts["errors"][0]


def test_shipped_sources_toml_is_valid_and_public():
    from pipeline.config import load_config
    path = pathlib.Path(__file__).resolve().parent.parent / "sources.toml"
    cfg = load_config(path)
    kinds = {s["kind"] for s in cfg["sources"]}
    assert kinds == {"feed", "wordpress", "system_cards", "mastodon", "bluesky", "hn", "reddit", "lobsters"}
    assert all(s["url"].startswith("https://") and not s["allow_private"] for s in cfg["sources"])
    text = path.read_text()
    assert text.count("[[source]]  #") == len(cfg["sources"])  # every source has its one-line comment


def test_cut_offs_per_source_kind_and_setting(tmp_path):
    from pipeline.crawl.plan import plan_jobs
    db = open_db(tmp_path / "plan.db")
    cfg = config([{"name": "masto", "kind": "mastodon", "url": "https://m.example/api/v1/timelines/tag/ai"},
                  {"name": "feed", "kind": "feed", "url": "https://f.example/feed"},
                  {"name": "strict", "kind": "feed", "url": "https://s.example/feed", "relevance_min": 0.8}],
                 relevance_min=0.35)
    cuts = {j["source"]["name"]: j["source"]["relevance_min"] for j in plan_jobs(db, cfg)[0]}
    assert cuts == {"masto": 0.1, "feed": 0.35, "strict": 0.8}


def test_address_guard_rules():
    from spiders.guard import check_url
    fake = {"public.example": ["93.184.215.14"], "rebind.example": ["93.184.215.14", "10.0.0.7"],
            "v6.example": ["::ffff:127.0.0.1"]}
    resolver = lambda host: fake.get(host, [host.strip("[]")])
    assert check_url("https://public.example/feed", resolver=resolver) is None
    for url, why in [("http://127.0.0.1:8000/", "loopback"), ("http://169.254.169.254/latest/", "metadata"),
                     ("http://[fd00:ec2::254]/", "metadata"), ("http://192.168.1.5/", "private"),
                     ("http://100.64.0.1/", "private"), ("http://[fe80::1]/", "link-local"),
                     ("http://rebind.example/", "private"), ("http://v6.example/", "loopback"),
                     ("http://localhost:8080/", "internal name"), ("http://metadata.google.internal/", "internal name"),
                     ("file:///etc/passwd", "only http(s)")]:
        reason = check_url(url, resolver=resolver)
        assert reason and why in reason, (url, reason)
    assert check_url("http://127.0.0.1:8000/", allow_private=True, resolver=resolver) is None


def test_retry_after_header_forms():
    from spiders.middlewares import retry_after_seconds
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# A parent that crawls one feed whose server never answers; the test SIGKILLs it mid-crawl.
PARENT = ("import sys; from pipeline.crawl.local import crawl_sources; from db.connection import open_db; "
          "from tests.support.collect import FAST, config; "
          "crawl_sources(open_db(sys.argv[1]), config([{'name': 'stall', 'kind': 'feed', 'url': sys.argv[2]}]), "
          "settings_overrides=FAST)")


def children(pid):
    """Pids whose parent is `pid` (from /proc)."""
    kids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.timeout(60)
@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="finds the crawl process through /proc")
def test_crawl_process_ends_when_its_parent_is_killed(tmp_path):
    asked, release = threading.Event(), threading.Event()

    def stall(handler):  # hold the request open: the crawl would otherwise wait out its timeouts
        asked.set()
        release.wait(30)

    with LoopbackServer(tmp_path) as server, open(tmp_path / "stderr", "w+") as err:
        server.hooks["/feed.xml"] = stall
        parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "iw.db"), f"{server.url}/feed.xml"],
                                  cwd=ROOT, stderr=err, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not asked.wait(0.1):
                assert parent.poll() is None, f"the crawl ended before it was killed:\n{pathlib.Path(err.name).read_text()}"
                assert time.monotonic() < deadline, "the crawl never asked for the feed"
            crawler, = children(parent.pid)
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 5
            while process_alive(crawler) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not process_alive(crawler), "the crawl process outlived its killed parent"
        finally:
            release.set()
            try:
                os.killpg(parent.pid, signal.SIGKILL)  # whatever is left of the group
            except ProcessLookupError:
                pass
            parent.wait()
