"""Hybrid document search: FTS5 bm25 and vector similarity, fused by weighted CombSUM.

Words: the documents holding any of the query's words, by bm25 (title weighted 10x the text).
Meaning: cosine with the query's vector. Each list's top DEPTH scores are min-max normalised and
summed, words weighted WORDS_WEIGHT: measured on the eval sets (python -m bench.retrieval) this
beat reciprocal rank fusion (k=60) on every set (RRF is kept for stories: pipeline.find.hybrid).

Vectors are the ones `process` stored (`embeddings`, by content_hash and model), held in memory
as one float32 matrix per database (unit rows: a dot product is the cosine), rebuilt when the
documents or vectors change. Exact search: at 200,000 documents one float32 matrix-vector product
reads 300 MB (~40 ms on this loaded 2-core machine), so with torch present (it embeds the query)
a float16 copy is scanned first (~15 ms, half the memory traffic) for the COARSE best rows, which
are then scored again from the float32 matrix: the same scores as a full float32 scan, and the same
top DEPTH unless float16 rounding (~1e-3) moves a document across a gap of 1000 ranks.
Modes: "hybrid" (default), "words" (bm25 alone), "meaning" (vectors alone).
"""
import numpy as np

from pipeline.find.hybrid import match_query

MODES = ("hybrid", "words", "meaning")
DEPTH = 100        # ranks read from each list before fusing
COARSE = 1000      # rows the float16 scan passes on to exact float32 scoring
WORDS_WEIGHT = 0.7
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
    if half is not None:
        import torch
        coarse = torch.mv(half, torch.from_numpy(qvec).to(torch.float16))
        rows = np.sort(torch.topk(coarse, COARSE, sorted=False).indices.numpy())
        scores = matrix[rows] @ qvec
    else:
        rows, scores = None, matrix @ qvec
    top = np.argpartition(-scores, depth)[:depth] if len(scores) > depth else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return (top if rows is None else rows[top]), scores[top]


def word_ranks(conn, q, depth=DEPTH):
    """[(document id, bm25 relevance)] best first, for documents holding any of the words."""
    query = " OR ".join(match_query(q).split(" ")) if str(q or "").strip() else ""
    if not query:
        return []
    return conn.execute("select rowid, -bm25(documents_fts, 10.0, 1.0) from documents_fts where documents_fts "
                        "match ? order by bm25(documents_fts, 10.0, 1.0) limit ?", [query, depth]).fetchall()


def meaning_ranks(conn, qvec, model, depth=DEPTH):
    """[(document id, cosine)] best first."""
    if qvec is None or model is None:
        return []
    ids, matrix, half = doc_matrix(conn, model)
    if not len(ids):
        return []
    rows, scores = top_rows(matrix, half, np.ascontiguousarray(qvec, dtype=np.float32), depth)
    return [(int(i), float(v)) for i, v in zip(ids[rows].tolist(), scores.tolist())]


def combine(*weighted):
    """{id: sum of weight x min-max normalised score} over (weight, [(id, score)]) lists."""
    total = {}
    for weight, ranked in weighted:
        if not ranked:
            continue
        values = [v for _, v in ranked]
        low, span = min(values), max(values) - min(values)
        for i, v in ranked:
            total[i] = total.get(i, 0.0) + weight * ((v - low) / span if span else 1.0)
    return total


def search(conn, q, qvec=None, model=None, mode="hybrid", limit=50):
    """[(document id, score, matched_by)] best first, `matched_by` a list of "words" and "meaning"."""
    words = word_ranks(conn, q) if mode in ("hybrid", "words") else []
    meaning = meaning_ranks(conn, qvec, model) if mode in ("hybrid", "meaning") else []
    scores = combine((WORDS_WEIGHT, words), (1 - WORDS_WEIGHT, meaning))
    best = sorted(scores, key=lambda i: (-scores[i], i))[:limit]
    found_by_words, found_by_meaning = {i for i, _ in words}, {i for i, _ in meaning}
    return [(i, round(scores[i], 4),
             [h for h, s in (("words", found_by_words), ("meaning", found_by_meaning)) if i in s]) for i in best]
