""""Cite this story" on the story page: stable id, URL and dates (pipeline.publish.cite, plugins/iw_cite.py)."""
import pytest

from bench.catalog_db import CLAUDE_STORY
from pipeline.publish.cite import citation


def test_citation_names_the_id_url_and_dates():
    story = {"id": "s-x", "headline": "Agent deletes a database.", "first_seen": "2025-07-18T10:00:00+00:00",
             "last_seen": "2025-07-25T09:00:00+00:00", "updated": None}
    cite = citation(story, "https://catalog.example/", "2026-12-07")
    assert cite["url"] == "https://catalog.example/stories/s-x"
    assert cite["text"] == ("Agent deletes a database. incidentwire story s-x, 2025-07-18 to 2025-07-25. "
                            "https://catalog.example/stories/s-x (accessed 2026-12-07).")
    assert citation({"id": "s-y"}, "http://h", "2026-12-07")["text"].startswith("s-y. incidentwire story s-y, undated")

from tests.support.catalog import catalog_datasette


@pytest.fixture(scope="module")
async def ds(tmp_path_factory, shared):
    return await catalog_datasette(tmp_path_factory.mktemp("cite"), shared)


async def test_story_page_shows_cite_this_story(ds):
    response = await ds.client.get(f"/stories/{CLAUDE_STORY}")
    assert response.status_code == 200
    page = response.text
    assert "Cite this story" in page and f"<code>{CLAUDE_STORY}</code>" in page
    assert f"http://localhost/stories/{CLAUDE_STORY}" in page and "incidentwire story" in page


async def test_unknown_story_page_has_no_citation(ds):
    response = await ds.client.get("/stories/s-no-such-story")
    assert response.status_code == 404 and "Cite this story" not in response.text
