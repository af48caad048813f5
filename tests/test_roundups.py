"""Roundups (issue 19, item 6): a page that covers several events is linked to each story it
covers and counted in none. A small store of real articles (ECB+ news, the Lion Air AIID reports,
the VentureBeat article and the Business of Tech segment) goes through the real `process`; the
roundup is made of the opening sentences of three held-out ECB+ articles of three stories."""
import collections
import json
import pathlib

import pytest

from db.connection import open_db
from pipeline.enrich.sentences import sentence_spans
from pipeline.ops.serve import make_datasette
from pipeline.publish.brief import build_brief
from pipeline.publish.digest import week_story_ids
from pipeline.publish.render import render_brief_markdown
from pipeline.publish.story import read_story
from pipeline.run import process_documents
from pipeline.stories.roundups import sections
from tests.support.briefs import FIXTURES, doc_row, fixture_text

EVAL = pathlib.Path(__file__).resolve().parent / "fixtures" / "shared" / "eval"
HOSTILE = "<script>alert(1)</script> notes"
PUBLISHED = "2025-06-04T09:00:00+00:00"


def opening(text, n=3):
    spans = sentence_spans(text)[:n]
    return text[spans[0][0]:spans[-1][1]]


def ecb_stories(n=3, per=5):
    """n ECB+ stories (the first in file order with enough text), each with `per` articles."""
    by = collections.defaultdict(list)
    for line in (EVAL / "ecbplus.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if len((r["text"] or "").split()) >= 60 and r["url"]:
            by[r["story_id"]].append(r)
    picked, topics = [], set()
    for s, rs in by.items():
        if len(rs) >= per and rs[0]["topic_id"] not in topics and len(picked) < n:   # no look-alike pair
            picked.append(s)
            topics.add(rs[0]["topic_id"])
    return {s: by[s][:per] for s in picked}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("roundups") / "store.db"
    db = open_db(str(path))
    gold, lent = {}, []
    for sid, rs in ecb_stories().items():
        lent.append(rs[0])     # held out: its opening is one section of the roundup
        for r in rs[1:]:
            gold[db["documents"].insert(doc_row(r["url"], "article", r["source"], r["title"], PUBLISHED,
                                                r["text"], None)).last_pk] = sid
    singles = {
        "venturebeat": doc_row("https://venturebeat.test/claude-4-opus", "article", "VentureBeat",
                               "Anthropic faces backlash to Claude 4 Opus behavior", "2025-05-22T21:30:00+00:00",
                               fixture_text("venturebeat_claude4_opus_backlash.txt"), None),
        "businessoftech": doc_row("https://businessoftech.test/claude-4-opus", "podcast", "Business of Tech",
                                  "Anthropic is facing significant backlash", "2025-05-26T12:00:00+00:00",
                                  fixture_text("businessoftech_claude4_opus.txt"), None)}
    ids = {k: db["documents"].insert(v).last_pk for k, v in singles.items()}
    for line in (FIXTURES / "aiid_lion_air_2018w45.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        db["documents"].insert(doc_row(r["url"], "article", r["source"], r["title"], r["published"] + "T00:00:00+00:00",
                                       r["text"], None))
    body = "\n\n".join(f"{r['title']}\n{opening(r['text'])}" for r in lent)
    ids["roundup"] = db["documents"].insert(doc_row("https://notes.test/2025/06/05/notes", "article", "Notes Weekly",
                                                    HOSTILE, "2025-06-05T08:00:00+00:00", body, None)).last_pk
    ids["titled"] = db["documents"].insert(doc_row("https://notes.test/this-week", "article", "Notes Weekly",
                                                   "This week in AI: what we read", "2025-06-06T08:00:00+00:00",
                                                   "Short note without sections.", None)).last_pk
    counts = process_documents(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"db": db, "path": path, "ids": ids, "gold": gold, "counts": counts}


def check_of(db, doc_id):
    return db.execute("select roundup, why, story_id from roundup_checks where document_id = ?", [doc_id]).fetchone()


def test_sections_split_on_blank_lines_list_items_and_headings():
    text = ("Heading one\nA first section that runs on for long enough to be worth matching against stories.\n\n"
            "- A list item that also runs on for long enough to be worth matching against the stories.\n"
            "- Too short.\n## Second heading\nAnother block that runs on for long enough to be matched here too.")
    found = sections(text)
    assert len(found) == 3
    assert found[0].startswith("Heading one\nA first section")
    assert found[2].startswith("- Too short.\n## Second heading\nAnother block")


def test_a_page_of_openings_of_three_stories_is_a_roundup_linked_to_each(store):
    db, ids, gold = store["db"], store["ids"], store["gold"]
    roundup, why, own = check_of(db, ids["roundup"])
    assert (roundup, why) == (1, "sections")
    linked = [r["story_id"] for r in db.query("select story_id from roundup_links where document_id = ?", [ids["roundup"]])]
    labels = {sid: collections.Counter(gold.get(r["id"]) for r in db.query(
        "select id from documents where story_id = ?", [sid])).most_common(1)[0][0] for sid in linked}
    assert sorted(labels.values()) == sorted(set(gold.values()))   # each story it covers, once
    assert own not in linked
    assert store["counts"]["roundups"] >= 1


def test_single_event_articles_are_not_roundups(store):
    db, ids = store["db"], store["ids"]
    for key in ("venturebeat", "businessoftech"):
        assert check_of(db, ids[key])[:2] == (0, None), key
    found = {r["document_id"] for r in db.query("select document_id from roundup_checks where roundup = 1")}
    assert found == {ids["roundup"], ids["titled"]}   # no ECB+ or Lion Air report either


def test_a_roundup_title_is_enough(store):
    assert check_of(store["db"], store["ids"]["titled"])[:2] == (1, "title")


def test_a_roundup_counts_in_no_story_and_no_digest(store):
    db, ids = store["db"], store["ids"]
    own = check_of(db, ids["roundup"])[2]
    assert db.execute("select count(*) from stories where id = ?", [own]).fetchone()[0] == 0
    # the stories it covers count their own documents only
    for sid in {r["story_id"] for r in db.query("select story_id from roundup_links")}:
        n = db.execute("select count(*) from documents where story_id = ?", [sid]).fetchone()[0]
        assert db.execute("select n_documents from stories where id = ?", [sid]).fetchone()[0] == n
    week = week_story_ids(db, "2025-W23")
    assert own not in week and check_of(db, ids["titled"])[2] not in week
    assert set(r["story_id"] for r in db.query("select story_id from roundup_links")) <= set(week)


async def test_story_page_and_brief_show_also_covered_in_escaped(store):
    db, ids = store["db"], store["ids"]
    sid = next(db.query("select story_id from roundup_links where document_id = ?", [ids["roundup"]]))["story_id"]
    model = read_story(db, sid)
    assert [r["document_id"] for r in model["also_covered_in"]] == [ids["roundup"]]
    assert model["also_covered_in"][0]["outlet"] == "Notes Weekly"
    ds = make_datasette(store["path"])
    await ds.invoke_startup()
    page = (await ds.client.get(f"/stories/{sid}")).text
    assert "Also covered in" in page and "Notes Weekly" in page and "2025-06-05" in page
    assert "https://notes.test/2025/06/05/notes" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    new = (await ds.client.get("/incidentwire/new_stories.json?_shape=array")).json()
    own = check_of(db, ids["roundup"])[2]
    assert own not in {r["story_id"] for r in new} and sid in {r["story_id"] for r in new}
    # Its own story id is no story: a link to it leads to the roundup's document page, not a 404.
    gone = await ds.client.get(f"/stories/{own}")
    assert gone.status_code == 302 and gone.headers["location"] == f"/incidentwire/documents/{ids['roundup']}"
    assert (await ds.client.get("/stories/s-0000000000")).status_code == 404
    brief = render_brief_markdown(build_brief(db, sid))
    assert "## Also covered in" in brief and "Notes Weekly (2025-06-05)" in brief


def test_an_undated_roundup_is_read_against_every_story_from_their_kept_sums(store, tmp_path):
    """An undated page may cover stories of any time, so it meets every live story: from the sums
    `process` keeps (memory stays flat as the store grows), each story the same centroid as its
    members give, and the page is still linked to each story it covers."""
    import numpy as np
    from pipeline.stories.embed import DEFAULT_MODEL, content_key, vectors_for
    from pipeline.stories.roundups import story_centroids
    db = open_db(str(tmp_path / "copy.db"))
    store["db"].conn.backup(db.conn)
    ids, gold = store["ids"], store["gold"]
    body = "\n\n".join(f"{rs[1]['title']}\n{opening(rs[1]['text'], 2)}" for rs in ecb_stories().values())
    row = doc_row("https://notes.test/notes-again", "article", "Notes Daily", "Notes from around the web",
                  PUBLISHED, body, None)
    new = db["documents"].insert({**row, "published": None, "published_week": None, "published_month": None}).last_pk
    process_documents(db)
    assert check_of(db, new)[:2] == (1, "sections")
    linked = [r["story_id"] for r in db.query("select story_id from roundup_links where document_id = ?", [new])]
    assert len(linked) == 3 and {gold.get(r["id"]) for s in linked
                                 for r in db.query("select id from documents where story_id = ?", [s])} >= set(gold.values())
    # The centroids it was read against: every live story's, as its members give them.
    row = db["documents"].get(ids["venturebeat"])
    page = {**{k: row[k] for k in ("id", "story_id", "title", "text", "content_hash")}, "published": None}
    statements = []
    db.conn.set_trace_callback(statements.append)
    cents = story_centroids(db, page, DEFAULT_MODEL)
    db.conn.set_trace_callback(None)
    assert not [q for q in statements if "d.text" in q]  # no member's text read
    live = [r[0] for r in db.execute("select id from stories where merged_into is null")]
    assert set(cents) <= set(live) and len(cents) >= len(live) - 1
    for sid, c in cents.items():
        members = [d for d in db.query("select * from documents where story_id = ? and id != ?", [sid, page["id"]])]
        vecs = vectors_for(db, [content_key(d) for d in members], DEFAULT_MODEL)
        mean = np.sum(list(vecs.values()), axis=0)
        assert float(c @ (mean / np.linalg.norm(mean))) > 0.999, sid
