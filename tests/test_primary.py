"""Primary sources per story (issue 22, part 1), and the whole path on the demo: process writes
them, the story page and the brief show them, the claims feed lists what was not found."""
import json
import pathlib
import re

import feedparser
import pytest

from pipeline.enrich.primary import partial, primary_sources, source_kind, source_passages
from pipeline.enrich.source_match import Source
from spiders.extract import pdf_text

ROOT = pathlib.Path(__file__).resolve().parent.parent
# the card as the coverage quoted it in May 2025 (the demo later serves a silently edited version)
CARD_PDF = ROOT / "demo" / "earlier" / "anthropic-system-cards" / "claude-opus-4-system-card-demo-excerpt.pdf"
STORY = {"headline": "Anthropic faces backlash to Claude 4 Opus behavior", "entities": json.dumps(["anthropic"])}


def test_primary_sources_are_found_by_general_signals():
    subjects = {"anthropic", "claude"}
    kind = lambda **d: source_kind(d, subjects)      # noqa: E731
    assert kind(kind="system_card", url="https://example.com/card.pdf") == "system card"
    assert kind(kind="article", url="https://arxiv.org/abs/2505.01234") == "paper"
    assert kind(kind="article", url="https://www.courtlistener.com/docket/6789/complaint/") == "court filing"
    assert kind(kind="article", url="https://msrc.microsoft.com/update-guide/advisory/ADV200006") == "vendor advisory"
    assert kind(kind="blog", publisher="Anthropic", url="https://www.anthropic.com/news/claude-4") == "own post"
    # a lab's post about something else, an advisory *council*, news about the lab: not primary
    assert kind(kind="blog", publisher="Meta AI", url="https://ai.meta.com/blog/llama/") is None
    assert kind(kind="blog", publisher="Anthropic",
                url="https://www.anthropic.com/news/introducing-the-anthropic-economic-advisory-council") == "own post"
    assert kind(kind="article", publisher="Example News",
                url="https://news.example/introducing-the-anthropic-economic-advisory-council") is None
    assert kind(kind="article", publisher="Anthropic Watch", url="https://news.example/anthropic") is None
    docs = [{"id": 1, "kind": "system_card", "url": "u1"}, {"id": 2, "kind": "system_card", "url": "u2", "duplicate_of": 1}]
    assert [d["id"] for d, _ in primary_sources(STORY, docs)] == [1]      # a copy is not a second source


def test_passages_are_what_the_coverage_quotes_and_shares(shared):
    card_text = pdf_text(CARD_PDF.read_bytes())["text"]
    card = Source(54, card_text)
    article = (shared / "seeds" / "000_8692a8530e1160a9.txt").read_text(encoding="utf-8")
    text = json.loads(article[:article.rindex("}") + 1])["content"]["rendered"]
    text = re.sub(r"<[^>]+>", " ", text)
    podcast = (shared / "seeds" / "002_ee4b015b54fba806.txt").read_text(encoding="utf-8")
    passages = source_passages(card, [{"id": 1, "text": text}, {"id": 46, "text": podcast}])
    assert len(passages) == 1
    p = passages[0]
    assert p["covered_by"] == [1] and "quote" in p["matched_by"]        # the article quotes it; the podcast does not
    assert p["passage"] == card_text[p["start"]:p["end"]]               # a verbatim slice, for the anchor
    assert p["passage"].startswith("This shows up as more actively helpful behavior")
    assert p["passage"].rstrip().endswith("could appear ethically questionable.")
    assert p["anchor"].startswith("#:~:text=This%20shows%20up%20as,")
    assert "Demo excerpt built" not in p["passage"]                     # the excerpt's own note is not drawn on
    assert partial({"title": "Claude Opus 4 system card (demo excerpt)", "text": card_text})
    assert not partial({"title": "Claude Opus 4 System Card", "text": "Claude Opus 4 is a hybrid reasoning model."})


# ---------------------------------------------------------------- end to end on the demo

@pytest.fixture(scope="module")
def demo(demo_db):
    from db.connection import open_db
    return open_db(str(demo_db))


def claude_story(demo):
    return demo.execute("select story_id from documents where kind = 'system_card'").fetchone()[0]


def test_demo_story_names_its_system_card_and_the_passage_the_coverage_quotes(demo):
    story = claude_story(demo)
    why = dict(demo.execute("select d.kind, p.why from primary_sources p join documents d on d.id = p.document_id "
                            "where p.story_id = ? and p.comparable = 1", [story]).fetchall())
    assert why == {"system_card": "system card"}
    passages = list(demo.query("select * from source_passages where story_id = ?", [story]))
    assert passages and all(p["covered_by_count"] >= 1 for p in passages)
    assert any("bulk-emailing media and law-enforcement figures" in p["passage"] for p in passages)


def test_demo_flags_the_claim_the_card_does_not_state_and_none_it_does(demo):
    story = claude_story(demo)
    card = demo.execute("select text from documents where kind = 'system_card'").fetchone()[0]
    flags = list(demo.query("select f.*, d.publisher from claim_flags f join documents d on d.id = f.document_id "
                            "where f.story_id = ?", [story]))
    missing = [f for f in flags if not f["found"]]
    assert missing, "the podcast's 84% is not in the card's excerpt"
    for f in missing:           # nothing the card states is flagged
        assert Source(0, card).find_quote(f["claim"]) is None and Source(0, card).find_number(f["claim"]) is None
    assert any(f["found"] and f["kind"] == "quote" for f in flags)


@pytest.fixture(scope="module")
async def demo_ds(demo_db):
    from pipeline.ops.serve import make_datasette
    ds = make_datasette(demo_db)
    await ds.invoke_startup()
    return ds


async def test_demo_story_page_and_brief_show_the_source_and_the_claims(demo, demo_ds):
    story = claude_story(demo)
    page = (await demo_ds.client.get(f"/stories/{story}")).text
    top = page.index("What the source says")
    assert top < page.index("<h2>Timeline</h2>")
    assert "Claude Opus 4 system card (demo excerpt)" in page[top:] and "it is an excerpt" in page
    assert "Claims not found in the primary source" in page and "Business of Tech" in page[top:]
    assert "#:~:text=This%20shows%20up%20as" in page
    brief = (await demo_ds.client.get(f"/stories/{story}/brief.md")).text
    assert "## What the source says" in brief and "### Claims not found in the primary source" in brief
    assert "84%" in brief[brief.index("### Claims not found"):brief.index("## Timeline")]


async def test_claims_feed_lists_each_flag_once_and_validates(demo, demo_ds):
    response = await demo_ds.client.get("/feeds/claims.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    n = demo.execute("select count(*) from claim_flags where found = 0").fetchone()[0]
    ids = [e.id for e in parsed.entries]
    assert n >= 1 and len(ids) == n == len(set(ids))
    for e in parsed.entries:
        assert e.link.startswith("http") and "#primary-source" in e.link and e.updated_parsed and e.summary
    again = feedparser.parse((await demo_ds.client.get("/feeds/claims.atom")).content)
    assert [e.id for e in again.entries] == ids        # stable ids
