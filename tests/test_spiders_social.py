"""Social spiders (Mastodon, Bluesky, HN Algolia, Reddit RSS, lobste.rs) on responses in each API's
documented shape. The post text is real (the Business of Tech segment, seed 002); the accounts are
placeholders, so no words are attributed to real people."""
import json

from tests.support.collect import fixture, items, requests, response, run_callback, spider

PARAS = [p for p in fixture("002_ee4b015b54fba806.txt").decode("utf-8").split("\n") if len(p) > 200]
POST = PARAS[0][:480]


def test_mastodon_tag_timeline_and_max_id_paging():
    statuses = [{
        "id": str(110000 + i), "created_at": "2025-05-23T10:0%d:00.000Z" % i,
        "url": f"https://mastodon.example/@tester/{110000 + i}", "uri": f"https://mastodon.example/users/tester/statuses/{110000 + i}",
        "content": f"<p>{POST}</p><p><a href=\"https://mastodon.example/tags/aisafety\">#<span>aisafety</span></a></p>",
        "spoiler_text": "", "language": "en", "in_reply_to_id": None, "reblog": None,
        "favourites_count": 3, "reblogs_count": 1, "replies_count": 0,
        "account": {"acct": "tester", "display_name": "Test Account", "url": "https://mastodon.example/@tester"},
    } for i in range(2)]
    s = spider("mastodon", url="https://mastodon.example/api/v1/timelines/tag/aisafety", max_pages=2)
    first = next(iter(s.entry_requests()))
    assert "limit=40" in first.url
    out = run_callback(s.parse, response(first.url, json.dumps(statuses), "application/json", meta={"page": 1}))
    docs = items(out)
    assert len(docs) == 2 and docs[0]["kind"] == "social"
    assert docs[0]["extra"]["handle"] == "@tester" and docs[0]["extra"]["likes"] == 3
    assert docs[0]["text"].startswith(" ".join(POST.split())[:60]) and "<p>" not in docs[0]["text"]
    assert docs[0]["published"] == "2025-05-23T10:00:00+00:00"
    [nxt] = requests(out)
    assert "max_id=110001" in nxt.url


def test_bluesky_search_posts_and_author_feed(monkeypatch):
    monkeypatch.delenv("BLUESKY_HANDLE", raising=False)
    post = {"uri": "at://did:plc:abc/app.bsky.feed.post/3lpq", "cid": "x",
            "author": {"did": "did:plc:abc", "handle": "tester.bsky.social", "displayName": "Tester"},
            "record": {"$type": "app.bsky.feed.post", "text": POST, "createdAt": "2025-05-23T12:00:00.000Z", "langs": ["en"]},
            "likeCount": 5, "repostCount": 2, "replyCount": 1, "indexedAt": "2025-05-23T12:00:01.000Z"}
    s = spider("bluesky", url="https://bsky.social/xrpc/app.bsky.feed.searchPosts", query="claude opus blackmail")
    first = next(iter(s.entry_requests()))
    assert "q=claude+opus+blackmail" in first.url and first.method == "GET"  # no credentials: anonymous
    [doc] = items(run_callback(s.parse, response(first.url, json.dumps({"posts": [post]}), "application/json")))
    assert doc["url"] == "https://bsky.app/profile/tester.bsky.social/post/3lpq"
    assert doc["extra"]["handle"] == "@tester.bsky.social" and doc["lang"] == "en"
    s2 = spider("bluesky", url="https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed", actor="tester.bsky.social")
    [doc2] = items(run_callback(s2.parse, response(s2.source["url"], json.dumps({"feed": [{"post": post}]}), "application/json")))
    assert doc2["guid"] == post["uri"]


def test_bluesky_logs_in_with_app_password_from_env(monkeypatch):
    monkeypatch.setenv("BLUESKY_HANDLE", "tester.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "app-pass")
    s = spider("bluesky", url="https://bsky.social/xrpc/app.bsky.feed.searchPosts", query="agent safety")
    login = next(iter(s.entry_requests()))
    assert login.method == "POST" and b"app-pass" in login.body
    [search] = requests(run_callback(s.after_login, response(login.url, '{"accessJwt": "tok"}', "application/json")))
    assert search.headers["Authorization"] == b"Bearer tok"


def test_hn_algolia_hits():
    hits = {"hits": [{"objectID": "44063703", "title": "Anthropic faces backlash to Claude 4 Opus behavior",
                      "url": "https://venturebeat.com/ai/anthropic-faces-backlash", "author": "tester",
                      "created_at": "2025-05-22T20:00:00Z", "points": 12, "num_comments": 4, "story_text": None}],
            "nbPages": 1, "page": 0}
    s = spider("hn", url="https://hn.algolia.com/api/v1/search_by_date", query="claude opus")
    first = next(iter(s.entry_requests()))
    assert "query=claude+opus" in first.url and "tags=story" in first.url
    out = run_callback(s.parse, response(first.url, json.dumps(hits), "application/json", meta={"page": 0}))
    [doc] = items(out)
    assert not requests(out)
    assert doc["url"] == "https://news.ycombinator.com/item?id=44063703"
    assert doc["extra"]["link"].startswith("https://venturebeat.com/") and doc["extra"]["likes"] == 12


def test_reddit_rss():
    atom = f"""<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">
    <title>newest submissions : ControlProblem</title>
    <entry><author><name>/u/tester</name></author><id>t3_1kt0abc</id>
    <link href="https://www.reddit.com/r/ControlProblem/comments/1kt0abc/claude_opus_4/"/>
    <updated>2025-05-23T08:00:00+00:00</updated><published>2025-05-23T08:00:00+00:00</published>
    <title>Claude Opus 4 blackmail tests</title>
    <content type="html">&lt;div&gt;&lt;p&gt;{POST[:300]}&lt;/p&gt;&lt;/div&gt; submitted by &lt;a href="https://www.reddit.com/user/tester"&gt;/u/tester&lt;/a&gt; &lt;br/&gt; &lt;span&gt;&lt;a href="https://techcrunch.com/x"&gt;[link]&lt;/a&gt;&lt;/span&gt;</content>
    </entry></feed>"""
    s = spider("reddit", url="https://www.reddit.com/r/ControlProblem/new/.rss")
    [doc] = items(run_callback(s.parse, response(s.source["url"], atom, "application/atom+xml")))
    assert doc["kind"] == "social" and doc["author"] == "tester" and doc["extra"]["handle"] == "u/tester"
    assert doc["text"].startswith("Claude Opus 4 blackmail tests") and "submitted by" not in doc["text"]
    assert doc["extra"]["link"] == "https://techcrunch.com/x"


def test_lobsters_tag_json():
    stories = [{"short_id": "abc123", "short_id_url": "https://lobste.rs/s/abc123",
                "created_at": "2025-05-23T09:00:00.000-05:00", "title": "Claude Opus 4 system card",
                "url": "https://www.anthropic.com/claude-4-system-card", "score": 9, "comment_count": 3,
                "description": "", "description_plain": "", "submitter_user": "tester", "tags": ["ai"]},
               {"title": "no url"}]
    s = spider("lobsters", url="https://lobste.rs/t/ai.json")
    out = items(run_callback(s.parse, response(s.source["url"], json.dumps(stories), "application/json")))
    assert [o["type"] for o in out] == ["document", "skip"]
    assert out[0]["published"] == "2025-05-23T14:00:00+00:00" and out[0]["extra"]["handle"] == "tester"
