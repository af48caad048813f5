"""Stream items from document rows and from plain records (bench sets, imports): dates, kinds,
publishers, and what each document follows (the original of a copy, what a post links to)."""
import datetime
import json
import math
import re

from pipeline.stories.features import is_thin, parse_time

_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>)\]]+")
DOC_COLUMNS = ("id, url, canonical_url, kind, publisher, site, source_id, title, text, published, "
               "duplicate_of, story_id, content_hash, extra, guid, lang")  # a document row


def iso_published(value):
    """A record's publication date as ISO 8601 UTC (see pipeline.dates.parse_date), or None."""
    if value is not None and parse_time(value) is not None:
        return str(value).strip()
    from pipeline.dates import parse_date
    dt = parse_date(value)
    if dt is None:
        return None
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.isoformat(timespec="seconds") if 1990 <= dt.year <= 2100 else None


def stream_order(items):
    """Publication order; undated items keep their place after the dated item before them.

    Items dated the same instant put those with text before title-only ones, which may need
    them as context (see stream.launch_card).
    """
    keys, last = [], -math.inf
    for i, it in enumerate(items):
        t = parse_time(it.get("published"))
        if t is not None:
            last = t
        keys.append((last, 0, i) if t is None else (t, int(is_thin(it)), i))
    return [k[-1] for k in sorted(keys)]


def row_extra(row):
    """A row's `extra` JSON as a dict ({} when missing or not an object)."""
    try:
        extra = json.loads(row.get("extra") or "{}")
    except (TypeError, ValueError):
        return {}
    return extra if isinstance(extra, dict) else {}


def links_of(row):
    """What a document points at: URLs (the article it shares, links in a post) and post ids it replies to."""
    urls, ids = [], []
    extra = row_extra(row)
    for key in ("reply_to", "original_url", "in_reply_to", "quoted_url", "link", "story_url", "parent_url"):
        value = extra.get(key)
        if isinstance(value, str) and value.startswith("http"):
            urls.append(value)
        elif isinstance(value, (str, int)) and str(value).strip():
            ids.append(str(value))
    if row.get("kind") == "social":
        urls += _URL_IN_TEXT.findall(row.get("text") or "")
    return [u.rstrip(".,;") for u in urls], ids


def _slug(url):
    """The last path segment when it is a long article slug: mirrors and syndicated copies keep it."""
    path = re.sub(r"[?#].*$", "", url or "").rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    for ext in (".html", ".htm", ".php"):
        last = last.removesuffix(ext)
    return last if len(last) >= 24 and last.count("-") >= 3 else None


def link_targets(rows):
    """Per row, the index of the row whose story it follows, or None: the original of a duplicate,
    the document a post shares or links to (by URL, or by the article slug a syndicated copy keeps),
    the post it replies to (by GUID). Rows: dicts with id, url, canonical_url, guid, duplicate_of,
    kind, text, extra.
    """
    pos = {r["id"]: k for k, r in enumerate(rows)}
    by_url, by_guid = {}, {}
    for r in rows:
        for u in (r.get("url"), r.get("canonical_url")):
            if u:
                by_url.setdefault(u, r["id"])
                if _slug(u):
                    by_url.setdefault(_slug(u), r["id"])
        if r.get("guid"):
            by_guid.setdefault(str(r["guid"]), r["id"])
    out = []
    for r in rows:
        if r.get("duplicate_of") in pos:
            out.append(pos[r["duplicate_of"]])
            continue
        urls, ids = links_of(r)
        keys = [by_url.get(u, by_url.get(_slug(u))) for u in urls] + [by_guid.get(x) for x in ids]
        out.append(next((pos[t] for t in keys if t in pos and t != r["id"]), None))
    return out


def items_from_records(records):
    """Stream items from plain records {id, title, text, url, source, published[, kind, publisher]}
    (bench sets, imports), knowing what `process` knows of crawled documents: the date in ISO form
    (as the spiders store it; see iso_published), the kind (from the
    URL's host when not given), the publisher (the source), republished copies (near-duplicate
    text; the earlier one is the original) and what a post links to.
    """
    from pipeline.store.dedup import duplicate_originals
    from pipeline.urls import canonical_url, kind_of_url
    from pipeline.dates import url_date
    records = [{**rec, "published": iso_published(rec.get("published")) or url_date(rec.get("url"))}
               for rec in records]
    order = stream_order(records)
    originals = duplicate_originals([records[i].get("text") or "" for i in order])
    duplicate_of = {order[k]: order[o] for k, o in enumerate(originals) if o is not None}
    rows = []
    for i, rec in enumerate(records):
        url = rec.get("url") or ""
        rows.append({"id": i, "url": url, "canonical_url": canonical_url(url) if url.startswith("http") else url,
                     "guid": None, "duplicate_of": duplicate_of.get(i),
                     "kind": rec.get("kind") or kind_of_url(url), "text": rec.get("text") or "",
                     "extra": "{}"})
    links = link_targets(rows)
    items = []
    for rec, row, link in zip(records, rows, links):
        item = {**rec, "kind": row["kind"], "canonical_url": row["canonical_url"] or None,
                "publisher": rec.get("publisher") or rec.get("source")}
        item.pop("story", None)
        item.pop("link", None)
        if link is not None:
            item["link"] = link
        items.append(item)
    return items
