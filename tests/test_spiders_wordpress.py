"""wordpress spider on the real /wp-json/wp/v2/posts response in the seed."""
import json

from tests.support.collect import fixture, items, requests, response, run_callback, spider

API = "https://violethoward.com/new/wp-json/wp/v2/posts?per_page=20&page=1"


def test_seed_single_post_with_trailing_comment():
    body = fixture("wp_post_000_8692a8530e1160a9.json")
    assert body.rstrip().endswith(b"-->")  # the real response carries an HTML comment trailer
    s = spider("wordpress", url="https://violethoward.com/new/wp-json/wp/v2/posts", publisher="Violet Howard")
    out = run_callback(s.parse, response(API, body, "application/json"))
    [doc] = items(out)
    assert not requests(out)  # one post < per_page: no next page
    assert doc["url"].startswith("https://violethoward.com/new/anthropic-faces-backlash-to-claude-4-opus")
    assert doc["title"].startswith("Anthropic faces backlash to Claude 4 Opus behavior")
    assert "’" in doc["title"] and "&#8217;" not in doc["title"]
    assert doc["published"] == "2025-05-23T05:34:12+00:00"
    assert "Sam Bowman" in doc["text"] and "<p>" not in doc["text"]
    assert doc["extra"]["wp_id"] == 1728


def test_list_response_pages_until_short_page():
    post = json.loads(fixture("wp_post_000_8692a8530e1160a9.json").split(b"<!--")[0])
    posts = []
    for i in range(3):
        p = dict(post, id=post["id"] + i, link=post["link"] + f"?p={i}")
        posts.append(p)
    s = spider("wordpress", url="https://violethoward.com/new/", per_page=3, search="Claude", max_pages=5)
    first = next(iter(s.entry_requests()))
    assert "/wp-json/wp/v2/posts?" in first.url and "search=Claude" in first.url and "page=1" in first.url
    out = run_callback(s.parse, response(first.url, json.dumps(posts), "application/json",
                                         meta={"page": 1}, headers={"X-WP-TotalPages": "2"}))
    assert len(items(out)) == 3
    [nxt] = requests(out)
    assert "page=2" in nxt.url
    # The same posts again (a server that ignores ?page=) stop the paging.
    out2 = run_callback(s.parse_entry, response(nxt.url, json.dumps(posts), "application/json", meta={"page": 2}))
    assert out2 == []


def test_posts_with_missing_fields_are_skipped_not_fatal():
    s = spider("wordpress", url="https://wp.example/wp-json/wp/v2/posts")
    body = json.dumps([{"id": 1, "title": {"rendered": "no link"}}, {"id": 2, "link": "https://wp.example/2"},
                       "junk", {"id": 3, "link": "https://wp.example/3", "content": {"rendered": "<p>Text</p>"}}])
    out = items(run_callback(s.parse, response(s.source["url"], body, "application/json")))
    kinds = [o["type"] for o in out]
    assert kinds == ["skip", "skip", "skip", "document"]
    assert "no link" in out[0]["reason"] and "no content" in out[1]["reason"]
