"""Hybrid search (words + meaning): the engine, the fusions, and the `search` stored query's modes with JSON and Atom."""
import asyncio
import json
import sqlite3

import feedparser
import pytest

from pipeline.find import documents as find_documents
from pipeline.find import fusion
from pipeline.find.hybrid import fuse
from pipeline.ops.serve import make_datasette
from pipeline.stories.embed import encode, resolve_model
from tests.support.briefs import CLAUDE_STORY, LION_AIR_STORY
from tests.support.search import OTHER_WORDS, build_embedded_db

@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("hybrid") / "t.db"
    build_embedded_db(path)
    return path


def test_rrf_rewards_agreement():
    scores = fuse([1, 2, 3], [3, 1, 4])
    assert sorted(scores, key=lambda k: -scores[k])[:2] == [1, 3] and scores[4] < scores[2]


def test_engine_modes(db_path):
    conn = sqlite3.connect(db_path)
    model = resolve_model()[0]
    qvec = encode([OTHER_WORDS])[0]
    assert find_documents.search(conn, OTHER_WORDS, qvec, model, mode="words") == []
    meaning = find_documents.search(conn, OTHER_WORDS, qvec, model, mode="meaning", limit=3)
    stories = dict(conn.execute("select id, story_id from documents"))
    assert {stories[i] for i, _, _ in meaning} == {CLAUDE_STORY} and meaning[0][2] == ["meaning"]
    lion = encode(["Lion Air"])[0]
    both = find_documents.search(conn, "Lion Air", lion, model, mode="hybrid", limit=5)
    assert all(stories[i] == LION_AIR_STORY for i, _, _ in both) and both[0][2] == ["words", "meaning"]


@pytest.fixture(scope="module")
async def ds(db_path):
    ds = make_datasette(db_path)
    await ds.invoke_startup()
    return ds


async def rows(ds, q, mode="", ext="json", **params):
    response = await ds.client.get(f"/incidentwire/search.{ext}",
                                   params={"q": q, "mode": mode, "_shape": "objects", **params})
    assert response.status_code == 200, response.text[:500]
    return response.json()["rows"] if ext == "json" else response


async def meaning_ready(ds):
    for _ in range(300):    # the first search starts loading the model and is words alone meanwhile
        found = await rows(ds, OTHER_WORDS)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("the catalog never searched by meaning")


async def test_search_finds_by_meaning_by_default_once_the_model_is_loaded(ds):
    found = await meaning_ready(ds)
    assert found[0]["story_id"] == CLAUDE_STORY and json.loads(found[0]["matched_by"]) == ["meaning"]
    assert found[0]["mode"] == "hybrid" and found[0]["matched"] == "meaning"
    assert found[0]["snippet_html"] and "<mark>" not in found[0]["snippet_html"]    # no word hit: the text's start
    assert await rows(ds, OTHER_WORDS, mode="words") == []
    assert {r["story_id"] for r in await rows(ds, OTHER_WORDS, mode="meaning")} >= {CLAUDE_STORY}


async def test_word_hits_are_highlighted_and_first(ds):
    await meaning_ready(ds)
    found = await rows(ds, "Lion Air", mode="hybrid")
    assert found[0]["story_id"] == LION_AIR_STORY and "<mark>" in found[0]["title_html"] + found[0]["snippet_html"]
    assert json.loads(found[0]["matched_by"])[0] == "words"
    assert await rows(ds, "   ") == []


@pytest.mark.parametrize("mode", ["hybrid", "words", "meaning"])
@pytest.mark.parametrize("name,value,holds", [
    ("kind", "podcast", lambda r: r["kind"] == "podcast"),
    ("source", "VentureBeat", lambda r: r["publisher"] == "VentureBeat"),
    ("since", "2025-05-24", lambda r: r["published"] >= "2025-05-24"),
    ("until", "2018-12", lambda r: r["published"] < "2019"),
])
async def test_every_filter_works_in_every_mode(ds, mode, name, value, holds):
    await meaning_ready(ds)
    q = "Lion Air crash" if name == "until" else "Claude Opus blackmail"
    unfiltered = await rows(ds, q, mode)
    found = await rows(ds, q, mode, **{name: value})
    assert found and all(holds(r) for r in found), found
    assert {r["id"] for r in found} == {r["id"] for r in unfiltered if holds(r)} or len(unfiltered) >= 50


@pytest.mark.parametrize("mode", ["hybrid", "words", "meaning"])
async def test_newest_first_and_pages_in_every_mode(ds, mode):
    await meaning_ready(ds)
    newest = [r["published"] for r in await rows(ds, "Claude", mode, sort="date")]
    assert newest and newest == sorted(newest, reverse=True)
    first = await rows(ds, "Claude", mode)
    second = await rows(ds, "Claude", mode, page="2")
    assert first and not {r["id"] for r in first} & {r["id"] for r in second}


async def test_atom_feed_of_a_hybrid_search(ds):
    response = await rows(ds, "Lion Air", mode="hybrid", ext="atom")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and parsed.entries and all(e.get("id") and e.get("link") for e in parsed.entries)


async def test_search_page_offers_the_modes_and_says_what_matched(ds):
    await meaning_ready(ds)
    page = (await ds.client.get("/incidentwire/search", params={"q": OTHER_WORDS})).text
    assert '<select name="mode"' in page and '<option value="hybrid" selected>' in page
    assert "matched by meaning" in page and "by words and meaning" in page
    odd = (await ds.client.get("/incidentwire/search", params={"q": "Lion Air", "mode": "<b>vibes</b>"})).text
    assert "There is no mode “&lt;b&gt;vibes&lt;/b&gt;”" in odd and "matched by words" in odd


async def test_the_old_hybrid_search_urls_redirect_to_search(ds):
    response = await ds.client.get("/incidentwire/hybrid_search.json?q=Lion+Air&mode=words")
    assert response.status_code == 301
    assert response.headers["location"] == "/incidentwire/search.json?q=Lion+Air&mode=words"


def test_weighted_sum_normalises_each_list_and_weights_words():
    scores = fusion.weighted_sum([(1, 10.0), (2, 0.0)], [(2, 0.9), (3, 0.1)], 0.7)
    assert scores == pytest.approx({1: 0.7, 2: 0.3, 3: 0.0})


def test_normalising_past_the_top_ranks_keeps_the_first_pages():
    deep = [(i, 1000.0 - i) for i in range(300)]
    shallow, full = fusion.normalised(deep[:fusion.NORM_DEPTH]), fusion.normalised(deep)
    assert all(shallow[i] == full[i] for i in shallow) and full[299] == 0.0


def test_float16_scan_then_float32_rescoring_ranks_as_an_exact_scan():
    import numpy as np
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((find_documents.COARSE * 5, 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    half = find_documents.half_matrix(matrix)
    assert half is not None    # torch is there (it embeds queries)
    for qvec in matrix[:5] + 0.1 * matrix[5:10]:
        qvec = np.ascontiguousarray(qvec / np.linalg.norm(qvec), dtype=np.float32)
        rows, scores = find_documents.top_rows(matrix, half, qvec, 100)
        exact_rows, exact_scores = find_documents.top_rows(matrix, None, qvec, 100)
        assert rows.tolist() == exact_rows.tolist() and np.allclose(scores, exact_scores)


def test_the_live_story_map_follows_writes_from_any_connection(tmp_path):
    from pipeline.find.hybrid import live_target
    path = tmp_path / "marks.db"
    writer, reader = sqlite3.connect(path), sqlite3.connect(path)
    writer.executescript("create table stories (id text primary key, merged_into text, updated text);"
                         "create table story_redirects (old_id text primary key, new_id text);"
                         "insert into stories values ('a', null, '1'), ('b', null, '1');")
    writer.commit()
    assert live_target(reader) == {"a": "a", "b": "b"}
    writer.execute("update stories set merged_into = 'a', updated = '2' where id = 'b'")
    writer.commit()
    assert live_target(reader) == {"a": "a", "b": "a"}    # another connection's commit
    writer.execute("insert into stories values ('c', null, '3')")
    assert live_target(writer)["c"] == "c"                  # this connection's own write
