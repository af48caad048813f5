"""What a spider yields: plain dict items, one builder per type, so their shape lives in one place.

Dicts rather than `scrapy.Item`: they cross process boundaries as JSON (Redis workers push them
to the writer) and the store, `pipeline.store.documents.save_item`, takes them as they are.
"type" tells them apart:

document      one page or post. Fields (DOCUMENT_FIELDS): source (config name), url (as fetched),
              canonical_url (declared by the page, or None), kind (article | blog | system_card |
              social | podcast), publisher, title, author, published (ISO 8601 UTC, or None),
              text (plain), lang, guid (stable id from the feed or API), extra (a dict of anything
              else: likes, handle, http_etag, ...; kept as JSON in documents.extra).
skip          something that could not be fetched or read: source, url, reason; `fatal` when
              it was the source's entry request (the source failed), `refused` when the address
              guard refused the URL. Counted and logged by the store, never silently dropped.
source_state  the entry response's HTTP validators (etag, last_modified), saved when a crawl
              finishes cleanly so the next one can ask "changed since?".
"""
from pipeline.dates import url_date
from spiders.extract import iso_utc

DOCUMENT_FIELDS = ("type", "source", "url", "canonical_url", "kind", "publisher", "title", "author",
                   "published", "text", "lang", "guid", "extra")


def document_item(source, url, text, /, title=None, default_kind="article", **fields):
    """A document item for config source `source`; keyword fields not in DOCUMENT_FIELDS go to extra.

    kind: the field, else the source's `doc_kind`, else `default_kind` (the spider's).
    publisher: the field, else the source's publisher, else its name. published: the field, else
    the date in the page's address (canonical URL first), else None.
    """
    item = {
        "type": "document", "source": source["name"], "url": url,
        "canonical_url": fields.pop("canonical_url", None),
        "kind": fields.pop("kind", None) or source.get("doc_kind") or default_kind,
        "publisher": fields.pop("publisher", None) or source.get("publisher") or source["name"],
        "title": title, "author": fields.pop("author", None),
        "published": fields.pop("published", None), "text": text,
        "lang": fields.pop("lang", None), "guid": fields.pop("guid", None),
        "extra": fields.pop("extra", None) or {},
    }
    item["extra"].update(fields)
    _drop_unsafe_links(item["extra"])
    if not item["published"]:  # a page or entry without a date: the day its address files it under
        item["published"] = iso_utc(url_date(item["canonical_url"] or url))
    return item


def skip_item(source_name, url, reason, fatal=False, refused=False, benign=False):
    """A skip item; `fatal`, `refused` and `benign` appear only when true. A benign skip (a post
    with nothing to read, such as an image without a description) is counted and logged but is
    not the source's error."""
    item = {"type": "skip", "source": source_name, "url": url, "reason": reason}
    if benign:
        item["benign"] = True
    if fatal:
        item["fatal"] = True
    if refused:
        item["refused"] = True
    return item


def source_state_item(source_name, validators):
    """The source's new entry validators ({"etag", "last_modified"}) as an item for the store."""
    return {"type": "source_state", "source": source_name, **validators}


# Keys of `extra` that hold addresses a reader may follow.
LINK_KEYS = ("link", "quoted_url", "original_url", "profile_url", "story_url", "entry_link")


def _drop_unsafe_links(extra):
    """Only http(s) addresses stay in extra's link fields and lists (no javascript:, data:, file:)."""
    def safe(value):
        return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))

    for key in LINK_KEYS:
        if extra.get(key) is not None and not safe(extra[key]):
            extra.pop(key)
    for key in ("enclosures", "links"):
        if isinstance(extra.get(key), list):
            extra[key] = [v for v in extra[key] if safe(v)]
