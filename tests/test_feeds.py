"""Feeds per story, entity, category and system-card changes, and the OPML list: each valid Atom (feedparser)."""
import xml.etree.ElementTree as ET

import feedparser
import pytest

from bench.catalog_db import CLAUDE_STORY, MERGED_STORY
from tests.support.catalog import catalog_datasette


@pytest.fixture(scope="module")
async def ds(tmp_path_factory, shared):
    return await catalog_datasette(tmp_path_factory.mktemp("feeds"), shared)


async def feed(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    assert parsed.feed.get("updated") and parsed.feed.get("title")
    for e in parsed.entries:
        assert e.get("id") and e.get("link", "").startswith("http") and e.get("updated_parsed"), (path, e)
        assert e.get("summary"), (path, e.get("id"))
    return parsed


async def test_story_feed_lists_new_coverage_newest_first(ds):
    parsed = await feed(ds, f"/feeds/stories/{CLAUDE_STORY}.atom")
    ids = [e.id for e in parsed.entries]
    assert len(ids) >= 5 and len(set(ids)) == len(ids) and all(i.startswith("tag:incidentwire,2025:document/") for i in ids)
    dates = [e.updated_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    assert "tag:incidentwire,2025:document/5" not in ids    # a syndicated copy is not new coverage
    again = await feed(ds, f"/feeds/stories/{CLAUDE_STORY}.atom")
    assert [e.id for e in again.entries] == ids and again.feed.updated == parsed.feed.updated   # stable


async def test_merged_story_feed_redirects_and_unknown_is_404(ds):
    response = await ds.client.get(f"/feeds/stories/{MERGED_STORY}.atom")
    assert response.status_code == 301 and response.headers["location"] == f"/feeds/stories/{CLAUDE_STORY}.atom"
    for path in ("/feeds/stories/s-nope.atom", "/feeds/entities/nobody.atom", "/feeds/categories/no-such.atom"):
        response = await ds.client.get(path)
        assert response.status_code == 404 and "/feeds.opml" in response.text


async def test_entity_and_category_feeds_list_stories(ds):
    for path in ("/feeds/entities/anthropic.atom", "/feeds/entities/Claude%20Opus%204.atom",
                 "/feeds/categories/whistleblowing.atom"):
        parsed = await feed(ds, path)
        assert [e.id for e in parsed.entries] == [f"tag:incidentwire,2025:story/{CLAUDE_STORY}"]
        assert parsed.entries[0].link.endswith(f"/stories/{CLAUDE_STORY}")
    empty = await feed(ds, "/feeds/entities/sam-bowman.atom")    # named by no story yet: still a valid feed
    assert empty.entries == []


async def test_system_card_feed_shows_changes_as_text(ds):
    parsed = await feed(ds, "/feeds/system-cards.atom")
    assert [e.id for e in parsed.entries] == ["tag:incidentwire,2025:document-version/2",
                                              "tag:incidentwire,2025:document-version/1"]
    assert "ethical intervention" in parsed.entries[0].summary and "First version seen" in parsed.entries[1].summary
    raw = (await ds.client.get("/feeds/system-cards.atom")).text
    assert "<script>" not in raw


async def test_opml_lists_every_feed_and_each_validates(ds):
    response = await ds.client.get("/feeds.opml")
    assert response.status_code == 200
    outlines = [o for o in ET.fromstring(response.content).iter("outline") if o.get("xmlUrl")]
    urls = [o.get("xmlUrl") for o in outlines]
    assert "http://localhost/feeds/system-cards.atom" in urls
    assert f"http://localhost/feeds/stories/{CLAUDE_STORY}.atom" in urls
    assert "http://localhost/feeds/entities/anthropic.atom" in urls
    assert "http://localhost/feeds/categories/deception.atom" in urls
    for url in urls:
        await feed(ds, url.removeprefix("http://localhost"))
