"""The database side of enrichment: the `quotes` table kept in line with each story document's text.

`enriched` remembers which text (content hash) and story each document was enriched for, so a
run only reads documents that changed since.
"""
import hashlib

from pipeline.enrich.quotes import document_quotes
from pipeline.enrich.story_summary import summarise_stories

BATCH = 200     # documents per transaction: one commit per document is slow on big runs


def _text_key(doc):
    return doc.get("content_hash") or hashlib.sha256((doc.get("text") or "").encode("utf-8")).hexdigest()


# Only documents whose text or story changed since enrich last read them (or never read) are
# selected: the query reads their rows alone, not every text. Without a content hash the text's
# hash is compared in Python (see _text_key).
_CHANGED = (" and (e.document_id is null or d.content_hash is null or e.content_hash is not d.content_hash"
            " or e.story_id is not d.story_id)")


def enrich_stories(db):
    """Extract quotes for documents in stories whose text or story changed since last time, and
    re-summarise those stories (stories.summary); idempotent."""
    counts = {"quotes_documents": 0, "quotes_added": 0, "quotes_updated": 0, "quotes_removed": 0}
    state = "enriched" in db.table_names()
    seen_sql = "left join enriched e on e.document_id = d.id" if state else ""
    seen_cols = ", e.content_hash as seen_hash, e.story_id as seen_story" if state else ""
    rows = list(db.query(
        f"select d.id, d.kind, d.title, d.text, d.extra, d.author, d.publisher, d.site, d.story_id, "
        f"d.content_hash{seen_cols} from documents d {seen_sql} "
        f"where d.story_id is not null and d.duplicate_of is null{_CHANGED if state else ''} order by d.id"))
    todo = [d for d in rows if not state or d.get("seen_hash") != _text_key(d) or d.get("seen_story") != d["story_id"]]
    for k in range(0, len(todo), BATCH):
        with db.conn:
            for doc in todo[k:k + BATCH]:
                _enrich_document(db, doc, counts)
                if state:
                    db.conn.execute("insert or replace into enriched (document_id, content_hash, story_id) values (?, ?, ?)",
                               [doc["id"], _text_key(doc), doc["story_id"]])
    # the summaries of stories whose documents changed (all of them on a first run)
    counts.update(summarise_stories(db, {d["story_id"] for d in todo} if state else None))
    # a document that became a syndicated copy, or left its story: its quotes go
    stale = list(db.query(
        "select q.id from quotes q join documents d on d.id = q.document_id "
        "where d.duplicate_of is not null or d.story_id is null"))
    if stale:
        with db.conn:
            for r in stale:
                db.conn.execute("delete from quotes where id = ?", [r["id"]])
                counts["quotes_removed"] += 1
            if state:
                db.conn.execute("delete from enriched where document_id in (select id from documents "
                           "where duplicate_of is not null or story_id is null)")
    return counts


def _enrich_document(db, doc, counts):
    """Bring one document's rows in `quotes` in line with its text (insert, update, delete)."""
    counts["quotes_documents"] += 1
    found = {q["position"]: q for q in document_quotes(doc)}
    existing = {r["position"]: r for r in db.query(
        "select id, speaker, role, text, position, story_id from quotes where document_id = ?", [doc["id"]])}
    # plain SQL on the connection: sqlite-utils' execute() commits after every statement
    for pos, q in found.items():
        values = [doc["story_id"], q["speaker"], q["role"], q["text"]]
        old = existing.get(pos)
        if old is None:
            db.conn.execute("insert into quotes (document_id, position, story_id, speaker, role, text) values (?, ?, ?, ?, ?, ?)",
                       [doc["id"], pos] + values)
            counts["quotes_added"] += 1
        elif [old["story_id"], old["speaker"], old["role"], old["text"]] != values:
            db.conn.execute("update quotes set story_id = ?, speaker = ?, role = ?, text = ? where id = ?", values + [old["id"]])
            counts["quotes_updated"] += 1
    # text changed since last time: quotes that are no longer in it must go
    for pos, old in existing.items():
        if pos not in found:
            db.conn.execute("delete from quotes where id = ?", [old["id"]])
            counts["quotes_removed"] += 1
