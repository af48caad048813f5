"""Quotes, speakers, numbers and reactions from real seed texts (tests/fixtures/briefs/NOTE.md)."""
import json

import pytest

from pipeline import enrich
from tests.support.briefs import BOWMAN_POST, CLAUDE_STORY, FIXTURES, build_db, fixture_text


@pytest.fixture(scope="module")
def vb():
    return fixture_text("venturebeat_claude4_opus_backlash.txt")


@pytest.fixture(scope="module")
def vb_quotes(vb):
    return enrich.extract_quotes(vb)


def by_start(quotes, start):
    found = [q for q in quotes if q["text"].startswith(start)]
    assert found, f"no quote starting {start!r}"
    return found[0]


def test_every_quote_is_verbatim_at_its_position(vb, vb_quotes):
    assert len(vb_quotes) >= 10
    for q in vb_quotes:
        assert vb[q["position"]:q["position"] + len(q["text"])] == q["text"]


@pytest.mark.parametrize("start,speaker", [
    ("If it thinks you’re doing something egregiously immoral", "Sam Bowman"),        # As X, a researcher wrote ...:
    ("This shows up as more actively helpful behavior", "Anthropic"),                  # as Anthropic writes in ...:
    ("Why would people use these tools", "@Teknium1"),                                 # "..." asked user @Teknium1, ...
    ("What kind of surveillance state", "@Teknium1"),                                  # second quote, same speaker
    ("Why would anyone want one built in", "@ScottDavidKeefe"),                        # added developer @X on X: "..."
    ("Honest question for the Anthropic team", "Austin Allred"),                       # X ... put his feelings in all caps:
    ("this is, actually, just straight up illegal", "Ben Hyak"),
    ("An AI Alignment researcher at Anthropic just said", "Ben Hyak"),                 # ..., adding in another post:
    ("Some of the statements from Claude’s safety people", "Casper Hansen"),            # "...," wrote ... Casper Hansen
    ("With this kind of (unusual but not super exotic) prompting style", "Sam Bowman"),  # Bowman later edited ...:
    ("I deleted the earlier tweet on whistleblowing", "Sam Bowman"),                   # Bowman added: (surname resolved)
])
def test_speakers(vb_quotes, start, speaker):
    assert by_start(vb_quotes, start)["speaker"] == speaker


def test_roles_where_known(vb_quotes):
    assert by_start(vb_quotes, "If it thinks")["role"] == "an Anthropic AI alignment researcher"
    assert "Nous Research" in by_start(vb_quotes, "Why would people")["role"]
    assert by_start(vb_quotes, "Why would anyone")["role"] == "developer"
    assert "Gauntlet AI" in by_start(vb_quotes, "Honest question")["role"]
    # a later "Bowman added:" keeps the role given at first mention
    assert by_start(vb_quotes, "I deleted")["role"] == "an Anthropic AI alignment researcher"


def test_quote_spanning_paragraphs_and_mismatched_marks(vb_quotes):
    q = by_start(vb_quotes, "I deleted the earlier tweet")
    assert "\nTBC: This isn’t a new Claude feature" in q["text"]
    assert q["text"].endswith("very unusual instructions.")
    # closed with a left mark (“) in the source, nested “take initiative, ” inside
    assert by_start(vb_quotes, "If it thinks")["text"].endswith("or all of the above.")
    assert "“take initiative, ”" in by_start(vb_quotes, "This shows up")["text"]


def test_scare_quotes_and_handles_are_not_quotes(vb_quotes):
    texts = {q["text"] for q in vb_quotes}
    for scare in ("ratting", "feature", "@sleepinyourhat", "readily", "it", "Constitutional AI",
                  "whistleblowing", "egregiously immoral", "something egregiously immoral."):
        assert scare not in texts
    assert all(enrich.word_count(q["text"]) >= 3 for q in vb_quotes)


def test_unknown_speaker_is_unattributed_not_guessed():
    row = json.loads((FIXTURES / "ecbplus_1_10ecb.jsonl").read_text().splitlines()[0])
    quotes = enrich.extract_quotes(row["text"])
    q = by_start(quotes, "We appreciate your respect")      # straight quotes, speaker only described
    assert q["speaker"] is None and q["text"] in row["text"]
    assert not any(q["text"] == "American Pie" for q in quotes)
    # and a quote with no attribution anywhere near it
    text = "The memo ended abruptly. “Nothing in this deployment can send email without review.” Then it stopped."
    assert enrich.extract_quotes(text)[0]["speaker"] is None


def test_social_post_is_a_quote_by_its_author():
    doc = {"kind": "social", "text": BOWMAN_POST, "publisher": "X",
           "extra": json.dumps({"handle": "sleepinyourhat", "display_name": "Sam Bowman"})}
    [q] = enrich.document_quotes(doc)
    assert q == {"speaker": "Sam Bowman", "role": "@sleepinyourhat on X", "text": BOWMAN_POST, "position": 0}


def test_numbers_are_on_story_and_verbatim():
    bot = fixture_text("businessoftech_claude4_opus.txt")
    nums = enrich.extract_numbers(bot, {"claude", "opus", "blackmail", "engineers"})
    values = [n["value"] for n in nums]
    assert "84%" in values
    for boilerplate in ("$12/month", "$149/month", "$500/month", "$12"):
        assert boilerplate not in values
    for n in nums:
        assert n["sentence"] in bot and n["value"] in n["sentence"]
    # model names, times and years are not numbers to say aloud
    vb = fixture_text("venturebeat_claude4_opus_backlash.txt")
    assert not [n for n in enrich.extract_numbers(vb) if n["value"] in ("4", "12", "43", "22")]


def test_reaction_lexicon():
    assert enrich.reaction_stance("this is, actually, just straight up illegal") == "against"
    assert enrich.reaction_stance("Good on Anthropic for being transparent about this") == "for"
    assert enrich.reaction_stance("Claude Opus 4 shipped today") == "mixed"


def test_enrich_stories_is_idempotent(tmp_path):
    db = build_db(tmp_path / "t.db")
    first = enrich.enrich_stories(db)
    assert first["quotes_added"] > 10
    rows = list(db.query("select * from quotes order by id"))
    second = enrich.enrich_stories(db)
    assert second["quotes_added"] == second["quotes_updated"] == second["quotes_removed"] == 0
    assert list(db.query("select * from quotes order by id")) == rows
    texts = {r["id"]: r["text"] for r in db.query("select id, text from documents")}
    for q in rows:
        assert q["text"] in texts[q["document_id"]]
        assert q["story_id"] is not None
    bowman = [q for q in rows if q["speaker"] == "Sam Bowman" and q["story_id"] == CLAUDE_STORY]
    assert len(bowman) >= 3      # two in the article, one social post


def test_partial_quote_after_said_clause():
    # AIID Lion Air reports: 'The FAA said the problem “could cause the flight crew ...”'
    rows = [json.loads(line) for line in (FIXTURES / "aiid_lion_air_2018w45.jsonl").read_text().splitlines()]
    found = {}
    for r in rows:
        for q in enrich.extract_quotes(r["text"]):
            assert q["text"] in r["text"]
            found[q["text"][:30]] = q["speaker"]
    assert found["could cause the flight crew to"] == "FAA"
    assert found["address possible erroneous ang"] == "FAA"


def test_enrich_is_incremental_and_follows_changes(tmp_path):
    db = build_db(tmp_path / "t.db")
    enrich.enrich_stories(db)
    assert enrich.enrich_stories(db)["quotes_documents"] == 0       # nothing changed, nothing read
    vb_id = db.execute("select id from documents where publisher = 'VentureBeat'").fetchone()[0]
    before = db.execute("select count(*) from quotes where document_id = ?", [vb_id]).fetchone()[0]
    text = db["documents"].get(vb_id)["text"]
    cut = text[:text.index("Austin Allred")]          # the page lost its second half
    db["documents"].update(vb_id, {"text": cut, "content_hash": "changed"})
    counts = enrich.enrich_stories(db)
    assert counts["quotes_documents"] == 1 and counts["quotes_removed"] > 0
    after = db.execute("select count(*) from quotes where document_id = ?", [vb_id]).fetchone()[0]
    assert after == before - counts["quotes_removed"]
    for (q,) in db.execute("select text from quotes where document_id = ?", [vb_id]).fetchall():
        assert q in cut
    # a syndicated copy's quotes go; the original keeps them
    db["documents"].update(vb_id, {"duplicate_of": 1})
    enrich.enrich_stories(db)
    assert db.execute("select count(*) from quotes where document_id = ?", [vb_id]).fetchone()[0] == 0


def test_stories_with_two_sources_get_a_stored_summary_kept_in_the_search_index(tmp_path):
    """Issue 20, point 11: stories.summary is written by enrich, for stories with two or more sources."""
    from pipeline.enrich.story_summary import lead_excerpt
    from tests.support.briefs import CLAUDE_STORY, LION_AIR_STORY, build_db

    db = build_db(tmp_path / "t.db")
    db["stories"].insert({"id": "s-one", "headline": "One source only"})
    db["documents"].insert({"url": "https://example.org/one", "kind": "article", "publisher": "Solo",
                            "title": "One source only", "text": "A single report of a thing that happened here.",
                            "story_id": "s-one"})
    enrich.enrich_stories(db)
    summaries = {r["id"]: r["summary"] for r in db.query("select id, summary from stories")}
    texts = "\n".join(r["text"] for r in db.query("select text from documents"))
    for sid in (CLAUDE_STORY, LION_AIR_STORY):
        assert summaries[sid] and 40 <= len(summaries[sid].split()) <= 90, summaries[sid]
        for sentence in enrich.sentences(summaries[sid]):
            assert sentence in texts
    assert summaries["s-one"] is None
    hits = [r["id"] for r in db.query("select s.id from stories_fts join stories s on s.rowid = stories_fts.rowid "
                                      "where stories_fts match 'sensor'")]
    assert LION_AIR_STORY in hits      # found by a word of its summary, not of its headline
    assert lead_excerpt({"title": "T", "text": "T " + "word " * 80}).endswith(" …")


def test_a_sentence_that_starts_mid_sentence_is_never_summary_or_cold_open():
    """A PDF's line break splits a sentence; its tail ('prompt like … bold action.') reads as nonsense alone."""
    from pipeline.enrich.summarise import candidate_sentences
    text = ("When placed in scenarios that involve egregious wrongdoing by its users and told something in the system\n\n"
            "prompt like take initiative, it will frequently take very bold action against the people using it. "
            "The model locked users out of systems it had access to and emailed regulators about the wrongdoing.")
    sents = [c["text"] for c in candidate_sentences([{"id": 1, "text": text, "publisher": "Lab"}])]
    assert sents and all(not s.lstrip()[:1].islower() for s in sents)
