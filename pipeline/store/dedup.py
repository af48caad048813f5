"""Content hashes, near-duplicate detection (SimHash to find candidates, shingles to confirm), and
linking a new document to the original of its copies."""
import hashlib
import json
import re
import unicodedata

import numpy as np

from pipeline.urls import canonical_url

WORD_RE = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4
# Candidates: SimHash within this many bits (cheap, catches copies with some boilerplate).
SIMHASH_CANDIDATE_BITS = 18
# Confirmation on word shingles: a republished copy shares most of its shingles with the original.
MIN_WORDS = 40
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
MIN_LENGTH_RATIO = 0.5


def normalise_text(text):
    """Lower-case, NFKC, whitespace collapsed: what 'the same text' means for hashing."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(text.split())


def content_hash(text):
    """SHA-256 hex of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def words(text):
    return WORD_RE.findall(normalise_text(text))


def shingles(text, n=SHINGLE):
    """Set of n-word shingles (hashed to ints to keep memory small)."""
    tokens = words(text)
    if len(tokens) < n:
        return {hash(tuple(tokens))} if tokens else set()
    return {hash(tuple(tokens[i:i + n])) for i in range(len(tokens) - n + 1)}


def _h64(s):
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


def simhash(text, n=3):
    """64-bit SimHash over n-word shingles, as 16 hex digits (None for empty text)."""
    tokens = words(text)
    if not tokens:
        return None
    feats = [" ".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))]
    hashes = np.fromiter((_h64(f) for f in feats), dtype=np.uint64, count=len(feats))
    # Per bit position: how many feature hashes have it set; the majority decides the bit.
    ones = ((hashes[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).sum(axis=0)
    value = sum(1 << bit for bit in range(64) if 2 * int(ones[bit]) > len(feats))
    return f"{value:016x}"


def hamming(a, b):
    """Bits that differ between two hex SimHashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def similarity(text_a, text_b):
    """(jaccard, containment, length_ratio) of two texts' word shingles."""
    a, b = shingles(text_a), shingles(text_b)
    if not a or not b:
        return 0.0, 0.0, 0.0
    inter = len(a & b)
    return inter / len(a | b), inter / min(len(a), len(b)), min(len(a), len(b)) / max(len(a), len(b))


def is_near_duplicate(text_a, text_b):
    """True when one text is a republished copy of the other (both long enough to judge)."""
    if len(words(text_a)) < MIN_WORDS or len(words(text_b)) < MIN_WORDS:
        return False
    jaccard, containment, ratio = similarity(text_a, text_b)
    return jaccard >= MIN_JACCARD or (containment >= MIN_CONTAINMENT and ratio >= MIN_LENGTH_RATIO)


_CACHE = {}  # db file -> {"max_id": int, "rows": [(id, simhash_int)]}


def _simhash_index(db):
    """Every stored SimHash, loaded once per database and topped up incrementally."""
    key = db.conn.execute("PRAGMA database_list").fetchone()[2] or id(db.conn)
    entry = _CACHE.setdefault(key, {"max_id": 0, "rows": []})
    new = db.conn.execute(
        "select id, simhash from documents where id > ? and simhash is not null order by id",
        [entry["max_id"]]).fetchall()
    for doc_id, sh in new:
        entry["rows"].append((doc_id, int(sh, 16)))
    if new:
        entry["max_id"] = new[-1][0]
    # A row deleted or an id reused (new DB at the same path) invalidates the cache.
    if entry["rows"] and db.conn.execute("select count(*) from documents where id <= ?",
                                         [entry["max_id"]]).fetchone()[0] < len(entry["rows"]):
        _CACHE.pop(key)
        return _simhash_index(db)
    return entry["rows"]


def find_near_duplicates(db, text, sh, exclude_id=None):
    """Ids of stored documents whose text is a near-duplicate of `text`, nearest first."""
    if not sh:
        return []
    target = int(sh, 16)
    candidates = sorted(
        ((target ^ value).bit_count(), doc_id) for doc_id, value in _simhash_index(db)
        if doc_id != exclude_id and (target ^ value).bit_count() <= SIMHASH_CANDIDATE_BITS)
    found = []
    for _, doc_id in candidates[:20]:
        row = db.conn.execute("select text from documents where id = ?", [doc_id]).fetchone()
        if row and is_near_duplicate(text, row[0]):
            found.append(doc_id)
    return found


def duplicate_originals(texts):
    """For texts in arrival order: index of the earlier text each one copies (exactly or nearly), or None.

    The same tests as the store applies to crawled documents, for documents that come as a list
    (bench sets, imports). A copy of a copy points at the first original.
    """
    out, seen_hash = [None] * len(texts), {}
    hashes = np.zeros(len(texts), dtype=np.uint64)  # SimHashes of the texts so far (a vector: one XOR for all)
    owners = []
    for i, text in enumerate(texts):
        h = content_hash(text)
        if not normalise_text(text):
            continue
        original = seen_hash.get(h)
        sh = simhash(text)
        if original is None and sh and len(words(text)) >= MIN_WORDS and owners:
            bits = np.bitwise_count(hashes[:len(owners)] ^ np.uint64(int(sh, 16)))
            near = np.nonzero(bits <= SIMHASH_CANDIDATE_BITS)[0]
            near = near[np.argsort(bits[near], kind="stable")][:20]
            original = next((owners[k] for k in near if is_near_duplicate(text, texts[owners[k]])), None)
        if original is not None:
            out[i] = out[original] if out[original] is not None else original
        else:
            seen_hash[h] = i
        if sh:
            hashes[len(owners)] = int(sh, 16)
            owners.append(i)
    return out


def _original_key(doc):
    """Sort key: earliest published first; on a tie, the copy on the outlet's own site first.

    Republished copies usually carry the original's publisher name ("VentureBeat") in the text
    or metadata but live on another host, so a host that contains the publisher's name is the
    original. Unknown dates sort last (a copy without a date cannot claim to be first); the
    first-seen id breaks any remaining tie so the choice is stable.
    """
    published = doc.get("published") or "9999"
    publisher = "".join(ch for ch in (doc.get("publisher") or "").lower() if ch.isalnum())
    host = (doc.get("site") or "").replace(".", "").replace("-", "")
    on_outlet = bool(publisher) and publisher in host
    return (published, not on_outlet, doc.get("id") or 0)


def link_duplicates(db, doc_id, row):
    """Link a new document to the original of its exact or near duplicates (inside the caller's transaction)."""
    ids = [r[0] for r in db.conn.execute(
        "select id from documents where content_hash = ? and id != ?", [row["content_hash"], doc_id])]
    original_url = json.loads(row["extra"]).get("original_url")
    if original_url:
        ids += [r[0] for r in db.conn.execute("select id from documents where canonical_url = ? and id != ?",
                                              [canonical_url(original_url), doc_id])]
    if not ids:
        ids = find_near_duplicates(db, row["text"], row["simhash"], exclude_id=doc_id)
    if not ids:
        return
    # The group: the new document, its duplicates, and everything already linked to their originals.
    roots = set()
    for other in ids:
        r = db.conn.execute("select coalesce(duplicate_of, id) from documents where id = ?", [other]).fetchone()
        if r:
            roots.add(r[0])
    members = {doc_id, *ids, *roots}
    for root in roots:
        members.update(r[0] for r in db.conn.execute("select id from documents where duplicate_of = ?", [root]))
    cols = ["id", "published", "publisher", "site"]
    docs = [dict(zip(cols, db.conn.execute(f"select {', '.join(cols)} from documents where id = ?", [m]).fetchone()))
            for m in members]
    original = min(docs, key=_original_key)["id"]
    db.conn.execute(
        f"update documents set duplicate_of = ? where id in ({', '.join('?' * len(members))}) and id != ?",
        [original, *members, original])
    db.conn.execute("update documents set duplicate_of = null where id = ?", [original])
