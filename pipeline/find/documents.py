"""Hybrid document search: FTS5 bm25 and vector similarity, fused (pipeline.find.fusion).

Words: the documents holding any of the query's words, by bm25 (title weighted 10x the text).
Meaning: cosine with the query's vector. The two lists (DEPTH ranks each, more for later pages)
are fused as pipeline.find.fusion.FUSION says: chosen by `python -m bench.retrieval` among
weighted sums, reciprocal rank fusion and pseudo-relevance feedback (RRF is kept for stories:
pipeline.find.hybrid). Filters (kind, source, since, until) apply to both lists before fusing.

Vectors are the ones `process` stored (`embeddings`, by content_hash and model), held in memory
as one float32 matrix per database (unit rows: a dot product is the cosine), rebuilt when the
documents or vectors change. Exact search: at 200,000 documents one float32 matrix-vector product
reads 300 MB (~40 ms on this loaded 2-core machine), so with torch present (it embeds the query)
a float16 copy is scanned first (~15 ms, half the memory traffic) for the COARSE best rows, which
are then scored again from the float32 matrix: the same scores as a full float32 scan, and the same
top DEPTH unless float16 rounding (~1e-3) moves a document across a gap of 1000 ranks.
Modes: "hybrid" (default), "words" (bm25 alone), "meaning" (vectors alone).
"""
import json
import re

import numpy as np

from pipeline.find.fusion import FUSION, fused, order

MODES = ("hybrid", "words", "meaning")
DEFAULT_MODE = "hybrid"    # the best on every eval set (python -m bench.retrieval)
DEPTH = 100        # ranks read from each list before fusing
MIN_COSINE = 0.1   # below this a document is not found by meaning (unrelated texts score about 0 with MiniLM;
                   # on the eval sets no top 20 changed and 6% of a story's documents score below it)
COARSE = 1000      # rows the float16 scan passes on to exact float32 scoring
FILTERS = ("kind", "source", "since", "until")
# the stored query `search` filters the same way (datasette.yaml)
FILTER_SQL = ("select f.id from documents f left join sources src on src.id = f.source_id where {ids} "
              "and (:kind = '' or f.kind = :kind) and (:source = '' or src.name = :source or f.publisher = :source) "
              "and (:since = '' or substr(f.published, 1, length(:since)) >= :since) "
              "and (:until = '' or substr(f.published, 1, length(:until)) <= :until)")
_CACHE = {}


def doc_matrix(conn, model):
    """(ids, unit vectors) of every original document (no syndicated copies) with a stored vector."""
    # O(1) change marks: new documents and new vectors (a changed text is a new vector row) raise them;
    # a document marked a copy later stays in the matrix until the next new document or vector
    key = (conn.execute("pragma database_list").fetchone()[2], model,
           conn.execute("select max(rowid) from documents").fetchone()[0],
           conn.execute("select max(rowid) from embeddings").fetchone()[0])
    cached = _CACHE.get(key[0])
    if cached and cached[0] == key:
        return cached[1]
    ids, blobs = [], []
    for doc_id, blob in conn.execute("select d.id, e.vector from documents d join embeddings e on e.content_hash = "
                                     "d.content_hash and e.model = ? where d.duplicate_of is null order by d.id", [model]):
        ids.append(doc_id)
        blobs.append(blob)
    if ids:
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1).copy()
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    else:
        matrix = np.zeros((0, 1), np.float32)
    value = (np.asarray(ids, dtype=np.int64), matrix, half_matrix(matrix))
    _CACHE[key[0]] = (key, value)    # one assignment: a reader thread never sees a key with another's value
    return value


def half_matrix(matrix):
    """A float16 torch copy of `matrix` for the coarse scan, or None (no torch, or too few rows to gain)."""
    if len(matrix) <= COARSE * 4:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch.from_numpy(matrix).to(torch.float16)


def top_rows(matrix, half, qvec, depth):
    """(row indexes, cosines) of the `depth` best rows, best first (ties by row: ids are sorted)."""
    shortlist = max(COARSE, 2 * depth)
    if half is not None and shortlist < len(matrix):
        import torch
        coarse = torch.mv(half, torch.from_numpy(qvec).to(torch.float16))
        rows = np.sort(torch.topk(coarse, shortlist, sorted=False).indices.numpy())
        scores = matrix[rows] @ qvec
    else:
        rows, scores = None, matrix @ qvec
    top = np.argpartition(-scores, depth)[:depth] if len(scores) > depth else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return (top if rows is None else rows[top]), scores[top]


def any_words(q):
    """The FTS5 query for documents holding any of the words of `q` ("quoted words" a phrase; "" for none)."""
    from pipeline.publish.find import fts_query
    return " OR ".join(re.findall(r'"[^"]*"\*?', fts_query(q))) if str(q or "").strip() else ""


def filter_args(filters):
    return {name: str((filters or {}).get(name) or "") for name in FILTERS}


def word_ranks(conn, q, depth=DEPTH, filters=None):
    """[(document id, bm25 relevance)] best first, for documents holding any of the words."""
    query, args = any_words(q), filter_args(filters)
    if not query:
        return []
    where = "" if not any(args.values()) else "and documents_fts.rowid in (" + FILTER_SQL.format(ids="1") + ")"
    return conn.execute("select rowid, -bm25(documents_fts, 10.0, 1.0) from documents_fts where documents_fts "
                        f"match :q {where} order by bm25(documents_fts, 10.0, 1.0) limit :depth",
                        {"q": query, "depth": depth, **args}).fetchall()


def passing(conn, ids, filters):
    """The ids among `ids` that pass the filters."""
    sql = FILTER_SQL.format(ids="f.id in (select value from json_each(:ids))")
    return {r[0] for r in conn.execute(sql, {"ids": json.dumps(ids), **filter_args(filters)})}


def meaning_ranks(conn, qvec, model, depth=DEPTH, filters=None):
    """[(document id, cosine)] best first, of the documents that pass the filters."""
    if qvec is None or model is None:
        return []
    ids, matrix, half = doc_matrix(conn, model)
    qvec = np.ascontiguousarray(qvec, dtype=np.float32)
    wanted = depth * 4 if any(filter_args(filters).values()) else depth
    while len(ids):
        rows, scores = top_rows(matrix, half, qvec, min(wanted, len(ids)))
        found = [(int(i), float(v)) for i, v in zip(ids[rows].tolist(), scores.tolist()) if v >= MIN_COSINE]
        if wanted > depth:    # read deeper until enough pass the filters (or every row was read)
            keep = passing(conn, [i for i, _ in found], filters)
            found = [hit for hit in found if hit[0] in keep]
        if len(found) >= depth or wanted >= len(ids) or (len(scores) and scores[-1] < MIN_COSINE):
            return found[:depth]
        wanted *= 8
    return []


def feedback_vector(conn, qvec, model, best, fusion):
    """The query vector moved towards the mean vector of the `k` best documents (pseudo-relevance feedback)."""
    ids, matrix, _ = doc_matrix(conn, model)
    top = np.asarray(best[:fusion["k"]], dtype=np.int64)
    rows = np.searchsorted(ids, top)
    rows = rows[(rows < len(ids)) & (ids[np.minimum(rows, len(ids) - 1)] == top)]
    if not len(rows):
        return None
    moved = np.asarray(qvec, dtype=np.float32) + fusion["alpha"] * matrix[rows].mean(axis=0)
    return moved / max(float(np.linalg.norm(moved)), 1e-9)


def holding_words(conn, q, ids):
    """The ids among `ids` whose title or text holds any of the words of `q`."""
    query = any_words(q)
    return {i for i in ids if query and conn.execute(
        "select 1 from documents_fts where documents_fts match ? and rowid = ?", [query, i]).fetchone()}


def search(conn, q, qvec=None, model=None, mode="hybrid", limit=50, filters=None, depth=DEPTH, fusion=FUSION):
    """[(document id, score, matched_by)] best first; `matched_by` lists "words" (it holds some of the
    words) and "meaning" (it is among the `depth` nearest by vector)."""
    words = word_ranks(conn, q, depth, filters) if mode in ("hybrid", "words") else []
    meaning = meaning_ranks(conn, qvec, model, depth, filters) if mode in ("hybrid", "meaning") else []
    scores = fused(words, meaning, fusion if mode == "hybrid" else {"method": "sum", "w": 1.0 if words else 0.0})
    if mode == "hybrid" and fusion["method"] == "prf" and meaning:
        best = [i for i in order(scores, words, meaning) if i not in fusion.get("skip", ())]
        moved = feedback_vector(conn, qvec, model, best, fusion)
        if moved is not None:
            meaning = meaning_ranks(conn, moved, model, depth, filters)
            scores = fused(words, meaning, fusion)
    best = order(scores, words, meaning)[:limit]
    by_words = {i for i, _ in words}
    if mode == "meaning" or len(words) >= depth:    # a document past the words list's depth may hold some too
        by_words |= holding_words(conn, q, [i for i in best if i not in by_words])
    by_meaning = {i for i, _ in meaning}
    return [(i, round(scores[i], 4), [h for h, s in (("words", by_words), ("meaning", by_meaning)) if i in s])
            for i in best]
