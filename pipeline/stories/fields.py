"""The story fields readers see (headline, lead, dates, counts, entities, categories, heat,
related stories) recomputed from a story's documents, and the embedding sums kept per story."""
import datetime
import json
import logging
import math
import re
from collections import Counter

import numpy as np

from pipeline.dates import has_time
from pipeline.stories.categories import categorise
from pipeline.stories.features import is_thin, parse_time, unit
from pipeline.stories.records import DOC_COLUMNS

log = logging.getLogger(__name__)


def utc_now():
    """Now in UTC, as the `updated` columns store it."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _iso_week(published):
    t = parse_time(published)
    if t is None:
        return None
    y, w, _ = datetime.datetime.fromtimestamp(t * 86400, datetime.timezone.utc).isocalendar()
    return f"{y}-W{w:02d}"


def _heat(times, n_docs, n_sources):
    """Coverage (documents, distinct sources) plus velocity (documents in the first 3 days)."""
    dated = sorted(t for t in times if t is not None)
    burst = sum(1 for t in dated if t - dated[0] <= 3.0) if dated else 0
    return round(math.log1p(n_docs) + 1.5 * math.log1p(n_sources) + math.log1p(burst), 3)


def _story_entities(db, sid, headline):
    """Names the coverage is about, most mentioned first (at most 15).

    Counted over independent documents (a republished copy repeats its original). In a story of
    three or more, a name must come from two of them or the headline: one passing mention ("a
    former SpaceX and Apple designer") does not make a story about Apple.
    """
    from pipeline.stories.entities import extract_entities
    count = Counter()
    for r in db.query("SELECT de.entity_id AS e, count(*) AS n FROM document_entities de JOIN documents d "
                      "ON d.id = de.document_id WHERE d.story_id = ? AND d.duplicate_of IS NULL "
                      "GROUP BY de.entity_id", [sid]):
        count[r["e"]] = r["n"]
    n = db.execute("SELECT count(*) FROM documents WHERE story_id = ? AND duplicate_of IS NULL", [sid]).fetchone()[0]
    named = set(extract_entities(headline or ""))
    keep = [e for e, k in count.items() if n < 3 or k >= 2 or e in named]
    return sorted(keep, key=lambda e: (-count[e], e))[:15]


def refresh_stories(db, story_ids, vec_of=None, now=None, model=None):
    """Recompute headline, lead, dates, counts, entities, categories, heat, related; write changes only.

    `model` names the model `vec_of` was loaded with: each story's embedding sum is kept per model
    in `story_centroids`, so related stories need no scan of every document. Without it (ad-hoc
    vectors passed in) nothing is kept and every centroid is read from documents. `process` calls
    this inside its write transaction, so no other writer changes the documents meanwhile.
    """
    from pipeline.stories.embed import resolve_model
    if not story_ids:
        return 0
    keep = model is not None or vec_of is None
    vec_of = {} if vec_of is None else vec_of
    model = resolve_model(model)[0] if keep else None
    now = now or utc_now()
    changed = 0
    centroids = {}
    for sid in sorted(story_ids):
        docs = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id = ? ORDER BY id", [sid]))
        if not docs:
            if keep:  # merged away or emptied: no longer a live story
                db.execute("DELETE FROM story_centroids WHERE story_id = ?", [sid])
            continue
        vecs = _doc_vectors(db, docs, vec_of, model)
        total = _embedding_sum(vecs)
        cent = unit(total) if total is not None else None
        if cent is not None:
            centroids[sid] = cent
        if keep:
            _store_centroid(db, sid, model, vecs, total)
        changed += _write_if_changed(db, story_row(db, sid, docs, vecs, cent), now)
    _refresh_related(db, centroids, vec_of, now, model=model if keep else None)
    return changed


def _doc_vectors(db, docs, vec_of, model):
    """The documents' vectors: from vec_of, and (with a model) those it lacks from `embeddings`,
    kept in vec_of for the next story."""
    from pipeline.stories.embed import content_key, vectors_for
    keys = [content_key(d) for d in docs]
    missing = [k for k in keys if k not in vec_of]
    if missing and model is not None:
        vec_of.update(vectors_for(db, missing, model))
    return [vec_of.get(k) for k in keys]


def story_row(db, sid, docs, vecs, cent):
    """The `stories` row of story sid from its documents (in id order), their vectors and centroid."""
    headline = _headline(docs, vecs, cent)
    times = [parse_time(d["published"]) for d in docs]
    dated = [(t, d["published"]) for t, d in zip(times, docs) if t is not None]
    first = min(dated)[1] if dated else None
    last = max(dated)[1] if dated else None
    sources = {d["publisher"] or d["site"] or d["source_id"] for d in docs}
    sources.discard(None)
    entities = _story_entities(db, sid, headline)
    return {
        "id": sid, "headline": headline, "first_seen": first, "last_seen": last,
        "first_week": _iso_week(first), "lead_document_id": lead_of(docs)["id"],
        "n_documents": len(docs), "n_sources": len(sources) or 1,
        "heat": _heat(times, len(docs), len(sources) or 1),
        "categories": json.dumps(_categories(docs)), "entities": json.dumps(entities), "merged_into": None,
    }


PRIMARY_KINDS = ("system_card", "blog")  # what a lab or vendor publishes about itself


def _name(doc):
    return (doc.get("publisher") or doc.get("site") or "").strip()


def primary_sources(docs):
    """Ids of the story's primary sources: system cards and blog posts of the publisher the story is
    about, that is one the rest of the coverage names (in a title or the text), or the only one there
    is. A vendor's blog post about another lab's model is reporting, not the source."""
    subject = set()
    for who in {_name(d) for d in docs if d.get("kind") in PRIMARY_KINDS}:
        rest = [d for d in docs if _name(d) != who]
        named = re.compile(rf"(?<!\w){re.escape(who)}(?!\w)", re.I) if who else None
        if not rest or named and any(named.search(f"{d.get('title') or ''}\n{(d.get('text') or '')[:3000]}")
                                     for d in rest):
            subject.add(who)
    return {d["id"] for d in docs if d.get("kind") in PRIMARY_KINDS and _name(d) in subject}


def report_key(doc, primary):
    """Sort key of the reading order, whose first document is the first report: the earliest day;
    within it a date without its hour (see pipeline.dates.has_time) never beats a timestamp, except
    that a primary source whose hour is unknown leads its day; on equal or unknown times the primary
    source, then the original before its republished copy, then a document with text before a
    title-only entry, then the id. Undated documents come last."""
    t = parse_time(doc.get("published"))
    tail = (not primary, doc.get("duplicate_of") is not None, is_thin(doc), doc["id"])
    if t is None:
        return (1, 0, 1, 0.0) + tail
    timed = has_time(doc["published"])
    return (0, math.floor(t), int(timed or not primary), t if timed else math.inf) + tail


def report_order(docs):
    """The documents in reading order (report_key), the one rule of the lead, the brief, the digest
    and the story page."""
    primary = primary_sources(docs)
    return sorted(docs, key=lambda d: report_key(d, d["id"] in primary))


def lead_of(docs):
    """The first report: the first in reading order that is not a copy of another document here
    (the original of a syndicated copy leads, whatever the copy's timestamp says)."""
    ids = {d["id"] for d in docs}
    ordered = report_order(docs)
    return next((d for d in ordered if d.get("duplicate_of") not in ids), ordered[0] if ordered else None)


def _headline(docs, vecs, cent):
    """The most representative title (closest to the centroid), from articles before posts;
    duplicates add nothing."""
    def rank(k):
        d = docs[k]
        sim = float(vecs[k] @ cent) if cent is not None and vecs[k] is not None else 0.0
        return (d["kind"] == "social", not d["title"], d["duplicate_of"] is not None, -sim, d["id"])
    return (docs[min(range(len(docs)), key=rank)]["title"] or "").strip() or None


def _categories(docs):
    """The story's categories: at most four, each carried by a fair share of the coverage."""
    cat_count = Counter()
    for d in docs:
        cat_count.update(categorise(f"{d['title'] or ''}\n{(d['text'] or '')[:3000]}")[:3])
    # A category must be carried by a fair share of the coverage, not one passing mention.
    need = max(1, math.ceil(0.25 * len(docs)))
    return [c for c, k in sorted(cat_count.items(), key=lambda kv: (-kv[1], kv[0])) if k >= need][:4]


def _embedding_sum(vecs):
    """The sum of a story's vectors in document order (float32, added one by one), or None."""
    total = None
    for v in vecs:
        if v is not None:
            total = v if total is None else total + v
    return total


def _store_centroid(db, sid, model, vecs, total):
    """Keep a story's embedding sum for this model, only when every member has a vector: a
    document whose vector is missing (its text changed since the vectors were loaded) would leave
    a stale sum behind. The story is then read from its documents next time."""
    if total is None or any(v is None for v in vecs):
        db.execute("DELETE FROM story_centroids WHERE story_id = ? AND model = ?", [sid, model])
    else:
        db.execute("INSERT OR REPLACE INTO story_centroids (story_id, model, n, vector) VALUES (?, ?, ?, ?)",
                   [sid, model, len(vecs), np.asarray(total, dtype=np.float32).tobytes()])


def kept_sums(db, model):
    """(story id, member count, embedding sum) of every live story with a kept sum for `model`,
    one row at a time (the caller decides what to hold)."""
    for sid, n, blob in db.execute("SELECT c.story_id, c.n, c.vector FROM story_centroids c JOIN stories s "
                                   "ON s.id = c.story_id WHERE c.model = ? AND s.merged_into IS NULL", [model]):
        yield sid, n, np.frombuffer(blob, dtype=np.float32)


def _sums_from_documents(db, story_ids, vec_of, model=None):
    """{story_id: embedding sum} read from the stories' documents; kept for `model` when given."""
    sums, ids = {}, sorted(story_ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        docs = {}
        for d in db.query(f"SELECT story_id, id, content_hash, title, text FROM documents WHERE story_id IN "
                          f"({','.join('?' * len(chunk))}) ORDER BY id", chunk):
            docs.setdefault(d["story_id"], []).append(d)
        for sid, ds in docs.items():
            vs = _doc_vectors(db, ds, vec_of, model)
            total = _embedding_sum(vs)
            if model is not None:
                _store_centroid(db, sid, model, vs, total)
            if total is not None:
                sums[sid] = total
    return sums


def _story_sums(db, vec_of, model):
    """{story_id: embedding sum} for every live story (one with documents) that has a vector.

    Read from `story_centroids` for this model; stories missing there (a database from before it,
    a new model, documents changed since: triggers drop those rows) are read from their documents
    once and kept. Without a model every story is read from its documents, as before the table.
    """
    live = [r[0] for r in db.execute("SELECT DISTINCT story_id FROM documents WHERE story_id IS NOT NULL")]
    if model is None:
        return _sums_from_documents(db, live, vec_of)
    live_set, sums = set(live), {}
    stale = []
    for sid, blob in db.execute("SELECT story_id, vector FROM story_centroids WHERE model = ?", [model]):
        if sid in live_set:
            sums[sid] = np.frombuffer(blob, dtype=np.float32)
        else:
            stale.append(sid)
    if stale:
        db.executemany("DELETE FROM story_centroids WHERE story_id = ?", [[s] for s in stale])
    missing = [sid for sid in live if sid not in sums]
    if missing:
        filled = _sums_from_documents(db, missing, vec_of, model)
        log.info("story centroids (%s): read %d stories from their documents (%d kept)",
                 model, len(missing), len(filled))
        sums.update(filled)
    return sums


def _write_if_changed(db, row, now):
    existing = db["stories"].get(row["id"]) if db["stories"].count_where("id = ?", [row["id"]]) else None
    if existing and all(existing.get(k) == v for k, v in row.items()):
        return 0
    db["stories"].upsert({**row, "updated": now}, pk="id", alter=False)
    return 1


def _refresh_related(db, centroids, vec_of, now, top=3, min_sim=0.5, model=None):
    """Related stories: the closest other live stories by centroid.

    Recomputed for the stories that changed and for those they may enter or leave. The story
    sums (`story_centroids` for `model`, see `_story_sums`) are the index: one product with the
    changed stories' centroids finds the stories close to one; such a story whose list names no
    changed story keeps its list's members, and only the changed stories can enter it (the others'
    similarities did not move). A story that changed, or whose list names a changed or merged-away
    story, is ranked against all.
    """
    if not centroids:
        return
    sums = _story_sums(db, vec_of, model)
    ids = sorted(sums)
    if len(ids) < 2:
        return
    row_of = {sid: j for j, sid in enumerate(ids)}
    mat = np.array([sums[s] for s in ids], dtype=np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
    changed = [sid for sid in centroids if sid in row_of]
    listed = {r[0]: r[1] for r in db.execute("SELECT id, related FROM stories WHERE related IS NOT NULL")}
    full = set(changed)
    for sid, rel in listed.items():
        if sid in row_of and any(r in centroids or r not in row_of for r in json.loads(rel)):
            full.add(sid)
    near = {}
    if changed:
        rows = [row_of[s] for s in changed]
        sims = mat @ mat[rows].T
        for j in np.nonzero(sims.max(axis=1) >= min_sim)[0]:
            if ids[j] in listed and ids[j] not in full:
                near[ids[j]] = [ids[rows[c]] for c in np.nonzero(sims[j] >= min_sim)[0]]
            elif ids[j] not in listed:  # a list never computed is ranked against all
                full.add(ids[j])
    new = {sid: _ranked(mat, ids, row_of, sid, None, top, min_sim) for sid in full}
    for sid, entering in near.items():
        new[sid] = _ranked(mat, ids, row_of, sid, set(json.loads(listed[sid])) | set(entering),
                           top, min_sim)
    current = {r[0]: r[1] for k in range(0, len(new), 500) for r in db.execute(
        f"SELECT id, related FROM stories WHERE id IN ({','.join('?' * len(list(new)[k:k + 500]))})",
        list(new)[k:k + 500])}
    for sid in sorted(new):
        if sid in current and current[sid] != json.dumps(new[sid]):
            db["stories"].update(sid, {"related": json.dumps(new[sid]), "updated": now})


def _ranked(mat, ids, row_of, sid, among, top, min_sim):
    """The `top` stories closest to sid at min_sim or more (ties in id order): among all, or among
    the stories `among` names."""
    j = row_of[sid]
    if among is None:
        every = mat @ mat[j]
        rows = [k for k in np.nonzero(every >= min_sim)[0] if k != j]  # in id order
        sims = every[rows]
    else:
        rows = sorted(row_of[s] for s in among if s in row_of and s != sid)
        sims = mat[rows] @ mat[j] if rows else np.zeros(0, dtype=np.float32)
    return [ids[rows[k]] for k in np.argsort(-sims, kind="stable") if sims[k] >= min_sim][:top]
