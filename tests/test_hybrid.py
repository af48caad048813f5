"""Hybrid search (words + meaning, RRF): the engine, and the `hybrid_search` stored query with JSON and Atom."""
import asyncio
import json
import sqlite3

import feedparser
import pytest

from db.connection import open_db
from pipeline.find import documents as find_documents
from pipeline.find.hybrid import fuse
from pipeline.ops.serve import make_datasette
from pipeline.stories.embed import embed_documents, encode, resolve_model
from tests.support.briefs import CLAUDE_STORY, LION_AIR_STORY, build_db

OTHER_WORDS = "snitching chatbot tattles"    # no document holds any of these words


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("hybrid") / "t.db"
    build_db(path)
    db = open_db(path)
    embed_documents(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
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


async def rows(ds, q, mode="", ext="json"):
    response = await ds.client.get(f"/incidentwire/hybrid_search.{ext}",
                                   params={"q": q, "mode": mode, "_shape": "objects"})
    assert response.status_code == 200, response.text[:500]
    return response.json()["rows"] if ext == "json" else response


async def test_stored_query_finds_by_meaning_once_the_model_is_loaded(ds):
    for _ in range(300):    # the first search starts loading the model and is words alone meanwhile
        found = await rows(ds, OTHER_WORDS)
        if found:
            break
        await asyncio.sleep(0.2)
    assert found and found[0]["story_id"] == CLAUDE_STORY and json.loads(found[0]["matched_by"]) == ["meaning"]
    assert found[0]["snippet_html"] and "<mark>" not in found[0]["snippet_html"]    # no word hit: the text's start
    assert await rows(ds, OTHER_WORDS, mode="words") == []


async def test_word_hits_are_highlighted_and_first(ds):
    found = await rows(ds, "Lion Air", mode="hybrid")
    assert found[0]["story_id"] == LION_AIR_STORY and "<mark>" in found[0]["title_html"] + found[0]["snippet_html"]
    assert json.loads(found[0]["matched_by"])[0] == "words"
    assert await rows(ds, "   ") == []


async def test_atom_feed_of_a_hybrid_search(ds):
    response = await rows(ds, "Lion Air", ext="atom")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and parsed.entries and all(e.get("id") and e.get("link") for e in parsed.entries)


def test_combine_normalises_each_list_and_weights_words():
    scores = find_documents.combine((0.7, [(1, 10.0), (2, 0.0)]), (0.3, [(2, 0.9), (3, 0.1)]))
    assert scores == {1: 0.7, 2: 0.3, 3: 0.0}


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
