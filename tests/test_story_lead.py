"""The first report of a story (issue 19, item 5): the earliest day; a date without its hour
never beats a timestamp; the primary source leads when times tie or are unknown; the original of
a syndicated copy leads the copy. One rule for the stored lead, the read model's order, the brief,
the digest, the story page, the home page and the new_stories query."""
import json

from db.connection import open_db
from pipeline.dates import has_time
from pipeline.ops.serve import make_datasette
from pipeline.publish.brief import build_brief
from pipeline.publish.digest import build_digest
from pipeline.publish.story import read_story
from pipeline.stories.fields import lead_of, refresh_stories, report_order

TEXT = "A report with enough words to be read as an article about the model launch and its safety tests. " * 3


def doc(id, kind="article", published=None, text=TEXT, duplicate_of=None, title="A title", publisher=None):
    return {"id": id, "kind": kind, "published": published, "text": text, "title": title,
            "duplicate_of": duplicate_of, "publisher": publisher}


def lead(docs):
    return lead_of(docs)["id"]


def test_a_stored_date_has_its_hour_unless_it_is_a_bare_day_or_midnight_utc():
    assert has_time("2025-05-22T19:30:00+00:00") and has_time("2025-05-22T00:00:01Z")
    assert has_time("2025-05-22T00:00:00-07:00")        # 07:00 UTC: an hour was given
    assert not has_time("2025-05-22") and not has_time("2025-05-22T00:00:00+00:00")
    assert not has_time(None) and not has_time("") and not has_time("not a date")


def test_a_date_without_its_hour_never_beats_a_timestamp_of_the_same_day():
    docs = [doc(1, published="2025-05-22"), doc(2, published="2025-05-22T19:30:00+00:00")]
    assert lead(docs) == 2
    # Midnight written out in full is a date without its hour too.
    docs = [doc(1, published="2025-05-22T00:00:00+00:00"), doc(2, published="2025-05-22T19:30:00+00:00")]
    assert lead(docs) == 2
    # An earlier day still leads, whatever its precision.
    assert lead([doc(1, published="2025-05-21"), doc(2, published="2025-05-22T01:00:00+00:00")]) == 1


def test_the_primary_source_leads_when_times_tie_or_its_hour_is_unknown():
    card = doc(1, kind="system_card", published="2025-05-22", publisher="Anthropic")
    article = doc(2, published="2025-05-22T19:30:00+00:00", publisher="VentureBeat",
                  text="Anthropic said in its system card that the model may act boldly. " + TEXT)
    assert lead([article, card]) == 1
    # Same instant: the lab's own post before the article quoting it (ids would say otherwise).
    post = dict(doc(2, kind="blog", published="2025-05-22T09:00:00Z", publisher="Anthropic"))
    assert lead([dict(article, id=1, published="2025-05-22T09:00:00Z"), post]) == 2
    # A primary source timed later than an article of the same day does not lead: times are known.
    assert lead([dict(article, id=1, published="2025-05-22T08:00:00Z"),
                 dict(post, published="2025-05-22T10:00:00Z")]) == 1
    # Undated: the primary source, then the original before its copy.
    assert lead([doc(1, publisher="Wire", text="The Lab card says so. " + TEXT),
                 doc(2, kind="system_card", publisher="Lab")]) == 2
    assert lead([doc(1, duplicate_of=2), doc(2)]) == 2


def test_a_blog_post_is_primary_only_when_the_coverage_is_about_its_publisher():
    # A security vendor's blog about another lab's model is reporting: ties fall to the id.
    vendor = doc(2, kind="blog", published="2025-05-22", publisher="Acme Security")
    article = doc(1, published="2025-05-22", publisher="Wire", text="Anthropic released a model. " + TEXT)
    assert lead([article, vendor]) == 1
    # When the coverage names the vendor, its own post is the source.
    named = dict(article, text="Acme Security disclosed the flaw in its blog. " + TEXT)
    assert lead([named, vendor]) == 2


def test_the_original_of_a_syndicated_copy_leads_whatever_the_copy_says():
    original = doc(1, published="2025-05-22", publisher="VentureBeat")
    copy = doc(2, published="2025-05-22T05:34:12+00:00", duplicate_of=1, publisher="Violet Howard")
    assert lead([original, copy]) == 1
    # The reading order is the lead's rule: the copy's timestamp puts it first in time order...
    assert [d["id"] for d in report_order([original, copy])] == [2, 1]
    # ...but a copy whose original is elsewhere is an ordinary document.
    assert lead([copy, doc(3, published="2025-05-23T01:00:00Z")]) == 2


def launch_db(path):
    """A launch story as the demo has it: every document dated by the day only, the article first by id."""
    db = open_db(path)
    rows = [
        ("https://news.example/anthropic-backlash", "article", "VentureBeat", "Anthropic faces backlash",
         "Anthropic said in the Claude Opus 4 system card that the model may contact authorities. " + TEXT, None),
        ("https://lab.example/news/claude-4", "blog", "Anthropic", "Introducing Claude 4", TEXT, None),
        ("https://lab.example/cards/claude-opus-4.pdf", "system_card", "Anthropic", "Claude Opus 4 system card",
         "The system card of the model describes its safety evaluations in detail. " + TEXT, None),
        ("https://mirror.example/anthropic-backlash", "article", "Mirror", "Anthropic faces backlash",
         "Anthropic said in the Claude Opus 4 system card that the model may contact authorities. " + TEXT, 1),
    ]
    for k, (url, kind, publisher, title, text, dup) in enumerate(rows):
        published = "2025-05-22T06:00:00+00:00" if dup else "2025-05-22T00:00:00+00:00"
        db["documents"].insert({"url": url, "canonical_url": url, "kind": kind, "publisher": publisher,
                                "title": title, "text": text, "published": published, "published_week": "2025-W21",
                                "story_id": "s-launch", "duplicate_of": dup, "extra": json.dumps({})})
    refresh_stories(db, {"s-launch"}, vec_of={})
    return db


async def test_every_reader_names_the_primary_source_as_the_first_report(tmp_path):
    db = launch_db(tmp_path / "launch.db")
    stored = db.execute("select lead_document_id from stories where id = 's-launch'").fetchone()[0]
    # the system card or the launch post (equal in date and kind of source), not the article
    card = db.execute("select id from documents where id = ? and publisher = 'Anthropic'", [stored]).fetchone()[0]
    model = read_story(db.conn, "s-launch")
    assert model["lead"]["id"] == card and model["documents"][0]["id"] == card
    assert "https://mirror.example/anthropic-backlash" not in [d["url"] for d in model["documents"]]
    brief = build_brief(db, "s-launch")
    assert brief["first_report"]["document_id"] == card and brief["first_report"]["outlet"] == "Anthropic"
    assert brief["sources"][0]["document_id"] == card
    section = next(s for s in build_digest(db, "2025-W21")["stories"] if s["id"] == "s-launch")
    assert section["first"]["document_id"] == card
    ds = make_datasette(tmp_path / "launch.db")
    await ds.invoke_startup()
    home = (await ds.client.get("/")).text
    assert "first reported by Anthropic" in home and "first reported by VentureBeat" not in home
    found = (await ds.client.get("/incidentwire/new_stories.json?_shape=objects")).json()["rows"]
    assert [r["first_reported_by"] for r in found if r["story_id"] == "s-launch"] == ["Anthropic"]
