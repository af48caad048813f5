"""The demo snapshot: honest content (fast tests) and the whole pipeline over it (end to end)."""
import html
import io
import json
import pathlib
import re
import urllib.request

import pytest

from pipeline.config import KINDS, load_config
from pipeline.ops.loopback import LoopbackServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
SITE = ROOT / "demo" / "site"
# Documents keep the loopback URL they were fetched from in `url` (their declared real address is
# `canonical_url`: the demo sources are mirrors), so the end-to-end test finds them by URL path.
VB_PAGE = "%/venturebeat/ai/anthropic-faces-backlash-to-claude-4-opus-behavior%"
WP_COPY = ("https://violethoward.com/new/anthropic-faces-backlash-to-claude-4-opus-behavior-that-"
           "contacts-authorities-press-if-it-thinks-youre-doing-something-egregiously-immoral%")
BOT_PAGE = "%/businessoftech/2025/05/26/anthropic-claude-4-opus-backlash%"
ANTHROPIC_POSTS = ["%/labs/anthropic-news/claude-4%", "%/labs/anthropic-news/activating-asl3-protections%"]


def plain(fragment):
    """Text of an HTML fragment with entities decoded and whitespace squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def seed_article():
    """The seed article's text, as the demo's WordPress endpoint serves it (the real response)."""
    posts = json.loads((SITE / "violethoward/new/wp-json/wp/v2/posts/index.json").read_text(encoding="utf-8"))
    return plain(posts[0]["content"]["rendered"])


def social_paragraphs():
    """(author, paragraph) for every social post in the snapshot."""
    statuses = json.loads((SITE / "mastodon/api/v1/timelines/tag/claude/index.json").read_text(encoding="utf-8"))
    hits = json.loads((SITE / "hn/api/v1/search_by_date/index.json").read_text(encoding="utf-8"))["hits"]
    out = []
    for s in statuses:
        who = s["account"]["display_name"] or "@" + s["account"]["username"]
        out += [(who, plain(p)) for p in re.findall(r"<p>(.*?)</p>", s["content"], re.S)]
    for h in hits:
        if "comment" in h["_tags"]:
            out += [(h["author"], plain(p)) for p in re.findall(r"<p>(.*?)</p>", h["comment_text"], re.S)]
    return out


def test_social_posts_are_verbatim_quotes_of_the_article():
    article = seed_article()
    posts = social_paragraphs()
    assert len(posts) >= 10
    for who, text in posts:
        assert text in article, f"{who}: {text!r} is not verbatim in the seed article"
    # attributed as the article attributes them: the name or handle is in the article too
    for who, _ in posts:
        assert who in article, f"{who} is not named in the seed article"
    names = {who for who, _ in posts}
    assert {"Sam Bowman", "@Teknium1", "@ScottDavidKeefe", "Austin Allred", "Ben Hyak", "Casper Hansen"} <= names


def test_wordpress_endpoint_is_the_seed_response(shared):
    seed = (shared / "seeds" / "000_8692a8530e1160a9.txt").read_text(encoding="utf-8")
    post, _ = json.JSONDecoder().raw_decode(seed)
    served = json.loads((SITE / "violethoward/new/wp-json/wp/v2/posts/index.json").read_text(encoding="utf-8"))
    assert served == [post]


def test_snapshot_carries_no_evaluation_labels(shared):
    labels = set()
    for name in ("aiid-fixtures.jsonl", "ecbplus.jsonl"):
        for line in (shared / "eval" / name).open(encoding="utf-8"):
            row = json.loads(line)
            labels.add(row["story_id"])
            labels.update(row.get("all_story_ids") or [])
            if row.get("topic_id"):
                labels.add(row["topic_id"])
    titles = {json.loads(line)["story_title"] for line in (shared / "eval" / "aiid-fixtures.jsonl").open(encoding="utf-8")}
    report_titles = {json.loads(line)["title"].strip() for line in (shared / "eval" / "aiid-fixtures.jsonl").open(encoding="utf-8")}
    titles -= report_titles  # a report may share its incident's title; that text is the report's own
    files = [p for p in SITE.rglob("*") if p.is_file() and p.suffix != ".pdf"]
    assert len(files) > 200
    for path in files:
        text = html.unescape(path.read_text(encoding="utf-8"))
        for label in labels:
            assert not re.search(rf"\b{re.escape(label)}\b", text), f"{path}: carries label {label}"
        for title in titles:
            assert title not in text, f"{path}: carries incident title {title!r}"
        assert "aiid-" not in text and "ecbp-" not in text


def test_system_card_pdf_is_a_marked_excerpt_of_quoted_passages():
    from pypdf import PdfReader

    # The card as first served (demo/earlier) is the quoted passage; the version served afterwards
    # carries the demo's silent edit, which says in its own words that it is the demo's.
    def pdf_words(pdf):
        return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages).split())

    name = "anthropic-system-cards/claude-opus-4-system-card-demo-excerpt.pdf"
    text = pdf_words(ROOT / "demo" / "earlier" / name)
    assert "demo excerpt" in text.lower() and "quotes" in text
    article = seed_article()
    passage = text.split("It is not the full card.", 1)[1].strip()
    assert len(passage) > 500 and passage in article
    edited = pdf_words(SITE / name)
    assert edited != text and "Demo edit: incidentwire's demo build" in edited and "not Anthropic's" in edited
    index = (SITE / "anthropic-system-cards" / "index.html").read_text(encoding="utf-8")
    assert "Demo excerpt built from the passages" in index and "claude-opus-4-system-card-demo-excerpt.pdf" in index


def test_every_demo_source_answers_on_loopback():
    with LoopbackServer(SITE) as server:
        config = load_config(ROOT / "demo" / "sources.toml", base_url=server.url)
        kinds = {s["kind"] for s in config["sources"]}
        assert {"feed", "article", "wordpress", "system_cards", "mastodon", "hn"} <= kinds <= KINDS
        for src in config["sources"]:
            assert src["allow_private"] and "{base}" not in src["url"]
            with urllib.request.urlopen(src["url"] + "?page=1") as resp:
                assert resp.status == 200 and resp.read()
        # feeds link to pages on the server with root-relative links
        with urllib.request.urlopen(server.url + "/labs/anthropic-news/feed.xml") as resp:
            feed = resp.read().decode()
        assert "<title>Introducing Claude 4</title>" in feed and "<title>Activating AI Safety Level 3 protections</title>" in feed
        for link in re.findall(r"<link>(/[^<]+)</link>", feed):
            with urllib.request.urlopen(server.url + link) as resp:
                assert resp.status == 200


# ---------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def demo(demo_db):
    from db.connection import open_db
    return open_db(str(demo_db))


def doc(db, pattern):
    rows = list(db["documents"].rows_where("url like ? or canonical_url like ?", [pattern, pattern]))
    assert len(rows) == 1, f"{len(rows)} documents match {pattern}"
    return rows[0]


def test_demo_has_documents_stories_and_a_digest(demo):
    kinds = {row[0] for row in demo.execute("select distinct kind from documents")}
    assert {"article", "system_card", "social"} <= kinds
    assert demo.execute("select count(*) from stories where merged_into is null").fetchone()[0] >= 8
    assert demo["digests"].count >= 1
    # the off-topic general news is dropped by the relevance filter
    assert demo.execute("select count(*) from documents where publisher = 'Riverside Gazette'").fetchone()[0] <= 4


def claude_story(demo):
    return doc(demo, VB_PAGE)["story_id"]


def test_demo_groups_the_claude_opus_4_coverage(demo):
    original = doc(demo, VB_PAGE)
    story = original["story_id"]
    assert story
    copy = doc(demo, WP_COPY)
    assert copy["duplicate_of"] == original["id"] and copy["story_id"] == story
    assert doc(demo, BOT_PAGE)["story_id"] == story
    assert demo.execute("select count(*) from documents where kind = 'system_card' and story_id = ?",
                        [story]).fetchone()[0] >= 1
    assert demo.execute("select count(*) from documents where kind = 'social' and story_id = ?",
                        [story]).fetchone()[0] >= 1


def test_demo_claude_story_carries_the_quoted_reactions(demo):
    story = claude_story(demo)
    assert demo.execute("select count(*) from documents where kind = 'social' and story_id = ?",
                        [story]).fetchone()[0] >= 3


# Anthropic's two 22 May posts are title-only feed entries: they join through the system card
# published the same day (see pipeline.stories.stream.launch_card).
def test_demo_claude_story_has_anthropics_posts(demo):
    story = claude_story(demo)
    for pattern in ANTHROPIC_POSTS:
        assert doc(demo, pattern)["story_id"] == story, pattern


def test_demo_claude_story_entities_are_what_the_coverage_is_about(demo):
    story = claude_story(demo)
    entities = json.loads(demo.execute("select entities from stories where id = ?", [story]).fetchone()[0])
    assert {"anthropic", "claude-opus-4", "sam-bowman"} <= set(entities)
    # The VentureBeat article (and its republished copy) mention "a former SpaceX and Apple designer".
    assert "apple" not in entities


def test_demo_claude_story_lead_is_a_report_not_a_title_only_post(demo):
    """The launch posts, the card and VentureBeat share one date: the lead must have text."""
    story = claude_story(demo)
    lead = demo.execute("select d.kind, d.text from stories s join documents d on d.id = s.lead_document_id "
                        "where s.id = ?", [story]).fetchone()
    assert lead[0] in ("article", "system_card") and len(lead[1]) > 500
    # The card is dated without its hour and VentureBeat at 19:30 the same day: the primary source
    # whose hour is unknown leads its day (issue 19), not the article that quotes it.
    assert lead[0] == "system_card"


def test_demo_documents_keep_the_real_addresses_their_pages_declare(demo):
    """Issue #18, point 9: only the fetch URL may be loopback. The one exception is the system-card
    PDF, which declares no address (the demo's index gives none either)."""
    loopback = [r[0] for r in demo.execute("select canonical_url from documents where canonical_url like 'http://127.%' "
                                           "or canonical_url like 'http://localhost%'")]
    assert loopback == [u for u in loopback if u.endswith("claude-opus-4-system-card-demo-excerpt.pdf")]
    assert len(loopback) <= 1
    lab = doc(demo, "%activating-asl3-protections%")  # a summary-only entry: its page's canonical URL
    assert lab["canonical_url"] == "https://www.anthropic.com/news/activating-asl3-protections"
    assert json.loads(lab["extra"])["summary_only"]


def test_rehosted_reports_show_one_year_their_address_and_date_agree():
    """Issue 20, point 19: a re-hosted old incident's canonical address carries the same year and
    month as its (shifted) date, and no title names another year as its own."""
    import pathlib
    import re

    URL_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:[01]\d[0-3]\d)?(?!\d)")   # /2018/11/, -20180529-
    site = pathlib.Path(__file__).resolve().parent.parent / "demo" / "site"
    pages = [p for p in site.glob("*/20[0-9][0-9]/*/*/*/index.html")]
    assert len(pages) > 100
    for page in pages:
        html = page.read_text(encoding="utf-8")
        year, month = page.relative_to(site).parts[1:3]
        published = re.search(r'<time datetime="(\d{4})-(\d{2})', html)
        assert published and published.groups() == (year, month), page
        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html).group(1)
        assert set(URL_YEAR.findall(canonical)) <= {year}, canonical
        title = re.search(r"<title>(.*?)</title>", html).group(1)
        assert not re.match(r"\s*(?:19|20)\d\d\b", title) and not re.search(r"(?:19|20)\d\d in review", title, re.I)
        visible = re.sub(r"<[^>]+>", " ", html.split("<body", 1)[1])
        for url in re.findall(r"https?://\S+", visible):
            assert set(URL_YEAR.findall(url)) <= {year}, (page, url)
    for feed in site.glob("*/feed.*"):     # a feed's guid is the page's address: the same one date
        for guid in re.findall(r"<(?:guid[^>]*|id)>([^<]+)</", feed.read_text(encoding="utf-8")):
            assert set(URL_YEAR.findall(guid)) <= {"2025"}, (feed, guid)
