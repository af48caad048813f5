"""The database side of `process`: documents without a story go through the stream (with the
assigned ones it needs as state), and labels, merges and moves are written back."""
import datetime
import itertools

import numpy as np

from pipeline.stories.features import parse_time
from pipeline.stories.fields import kept_sums, refresh_stories, utc_now
from pipeline.stories.readings import attach_readings
from pipeline.stories.records import DOC_COLUMNS, link_targets, links_of, row_extra
from pipeline.stories.scoring import CONFIG
from pipeline.stories.state import resolve
from pipeline.stories.stream import cluster_stream


ASSIGN_BATCH = 5000  # new documents per committed batch: an interrupted backfill keeps the batches done
REPLAY_STORIES = CONFIG["max_active"]  # stories replayed as state: those that can take a new document
# An undated page also replays this many stories closest to it however old (see _closest_stories):
# the stream's shortlist takes the closest few; more cost replay time (at 200,000 documents, 12 per
# page took an hourly run of 50 undated pages from 21 s to 33 s; 4 cost nothing measurable).
OLD_STORIES_PER_PAGE = 4


def assign_stories(db, model_name=None, stats=None):
    """Assign documents without a story, merge near-duplicate stories, refresh story fields.

    The new documents go through the stream in batches of ASSIGN_BATCH (in publication order),
    each written in its own transaction: an interrupted run resumes with the documents left. A
    run of more than one batch shows a progress bar (with an ETA) on stderr. With `stats` (a dict),
    the embedding and assignment rates are recorded in it.
    """
    import sys
    import time
    from tqdm import tqdm
    from pipeline.stories.embed import embed_documents
    from pipeline.stories.entities import index_entities

    embed_documents(db, model_name, stats)
    index_entities(db)
    counts = {"assigned": 0, "new_stories": 0, "merged": 0, "moved": 0}
    pending, t0 = _pending_ids(db), time.monotonic()
    with tqdm(total=len(pending), desc="assign", unit="doc", file=sys.stderr,
              disable=len(pending) <= ASSIGN_BATCH) as bar:
        for k in range(0, len(pending), ASSIGN_BATCH):
            _assign_batch(db, pending[k:k + ASSIGN_BATCH], model_name, counts)
            bar.update(len(pending[k:k + ASSIGN_BATCH]))
    if stats is not None and pending:
        stats["assign_docs_per_s"] = round(len(pending) / max(time.monotonic() - t0, 1e-9), 1)
    return counts


def _pending_ids(db):
    """Ids of the documents without a story, read without their texts: dated ones in publication
    order, then undated ones in id order. Each document's place depends on its own date only, so
    a run resumed after some batches takes the rest in the order an uninterrupted run would."""
    rows = db.execute("SELECT id, published FROM documents WHERE story_id IS NULL").fetchall()
    keyed = [((t, 0, doc_id) if (t := parse_time(published)) is not None else (float("inf"), 1, doc_id))
             for doc_id, published in rows]
    return [k[2] for k in sorted(keyed)]


def _assign_batch(db, new_ids, model_name, counts):
    """One batch of new documents through the stream, with the stories that can take them as state."""
    from pipeline.stories.embed import content_key, release_memory, resolve_model, vectors_for
    rows, new = _load_rows(db, new_ids, model_name)
    if not new:
        return
    vec_of = vectors_for(db, [content_key(r) for r in rows], model_name)
    redirects = {r["old_id"]: r["new_id"] for r in db["story_redirects"].rows}
    items, vectors = stream_items(db, rows, vec_of, redirects)
    attach_readings(db, items)
    release_memory()
    result = cluster_stream(items, vectors)
    del items, vectors
    release_memory()
    now = utc_now()
    with db.conn:
        touched = _write_labels(db, rows, result, redirects, counts)
        touched |= _write_merges(db, result["redirects"], now, counts)
        counts["new_stories"] += len([s for s in result["new"] if s in set(result["labels"])])
        refresh_stories(db, touched, vec_of, now, model=resolve_model(model_name)[0])


def shown_documents(db):
    """Ids of the documents a published digest showed (digest_stories): they stay in their story."""
    if "digest_stories" not in db.table_names():
        return set()
    return {r[0] for r in db.conn.execute("select document_id from digest_stories")}


def stream_items(db, rows, vec_of, redirects):
    """The stream's items and vectors for document rows; placed ones name their (current) story."""
    from pipeline.stories.embed import content_key
    ents = _doc_entities(db, [r["id"] for r in rows])
    pinned = shown_documents(db)
    links = link_targets(rows)
    items, vectors = [], []
    dim = len(next(iter(vec_of.values()))) if vec_of else 384
    for k, r in enumerate(rows):
        # A post without a title borrows the title of the thread it belongs to (HN story_title).
        title = r["title"] or row_extra(r).get("story_title") or ""
        item = {"id": r["id"], "title": title, "text": r["text"], "published": r["published"],
                "canonical_url": r["canonical_url"] or r["url"], "kind": r["kind"], "publisher": r["publisher"],
                "lang": r["lang"],
                "entities": ents.get(r["id"], [])}
        if r["story_id"]:
            item["story"] = resolve(redirects, r["story_id"])
            item["pinned"] = r["id"] in pinned
        if links[k] is not None:  # a placed copy keeps following its original (see refine)
            item["link"] = links[k]
        items.append(item)
        v = vec_of.get(content_key(r))
        vectors.append(v if v is not None else np.zeros(dim, dtype=np.float32))
    return items, np.vstack(vectors)


def _write_labels(db, rows, result, redirects, counts):
    """Each document's story as the stream left it; returns the stories that changed."""
    touched = set()
    for r, label in zip(rows, result["labels"]):
        if r["story_id"] != label:
            if r["story_id"] is None:
                counts["assigned"] += 1
            elif (left := resolve(result["redirects"], resolve(redirects, r["story_id"]))) != label:
                # Moved on second thoughts (see refine.refine): the story it left changes too.
                counts["moved"] += 1
                touched.add(left)
            db.execute("UPDATE documents SET story_id = ? WHERE id = ?", [label, r["id"]])
            touched.add(label)
    return touched


def _write_merges(db, merged, now, counts):
    """Stories the stream merged ({old: new}): redirects, documents and the old story's row point
    at the survivor. Returns the survivors."""
    touched = set()
    for old_id, new_id in merged.items():
        final = resolve(merged, new_id)
        db["story_redirects"].upsert({"old_id": old_id, "new_id": final}, pk="old_id")
        # Earlier redirects to the merged story now point at the survivor.
        db.execute("UPDATE story_redirects SET new_id = ? WHERE new_id = ?", [final, old_id])
        db.execute("UPDATE documents SET story_id = ? WHERE story_id = ?", [final, old_id])
        if db["stories"].count_where("id = ?", [old_id]):
            db["stories"].update(old_id, {"merged_into": final, "n_documents": 0, "updated": now})
        counts["merged"] += 1
        touched.add(final)
    return touched


def _load_rows(db, new_ids, model_name=None):
    """The new documents plus the assigned ones the stream needs as state: the members (within
    the window) of the REPLAY_STORIES stories seen last, the stories that can take a new document,
    read from `stories` by an index; for an undated new document, also the stories closest to it
    however long ago they went quiet (see _closest_stories); and the originals and link targets
    of the new ones."""
    new = _rows_where(db, "id IN ({})", list(new_ids))
    if not new:
        return [], new
    times = [parse_time(r["published"]) for r in new]
    start = None
    if all(t is not None for t in times):
        start = datetime.datetime.fromtimestamp((min(times) - CONFIG["window_days"]) * 86400,
                                                datetime.timezone.utc).isoformat(timespec="seconds")
    live = [r[0] for r in db.execute(
        "SELECT id FROM stories WHERE merged_into IS NULL AND (? IS NULL OR last_seen >= ? OR last_seen IS NULL) "
        "ORDER BY last_seen DESC LIMIT ?", [start, start, REPLAY_STORIES])]
    undated = [r for r, t in zip(new, times) if t is None]
    if undated:
        seen = set(live)
        live += [sid for sid in _closest_stories(db, undated, model_name) if sid not in seen]
    cond = "story_id IN ({})" + ("" if start is None else " AND (published IS NULL OR published >= ?)")
    old = _rows_where(db, cond, live, [] if start is None else [start])
    # Originals of new duplicates and targets of new posts must be present, even if old.
    have = {r["id"] for r in old} | {r["id"] for r in new}
    want = {r["duplicate_of"] for r in new if r["duplicate_of"]} - have
    old += [r for r in _rows_where(db, "id IN ({})", list(want)) if r["story_id"]]
    urls = list({u for r in new for u in links_of(r)[0]})[:900]
    if urls:
        qs = ",".join("?" * len(urls))
        have = {r["id"] for r in old} | {r["id"] for r in new}
        old += [r for r in db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IS NOT NULL AND "
                                    f"(canonical_url IN ({qs}) OR url IN ({qs}))", urls + urls)
                if r["id"] not in have]
    return sorted(old + new, key=lambda r: r["id"]), new


def _closest_stories(db, rows, model_name=None):
    """Ids of the stories whose kept centroids (`story_centroids`) are closest to each of these
    documents' vectors, OLD_STORIES_PER_PAGE per document, among every story in the store: an
    undated page may report a story that went quiet long ago, beyond the ones seen last (a missing
    date is no evidence of being recent). The stream decides whether it joins one. At most
    REPLAY_STORIES."""
    from pipeline.stories.embed import content_key, resolve_model, vectors_for
    model = resolve_model(model_name)[0]
    vec_of = vectors_for(db, [content_key(r) for r in rows], model_name)
    docs = [vec_of[k] for k in (content_key(r) for r in rows) if k in vec_of]
    if not docs:
        return []
    docs = np.asarray(docs, dtype=np.float32)
    names, best_sim, best_at = [], np.empty((len(docs), 0), np.float32), np.empty((len(docs), 0), np.int64)
    rows = kept_sums(db, model)
    while chunk := list(itertools.islice(rows, 1000)):  # a thousand at a time: memory stays flat as the store grows
        sums = np.array([v for _, _, v in chunk])
        sims = docs @ (sums / (np.linalg.norm(sums, axis=1, keepdims=True) + 1e-9)).T
        at = np.broadcast_to(np.arange(len(names), len(names) + len(chunk)), sims.shape)
        names += [sid for sid, _, _ in chunk]
        best_sim, best_at = np.hstack([best_sim, sims]), np.hstack([best_at, at])
        if best_sim.shape[1] > OLD_STORIES_PER_PAGE:
            keep = np.argpartition(-best_sim, OLD_STORIES_PER_PAGE - 1, axis=1)[:, :OLD_STORIES_PER_PAGE]
            best_sim, best_at = np.take_along_axis(best_sim, keep, 1), np.take_along_axis(best_at, keep, 1)
    # A backfill of thousands of undated pages could name most of the store: at most REPLAY_STORIES
    # more stories, the closest to some page first.
    closest = {}
    for j, sim in zip(best_at.ravel().tolist(), best_sim.ravel().tolist()):
        closest[j] = max(sim, closest.get(j, -2.0))
    ranked = sorted(closest, key=lambda j: (-closest[j], j))[:REPLAY_STORIES]
    return sorted(names[j] for j in ranked)


def _rows_where(db, cond, ids, params=()):
    """Document rows matching cond, whose "{}" takes a chunk of `ids` (500 at a time)."""
    out = []
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        out += db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE {cond.format(','.join('?' * len(chunk)))}",
                        list(chunk) + list(params))
    return out


def _doc_entities(db, ids):
    out = {}
    ids = list(ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        for r in db.query(f"SELECT document_id, entity_id FROM document_entities WHERE document_id IN "
                          f"({','.join('?' * len(chunk))})", chunk):
            out.setdefault(r["document_id"], []).append(r["entity_id"])
    return out
