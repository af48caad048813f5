"""/-/mcp: datasette-mcp with incidentwire's domain tools, through the mcp SDK's own client against a
live `serve` on loopback (tests/support/serving.py)."""
import json

import pytest
from mcp import Client

from db.connection import open_db
from pipeline.enrich import enrich_stories
from pipeline.stories.embed import embed_documents
from tests.support.briefs import CLAUDE_STORY, LION_AIR_STORY, build_db
from tests.support.serving import serving

DOMAIN_TOOLS = {"search_stories", "get_story", "get_brief", "whats_new", "entity_stories"}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("mcp") / "t.db"
    build_db(path)
    db = open_db(path)
    db["entities"].insert_all([{"id": "anthropic", "name": "Anthropic", "kind": "lab", "aliases": '["Anthropic PBC"]'},
                               {"id": "boeing", "name": "Boeing", "kind": "product", "aliases": "[]"}])
    embed_documents(db)     # the vectors and quotes `process` stores
    enrich_stories(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture(scope="module")
def url(db_path):
    with serving(db_path) as base:
        yield base + "/-/mcp"


async def call(url, tool, **arguments):
    async with Client(url) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    return result.is_error, (text if result.is_error else (result.structured_content or json.loads(text)))


async def test_lists_domain_tools_beside_the_sql_tool(url):
    async with Client(url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert DOMAIN_TOOLS | {"execute_sql", "list_databases", "get_database_schema"} <= set(tools)
    assert all(tools[name].annotations.read_only_hint for name in DOMAIN_TOOLS)
    assert "since" in tools["search_stories"].input_schema["properties"]


async def test_search_finds_a_story_by_meaning_in_other_words(url):
    # no document holds all these words: full text alone finds nothing; the vectors do
    error, found = await call(url, "search_stories", query="chatbot snitches on its users to the police")
    assert not error and found["stories"][0]["id"] == CLAUDE_STORY and found["stories"][0]["matched_by"] == ["meaning"]
    error, found = await call(url, "search_stories", query="passenger jet crash blamed on a broken sensor")
    assert found["stories"][0]["id"] == LION_AIR_STORY
    error, found = await call(url, "search_stories", query="Lion Air", since="2025-01-01")
    assert LION_AIR_STORY not in [s["id"] for s in found["stories"]]
    error, found = await call(url, "search_stories", query="Lion Air")
    assert found["stories"][0]["id"] == LION_AIR_STORY and "words" in found["stories"][0]["matched_by"]


async def test_get_story_and_brief_resolve_merged_ids(url):
    error, story = await call(url, "get_story", id="s-old-id")
    assert not error and story["id"] == CLAUDE_STORY and story["requested_id"] == "s-old-id"
    assert story["documents"] and "text" not in story["documents"][0] and story["quotes"]
    assert story["citation"]["url"] == url.removesuffix("/-/mcp") + f"/stories/{CLAUDE_STORY}"
    error, brief = await call(url, "get_brief", id="s-old-merged")
    assert not error and brief["id"] == CLAUDE_STORY and brief["key_quotes"] and brief["sources"]


async def test_whats_new_and_entity_stories(url):
    error, news = await call(url, "whats_new", since="2025-05-23")
    assert not error and news["new"] == [] and [s["id"] for s in news["grown"]] == [CLAUDE_STORY]
    assert news["grown"][0]["new_documents"] == 1
    error, news = await call(url, "whats_new", since="2025-05-01")
    assert [s["id"] for s in news["new"]] == [CLAUDE_STORY]
    error, found = await call(url, "entity_stories", name="anthropic pbc")
    assert not error and found["entity"]["name"] == "Anthropic" and [s["id"] for s in found["stories"]] == [CLAUDE_STORY]


@pytest.mark.parametrize("tool, arguments, words", [
    ("get_story", {"id": "s-no-such-story"}, "no story with id 's-no-such-story'"),
    ("get_brief", {"id": ""}, "no story with id ''"),
    ("whats_new", {"since": "yesterday"}, "since must be a date like 2025-05-22"),
    ("search_stories", {"query": "   "}, "query must be some words"),
    ("search_stories", {"query": "blackmail", "limit": 0}, "limit must be a whole number from 1 to 50"),
    ("entity_stories", {"name": "Nobody Inc"}, "no entity named 'Nobody Inc'"),
])
async def test_bad_arguments_are_clear_tool_errors(url, tool, arguments, words):
    error, text = await call(url, tool, **arguments)
    assert error and words in text and "\n" not in text.strip()


async def test_sql_tool_answers_and_is_read_only(url):
    error, result = await call(url, "execute_sql", database="incidentwire", sql="select count(*) as n from stories")
    assert not error and result["rows"] == [{"n": 3}]
    error, text = await call(url, "execute_sql", database="incidentwire", sql="delete from stories")
    assert error


async def test_no_sql_switches_the_sql_tool_off(db_path):
    with serving(db_path, settings={"default_allow_sql": False}) as base:
        async with Client(base + "/-/mcp") as client:
            names = {t.name for t in (await client.list_tools()).tools}
    assert DOMAIN_TOOLS <= names and "execute_sql" not in names
