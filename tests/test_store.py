"""pipeline.store.documents.save_item: upserts, versions, relevance cut-off, skips, atomic writes."""
import json

import pytest

from pipeline.store import dedup
from pipeline.store import documents as store
from pipeline.store.documents import save_item, week_and_month
from tests.support.collect import fixture, store_db

SEED = fixture("002_ee4b015b54fba806.txt").decode("utf-8")


def doc(**kw):
    base = {"type": "document", "source": "bot", "url": "https://businessof.tech/2025/05/26/segment/",
            "canonical_url": None, "kind": "podcast", "publisher": "Business of Tech",
            "title": "Anthropic's Claude 4 Opus backlash", "author": "Dave Sobel",
            "published": "2025-05-26T10:00:00+00:00", "text": SEED, "lang": "en", "guid": "bot-1", "extra": {"x": 1}}
    base.update(kw)
    return base


@pytest.fixture
def db(tmp_path):
    return store_db(tmp_path, {"name": "bot", "kind": "feed", "url": "https://businessof.tech/feed/"},
                    {"name": "cooking", "kind": "feed", "url": "https://food.example/feed", "relevance_min": 0.5})


def test_insert_then_unchanged_then_updated(db):
    assert save_item(db, doc()) == "inserted"
    assert save_item(db, doc(url="https://businessof.tech/2025/05/26/segment?utm_source=rss")) == "unchanged"
    assert save_item(db, doc(text=SEED + "\n\nCorrection: the model is Claude Opus 4.")) == "updated"
    [row] = db["documents"].rows
    assert row["canonical_url"] == "https://businessof.tech/2025/05/26/segment"
    assert row["site"] == "businessof.tech" and row["kind"] == "podcast"
    assert row["published_week"] == "2025-W22" and row["published_month"] == "2025-05"
    assert row["word_count"] > 100 and row["relevance"] > 0.5 and row["simhash"]
    assert row["content_hash"] == dedup.content_hash(SEED + "\n\nCorrection: the model is Claude Opus 4.")
    assert json.loads(row["extra"]) == {"x": 1}
    assert db["document_versions"].count == 2
    # FTS triggers keep search in step.
    assert list(db.query("select rowid from documents_fts where documents_fts match 'blackmail'"))


def test_same_guid_new_link_updates_the_same_row(db):
    save_item(db, doc())
    assert save_item(db, doc(url="https://businessof.tech/moved", text=SEED + " Updated.")) == "updated"
    assert db["documents"].count == 1


def test_offtopic_is_counted_not_stored(db):
    cooking = doc(source="cooking", url="https://food.example/soup", title="A winter soup",
                  text="Chop the onions and carrots, simmer with stock for forty minutes, season and serve. " * 20,
                  kind="article", guid="s1")
    assert save_item(db, cooking) == "offtopic"
    assert save_item(db, doc(source="cooking", guid="s2")) == "inserted"  # on-topic passes the source's 0.5
    assert db["documents"].count == 1
    assert save_item(db, cooking, relevance_min=0) == "inserted"  # explicit cut-off wins


def test_bad_items_are_skips_on_the_run_and_the_source(db):
    assert save_item(db, doc(text="   "), run_id=7) == "skipped"
    assert save_item(db, doc(url="javascript:alert(1)"), run_id=7) == "skipped"
    assert save_item(db, doc(kind="tweet"), run_id=7) == "skipped"
    assert save_item(db, {"type": "skip", "source": "bot", "url": "https://x", "reason": "HTTP 500"}, run_id=7) == "skipped"
    assert save_item(db, "not a dict") == "skipped"
    assert db["documents"].count == 0
    skips = list(db.query("select * from skips where run_id = 7 order by id"))
    assert [s["reason"] for s in skips][0] == "document without text" and len(skips) == 4
    src = next(db.query("select * from sources where name = 'bot'"))
    assert src["n_skipped"] == 4 and src["last_error"] == "HTTP 500"


def test_text_is_stored_as_text(db):
    hostile = doc(title="<script>alert(1)</script> Claude", text=SEED + "\x00\x07 <img src=x onerror=alert(1)>")
    save_item(db, hostile)
    [row] = db["documents"].rows
    assert "\x00" not in row["text"] and row["text"].endswith("<img src=x onerror=alert(1)>")
    assert row["title"] == "<script>alert(1)</script> Claude"  # stored verbatim; escaping is the renderer's job


def test_a_failure_mid_write_leaves_no_half_row(db, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(store.dedup, "find_near_duplicates", boom)
    assert save_item(db, doc()) == "skipped"
    assert db["documents"].count == 0 and db["document_versions"].count == 0
    assert "disk on fire" in next(db.query("select reason from skips"))["reason"]


def test_week_and_month():
    assert week_and_month("2025-05-22T16:43:00+00:00") == ("2025-W21", "2025-05")
    assert week_and_month("garbage") == (None, None)
    assert week_and_month(None) == (None, None)


def test_relevance_separates_ai_incidents_from_general_news(shared):
    """On the eval sets: AI incident reports with text score high, ECB+ general news low."""
    from pipeline.store.relevance import relevance_score
    def load(name):
        return [json.loads(line) for line in (shared / "eval" / name).read_text(encoding="utf-8").splitlines()]
    incidents = [d for d in load("aiid-fixtures.jsonl") if len((d["text"] or "").split()) >= 100]
    news = load("ecbplus.jsonl")
    passed = lambda docs: sum(relevance_score(d["title"], d["text"]) >= 0.35 for d in docs) / len(docs)
    assert passed(incidents) >= 0.5 and passed(news) <= 0.05
    assert relevance_score("Introducing Claude 4", "Claude Opus 4 and Claude Sonnet 4 set new standards for coding, "
                           "advanced reasoning, and AI agents.", "blog") >= 0.35
    assert relevance_score("Claude Opus 4 system card", "Pre-deployment evaluations of the model.", "system_card") >= 0.5


def test_a_mirror_source_keeps_the_declared_canonical_url(tmp_path):
    """Snapshots served on loopback (the demo) keep the real addresses their pages declare."""
    import json as _json

    from db.connection import open_db
    from pipeline.store.documents import save_item

    db = open_db(tmp_path / "m.db")
    for name, mirror in (("mirror", True), ("plain", False)):
        db["sources"].insert({"name": name, "kind": "article", "url": "http://127.0.0.1:1/",
                              "config": _json.dumps({"mirror": mirror}), "relevance_min": 0.0})
    text = "Claude Opus 4 tried to blackmail engineers in a safety test of the AI model. " * 5
    for name, path in (("mirror", "a"), ("plain", "b")):
        save_item(db, {"type": "document", "source": name, "url": f"http://127.0.0.1:1/{path}",
                       "canonical_url": f"https://venturebeat.com/ai/{path}", "kind": "article",
                       "title": "Claude", "text": text + path})
    urls = {r["url"]: r["canonical_url"] for r in db["documents"].rows}
    assert urls["http://127.0.0.1:1/a"] == "https://venturebeat.com/ai/a"
    assert urls["http://127.0.0.1:1/b"] == "http://127.0.0.1:1/b"


def test_a_post_linking_an_article_is_a_reaction_not_a_copy(tmp_path):
    """HN/Reddit/lobste.rs posts point at the article they discuss; they must not become its duplicate."""
    from db.connection import open_db
    from pipeline.store.documents import save_item

    db = open_db(tmp_path / "r.db")
    db["sources"].insert({"name": "s", "kind": "hn", "url": "https://hn.algolia.com/", "relevance_min": 0.0})
    article = "Claude Opus 4 tried to blackmail engineers in a safety test of the AI model. " * 5
    save_item(db, {"type": "document", "source": "s", "url": "https://venturebeat.com/ai/x", "kind": "article",
                   "title": "Claude backlash", "text": article})
    save_item(db, {"type": "document", "source": "s", "url": "https://news.ycombinator.com/item?id=1",
                   "kind": "social", "title": "Austin Allred", "text": "HAVE YOU LOST YOUR MINDS? Claude AI",
                   "extra": {"link": "https://venturebeat.com/ai/x"}})
    assert [r["duplicate_of"] for r in db["documents"].rows] == [None, None]


def test_a_storage_failure_is_raised_not_recorded_as_a_skip(tmp_path):
    """Disk full or read-only is no fault of the item: the crawl must stop, not mark the source done."""
    import sqlite3

    import pytest
    import sqlite_utils

    from db.connection import open_db
    from pipeline.store.documents import save_item

    path = tmp_path / "ro.db"
    open_db(path)["sources"].insert({"name": "s", "kind": "article", "url": "https://x/", "relevance_min": 0.0})
    ro = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    item = {"type": "document", "source": "s", "url": "https://x/a", "kind": "article", "title": "Claude",
            "text": "Claude Opus 4 tried to blackmail engineers in a safety test of the AI model. " * 5}
    with pytest.raises(sqlite3.OperationalError):
        save_item(ro, item)
    assert open_db(path)["documents"].count == 0 and open_db(path)["skips"].count == 0


def test_store_default_cut_is_the_config_rule(tmp_path):
    """Without an explicit cut the store applies pipeline.config.relevance_cut to the source row:
    a social source keeps a short post the general cut-off would drop."""
    from pipeline.config import relevance_cut
    db = store_db(tmp_path, {"name": "masto", "kind": "mastodon", "url": "https://m.example/api/v1/timelines/tag/ai"},
                  {"name": "feed", "kind": "feed", "url": "https://f.example/feed"})
    text = ("Lunch on the terrace today with the whole team, sunny and warm, and everyone brought something "
            "to share with the others. The robot vacuum and its sensor clean the kitchen.")
    post = doc(source="masto", url="https://m.example/@t/1", title=None, text=text, kind="social", guid="m1")
    assert save_item(db, post) == "inserted"
    assert save_item(db, dict(post, source="feed", url="https://f.example/1", guid="f1")) == "offtopic"
    [score] = [r["relevance"] for r in db.query("select relevance from documents")]
    assert relevance_cut({"kind": "mastodon"}) < score < relevance_cut({"kind": "feed"})
    assert relevance_cut({"kind": "hn"}, {"social_relevance_min": 0.3}) == 0.3
    assert relevance_cut({"kind": "feed", "relevance_min": 0.0}, {"relevance_min": 0.5}) == 0.0
    assert relevance_cut(None) == 0.35
