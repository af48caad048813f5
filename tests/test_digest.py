"""Weekly MSP digest: content, truthfulness, email-safe HTML, Atom feed, DB row, idempotence."""
import json
import re

import feedparser
import pytest

from pipeline import enrich
from pipeline.publish.digest import DigestError, build_digest, story_section, write_digest
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
    assert "first reported by **VentureBeat** (2025-05-22)" in md
    assert "## This week" in md and "**Reactions:** Sam Bowman" in md
    assert "[Business of Tech](" in md.split("**Read:**")[1].splitlines()[0]
    assert "Why it matters for MSPs" in md and "generated guidance" in md
    assert "Claude Opus 4" in md.split("Why it matters for MSPs")[1]
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
    assert d["subject"].endswith("(+1 more)") and len(d["subject"]) < 80


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
    assert "No stories were collected for 2024-W01" in md and "not published" in md
    assert len(md.split()) < 120
    assert "2024-W01" not in [r["week"] for r in db.query("select week from digests")]
    assert "2024-W01" not in (tmp_path / "feed.atom").read_text()


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


# --- issue 20: a digest an MSP owner can forward without re-checking it

def test_links_go_to_the_original_reporting_and_catalog_links_only_when_configured(db, tmp_path, monkeypatch, capsys):
    import pipeline.publish.digest as digest_module
    monkeypatch.delenv("INCIDENTWIRE_CATALOG_URL", raising=False)
    monkeypatch.setattr(digest_module, "_WARNED", set())
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path))
    md = open(result["paths"]["markdown"]).read()
    html = open(result["paths"]["html"]).read()
    urls = re.findall(r"\]\((https?://[^)]+)\)", md)
    doc_urls = {r["url"] for r in db.query("select url from documents")}
    assert urls and set(urls) <= doc_urls, set(urls) - doc_urls      # every link is a source article
    assert "127.0.0.1" not in md + html and "/stories/" not in md + html
    assert set(re.findall(r'href="(https?://[^"]+)"', html)) <= doc_urls
    write_digest(db, "2018-W45", out_dir=str(tmp_path))
    assert capsys.readouterr().err.count("no public catalog URL") == 1  # warned once, not per week


def test_agent_safety_leads_and_launches_go_to_also_noted(db):
    db["stories"].insert({"id": "s-launch", "headline": "Introducing Mistral Code, our new agents for developers",
                          "categories": json.dumps(["agent-autonomy"]), "first_week": "2025-W21"})
    for k in range(4):   # more coverage than any story this week: still no safety finding
        db["documents"].insert(doc_row(f"https://example.org/launch/{k}", "article", f"Outlet {k}",
                                       "Introducing Mistral Code", "2025-05-21T09:00:00+00:00",
                                       "Mistral launched Mistral Code, coding agents for developers.", "s-launch"))
    d = build_digest(db, "2025-W21")
    assert [s["id"] for s in d["stories"]] == [CLAUDE_STORY]
    assert [s["id"] for s in d["also"]] == ["s-launch"]
    assert d["stories"][0]["new"] is True
    later = build_digest(db, "2025-W22")
    assert later["stories"][0]["id"] == CLAUDE_STORY and later["stories"][0]["new"] is False
    md_later = __import__("pipeline.publish.render", fromlist=["x"]).render_markdown(later)
    assert "Continuing (first seen 2025-05-22)" in md_later


def test_no_msp_angle_means_no_msp_block(db, tmp_path):
    db["stories"].insert({"id": "s-council", "headline": "Introducing the Anthropic Economic Advisory Council",
                          "categories": "[]"})
    db["documents"].insert(doc_row("https://example.org/council", "blog", "Anthropic", "Economic Advisory Council",
                                   "2025-05-21T09:00:00+00:00", "Anthropic named economists to a new advisory council.",
                                   "s-council"))
    d = build_digest(db, "2025-W21")
    council = [s for s in d["stories"] + d["also"] if s["id"] == "s-council"][0]
    assert council in d["also"]
    # shown in full (as when nothing else leads a week) it still gets no MSP block
    assert story_section(db, "s-council", "2025-W21")["actions"] == []
    md = open(write_digest(db, "2025-W21", out_dir=str(tmp_path))["paths"]["markdown"]).read()
    assert md.count("Why it matters for MSPs**") == len([s for s in d["stories"] if s["actions"]]) == 1
    assert "vendor's products" not in md


def test_whistleblowing_story_gets_the_outbound_email_action_first(db):
    s = build_digest(db, "2025-W21")["stories"][0]
    assert s["actions"][0].startswith("Put outbound email, messaging and web requests from AI agents")
    assert not any("rule or ruling" in a for a in s["actions"])


def test_subject_is_short_with_one_lead_and_a_count_and_the_lede_is_no_quote_fragment(db):
    for k in range(3):
        db["stories"].insert({"id": f"s-extra-{k}", "headline": "A long headline about a crash " * 4,
                              "categories": json.dumps(["physical-harm"])})
        db["documents"].insert(doc_row(f"https://example.org/x/{k}", "article", "Example", "A crash",
                                       "2025-05-21T09:00:00+00:00", "A robot arm crashed into a wall.", f"s-extra-{k}"))
    d = build_digest(db, "2025-W21")
    assert len(d["subject"]) <= 80 and d["subject"].endswith("(+3 more)") and ";" not in d["subject"]
    for s in d["stories"]:
        assert not re.search(r"[“\"][a-z]+[”\"] was in reference", s["overview"])


def test_email_is_fluid_with_a_text_part_preheader_view_link_and_unsubscribe(db, tmp_path):
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path), base_url="https://news.example.net")
    html = open(result["paths"]["html"]).read()
    assert 'width="640"' not in html and "max-width:640px" in html.replace(" ", "")
    assert 'class="preheader"' in html and "View in browser" in html and "Unsubscribe" in html
    text = open(result["paths"]["text"]).read()
    assert "<" not in text and "Claude" in text and "https://venturebeat.com/" in text


def test_a_future_week_says_so_and_is_not_published(db, tmp_path):
    import datetime
    result = write_digest(db, "2025-W30", out_dir=str(tmp_path), today=datetime.date(2025, 6, 1))
    assert result["published"] is False and result["status"] == "future"
    md = open(result["paths"]["markdown"]).read()
    assert "has not happened yet" in md
    assert db["digests"].count == 0


def test_a_snapshot_served_on_loopback_links_the_items_public_address(db, tmp_path):
    row = doc_row("http://127.0.0.1:8765/wire/claude-note/", "article", "Example Wire", "A note on Claude Opus 4",
                  "2025-05-23T09:00:00+00:00", "Claude Opus 4 tried to blackmail engineers in tests, the card says.",
                  CLAUDE_STORY)
    db["documents"].insert(dict(row, guid="https://wire.example.org/claude-note"))
    md = open(write_digest(db, "2025-W21", out_dir=str(tmp_path))["paths"]["markdown"]).read()
    assert "https://wire.example.org/claude-note" in md and "127.0.0.1" not in md
    from pipeline.publish.story import public_url
    assert public_url("http://127.0.0.1:8765/a", "urn:uuid:1") is None    # no public address: no link at all
    assert public_url("https://x.example/a", "https://y.example/b") == "https://x.example/a"   # public: kept


def test_a_document_with_no_public_address_is_named_but_not_linked(db, tmp_path):
    """A page served only on this machine (the demo's system card PDF declares no address): the
    digest names its outlet and links the reporting that has a public address, never loopback."""
    row = doc_row("http://127.0.0.1:8765/cards/card.pdf", "system_card", "Anthropic", "Claude Opus 4 system card",
                  "2025-05-22T00:00:00+00:00", "Claude Opus 4 tried to blackmail engineers in tests.", CLAUDE_STORY)
    db["documents"].insert(row)
    result = write_digest(db, "2025-W21", out_dir=str(tmp_path))
    for fmt in ("markdown", "html", "text"):
        body = open(result["paths"][fmt]).read()
        assert "127.0.0.1" not in body and "Claude Opus 4" in body


def test_the_digest_tags_a_story_as_its_page_does(db):
    """A story whose refresh found no category carried by a fair share of its coverage is tagged
    with none in the digest either: one passing mention of a lawsuit in three reports is no legal
    action story (the digest once categorised the text again, more loosely than the story page)."""
    db["stories"].insert({"id": "s-robot", "headline": "Warehouse robot drops a pallet", "categories": "[]"})
    texts = ["A warehouse robot dropped a pallet of boxes during a night shift.",
             "The robot's grip failed on a pallet; no one was near it.",
             "Workers filmed the robot dropping a pallet; a lawyer said a lawsuit was unlikely."]
    for k, text in enumerate(texts):
        db["documents"].insert(doc_row(f"https://example.org/robot/{k}", "article", f"Outlet {k}", "Robot drops pallet",
                                       f"2025-05-2{k}T09:00:00+00:00", text, "s-robot"))
    def line():
        d = build_digest(db, "2025-W21")
        return next(s for s in d["stories"] + d["also"] if s["id"] == "s-robot")
    assert line()["tags"] == []
    # A story row no refresh has written yet (no categories at all) is still tagged from its text.
    db["stories"].update("s-robot", {"categories": None})
    assert "legal-action" in line()["tags"]
