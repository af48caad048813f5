"""Near-duplicates: the WordPress republished copy (seed 000) links to the VentureBeat original."""
import json

from pipeline.store import dedup
from pipeline.store.documents import save_item
from spiders.extract import html_to_text
from tests.support.collect import fixture, items, response, run_callback, spider, store_db

VB_URL = ("https://venturebeat.com/ai/anthropic-faces-backlash-to-claude-4-opus-behavior-that-contacts-"
          "authorities-press-if-it-thinks-youre-doing-something-egregiously-immoral/")


def wp_copy():
    s = spider("wordpress", name="violet", url="https://violethoward.com/new/wp-json/wp/v2/posts", publisher="VentureBeat")
    [doc] = items(run_callback(s.parse, response("https://violethoward.com/new/wp-json/wp/v2/posts",
                                                 fixture("wp_post_000_8692a8530e1160a9.json"), "application/json")))
    return doc


def vb_original(published="2025-05-22T21:10:00+00:00"):
    """The original article: the same text without the republisher's wrapper lines (test date)."""
    post = json.loads(fixture("wp_post_000_8692a8530e1160a9.json").split(b"<!-- This website")[0])
    paras = html_to_text(post["content"]["rendered"]).split("\n\n")
    text = "\n\n".join(p for p in paras if not p.startswith(("Join our daily", "Source link")))
    return {"type": "document", "source": "venturebeat", "url": VB_URL + "?utm_source=feed", "canonical_url": None,
            "kind": "article", "publisher": "VentureBeat", "title": html_to_text(post["title"]["rendered"]),
            "author": "Carl Franzen", "published": published, "text": text, "lang": "en", "guid": VB_URL, "extra": {}}


def db_for(tmp_path):
    return store_db(tmp_path, {"name": "violet", "kind": "wordpress", "url": "https://violethoward.com/new/"},
                    {"name": "venturebeat", "kind": "feed", "url": "https://venturebeat.com/feed/"},
                    {"name": "social", "kind": "mastodon", "url": "https://mastodon.example/api/v1/timelines/tag/ai"})


def test_simhash_close_for_copies_far_for_others():
    copy, orig = wp_copy()["text"], vb_original()["text"]
    other = fixture("002_ee4b015b54fba806.txt").decode()
    assert dedup.hamming(dedup.simhash(copy), dedup.simhash(orig)) <= dedup.SIMHASH_CANDIDATE_BITS
    assert dedup.is_near_duplicate(copy, orig)
    assert not dedup.is_near_duplicate(copy, other)


def test_copy_first_then_earlier_original_takes_over(tmp_path):
    db = db_for(tmp_path)
    assert save_item(db, wp_copy(), relevance_min=0) == "inserted"
    assert save_item(db, vb_original(), relevance_min=0) == "inserted"
    rows = {r["site"]: r for r in db["documents"].rows}
    assert rows["venturebeat.com"]["duplicate_of"] is None
    assert rows["violethoward.com"]["duplicate_of"] == rows["venturebeat.com"]["id"]
    assert rows["venturebeat.com"]["canonical_url"] == VB_URL.rstrip("/")


def test_same_date_tie_goes_to_the_outlets_own_host(tmp_path):
    db = db_for(tmp_path)
    copy = wp_copy()
    save_item(db, copy, relevance_min=0)
    save_item(db, vb_original(published=copy["published"]), relevance_min=0)
    rows = {r["site"]: r for r in db["documents"].rows}
    assert rows["violethoward.com"]["duplicate_of"] == rows["venturebeat.com"]["id"]


def test_later_copy_links_to_existing_original_and_unrelated_posts_stay_apart(tmp_path):
    db = db_for(tmp_path)
    save_item(db, vb_original(), relevance_min=0)
    save_item(db, wp_copy(), relevance_min=0)
    quote = {"type": "document", "source": "social", "url": "https://mastodon.example/@t/1", "kind": "social",
             "title": "t", "text": "If it thinks you're doing something egregiously immoral, for example, like faking "
             "data in a pharmaceutical trial, it will use command-line tools to contact the press.", "extra": {}}
    assert save_item(db, quote, relevance_min=0) == "inserted"
    rows = {r["site"]: r for r in db["documents"].rows}
    assert rows["violethoward.com"]["duplicate_of"] == rows["venturebeat.com"]["id"]
    assert rows["mastodon.example"]["duplicate_of"] is None


def test_exact_copy_under_another_url_is_kept_and_linked(tmp_path):
    db = db_for(tmp_path)
    a = vb_original()
    b = dict(a, url="https://mirror.example/copy", guid="m1", published=None, source="violet")
    save_item(db, a, relevance_min=0)
    assert save_item(db, b, relevance_min=0) == "inserted"
    docs = list(db.query("select id, duplicate_of, content_hash from documents order by id"))
    assert docs[0]["content_hash"] == docs[1]["content_hash"] and docs[1]["duplicate_of"] == docs[0]["id"]


def test_cross_site_canonical_marks_a_syndicated_copy(tmp_path):
    db = db_for(tmp_path)
    save_item(db, vb_original(), relevance_min=0)
    copy = dict(wp_copy(), canonical_url=VB_URL)
    assert save_item(db, copy, relevance_min=0) == "inserted"  # its own row, not an overwrite of the original
    row = next(db.query("select * from documents where site = 'violethoward.com'"))
    assert json.loads(row["extra"])["original_url"] == VB_URL and row["duplicate_of"] == 1


def test_a_list_of_texts_links_copies_to_the_first_original():
    body = " ".join(f"Sentence {k} of the original report says something specific about the agent." for k in range(12))
    texts = [body, "An unrelated note about the weather this week, nothing more to it.",
             "Republished with permission. " + body, body.upper(), body + " Copyright the republisher.", ""]
    assert dedup.duplicate_originals(texts) == [None, None, 0, 0, 0, None]
    # Short texts are only ever exact copies; two different short posts stay apart.
    assert dedup.duplicate_originals(["Wow.", "wow.", "Incredible."]) == [None, 0, None]
