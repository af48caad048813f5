"""An hourly `process` follows the new documents, not the store: later runs read only what is new
(vectors, names, what the stream reads), replay only the stories that can take a new document,
and a long backfill that is interrupted resumes without losing the batches it finished."""
import json
import pathlib

import numpy as np
import pytest

from db.connection import open_db
from pipeline.stories import assign, embed, entities, readings
from pipeline.stories.entities import extract_entities
from pipeline.stories.features import reading
from pipeline.stories.records import items_from_records
from pipeline.stories.stream import cluster_stream
from tests.support.stories import sample


def insert(db, rows, start=1):
    for k, r in enumerate(rows, start):
        db["documents"].insert({"id": k, "url": r["url"], "canonical_url": r["url"], "kind": "article",
                                "publisher": r.get("source") or "", "title": r["title"],
                                "text": (r.get("text") or "")[:1500], "published": r.get("published"),
                                "content_hash": f"c{k}"})


def story_map(db):
    return {r["id"]: r["story_id"] for r in db.query("SELECT id, story_id FROM documents ORDER BY id")}


def counting(monkeypatch, module, name):
    """Count the calls of module.name (and what they were given)."""
    calls, real = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_later_run_reads_only_the_new_documents(tmp_path, monkeypatch):
    rows = sample()
    db = open_db(tmp_path / "h.db")
    insert(db, rows[:6])
    assert assign.assign_stories(db)["assigned"] == 6
    insert(db, rows[6:], start=7)
    names = counting(monkeypatch, entities, "extract_entities")
    embedded = counting(monkeypatch, embed, "encode")
    read = counting(monkeypatch, readings, "reading")
    assert assign.assign_stories(db)["assigned"] == 3
    # Names and vectors for the three new documents only; the six placed before are replayed
    # from what was kept of them (a document that names no one is not read again either).
    documents_read = lambda: [c for c in names if "\n" in c]  # (a story's headline is read too)
    assert len(documents_read()) == 3 and sum(len(texts) for texts in embedded) == 3
    assert sorted(it["id"] for it in read) == [7, 8, 9]
    assert assign.assign_stories(db) == {"assigned": 0, "new_stories": 0, "merged": 0, "moved": 0}
    assert len(documents_read()) == 3 and len(read) == 3


@pytest.mark.parametrize("starbucks_year, cap", [(2020, None), (2024, 1)])
def test_replay_takes_only_the_stories_that_can_take_a_new_document(tmp_path, monkeypatch, starbucks_year, cap):
    """Two Starbucks reports, then four Google Photos reports, then the ad-targeting ones arrive:
    a story quiet for longer than the window, or beyond the most recently seen REPLAY_STORIES,
    cannot take them and is not replayed."""
    rows = sample()
    dates = [f"{starbucks_year}-01-0{k}" for k in (1, 2)] + [f"2024-01-1{k}" for k in range(4)] + \
        [f"2024-02-0{k}" for k in range(1, 4)]
    rows = [{**r, "published": d} for r, d in zip(rows, dates)]
    db = open_db(tmp_path / "r.db")
    insert(db, rows[:6])
    assign.assign_stories(db)
    photos = db.execute("SELECT story_id FROM documents WHERE id = 6").fetchone()[0]
    assert db["stories"].count == 2
    insert(db, rows[6:], start=7)
    seen = []
    real = assign.cluster_stream
    monkeypatch.setattr(assign, "cluster_stream", lambda items, vectors: seen.append(items) or real(items, vectors))
    if cap:
        monkeypatch.setattr(assign, "REPLAY_STORIES", cap)
    assert assign.assign_stories(db)["assigned"] == 3
    assert {it.get("story") for it in seen[0]} == {photos, None}


def test_an_undated_report_reaches_its_story_beyond_the_ones_replayed(tmp_path, monkeypatch):
    """A Starbucks report of 2020, then four Google Photos reports of 2024; an hourly run then meets
    an undated Starbucks report. The Starbucks story is not among the stories seen last (one, here),
    but its kept centroid is the closest to the page: it is replayed and takes it. Without a date
    the page is no evidence of being recent."""
    rows = sample()
    dated = [{**rows[0], "published": "2020-01-01"}] + [{**r, "published": f"2024-01-1{k}"}
                                                       for k, r in enumerate(rows[2:6])]
    db = open_db(tmp_path / "u.db")
    insert(db, dated)
    assign.assign_stories(db)
    starbucks = db.execute("SELECT story_id FROM documents WHERE id = 1").fetchone()[0]
    assert db["stories"].count == 2
    monkeypatch.setattr(assign, "REPLAY_STORIES", 1)
    insert(db, [{**rows[1], "published": None}], start=6)
    assert assign.assign_stories(db)["assigned"] == 1
    assert story_map(db)[6] == starbucks
    # A page dated now, with the same text, meets only the stories seen last: a story of its own.
    insert(db, [{**rows[1], "url": rows[1]["url"] + "?dated", "published": "2026-01-01"}], start=7)
    assign.assign_stories(db)
    assert story_map(db)[7] not in (starbucks, None)


def test_the_closest_stories_of_an_undated_page_are_found_among_thousands(tmp_path, monkeypatch):
    """Read a thousand kept centroids at a time, the stories closest to each undated page are the
    ones a full scan ranks first (merged-away stories left out), and never more than a run replays."""
    from pipeline.stories.embed import DEFAULT_MODEL
    db = open_db(tmp_path / "c.db")
    rng = np.random.default_rng(3)
    sums = rng.normal(size=(2500, 16)).astype(np.float32) * rng.uniform(1, 9, size=(2500, 1)).astype(np.float32)
    ids = [f"s-{j:04d}" for j in range(2500)]
    db["stories"].insert_all([{"id": sid, "merged_into": "s-0000" if j == 7 else None} for j, sid in enumerate(ids)])
    db["story_centroids"].insert_all([{"story_id": sid, "model": DEFAULT_MODEL, "n": 3, "vector": v.tobytes()}
                                      for sid, v in zip(ids, sums)])
    pages = rng.normal(size=(3, 16)).astype(np.float32)
    pages[0] = sums[7] + sums[2400]  # closest to a merged story and to one in the last chunk
    pages /= np.linalg.norm(pages, axis=1, keepdims=True)
    for k, v in enumerate(pages):
        db["embeddings"].insert({"content_hash": f"p{k}", "model": DEFAULT_MODEL, "dim": 16, "vector": v.tobytes()})
    rows = [{"content_hash": f"p{k}"} for k in range(3)]
    unit = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    k, alive = assign.OLD_STORIES_PER_PAGE, np.arange(2500) != 7  # s-0007 was merged away
    expected = {ids[j] for v in pages for j in np.argsort(-np.where(alive, unit @ v, -np.inf))[:k]}
    found = set(assign._closest_stories(db, rows))
    assert found == expected and "s-2400" in found and "s-0007" not in found
    # However many pages, no more stories than a run replays: the closest ones.
    monkeypatch.setattr(assign, "REPLAY_STORIES", 2)
    two = np.argsort(-np.where(alive, unit @ pages[0], -np.inf))[:2]
    assert assign._closest_stories(db, rows[:1]) == sorted(ids[j] for j in two)


def test_an_interrupted_backfill_resumes_where_it_stopped(tmp_path, monkeypatch):
    rows = sample()
    monkeypatch.setattr(assign, "ASSIGN_BATCH", 3)
    clean = open_db(tmp_path / "clean.db")
    insert(clean, rows)
    stats = {}
    assert assign.assign_stories(clean, stats=stats)["assigned"] == 9
    assert stats["embed_docs_per_s"] > 0 and stats["assign_docs_per_s"] > 0
    db = open_db(tmp_path / "cut.db")
    insert(db, rows)
    real, calls = assign.cluster_stream, []

    def cut(items, vectors):
        calls.append(len(items))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(items, vectors)
    monkeypatch.setattr(assign, "cluster_stream", cut)
    with pytest.raises(KeyboardInterrupt):
        assign.assign_stories(db)
    # The first batch is kept (and every vector: embedding commits as it goes) ...
    assert sum(1 for s in story_map(db).values() if s) == 3
    assert db["embeddings"].count == 9
    monkeypatch.setattr(assign, "cluster_stream", real)
    # ... and the next run does the rest, as an uninterrupted run would have.
    assert assign.assign_stories(db)["assigned"] == 6
    assert story_map(db) == story_map(clean)


def test_what_was_read_before_places_documents_as_reading_them_again():
    recs = [json.loads(line) for line in
            (pathlib.Path(__file__).parent / "fixtures" / "shared" / "eval" / "aiid-fixtures.jsonl").read_text().splitlines()]
    items = items_from_records(recs[:120])
    for it in items:
        it["entities"] = extract_entities(f"{it.get('title') or ''}\n{it.get('text') or ''}")
    vectors = np.random.default_rng(0).normal(size=(len(items), 16)).astype(np.float32)
    fresh = cluster_stream(items, vectors)
    # As kept in the database and read back (see readings.attach_readings).
    kept = [{**it, "reading": readings.unpack(json.loads(json.dumps(readings.pack(reading(it, it["entities"])))))}
            for it in items]
    assert cluster_stream(kept, vectors) == fresh
