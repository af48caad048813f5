"""Hybrid story search: full-text ranks and vector ranks fused by reciprocal rank fusion (RRF).

Words: documents_fts (bm25, title weighted 10x the text) gives documents, each counting for its
story (merged ids followed), and stories_fts ranks headlines and summaries. Meaning: the query is
embedded with the same bundled model `process` uses and compared (cosine) with each live story's
vector, the normalised sum of its documents' stored vectors (`story_centroids`, else summed from
`embeddings` here, in memory: this runs over a read-only connection). The ranked lists are fused
with RRF (score = sum of 1 / (K + rank)); a story found only by meaning still ranks. Without
stored vectors (or without a query vector) the search is words alone.
"""
import numpy as np

K = 60                   # RRF constant (Cormack et al. 2009)
FTS_DOCS = 300           # documents read from the full-text index
DEPTH = 100              # ranks kept from each list
_CACHE = {}
_MARKS = {}    # id(connection) -> (connection, (data_version, total_changes), story_marks); a few connections


def match_query(q):
    """Every word must appear; `term*` is a prefix; any text is a valid FTS5 query."""
    words = [w.replace('"', "") for w in str(q or "").split()[:32]]
    return " ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") and len(w) > 1 else "") for w in words if w.strip("*"))


def story_marks(conn):
    """Change marks of the stories: a new story, an update or a merge (it sets `updated`) raises them.

    max(updated) scans the stories (~6 ms at 20,000), so the marks are read again only when the
    database changed since this connection last read them (data_version: another connection's commit;
    total_changes: this connection's own writes)."""
    seen = (conn.execute("pragma data_version").fetchone()[0], conn.total_changes)
    known = _MARKS.get(id(conn))
    if known and known[0] is conn and known[1] == seen:
        return known[2]
    marks = (conn.execute("pragma database_list").fetchone()[2],
             conn.execute("select count(*), max(updated) from stories").fetchone(),
             conn.execute("select count(*) from story_redirects").fetchone())
    if len(_MARKS) >= 16:
        _MARKS.clear()
    _MARKS[id(conn)] = (conn, seen, marks)    # the connection itself is held: its id is not reused meanwhile
    return marks


def live_target(conn):
    """{story id or old id: live story id} for every story id a document may still carry; cached per marks."""
    marks = story_marks(conn)
    cached = _CACHE.get("target")
    if cached and cached[0] == marks:
        return cached[1]
    target = {r[0]: r[0] for r in conn.execute("select id from stories where merged_into is null or merged_into = ''")}
    for old, new in conn.execute("select old_id, new_id from story_redirects"):
        target.setdefault(old, new)
    for sid, into in conn.execute("select id, merged_into from stories where merged_into != ''"):
        target.setdefault(sid, target.get(into, into))
    _CACHE["target"] = (marks, target)
    return target


def word_ranks(conn, q, target):
    """Two lists of live story ids, best first: by their documents' bm25, by headline and summary."""
    query = match_query(q)
    if not query:
        return [], []
    by_docs, seen = [], set()
    # the FTS_DOCS best rows first (FTS5 ranks them alone), then their documents: no join over every match
    for sid, in conn.execute("select d.story_id from (select rowid, bm25(documents_fts, 10.0, 1.0) as score from "
                             f"documents_fts where documents_fts match ? order by score limit {FTS_DOCS}) f "
                             "join documents d on d.id = f.rowid order by f.score", [query]):
        live = target.get(sid)
        if live and live not in seen:
            seen.add(live)
            by_docs.append(live)
    by_story = [target.get(r[0]) for r in conn.execute(
        "select s.id from stories_fts join stories s on s.rowid = stories_fts.rowid where stories_fts match ? "
        f"order by bm25(stories_fts) limit {DEPTH}", [query])]
    return by_docs[:DEPTH], [s for s in by_story if s]


def story_matrix(conn, model, target):
    """(ids, unit vectors) of live stories that have stored vectors; cached until the data changes."""
    key = (story_marks(conn), model,
           conn.execute("select max(rowid) from documents").fetchone(),
           conn.execute("select max(rowid) from embeddings").fetchone(),
           conn.execute("select count(*) from story_centroids where model = ?", [model]).fetchone())
    cached = _CACHE.get("entry")
    if cached and cached[0] == key:
        return cached[1]
    kept, summed = {}, {}
    for sid, blob in conn.execute("select story_id, vector from story_centroids where model = ?", [model]):
        if target.get(sid) == sid:
            kept[sid] = np.frombuffer(blob, dtype=np.float32)
    for sid, blob in conn.execute("select d.story_id, e.vector from documents d join embeddings e on "
                                  "e.content_hash = d.content_hash and e.model = ? where d.story_id is not null "
                                  "and d.duplicate_of is null", [model]):
        live = target.get(sid)
        if live and live not in kept:
            summed[live] = summed.get(live, 0) + np.frombuffer(blob, dtype=np.float32)
    merged = {**summed, **kept}
    ids = sorted(merged)
    matrix = np.vstack([merged[i] for i in ids]).astype(np.float32) if ids else np.zeros((0, 1), np.float32)
    if ids:
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    _CACHE["entry"] = (key, (ids, matrix))    # one assignment: threads never see a key with another's value
    return ids, matrix


def meaning_ranks(conn, qvec, model, target):
    if qvec is None:
        return []
    ids, matrix = story_matrix(conn, model, target)
    if not ids:
        return []
    scores = matrix @ np.asarray(qvec, dtype=np.float32)
    top = np.argpartition(-scores, DEPTH)[:DEPTH] if len(ids) > DEPTH else np.arange(len(ids))
    return [ids[i] for i in top[np.argsort(-scores[top], kind="stable")]]


def fuse(*lists):
    """RRF: {id: score}, each list contributing 1 / (K + rank) for each id it ranks."""
    scores = {}
    for ranked in lists:
        for rank, sid in enumerate(ranked, 1):
            scores[sid] = scores.get(sid, 0.0) + 1.0 / (K + rank)
    return scores


def search_stories(conn, q, qvec=None, model=None, since=None, limit=10):
    """[(story id, score, how)] best first; `how` names the lists that found it ("words", "meaning")."""
    target = live_target(conn)
    by_docs, by_story = word_ranks(conn, q, target)
    by_meaning = meaning_ranks(conn, qvec, model, target)
    scores = fuse(by_docs, by_story, by_meaning)
    if since:
        recent = {r[0] for r in conn.execute("select id from stories where coalesce(last_seen, first_seen) >= ?",
                                             [since])}
        scores = {s: v for s, v in scores.items() if s in recent}
    words, meaning = set(by_docs) | set(by_story), set(by_meaning[:20])
    best = sorted(scores, key=lambda s: (-scores[s], s))[:limit]
    return [(s, round(scores[s], 5), [h for h, found in (("words", words), ("meaning", meaning)) if s in found])
            for s in best]
