"""The Datasette catalog: every page, stored query and feed, through datasette.client."""
import html.parser
import json
import sys
import xml.etree.ElementTree as ET

import pytest

from db.connection import open_db
from pipeline import enrich
from pipeline.ops.serve import make_datasette
from pipeline.publish.brief import build_brief
from pipeline.publish.digest import build_digest
from bench.catalog_db import (CLAUDE_STORY, HOSTILE_TITLE, MERGED_STORY, VB_TITLE,
                                   build_catalog_db)
from tests.support import briefs as briefs_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="session")
def catalog_path(tmp_path_factory, shared):
    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    db = build_catalog_db(path, shared)
    # the two posts' quotes, as `incidentwire process` (enrich) writes them: the story page's
    # reactions, like the brief's, are read from the quotes table
    with db.conn:
        for doc in db.query("select * from documents where kind = 'social'"):
            for q in enrich.document_quotes(doc):
                db["quotes"].insert(dict(q, document_id=doc["id"], story_id=doc["story_id"]))
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
async def ds(catalog_path):
    ds = make_datasette(catalog_path)
    await ds.invoke_startup()  # metadata tables exist before the first request, whichever test runs first
    return ds


async def get(ds, path, status=200):
    response = await ds.client.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response


async def rows(ds, path):
    response = await get(ds, path)
    return response.json()["rows"]


class ActiveContent(html.parser.HTMLParser):
    """Collects anything in a page that a browser would run: scripts, on* handlers, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and "alert" in value:
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and value.startswith(("javascript:", "data:")):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert(" in data:
            self.found.append(f"script: {data[:80]!r}")


def assert_inert(page_html):
    """The hostile document's markup must reach the page as text only."""
    parser = ActiveContent()
    parser.feed(page_html)
    assert parser.found == []


# --- configuration ---------------------------------------------------------------------------

def test_make_datasette_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_datasette(tmp_path / "nope.db")


def test_serve_datasette_serves_over_http(catalog_path):
    import urllib.request
    from tests.support.serving import serving
    with serving(catalog_path) as url:
        body = urllib.request.urlopen(url + "/incidentwire/search.json?q=blackmail").read()
        assert json.loads(body)["rows"]
        page = urllib.request.urlopen(f"{url}/stories/{CLAUDE_STORY}").read().decode()
        assert "Timeline" in page


async def test_database_is_mounted_as_incidentwire_read_only(ds):
    assert list(ds.databases) == ["incidentwire"]
    data = (await get(ds, "/-/databases.json")).json()["databases"]
    assert [d["name"] for d in data] == ["incidentwire"]


async def test_metadata_describes_every_table_and_column(ds, catalog_path):
    import sqlite3
    instance = await ds.get_instance_metadata()
    assert instance["title"] == "incidentwire"
    assert instance.get("license") and instance.get("source")
    assert (await ds.get_column_metadata("incidentwire", "documents", "duplicate_of"))["description"]
    from pipeline.ops.serve import ROOT
    metadata = json.loads((ROOT / "datasette_metadata.json").read_text())
    tables = metadata["databases"]["incidentwire"]["tables"]
    conn = sqlite3.connect(catalog_path)
    names = [r[0] for r in conn.execute(
        "select name from sqlite_master where type='table' and name not like 'documents_fts%' "
        "and name not like 'stories_fts%' and name not like 'sqlite_%'")]
    for table in names:
        assert table in tables, f"{table} has no description"
        assert tables[table].get("description")
        columns = [r[1] for r in conn.execute(f"pragma table_info([{table}])")]
        assert set(columns) <= set(tables[table]["columns"]), (table, set(columns) - set(tables[table]["columns"]))


async def test_home_page_has_search_and_links(ds):
    page = (await get(ds, "/")).text
    assert 'action="/incidentwire/search"' in page and 'name="q"' in page
    for href in ("/incidentwire/week", "/incidentwire/new_stories", "/incidentwire/entity_stories",
                 "/incidentwire/system_cards", "/incidentwire/new_stories.atom", "/incidentwire/digest_feed.atom"):
        assert f'href="{href}"' in page
    assert f'href="/stories/{CLAUDE_STORY}"' in page
    assert "/static/incidentwire.css" in page
    assert_inert(page)


async def test_database_page_hides_internal_tables(ds):
    data = (await get(ds, "/incidentwire.json")).json()
    hidden = {t["name"] for t in data["tables"] if t["hidden"]}
    assert {"embeddings", "_sqlite_migrations", "story_redirects", "documents_fts"} <= hidden
    visible = {t["name"] for t in data["tables"] if not t["hidden"]}
    assert {"documents", "stories", "quotes", "digests", "sources"} <= visible
    for name in ("search", "week", "new_stories", "digest_feed", "entity_stories", "system_cards"):
        query = await ds.get_query("incidentwire", name)
        assert query is not None and query.title and query.description, name


@pytest.mark.parametrize("table", ["documents", "stories", "sources", "entities", "document_entities",
                                   "document_versions", "quotes", "digests", "runs", "skips"])
async def test_every_table_page_renders_and_is_inert(ds, table):
    page = (await get(ds, f"/incidentwire/{table}")).text
    assert_inert(page)
    assert (await get(ds, f"/incidentwire/{table}.json")).json()["ok"] is True


async def test_documents_table_facets_sort_and_labels(ds):
    data = (await get(ds, "/incidentwire/documents.json?_extra=facet_results")).json()
    facets = set(data["facet_results"]["results"])
    assert {"kind", "publisher", "published_month", "published_week", "source_id"} <= facets
    published = [r["published"] for r in data["rows"] if r["published"]]
    assert published == sorted(published, reverse=True)
    labels = (await get(ds, "/incidentwire/documents.json?_labels=on&id=4")).json()["rows"][0]
    assert labels["source_id"]["label"] == "venturebeat"


async def test_stories_table_facets_by_category_and_entity(ds):
    data = (await get(ds, "/incidentwire/stories.json?_extra=facet_results")).json()
    facets = data["facet_results"]["results"]
    assert "categories" in facets and "entities" in facets
    assert {r["value"] for r in facets["categories"]["results"]} >= {"deception", "whistleblowing"}


async def test_row_pages_are_inert(ds):
    for path in ("/incidentwire/documents/9", "/incidentwire/quotes/3", f"/incidentwire/stories/{CLAUDE_STORY}",
                 "/incidentwire/document_versions/2"):
        assert_inert((await get(ds, path)).text)


async def test_hostile_title_is_shown_as_text_on_the_row_page(ds):
    page = (await get(ds, "/incidentwire/documents/9")).text
    assert "&lt;script&gt;alert(" in page
    assert '<a href="javascript:' not in page


async def test_digest_markdown_is_rendered_and_sanitised(ds):
    page = (await get(ds, "/incidentwire/digests/2025-W21")).text
    assert "<blockquote>" in page and "<strong>Why it matters for MSPs:</strong>" in page
    assert_inert(page)
    table = (await get(ds, "/incidentwire/digests")).text
    assert_inert(table)


async def test_story_id_cells_link_to_story_pages(ds):
    page = (await get(ds, "/incidentwire/documents?story_id=" + CLAUDE_STORY)).text
    assert f'<a href="/stories/{CLAUDE_STORY}">' in page


# --- stored query: search --------------------------------------------------------------------

async def test_search_ranks_title_matches_first_and_labels_stories(ds):
    found = await rows(ds, "/incidentwire/search.json?q=blackmail&mode=words")
    ids = [r["id"] for r in found]
    assert {6, 9, 4, 5} <= set(ids)
    # Title hits (Business of Tech, the mirror) outrank text-only hits (VentureBeat and its copy).
    assert max(ids.index(6), ids.index(9)) < min(ids.index(4), ids.index(5))
    assert [r["title_match"] for r in found] == sorted((r["title_match"] for r in found), reverse=True)
    for tier in (0, 1):
        scores = [r["score"] for r in found if r["title_match"] == tier]
        assert scores == sorted(scores)
    assert all(r["story_id"] == CLAUDE_STORY and r["story"].startswith("Anthropic faces backlash") for r in found)
    assert "<mark>" in found[0]["snippet_html"] + found[0]["title_html"]


async def test_search_snippets_escape_scraped_markup(ds):
    hostile = [r for r in await rows(ds, "/incidentwire/search.json?q=mirror") if r["id"] == 9][0]
    assert "<script>" not in hostile["title_html"] and "&lt;script&gt;" in hostile["title_html"]
    assert "<a href" not in hostile["snippet_html"]


@pytest.mark.parametrize("query,expected", [
    ("kind=podcast", {6}),
    ("kind=article&source=VentureBeat", {4}),
    ("source=violethoward", {5}),
    ("since=2025-05-24", {6, 9}),
    ("until=2025-05-22", {4}),
    ("since=2025-05&until=2025-05-23", {4, 5}),
])
async def test_search_filters(ds, query, expected):
    found = await rows(ds, f"/incidentwire/search.json?q=blackmail&{query}")
    assert {r["id"] for r in found} == expected


@pytest.mark.parametrize("q", ["", "   ", '"', "Claude's \"opus", "AND OR NOT", "(", "blackmail*", "x" * 300])
async def test_search_never_errors_on_odd_input(ds, q):
    import urllib.parse
    response = await get(ds, "/incidentwire/search.json?q=" + urllib.parse.quote(q))
    assert response.json()["ok"] is True


async def test_search_page_html(ds):
    page = (await get(ds, "/incidentwire/search?q=blackmail")).text
    assert "<mark>blackmail</mark>" in page.lower() or "<mark>Blackmail</mark>" in page
    assert 'href="/incidentwire/search.atom?q=blackmail"' in page
    assert f'href="/stories/{CLAUDE_STORY}"' in page
    assert "syndicated copy" in page
    assert "&lt;script&gt;alert(" in page
    assert_inert(page)
    empty = (await get(ds, "/incidentwire/search")).text
    assert "Type words to find" in empty


@pytest.mark.parametrize("path", [
    "/incidentwire/search?q={x}", "/incidentwire/search?q=blackmail&kind={x}&source={x}&since={x}",
    "/incidentwire/week?week={x}", "/incidentwire/entity_stories?entity={x}",
    "/incidentwire/search.atom?q={x}", "/stories/{x}", "/-/search?q={x}",
])
async def test_reflected_parameters_stay_text(ds, path):
    import urllib.parse
    hostile = urllib.parse.quote('"><script>alert(9)</script><img src=x onerror=alert(10)>', safe="")
    response = await ds.client.get(path.format(x=hostile))
    if response.status_code == 302:
        response = await ds.client.get(response.headers["location"])
    assert response.status_code in (200, 404)
    assert "<script>alert(9)" not in response.text
    if "xml" not in response.headers["content-type"]:
        assert_inert(response.text)


# --- stored queries: week, new stories, entities, system cards --------------------------------

async def test_week_ranks_stories_by_that_weeks_coverage_with_prev_and_next(ds):
    found = await rows(ds, "/incidentwire/week.json?week=2025-w21")
    assert found[0]["story_id"] == CLAUDE_STORY
    keys = [(r["outlets_this_week"], r["documents_this_week"], r["heat"]) for r in found]
    assert keys == sorted(keys, reverse=True)
    assert all(r["week"] == "2025-W21" for r in found)
    assert found[0]["next_week"] == "2025-W22"
    page = (await get(ds, "/incidentwire/week?week=2025-W22")).text
    assert 'rel="prev" href="/incidentwire/week?week=2025-W21"' in page
    latest = await rows(ds, "/incidentwire/week.json")
    assert latest and latest[0]["week"] == "2025-W22"
    assert await rows(ds, "/incidentwire/week.json?week=1999-W01") == []
    page = (await get(ds, "/incidentwire/week?week=2025-W21")).text
    assert "This week: 2025-W21" in page and f'href="/stories/{CLAUDE_STORY}"' in page
    assert_inert(page)


async def test_new_stories_newest_first(ds):
    found = await rows(ds, "/incidentwire/new_stories.json")
    first_seen = [r["first_seen"] for r in found]
    assert first_seen == sorted(first_seen, reverse=True)
    assert MERGED_STORY not in {r["story_id"] for r in found}
    claude = [r for r in found if r["story_id"] == CLAUDE_STORY][0]
    assert claude["first_reported_by"] == "VentureBeat"
    assert_inert((await get(ds, "/incidentwire/new_stories")).text)


async def test_entity_stories(ds):
    found = await rows(ds, "/incidentwire/entity_stories.json?entity=claude-opus-4")
    assert [(r["name"], r["story_id"]) for r in found] == [("Claude Opus 4", CLAUDE_STORY)]
    page = (await get(ds, "/incidentwire/entity_stories")).text
    assert "Anthropic" in page and "Claude Opus 4" in page
    assert_inert(page)


async def test_system_cards_with_versions_and_diffs(ds):
    found = await rows(ds, "/incidentwire/system_cards.json")
    assert {r["version_id"] for r in found} == {1, 2}
    assert any(r["diff"] and r["diff"].startswith("--- v1") for r in found)
    page = (await get(ds, "/incidentwire/system_cards")).text
    assert '<pre class="iw-diff">' in page and "&lt;script&gt;alert(&#39;diff&#39;)" in page
    assert_inert(page)


# --- Atom feeds --------------------------------------------------------------------------------

def parse_feed(text):
    feed = ET.fromstring(text.encode("utf-8"))
    assert feed.tag == ATOM + "feed"
    return feed, feed.findall(ATOM + "entry")


async def test_new_stories_feed(ds):
    response = await get(ds, "/incidentwire/new_stories.atom")
    assert response.headers["content-type"].startswith("application/xml")
    feed, entries = parse_feed(response.text)
    assert feed.find(ATOM + "title").text == "New stories"
    titles = {e.find(ATOM + "title").text for e in entries}
    assert "Anthropic faces backlash over Claude Opus 4 blackmail and whistleblowing behaviour" in titles
    links = {e.find(ATOM + "link").get("href") for e in entries}
    assert f"http://localhost/stories/{CLAUDE_STORY}" in links


async def test_search_feed_is_a_saved_search(ds):
    response = await get(ds, "/incidentwire/search.atom?q=blackmail&kind=article")
    _, entries = parse_feed(response.text)
    titles = [e.find(ATOM + "title").text for e in entries]
    assert VB_TITLE in titles and HOSTILE_TITLE in titles
    # Scraped markup is escaped XML text, never markup, and javascript: never becomes a link.
    assert "<script>" not in response.text
    assert all(not (e.find(ATOM + "link").get("href") or "").startswith("javascript:") for e in entries)
    content = [e.find(ATOM + "content") for e in entries]
    assert all(c.get("type") == "text" for c in content)


async def test_search_feed_with_no_results_is_still_a_feed(ds):
    response = await get(ds, "/incidentwire/search.atom?q=zzzunseenword")
    feed, entries = parse_feed(response.text)
    assert entries == [] and feed.find(ATOM + "title").text == "Search documents: zzzunseenword"


async def test_digest_feed_is_sanitised(ds):
    response = await get(ds, "/incidentwire/digest_feed.atom")
    _, entries = parse_feed(response.text)
    assert [e.find(ATOM + "title").text for e in entries] == ["incidentwire weekly: 2025-W21"]


async def test_digest_feed_strips_active_html(ds, catalog_path, tmp_path):
    import shutil
    import sqlite3
    copy = tmp_path / "digest.db"
    shutil.copy(catalog_path, copy)
    conn = sqlite3.connect(copy)
    conn.execute("update digests set html = ?", ['<p onclick="alert(1)">hi <script>alert(2)</script>'
                                                 '<a href="javascript:alert(3)">x</a></p>'])
    conn.commit()
    conn.close()
    response = await get(make_datasette(copy), "/incidentwire/digest_feed.atom")
    _, entries = parse_feed(response.text)
    content = entries[0].find(ATOM + "content").text
    assert "<script>" not in content and "onclick" not in content and "javascript:" not in content


# --- story pages -------------------------------------------------------------------------------

async def test_story_page(ds):
    page = (await get(ds, f"/stories/{CLAUDE_STORY}")).text
    assert "<h1>Anthropic faces backlash over Claude Opus 4 blackmail and whistleblowing behaviour</h1>" in page
    first = page.split('class="iw-first-report"')[1].split("</div>")[0]
    assert "VentureBeat" in first and "2025-05-22 16:43" in first
    assert '<span class="iw-date">2025-05-22</span>' in page  # a date-only source shows no 00:00
    timeline = page.split('class="iw-timeline"')[1].split("</ol>")[0]
    assert "Anthropic faces backlash to Claude 4 Opus behavior" in timeline
    assert "The Business of Tech" in timeline and "Ratting" in timeline
    assert "Introducing Claude 4" in timeline and "System Card: Claude Opus 4" in timeline
    also = timeline.split("Also published at:")[1].split("</p>")[0]
    assert "violethoward.com" in also
    assert timeline.count("violethoward.com</a>") == 1  # the copy sits under its original only
    assert "Sam Bowman, Anthropic AI alignment researcher" in page
    assert "HAVE YOU LOST YOUR MINDS?" in page
    reactions = page.split("<h2>Reactions</h2>")[1]
    assert "@Teknium1" in reactions and "@ScottDavidKeefe" in reactions
    assert "whistleblowing" in page and "Claude Opus 4</a>" in page
    assert 'href="/stories/s-aiid-' in page.split("<h2>Related stories</h2>")[1]
    assert f'href="/stories/{CLAUDE_STORY}/brief"' in page
    assert "&lt;script&gt;alert(" in page
    assert_inert(page)


async def test_story_json(ds):
    data = (await get(ds, f"/stories/{CLAUDE_STORY}.json")).json()
    assert data["story"]["id"] == CLAUDE_STORY
    assert data["first_reported_by"]["publisher"] == "VentureBeat"
    assert [c["publisher"] for d in data["timeline"] for c in d["also_published_at"]] == ["violethoward.com"]
    assert {q["speaker"] for q in data["quotes"]} >= {"Sam Bowman", "Austin Allred"}


async def test_merged_story_redirects(ds):
    response = await get(ds, f"/stories/{MERGED_STORY}", status=302)
    assert response.headers["location"] == f"/stories/{CLAUDE_STORY}"
    response = await get(ds, f"/stories/{MERGED_STORY}/brief.json", status=302)
    assert response.headers["location"] == f"/stories/{CLAUDE_STORY}/brief.json"


async def test_unknown_story_is_a_404_page(ds):
    response = await get(ds, "/stories/no-such-story", status=404)
    assert "No story with id" in response.text and 'action="/incidentwire/search"' in response.text
    await get(ds, "/stories/no-such-story/brief", status=404)
    assert (await get(ds, "/stories/no-such-story.json", status=404)).json()["ok"] is False
    response = await ds.client.get("/stories/%3Cscript%3Ealert(1)%3C%2F")
    if response.status_code == 302:  # Datasette turns %2F into its ~ escapes first
        response = await ds.client.get(response.headers["location"])
    assert response.status_code == 404
    assert "&lt;script&gt;" in response.text
    assert_inert(response.text)


async def test_stories_index_redirects_to_new_stories(ds):
    response = await get(ds, "/stories", status=302)
    assert response.headers["location"] == "/incidentwire/new_stories"


# --- one story read model ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def briefs_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("one-story") / "briefs.db"
    db = briefs_db.build_db(path)
    enrich.enrich_stories(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def quote_key(q):
    return (q["document_id"], q["position"], q["text"], q["speaker"], q["role"])


@pytest.mark.parametrize("story_id, week", [(briefs_db.CLAUDE_STORY, "2025-W21"),
                                             (briefs_db.LION_AIR_STORY, "2018-W45")])
async def test_brief_digest_and_story_page_read_the_same_story(briefs_path, story_id, week):
    """Same documents in the same order, the same quotes, the same lead, the same reactions."""
    db = open_db(briefs_path)
    brief = build_brief(db, story_id)
    section = next(s for s in build_digest(db, week)["stories"] if s["id"] == story_id)
    page = (await get(make_datasette(briefs_path), f"/stories/{story_id}.json")).json()

    order = [d["id"] for d in page["timeline"]]
    assert order and order == [s["document_id"] for s in brief["sources"]]
    beats = [t["document_id"] for t in brief["timeline"]]     # posts of a day are one beat
    assert beats == [d for d in order if d in beats]
    assert page["first_reported_by"]["id"] == brief["first_report"]["document_id"] \
        == section["first"]["document_id"]
    page_quotes = [quote_key(q) for q in page["quotes"]]
    table = [tuple(r) for r in db.execute(
        "select document_id, position, text, speaker, role from quotes where story_id = ?", [story_id])]
    assert page_quotes and sorted(page_quotes) == sorted(table)     # every quote, from the quotes table
    assert [k[0] for k in page_quotes] == sorted((k[0] for k in page_quotes), key=order.index)
    assert {quote_key(q) for q in brief["key_quotes"]} <= set(page_quotes)
    if section["quote"]:
        assert quote_key(section["quote"]) in page_quotes
    reactions = [(quote_key(r), r["via"]) for r in page["reactions"]]
    assert reactions == [(quote_key(r), r["via"]) for r in brief["reactions"]]
    # the digest shows up to three, leaving out the one it already shows as its quote
    shown = [r for r in reactions if not section["quote"] or r[0] != quote_key(section["quote"])][:3]
    assert [(quote_key(r), r["via"]) for r in section["reactions"]] == shown


# --- briefs --------------------------------------------------------------------------------------

async def test_brief_page_and_json(ds):
    pytest.importorskip("pipeline.publish.brief")
    page = (await get(ds, f"/stories/{CLAUDE_STORY}/brief")).text
    assert 'class="iw-brief"' in page and "VentureBeat" in page
    assert_inert(page)
    data = (await get(ds, f"/stories/{CLAUDE_STORY}/brief.json")).json()
    assert isinstance(data, dict) and data
    markdown = (await get(ds, f"/stories/{CLAUDE_STORY}/brief.md")).text
    assert "VentureBeat" in markdown


async def test_brief_without_the_brief_module(ds, monkeypatch):
    monkeypatch.setitem(sys.modules, "pipeline.publish.brief", None)
    page = (await get(ds, f"/stories/{CLAUDE_STORY}/brief", status=503)).text
    assert "not available" in page
    data = (await get(ds, f"/stories/{CLAUDE_STORY}/brief.json", status=503)).json()
    assert data["ok"] is False


def test_brief_markdown_is_sanitised():
    from plugins.iw_story import brief_html
    out = str(brief_html("# T\n\n<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"))
    assert "<h1>T</h1>" in out
    assert_inert(out)


# --- read-only ---------------------------------------------------------------------------------

async def test_no_write_endpoints(ds):
    before = len(await rows(ds, "/incidentwire/documents.json?_size=max"))
    for path, body in [("/incidentwire/documents/-/insert", {"row": {"url": "x", "kind": "article"}}),
                       ("/incidentwire/-/create", {"table": "t", "columns": [{"name": "id"}]}),
                       ("/incidentwire/documents/1/-/delete", {}),
                       ("/incidentwire/-/query", {"sql": "delete from documents"})]:
        response = await ds.client.post(path, json=body)
        # (1.0a41 answers a POST to /-/query with a 500 from its own routing: refused all the same.)
        assert response.status_code >= 400, (path, response.status_code)
    response = await ds.client.get("/incidentwire/-/query.json?sql=delete+from+documents")
    assert response.status_code >= 400
    assert len(await rows(ds, "/incidentwire/documents.json?_size=max")) == before > 0


async def test_arbitrary_sql_can_be_switched_off(catalog_path):
    locked = make_datasette(catalog_path, settings={"default_allow_sql": False})
    response = await locked.client.get("/incidentwire/-/query.json?sql=select+1")
    assert response.status_code == 403
    assert await rows(locked, "/incidentwire/search.json?q=blackmail")
    open_ds = make_datasette(catalog_path)
    assert (await open_ds.client.get("/incidentwire/-/query.json?sql=select+1")).status_code == 200


async def test_robots_txt_blocks_crawlers(ds):
    assert "Disallow: /" in (await get(ds, "/robots.txt")).text


# --- the demo DB (the whole pipeline over the offline snapshot) ----------------------------------

@pytest.fixture(scope="session")
def demo_ds(request):
    """The catalog over the demo DB; $INCIDENTWIRE_DEMO_DB reuses a DB built by `incidentwire demo`."""
    import os
    path = os.environ.get("INCIDENTWIRE_DEMO_DB") or request.getfixturevalue("demo_db")
    return make_datasette(path)


async def demo_claude_story(demo_ds):
    found = await rows(demo_ds, "/incidentwire/documents.json?publisher=VentureBeat&title__contains=backlash")
    assert found and found[0]["story_id"], "the VentureBeat article has no story"
    return found[0]["story_id"]


async def test_demo_every_page_renders_and_is_inert(demo_ds):
    story = await demo_claude_story(demo_ds)
    weeks = await rows(demo_ds, "/incidentwire/digests.json")
    paths = ["/", "/incidentwire", "/incidentwire/search?q=blackmail", "/incidentwire/week",
             "/incidentwire/new_stories", "/incidentwire/entity_stories", "/incidentwire/system_cards",
             f"/stories/{story}", f"/stories/{story}/brief", "/-/search?q=claude"]
    paths += [f"/incidentwire/{t}" for t in ("documents", "stories", "sources", "entities", "quotes",
                                             "digests", "runs", "skips", "document_versions")]
    paths += [f"/incidentwire/digests/{w['week']}" for w in weeks[:3]]
    for path in paths:
        assert_inert((await get(demo_ds, path)).text)
    for path in (f"/stories/{story}.json", f"/stories/{story}/brief.json", "/incidentwire/week.json",
                 "/incidentwire/entity_stories.json", "/incidentwire/system_cards.json"):
        assert (await get(demo_ds, path)).json()


async def test_demo_claude_opus_4_story(demo_ds):
    story = await demo_claude_story(demo_ds)
    page = (await get(demo_ds, f"/stories/{story}")).text
    timeline = page.split('class="iw-timeline"')[1].split("</ol>")[0]
    assert "VentureBeat" in timeline and "Anthropic faces backlash to Claude 4 Opus" in timeline
    assert "Business of Tech" in timeline
    assert "Also published at" in timeline
    data = (await get(demo_ds, f"/stories/{story}.json")).json()
    kinds = {d["kind"] for d in data["timeline"]}
    assert {"article", "podcast", "social"} <= kinds
    assert data["reactions"]


async def test_demo_search_and_feeds(demo_ds):
    story = await demo_claude_story(demo_ds)
    found = await rows(demo_ds, "/incidentwire/search.json?q=blackmail")
    assert story in {r["story_id"] for r in found}
    assert {"VentureBeat", "Business of Tech"} <= {r["publisher"] for r in found}
    _, entries = parse_feed((await get(demo_ds, "/incidentwire/search.atom?q=blackmail")).text)
    assert entries
    _, entries = parse_feed((await get(demo_ds, "/incidentwire/new_stories.atom")).text)
    assert len(entries) >= 8
    _, entries = parse_feed((await get(demo_ds, "/incidentwire/digest_feed.atom")).text)
    assert entries


# --- issue 20, point 13: search that finds stories, phrases, and close words ----------------------

async def test_stories_table_search_finds_stories(ds):
    found = await rows(ds, "/incidentwire/stories.json?_search=Anthropic")
    assert CLAUDE_STORY in [r["id"] for r in found]
    assert await rows(ds, "/incidentwire/stories.json?_search=zzzznothing") == []


async def test_quoted_phrases_search_as_phrases(ds):
    words = await rows(ds, "/incidentwire/search.json?q=blackmail+engineers")
    phrase = await rows(ds, "/incidentwire/search.json?q=%22engineers+blackmail%22")
    assert len(phrase) < len(words) or not phrase
    from pipeline.publish.find import fts_query
    assert fts_query('"egregiously immoral" claude') == '"egregiously immoral" "claude"'


async def test_a_search_with_no_results_suggests_close_words(ds):
    page = (await get(ds, "/incidentwire/search?q=blakmail")).text
    assert "No documents match." in page and ">blackmail</a>?" in page


async def test_story_page_shows_the_lead_excerpt_and_a_stored_summary(ds, catalog_path):
    page = (await get(ds, f"/stories/{CLAUDE_STORY}")).text
    assert 'class="iw-lead-excerpt"' in page
    db = open_db(catalog_path)
    summary = db["stories"].get(CLAUDE_STORY)["summary"]
    if summary:
        assert 'iw-summary' in page


async def test_live_briefs_link_to_the_host_they_are_served_from(ds):
    response = await ds.client.get(f"/stories/{CLAUDE_STORY}/brief.json", headers={"host": "catalog.example.org"})
    assert response.json()["urls"]["story"] == f"http://catalog.example.org/stories/{CLAUDE_STORY}"
    md = (await ds.client.get(f"/stories/{CLAUDE_STORY}/brief.md", headers={"host": "catalog.example.org"})).text
    assert "127.0.0.1:8001" not in md and f"http://catalog.example.org/stories/{CLAUDE_STORY}" in md


async def test_story_page_shows_each_quote_once(ds):
    import re as _re
    page = (await get(ds, f"/stories/{CLAUDE_STORY}")).text
    blocks = _re.findall(r'<blockquote class="iw-quote"><p>(.*?)</p>|<p class="iw-snippet">(.*?)</p>', page, _re.S)
    texts = [_re.sub(r"\W+", " ", (a or b).lower()).strip() for a, b in blocks]
    assert texts and len(texts) == len(set(texts)), texts
    for k, t in enumerate(texts):
        assert not any(t in other for j, other in enumerate(texts) if j != k)


@pytest.mark.parametrize("typed", ["Anthropic", "anthropic", "Anthropic’s", "Anthropic's", "ANTHROPIC"])
async def test_entities_are_found_whatever_the_case_or_possessive(ds, typed):
    import urllib.parse
    found = await rows(ds, "/incidentwire/entity_stories.json?entity=" + urllib.parse.quote(typed))
    assert {r["entity_id"] for r in found} == {"anthropic"} and CLAUDE_STORY in {r["story_id"] for r in found}


async def test_an_entity_lists_stories_its_documents_name_even_when_the_story_list_does_not(ds, catalog_path):
    db = open_db(catalog_path)
    expected = {r[0] for r in db.execute(
        "select distinct s.id from stories s join documents d on d.story_id = s.id "
        "join document_entities de on de.document_id = d.id where de.entity_id = 'sam-bowman' "
        "and s.merged_into is null")}
    found = await rows(ds, "/incidentwire/entity_stories.json?entity=Sam+Bowman")
    assert expected and {r["story_id"] for r in found} == expected


async def test_search_sorts_by_relevance_or_date_pages_and_counts_facets(ds):
    by_date = await rows(ds, "/incidentwire/search.json?q=claude&sort=date")
    dates = [r["published"] or "" for r in by_date]
    assert by_date and dates == sorted(dates, reverse=True)
    relevance = await rows(ds, "/incidentwire/search.json?q=claude")
    assert {r["id"] for r in relevance} == {r["id"] for r in by_date}
    assert await rows(ds, "/incidentwire/search.json?q=claude&page=2") == []     # fewer than 50 matches
    assert await rows(ds, "/incidentwire/search.json?q=claude&page=1") == relevance
    page = (await get(ds, "/incidentwire/search?q=claude")).text
    assert 'class="iw-meta iw-facets"' in page and 'class="iw-count"' in page
    assert "q=claude&amp;sort=date" in page
    kinds = {}
    for r in relevance:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    facet = page.split('class="iw-meta iw-facets"')[1].split("</p>")[0]
    for kind, n in kinds.items():
        if kind:
            assert f'{kind.replace("_", " ")}</a> <span class="iw-count">{n}</span>' in facet


async def test_demo_stories_with_two_sources_have_a_summary_on_page_and_in_the_feed(demo_ds):
    """Issue 20, point 11: the summary was empty for all 46 demo stories."""
    import html as _html
    found = await rows(demo_ds, "/incidentwire/new_stories.json?_size=max")
    multi = [r for r in found if (r["n_sources"] or 0) >= 2]
    assert multi and all(r["summary"] for r in multi), [r["headline"] for r in multi if not r["summary"]]
    feed = (await get(demo_ds, "/incidentwire/new_stories.atom")).text
    for r in multi[:5]:
        assert _html.escape(r["summary"][:40], quote=False) in feed or r["summary"][:40] in feed
        page = (await get(demo_ds, r["story_href"])).text
        assert 'iw-summary' in page
