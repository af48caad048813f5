"""Weekly MSP digest: content, truthfulness, email-safe HTML, Atom feed, DB row, idempotence."""
import json
import re

import feedparser
import pytest

from pipeline import enrich
from pipeline.publish.digest import DigestError, build_digest, write_digest
from tests.support.briefs import CLAUDE_STORY, build_db, doc_row


@pytest.fixture()
def db(tmp_path):
    db = build_db(tmp_path / "t.db")
    enrich.enrich_stories(db)   # quotes are read from the quotes table, as after `incidentwire process`
    return db


def test_digest_story_section(db, tmp_path):
    out = tmp_path / "digests"
    result = write_digest(db, "2025-W21", out_dir=str(out))
    assert result["week"] == "2025-W21" and result["n_stories"] == 1
    md = (out / "digest-2025-W21.md").read_text()
    assert md.startswith("# incidentwire 2025-W21: ")
    assert "First reported by **VentureBeat** (2025-05-22)" in md
    assert "## This week" in md and "**More:** Business of Tech" in md and "**Reactions:** Sam Bowman" in md
    assert "Why it matters for MSPs" in md and "generated guidance" in md
    assert "Claude Opus 4" in md.split("Why it matters for MSPs")[1]
    assert f"http://127.0.0.1:8001/stories/{CLAUDE_STORY}/brief" in md
    assert "**Tags:** whistleblowing-reporting" in md
    # the quote is verbatim, with speaker and outlet
    assert "“If it thinks you’re doing something egregiously immoral" in md
    assert "— Sam Bowman, an Anthropic AI alignment researcher (via VentureBeat)" in md


def test_summary_is_extractive_60_to_80_words_from_several_outlets(db):
    d = build_digest(db, "2025-W22")
    s = d["stories"][0]
    assert 60 <= s["summary_words"] <= 80, s["summary"]
    assert len(s["summary_outlets"]) >= 2
    texts = "\n".join(r["text"] for r in db.query("select text from documents"))
    for sentence in enrich.sentences(s["summary"]):
        assert sentence in texts
    assert s["quote"]["text"] in texts


def test_ranking_and_also_noted(db, tmp_path):
    # put a second, smaller story in the same week: it ranks below and shows under "Also noted"
    db["documents"].insert(doc_row("https://example.org/lion", "article", "Example Wire", "A later note on the crash",
                                   "2025-05-23T09:00:00+00:00", "Investigators published a short note on the crash.",
                                   "s-lion-air-737-max"))
    d = build_digest(db, "2025-W21", top=1)
    assert [s["id"] for s in d["stories"]] == [CLAUDE_STORY]
    assert [s["id"] for s in d["also"]] == ["s-lion-air-737-max"]
    assert d["stories"][0]["score"] > d["also"][0]["score"]
    assert d["subject"].count(";") == 1     # one teaser per story, up to three


def test_email_safe_html(db, tmp_path):
    write_digest(db, "2025-W21", out_dir=str(tmp_path))
    html = (tmp_path / "digest-2025-W21.html").read_text()
    assert "<link" not in html and "<style" not in html and "<script" not in html
    assert "@import" not in html and 'src="http' not in html
    assert 'style="' in html and "<table" in html and 'role="presentation"' in html
    assert "Why it matters for MSPs" in html and "Generated guidance" in html


def test_hostile_text_is_escaped(db, tmp_path):
    db["documents"].insert(doc_row("https://mastodon.example/@x/1", "social", "Mastodon", "post",
                                   "2025-05-22T18:00:00+00:00",
                                   "<script>alert('x')</script> this is, actually, just straight up illegal <img src=x onerror=alert(1)>",
                                   CLAUDE_STORY, extra={"handle": "x", "display_name": "<b>X</b>"}))
    enrich.enrich_stories(db)   # the post becomes a quote, so it reaches the digest as a reaction
    write_digest(db, "2025-W21", out_dir=str(tmp_path))
    html = (tmp_path / "digest-2025-W21.html").read_text()
    md = (tmp_path / "digest-2025-W21.md").read_text()
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "<script" not in md and "&lt;script&gt;" in md


def test_idempotent_row_files_and_feed(db, tmp_path):
    first = write_digest(db, "2025-W21", out_dir=str(tmp_path))
    row = db["digests"].get("2025-W21")
    files = {p: open(p).read() for p in first["paths"].values()}
    second = write_digest(db, "2025-W21", out_dir=str(tmp_path))
    assert second["changed"] is False
    assert db["digests"].get("2025-W21") == row
    assert {p: open(p).read() for p in second["paths"].values()} == files
    write_digest(db, "2018-W45", out_dir=str(tmp_path))
    feed = feedparser.parse((tmp_path / "feed.atom").read_text())
    assert [e.title.split(":")[0] for e in feed.entries] == ["incidentwire 2018-W45", "incidentwire 2025-W21"]
    assert db["digests"].count == 2 and row["n_stories"] == 1 and row["markdown"] == files[first["paths"]["markdown"]]


def test_empty_week_is_short_and_honest(db, tmp_path):
    result = write_digest(db, "2024-W01", out_dir=str(tmp_path))
    assert result["n_stories"] == 0
    md = (tmp_path / "digest-2024-W01.md").read_text()
    assert "No agent-safety stories were collected for 2024-W01" in md
    assert len(md.split()) < 120
    assert db["digests"].get("2024-W01")["n_stories"] == 0


def test_bad_week_is_a_one_line_error(db, tmp_path):
    for bad in ("2025-22", "2025-W54", "last week"):
        with pytest.raises(DigestError) as e:
            write_digest(db, bad, out_dir=str(tmp_path))
        assert bad in str(e.value) and "\n" not in str(e.value)


def test_catalog_url_configurable(db, tmp_path):
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path), base_url="https://news.example.net")
    md = open(result["paths"]["markdown"]).read()
    assert f"https://news.example.net/stories/{CLAUDE_STORY}/brief" in md
    assert "127.0.0.1" not in md


def test_demo_digests_are_truthful(demo_db):
    from db.connection import open_db
    db = open_db(demo_db)
    texts = "\n".join(r["text"] or "" for r in db.query("select text from documents"))
    weeks = [r["week"] for r in db.query("select week from digests order by week")]
    assert weeks
    for week in weeks:
        d = build_digest(db, week)
        for s in d["stories"]:
            if s["quote"]:
                assert s["quote"]["text"] in texts
            for sentence in enrich.sentences(s["summary"]):
                assert sentence in texts


def test_demo_actions_fit_stories_outside_the_msp_areas(demo_db):
    """A car crash or a biased model gets actions for what happened, not advice to read a system card."""
    from db.connection import open_db
    db = open_db(demo_db)
    outside = []
    for week in [r["week"] for r in db.query("select week from digests order by week")]:
        for s in build_digest(db, week)["stories"]:
            if not s["areas"]:
                outside.append(s)
                assert len(s["actions"]) == 3
                assert not any("system card" in a for a in s["actions"]), (s["headline"], s["actions"])
    crashes = [s for s in outside if "physical-harm" in s["tags"]]
    assert crashes, [s["headline"] for s in outside]
    assert all("override" in s["actions"][0] for s in crashes)
