"""What the stream read in each document (features.reading), kept in `document_readings`: a run
replays the stories that can take a new document without tokenising their texts again.

A reading is keyed by what it was read from (title, text, language, date, names): a document
whose text, date or names change is read again.
"""
import hashlib
import json
import math
import sys

from pipeline.stories.features import reading

_WEIGHT = {}  # term count -> its weight (features.lexical_terms), one float shared by every document


def reading_key(item):
    """A digest of what the stream reads in an item."""
    parts = [item.get("title"), item.get("text"), item.get("lang"), item.get("published"),
             sorted(item.get("entities") or ())]
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def pack(r):
    """A reading as kept: term weights as counts (small integers), in the same order."""
    return {**r, "terms": list(r["terms"]), "counts": [round(math.exp(w - 1.0)) for w in r["terms"].values()]}


def unpack(kept):
    """A kept reading as the stream takes it: the weights worked out as lexical_terms does
    (1 + log count: the same floats), each distinct one and each term held once in memory."""
    counts = kept.pop("counts")
    for c in counts:
        if c not in _WEIGHT:
            _WEIGHT[c] = 1.0 + math.log(c)
    kept["terms"] = dict(zip(map(sys.intern, kept["terms"]), map(_WEIGHT.__getitem__, counts)))
    return kept


def attach_readings(db, items):
    """Give each stream item (with its document id) its kept reading; those missing or stale are
    read now and kept. Returns how many were read."""
    by_id = {it["id"]: it for it in items}
    keys = {it["id"]: reading_key(it) for it in items}
    ids = list(by_id)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        valid, values = [], []
        for doc_id, key, value in db.execute("SELECT document_id, key, reading FROM document_readings WHERE "
                                             f"document_id IN ({','.join('?' * len(chunk))})", chunk):
            if keys[doc_id] == key:
                valid.append(doc_id)
                values.append(value)
        # One parse per chunk: the decoder keeps one copy of each term across its documents.
        for doc_id, value in zip(valid, json.loads("[" + ",".join(values) + "]")):
            by_id[doc_id]["reading"] = unpack(value)
    fresh = []
    for it in items:
        if "reading" not in it:
            it["reading"] = reading(it, it.get("entities") or ())
            fresh.append([it["id"], keys[it["id"]], json.dumps(pack(it["reading"]), ensure_ascii=False)])
    if fresh:
        with db.conn:
            db.conn.executemany("INSERT OR REPLACE INTO document_readings (document_id, key, reading) "
                                "VALUES (?, ?, ?)", fresh)
    return len(fresh)
