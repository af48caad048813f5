"""The database side of primary sources and claim checks (run by `process` after enrich).

Per story with a primary source: `primary_sources` (which documents, and why), `source_passages`
(what of them the coverage draws on) and `claim_flags` (every attributed number and quote of the
coverage, found 1 or not 0). `primary_checked` keeps a digest of the story's documents and texts:
a run only reads stories that changed since. A claim keeps its `first_seen` across runs (the
feed of new flags dates entries by it); one no longer in its document goes.
"""
import datetime
import hashlib
import json

from pipeline.enrich.claims import attribution_res, check_claims, document_claims
from pipeline.enrich.source_match import Source
from pipeline.enrich.primary import (CANDIDATE_SQL, comparable, maker_names, partial, prepare, primary_sources,
                                    source_passages)

STORY_DOCS = ("select id, kind, publisher, site, title, coalesce(canonical_url, url) as url, published, text, "
              "duplicate_of from documents where (story_id = :id or story_id in "
              "(select old_id from story_redirects where new_id = :id)) order by coalesce(published, '9999'), id")


def _rows(db, sql, params=()):
    cursor = db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def changed_stories(db):
    """{story id: digest} of live stories with a candidate primary source whose documents changed."""
    keys = {r["story_id"]: hashlib.sha256(r["k"].encode()).hexdigest() for r in _rows(db, (
        "select d.story_id, group_concat(d.id || ':' || coalesce(d.content_hash, length(d.text)) || ':' || "
        "coalesce(d.duplicate_of, ''), ',') as k from documents d join stories s on s.id = d.story_id "
        "where s.merged_into is null or s.merged_into = '' group by d.story_id "
        f"having sum({CANDIDATE_SQL}) > 0"))}
    seen = {r["story_id"]: r["key"] for r in _rows(db, "select story_id, key from primary_checked")}
    gone = [s for s in seen if s not in keys]
    return {s: k for s, k in keys.items() if seen.get(s) != k}, gone


def earlier_texts(db, document_id):
    """The texts of a document's earlier versions (a system card edited since), or None."""
    row = db.conn.execute("select group_concat(v.text, char(10) || char(10)) from document_versions v "
                          "join documents d on d.id = v.document_id where v.document_id = ? and v.text != d.text",
                          [document_id]).fetchone()
    return row[0] if row else None


def story_checks(story, docs, earlier=lambda document_id: None):
    """(sources, passages, claims) for one story, computed from its documents; `earlier` gives a
    primary source's earlier versions: a claim the card made when the coverage quoted it is no
    drift, even if a silent edit removed it later."""
    found = primary_sources(story, docs)
    primary_ids = {d["id"] for d, _ in found}
    coverage = [d for d in docs if d["id"] not in primary_ids and not d.get("duplicate_of")]
    sources, passages, claims = [], [], []
    usable = [(d, k) for d, k in found if comparable(d)]
    prepared = {d["id"]: prepare(d) for d, _ in usable}
    for d, kind in found:
        sources.append({"document_id": d["id"], "why": kind, "comparable": int(d["id"] in prepared),
                        "partial": int(partial(d))})
        if d["id"] in prepared:
            for p in source_passages(prepared[d["id"]], coverage):
                passages.append(dict(p, source_document_id=d["id"]))
    if usable:
        res = attribution_res([k for _, k in usable], maker_names([d for d, _ in usable]))
        before = {d["id"]: earlier(d["id"]) for d, _ in usable}
        every_version = [Source(d["id"], f"{d.get('text') or ''}\n\n{before[d['id']]}") if before[d["id"]]
                         else prepared[d["id"]] for d, _ in usable]
        for doc in coverage:
            for c in check_claims(document_claims(doc.get("text") or "", res), every_version):
                claims.append(dict(c, document_id=doc["id"]))
    return sources, passages, claims


def claim_id(c):
    raw = f"{c['document_id']}|{c['kind']}|{c['claim']}|{c['sentence']}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def _write(db, story_id, key, sources, passages, claims, now):
    conn = db.conn
    conn.execute("delete from primary_sources where story_id = ?", [story_id])
    conn.execute("delete from source_passages where story_id = ?", [story_id])
    for s in sources:
        conn.execute("insert into primary_sources (story_id, document_id, why, comparable, partial) values (?, ?, ?, ?, ?)",
                     [story_id, s["document_id"], s["why"], s["comparable"], s["partial"]])
    for k, p in enumerate(passages):
        conn.execute("insert into source_passages (story_id, source_document_id, position, passage, start, end, "
                     "anchor, matched_by, covered_by, covered_by_count) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [story_id, p["source_document_id"], k, p["passage"], p["start"], p["end"], p["anchor"],
                      ",".join(p["matched_by"]), json.dumps(p["covered_by"]), len(p["covered_by"])])
    first = {r[0]: r[1] for r in conn.execute("select id, first_seen from claim_flags where story_id = ?", [story_id])}
    conn.execute("delete from claim_flags where story_id = ?", [story_id])
    for c in claims:
        cid = claim_id(c)
        conn.execute("insert or replace into claim_flags (id, document_id, story_id, sentence, claim, kind, found, "
                     "source_document_id, position, first_seen) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [cid, c["document_id"], story_id, c["sentence"], c["claim"], c["kind"], c["found"],
                      c["source_document_id"], c["position"], first.get(cid, now)])
    conn.execute("insert or replace into primary_checked (story_id, key) values (?, ?)", [story_id, key])


def check_stories(db):
    """Find primary sources, passages and claims for stories that changed; return counts."""
    counts = {"primary_stories": 0, "primary_sources": 0, "source_passages": 0, "claims_checked": 0,
              "claims_not_found": 0}
    if "primary_checked" not in db.table_names():
        return counts
    todo, gone = changed_stories(db)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with db.conn:
        for story_id in gone:
            for table in ("primary_sources", "source_passages", "claim_flags", "primary_checked"):
                db.conn.execute(f"delete from {table} where story_id = ?", [story_id])
        for story_id, key in sorted(todo.items()):
            story = _rows(db, "select id, headline, entities from stories where id = ?", [story_id])[0]
            sources, passages, claims = story_checks(story, _rows(db, STORY_DOCS, {"id": story_id}),
                                                     lambda i: earlier_texts(db, i))
            _write(db, story_id, key, sources, passages, claims, now)
            counts["primary_stories"] += 1
            counts["primary_sources"] += len(sources)
            counts["source_passages"] += len(passages)
            counts["claims_checked"] += len(claims)
            counts["claims_not_found"] += sum(1 for c in claims if not c["found"])
    return counts
