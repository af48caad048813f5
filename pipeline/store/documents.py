"""Save spider items: normalise, canonical URL, content hash, near-duplicate link, upsert.

Every item is written in one transaction (a document and its version row together), so a
killed crawl never leaves half a row. Bad items become rows in `skips`, never exceptions.
"""
import datetime
import difflib
import json
import sqlite3
import logging

from pipeline.store import dedup
from pipeline.config import relevance_cut
from pipeline.store.relevance import relevance_score
from db.runs import now, record_skip
from pipeline.urls import canonical_url, site_of

log = logging.getLogger(__name__)

DOC_KINDS = {"article", "system_card", "social", "blog", "podcast"}
MAX_TEXT_CHARS = 2_000_000
MAX_DIFF_LINES = 4000


def save_item(db, item, run_id=None, relevance_min=None):
    """Store one spider item; return "inserted", "updated", "unchanged", "skipped" or "offtopic".

    `relevance_min` overrides the cut-off; by default `pipeline.config.relevance_cut` of the
    item's source row with the default settings (the crawl passes the cut its config gives).
    """
    if not isinstance(item, dict):
        return _skip(db, run_id, "?", None, f"item is not a dict ({type(item).__name__})")
    kind = item.get("type")
    if kind == "skip":
        return _skip(db, run_id, item.get("source") or "?", item.get("url"), item.get("reason") or "skipped",
                     benign=bool(item.get("benign")))
    if kind == "source_state":
        _save_state(db, item)
        return "updated"
    if kind != "document":
        return _skip(db, run_id, item.get("source") or "?", item.get("url"), f"unknown item type {kind!r}")
    try:
        return _save_document(db, item, run_id, relevance_min)
    except sqlite3.OperationalError:
        # Disk full, read-only, locked: not this item's fault, and recording it as a skip could
        # let the crawl mark the source done and lose the item. The caller stops the crawl.
        raise
    except Exception as e:  # a store bug must not kill the crawl: record it, keep going
        log.exception("cannot store %s", item.get("url"))
        return _skip(db, run_id, item.get("source") or "?", item.get("url"),
                     f"cannot store ({type(e).__name__}: {str(e)[:200]})")


def _skip(db, run_id, source, url, reason, benign=False):
    """Record a skip; it becomes the source's last error unless it is benign."""
    log.info("skip %s %s: %s", source, url, reason)
    with db.conn:
        record_skip(db, run_id, source, url, reason)
        db.conn.execute(
            "update sources set n_skipped = coalesce(n_skipped, 0) + 1, "
            "last_error = case when ? then last_error else ? end where name = ?",
            [benign, reason[:500], source])
    return "skipped"


def _save_state(db, item):
    with db.conn:
        db.conn.execute("update sources set etag = ?, last_modified = ? where name = ?",
                        [item.get("etag"), item.get("last_modified"), item.get("source")])


def _source_row(db, name):
    rows = list(db.query("select id, kind, relevance_min, publisher, config from sources where name = ?", [name]))
    return rows[0] if rows else None


def _source_option(source, key):
    """A per-source option from sources.toml (kept as JSON in sources.config)."""
    if not source or not source.get("config"):
        return None
    try:
        return json.loads(source["config"]).get(key)
    except ValueError:
        return None


def week_and_month(published):
    """("2025-W21", "2025-05") for an ISO timestamp; (None, None) when unknown."""
    if not published:
        return None, None
    try:
        dt = datetime.datetime.fromisoformat(published)
    except ValueError:
        return None, None
    year, week, _ = dt.isocalendar()
    return f"{year}-W{week:02d}", f"{dt.year}-{dt.month:02d}"


def _text(value, limit=None):
    if value is None:
        return None
    text = str(value).replace("\x00", "")
    return text[:limit] if limit else text


def _normalise(item, trust_canonical=False):
    """A clean row from a document item, or a one-line reason it cannot be stored.

    `trust_canonical`: the source is a mirror or snapshot of other sites (the demo), so a
    page's declared canonical URL is its real address even when it names another host.
    """
    url = _text(item.get("url"), 2000)
    text = _text(item.get("text"))
    if not url or not url.startswith(("http://", "https://")):
        return None, f"document without an http(s) URL ({url!r:.80})"
    if not text or not text.strip():
        return None, "document without text"
    doc_kind = item.get("kind") or "article"
    if doc_kind not in DOC_KINDS:
        return None, f"unknown document kind {doc_kind!r}"
    text = text.strip()[:MAX_TEXT_CHARS]
    extra = dict(item.get("extra") or {})
    canonical = _canonical(url, item.get("canonical_url"), extra, trust_canonical)
    published = item.get("published")
    week, month = week_and_month(published)
    published = published if week else None  # an unreadable date is no date
    title = _text(item.get("title"), 500)
    return {
        "url": url, "canonical_url": canonical, "kind": doc_kind,
        "publisher": _text(item.get("publisher"), 200), "site": site_of(canonical),
        "title": title.strip() if title else None, "author": _text(item.get("author"), 300),
        "published": published, "published_week": week, "published_month": month,
        "text": text, "lang": language_code(item.get("lang")),
        "content_hash": dedup.content_hash(text), "simhash": dedup.simhash(text),
        "word_count": len(text.split()), "guid": _text(item.get("guid"), 1000),
        "extra": json.dumps({k: v for k, v in extra.items() if v is not None}, ensure_ascii=False,
                            sort_keys=True, default=str),
    }, None


def language_code(value):
    """The primary language subtag, lower case: "en-US", "en_GB" and "EN" are all "en" (None if unreadable)."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def _canonical(url, declared, extra, trust_canonical):
    """The document's canonical URL: the page's declared one when it is on the same site (or the
    source is trusted); a declared URL on another site is kept in `extra` as original_url."""
    canonical = canonical_url(url)
    if declared and declared.startswith(("http://", "https://")):
        if trust_canonical or site_of(canonical_url(declared)) == site_of(canonical):
            return canonical_url(declared)
        # A page naming another site as canonical is a syndicated copy: remember the
        # original's address instead of letting the copy take over the original's row.
        extra.setdefault("original_url", declared)
    return canonical


def _save_document(db, item, run_id, relevance_min):
    source_name = item.get("source") or "?"
    source = _source_row(db, source_name)
    row, problem = _normalise(item, trust_canonical=_source_option(source, "mirror"))
    if problem:
        return _skip(db, run_id, source_name, item.get("url"), problem)
    row["source_id"] = source["id"] if source else None
    row["relevance"] = relevance_score(row["title"], row["text"], row["kind"])
    existing = _find_existing(db, row)
    if existing:
        return _update(db, existing, row)
    cut = relevance_cut(source) if relevance_min is None else relevance_min
    if row["relevance"] < cut:
        log.info("off-topic (%.2f < %.2f): %s", row["relevance"], cut, row["url"])
        return "offtopic"
    row["fetched"] = now()
    row["duplicate_of"] = None
    with db.conn:
        cur = db.conn.execute(
            f"insert into documents ({', '.join(row)}) values ({', '.join('?' * len(row))})",
            list(row.values()))
        doc_id = cur.lastrowid
        db.conn.execute(
            "insert or ignore into document_versions (document_id, url, content_hash, fetched, text, diff) "
            "values (?, ?, ?, ?, ?, null)", [doc_id, row["url"], row["content_hash"], row["fetched"], row["text"]])
        dedup.link_duplicates(db, doc_id, row)
    return "inserted"


def _find_existing(db, row):
    found = db.conn.execute("select * from documents where canonical_url = ?", [row["canonical_url"]]).fetchone()
    if not found and row["guid"] and row["source_id"] is not None:
        # A stable GUID whose link changed is the same document, not a new one.
        found = db.conn.execute("select * from documents where source_id = ? and guid = ?",
                                [row["source_id"], row["guid"]]).fetchone()
    if not found:
        return None
    cols = [d[0] for d in db.conn.execute("select * from documents limit 0").description]
    return dict(zip(cols, found))


def _was_summary_only(existing):
    try:
        return bool(json.loads(existing.get("extra") or "{}").get("summary_only"))
    except ValueError:
        return False


def unified_diff(old, new, url=""):
    """A unified diff of two texts by line (trimmed to a readable size)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"{url} (before)",
                                      tofile=f"{url} (after)", lineterm=""))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... {len(lines) - MAX_DIFF_LINES} more lines"]
    return "\n".join(lines)


def _update(db, existing, row):
    if existing["content_hash"] == row["content_hash"]:
        return "unchanged"
    fetched = now()
    changes = {k: row[k] for k in ("url", "title", "author", "text", "lang", "content_hash", "simhash",
                                   "word_count", "relevance", "extra")}
    for key in ("published", "published_week", "published_month"):
        if row[key] and not existing.get(key):
            changes[key] = row[key]
    if _was_summary_only(existing) and existing["canonical_url"] != row["canonical_url"]:
        # The entry's page answered at last: the document takes the address the page declares.
        taken = db.conn.execute("select 1 from documents where canonical_url = ?", [row["canonical_url"]]).fetchone()
        if not taken:
            changes.update(canonical_url=row["canonical_url"], site=row["site"])
    changes["fetched"] = fetched
    with db.conn:
        db.conn.execute(f"update documents set {', '.join(f'{k} = ?' for k in changes)} where id = ?",
                        [*changes.values(), existing["id"]])
        db.conn.execute(
            "insert or ignore into document_versions (document_id, url, content_hash, fetched, text, diff) "
            "values (?, ?, ?, ?, ?, ?)",
            [existing["id"], row["url"], row["content_hash"], fetched, row["text"],
             unified_diff(existing["text"] or "", row["text"], row["url"])])
    return "updated"
