"""What the stream read in each document (features.reading), kept in `document_readings`: a run
replays the stories that can take a new document without tokenising their texts again.

A reading is keyed by what it was read from (title, text, language, date, names): a document
whose text, date or names change is read again.
"""
import hashlib
import json

from pipeline.stories.features import reading


def reading_key(item):
    """A digest of what the stream reads in an item."""
    parts = [item.get("title"), item.get("text"), item.get("lang"), item.get("published"),
             sorted(item.get("entities") or ())]
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def attach_readings(db, items):
    """Give each stream item (with its document id) its kept reading; those missing or stale are
    read now and kept. Returns how many were read."""
    keys = [reading_key(it) for it in items]
    ids = [it["id"] for it in items]
    kept = {}
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        for doc_id, key, value in db.execute("SELECT document_id, key, reading FROM document_readings WHERE "
                                             f"document_id IN ({','.join('?' * len(chunk))})", chunk):
            kept[doc_id] = (key, value)
    fresh = []
    for it, key in zip(items, keys):
        got = kept.get(it["id"])
        if got and got[0] == key:
            it["reading"] = json.loads(got[1])
        else:
            it["reading"] = reading(it, it.get("entities") or ())
            fresh.append([it["id"], key, json.dumps(it["reading"], ensure_ascii=False)])
    if fresh:
        with db.conn:
            db.conn.executemany("INSERT OR REPLACE INTO document_readings (document_id, key, reading) "
                                "VALUES (?, ?, ?)", fresh)
    return len(fresh)
