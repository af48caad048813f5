"""System card diffs (issue #22, part 3): sentence rules on the demo card's two real versions, silent
edits, the DB rows `process` writes, the change page, the story page's links and the feed."""
import asyncio
import pathlib
import re

import pytest

from pipeline.enrich import card_diff
from spiders.extract import pdf_text

ROOT = pathlib.Path(__file__).resolve().parent.parent
CARD = "anthropic-system-cards/claude-opus-4-system-card-demo-excerpt.pdf"
# A real sentence about the card's test runs (the Business of Tech segment in the demo snapshot).
BLACKMAIL = ("During testing, it was found that Claude Opus 4 attempts to blackmail engineers 84% of the time "
             "when the proposed replacement shares similar values.")


def card_texts():
    earlier = pdf_text((ROOT / "demo" / "earlier" / CARD).read_bytes())["text"]
    current = pdf_text((ROOT / "demo" / "site" / CARD).read_bytes())["text"]
    return earlier, current


def test_the_demo_edit_is_one_reworded_one_removed_one_added_sentence():
    earlier, current = card_texts()
    changes = card_diff.compare(earlier, current)
    kinds = sorted(c["change"] for c in changes)
    assert kinds == ["added", "removed", "reworded"]
    reworded = next(c for c in changes if c["change"] == "reworded")
    assert ("del", "frequently") in reworded["words"] and ("ins", "sometimes") in reworded["words"]
    assert reworded["before"].replace("frequently", "sometimes") == reworded["after"]
    unchanged = "We recommend that users exercise caution"
    assert not any(unchanged in (c["before"] or c["after"]) for c in changes)
    for c in changes:   # every sentence shown is a sentence of the version it comes from
        norm = lambda t: " ".join(t.split())  # noqa: E731
        assert c["before"] is None or c["before"].replace(" ", "") in norm(earlier).replace(" ", "")
        assert c["after"] is None or c["after"].replace(" ", "") in norm(current).replace(" ", "")


def test_a_changed_number_is_called_out_and_unchanged_text_is_no_change():
    earlier, _ = card_texts()
    before = earlier + "\n" + BLACKMAIL
    after = earlier + "\n" + BLACKMAIL.replace("84%", "79%")
    changes = card_diff.compare(before, after)
    assert [(c["change"], c["numbers"]) for c in changes] == [("reworded", [("84%", "79%")])]
    assert "84% → 79%" in card_diff.summary(changes, *card_diff.silent_edit(before, after))
    assert card_diff.compare(before, before) == []


def test_sections_match_by_heading_and_a_moved_sentence_is_no_change():
    earlier, _ = card_texts()
    body = earlier.split("It is not the full card.", 1)[1].strip()
    old = f"4.1 Agentic behaviour\n{body}\n4.2 Blackmail\n{BLACKMAIL}"
    new = f"5.1 Agentic behaviour\n{body}\n5.2 Blackmail\n{BLACKMAIL}"      # renumbered only
    assert [h for h, _ in card_diff.sections(old)] == ["4.1 Agentic behaviour", "4.2 Blackmail"]
    assert card_diff.compare(old, new) == []
    moved = f"5.1 Agentic behaviour\n{body} {BLACKMAIL}\n5.2 Blackmail\n"
    assert card_diff.compare(old, moved) == []


def test_silent_edit_only_when_no_new_version_or_date_is_stated():
    earlier, current = card_texts()
    assert card_diff.markers(earlier) == ["22 May 2025"]
    assert card_diff.silent_edit(earlier, current) == (True, [])
    dated = current + "\nUpdated 28 May 2025: one sentence reworded."
    assert card_diff.silent_edit(earlier, dated) == (False, ["28 May 2025"])
    versioned = current.replace("(demo excerpt)", "(demo excerpt) Version 1.1", 1)
    assert card_diff.silent_edit(earlier, versioned) == (False, ["version 1.1"])
    assert card_diff.silent_edit(earlier, earlier) == (False, [])


def claude_story(db):
    return db.execute("select story_id from documents where canonical_url like 'https://venturebeat.com/%'"
                      ).fetchone()[0]


def test_process_stores_both_demo_versions_with_the_silent_edit_and_the_story(demo_db):
    import sqlite_utils
    db = sqlite_utils.Database(demo_db)
    card_id = db.execute("select id from documents where kind = 'system_card'").fetchone()[0]
    versions = list(db.query("select * from card_versions where document_id = ? order by seen", [card_id]))
    assert len(versions) == 2
    assert versions[0]["silent_edit"] is None and versions[1]["silent_edit"] == 1
    assert versions[1]["seen"] > versions[0]["seen"] and versions[1]["seen_basis"] == "Last-Modified when fetched"
    story = claude_story(db)
    links = {r["version_id"]: r for r in db.query("select * from card_version_stories where story_id = ?", [story])}
    assert set(links) == {v["version_id"] for v in versions}
    for v in versions:     # the linked document is dated within 14 days after the version and names the model
        doc = db.execute("select published, text from documents where id = ?", [links[v["version_id"]]["document_id"]]).fetchone()
        assert v["seen"] <= doc[0] and links[v["version_id"]]["days_after"] <= 14
        assert links[v["version_id"]]["reason"] == "names Claude Opus 4" and re.search(r"Opus 4|4 Opus", doc[1])


def get(ds, path):
    return asyncio.run(ds.client.get(path))


@pytest.fixture(scope="module")
def demo_ds(demo_db):
    from pipeline.ops.serve import make_datasette
    ds = make_datasette(str(demo_db))
    asyncio.run(ds.invoke_startup())
    return ds


def test_change_page_shows_the_readable_diff_and_the_story(demo_ds, demo_db):
    import sqlite_utils
    db = sqlite_utils.Database(demo_db)
    card_id = db.execute("select id from documents where kind = 'system_card'").fetchone()[0]
    page = get(demo_ds, f"/cards/{card_id}")
    assert page.status_code == 200
    assert "<del>frequently</del>" in page.text and "<ins>sometimes</ins>" in page.text
    assert "Silent edit" in page.text and "This is not a new behavior" in page.text
    assert f'href="/stories/{claude_story(db)}"' in page.text
    data = get(demo_ds, f"/cards/{card_id}.json").json()
    assert [v["silent_edit"] for v in data["versions"]] == [1, None] and data["silent_edits"] == 1
    assert get(demo_ds, "/cards/999999").status_code == 404
    missing = get(demo_ds, "/cards/%3Cscript%3E")
    assert missing.status_code == 404 and "&#39;&lt;script&gt;&#39;" in missing.text and "id '<script>" not in missing.text


def test_story_page_links_the_card_versions_before_it(demo_ds, demo_db):
    import sqlite_utils
    db = sqlite_utils.Database(demo_db)
    card_id = db.execute("select id from documents where kind = 'system_card'").fetchone()[0]
    page = get(demo_ds, f"/stories/{claude_story(db)}").text
    block = page[page.index('id="card-versions"'):]
    for (vid,) in db.execute("select version_id from card_versions where document_id = ?", [card_id]):
        assert f'href="/cards/{card_id}#version-{vid}"' in block
    assert "(silent edit)" in block


def test_feed_entries_carry_the_readable_summary(demo_ds):
    import feedparser
    parsed = feedparser.parse(get(demo_ds, "/feeds/system-cards.atom").content)
    titles = [e.title for e in parsed.entries]
    assert titles[0].startswith("Silent edit: ") and titles[-1].startswith("First version: ")
    assert "1 sentence reworded" in parsed.entries[0].summary
    assert "frequently take very bold action" in parsed.entries[0].summary
    assert "sometimes take very bold action" in parsed.entries[0].summary


def test_hostile_card_text_is_escaped_on_the_change_page(tmp_path):
    from db.connection import open_db
    from pipeline.enrich.card_versions import record_card_changes
    from pipeline.ops.serve import make_datasette

    earlier, current = card_texts()
    db = open_db(tmp_path / "h.db")
    db["documents"].insert({"id": 1, "url": "https://lab.example/card.pdf", "kind": "system_card",
                            "title": "Card <img src=x onerror=alert(1)>", "published": "2025-05-22T00:00:00+00:00",
                            "text": current, "content_hash": "b"})
    hostile = current + "\n<script>alert('card')</script> was added."
    db["document_versions"].insert_all([
        {"id": 1, "document_id": 1, "url": "u", "content_hash": "a", "fetched": "2025-05-22T01:00:00+00:00", "text": earlier},
        {"id": 2, "document_id": 1, "url": "u", "content_hash": "b", "fetched": "2025-05-24T01:00:00+00:00", "text": hostile}])
    assert record_card_changes(db)["card_versions"] == 2
    assert record_card_changes(db)["card_versions"] == 0          # a second run compares nothing again
    ds = make_datasette(str(tmp_path / "h.db"))
    page = get(ds, "/cards/1").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page and "<img src=x" not in page


def test_the_brief_tells_a_host_the_card_changed_after_the_coverage_quoted_it(demo_db):
    """The demo's card was edited a day after the coverage quoted it: the brief says so next to the
    passages it shows from the card, with the catalog's "what changed" page."""
    from pipeline.publish.brief import build_brief, render_brief_markdown
    import sqlite_utils
    db = sqlite_utils.Database(demo_db)
    story_id = claude_story(db)
    text = render_brief_markdown(build_brief(db, story_id, base_url="https://iw.example"))
    section = text[text.index("## What the source says"):text.index("## Timeline")]
    assert "changed on 2025-05-23: 1 sentence reworded" in section and "silent edit" in section
    assert "](https://iw.example/cards/" in section


async def test_story_page_says_the_card_changed_next_to_the_passage_it_shows(demo_ds, demo_db):
    import sqlite_utils
    story = claude_story(sqlite_utils.Database(demo_db))
    page = (await demo_ds.client.get(f"/stories/{story}")).text
    primary = page[page.index('id="primary-source"'):page.index('id="card-versions"')]
    assert "This card changed on 2025-05-23: 1 sentence reworded" in primary and 'href="/cards/' in primary
    assert "System card versions this story followed" in page
