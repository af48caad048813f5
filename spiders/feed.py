"""feed: RSS 0.9x/1.0/2.0, Atom (feedparser) and JSON Feed; follows entries to their pages.

Expects: `url` answers with an RSS/Atom document or a JSON Feed (version https://jsonfeed.org/...).
Each entry's link is followed to its page (article extraction with trafilatura) unless the entry
carries full content (at least `full_text_words`, default 150 words) or `follow = "never"`
(`follow = "always"` fetches every page). Pages already stored are not fetched again.
Options: doc_kind (article|blog|podcast|...), follow, full_text_words, max_entries (default 100).
Loopback: serve `feed.xml`/`index.xml`/`feed.json`, entry links pointing at pages on the server.
"""
import json
import re

import feedparser

from pipeline.urls import canonical_url
from spiders.base import SourceSpider, guarded, _header
from spiders.extract import extract_article, html_to_text, iso_utc, plain_title

# Some feeds are ill-formed in harmless ways (declared charset differs from the real one);
# those are parsed normally and not reported.
HARMLESS_BOZO = (feedparser.CharacterEncodingOverride,)


def feed_entries(spider, response, limit=None):
    """(feed metadata, iterator of (entry, absolute link, GUID) per usable entry, in feed order).

    A broken feed, an entry without a link and a repeated GUID or link come out of the iterator
    as (None, skip record, None): the caller yields the record and goes on.
    """
    entries, meta, problem = parse_feed(response.body, _header(response, "Content-Type"))
    return meta, _usable_entries(spider, response, entries, problem, limit)


def _usable_entries(spider, response, entries, problem, limit):
    if problem:
        yield None, spider.skip(response.url, problem + (f"; {len(entries)} entries recovered" if entries else ""),
                                fatal=not entries), None
    seen = set()
    for entry in entries[:limit]:
        link = response.urljoin(entry["link"]) if entry.get("link") else None
        guid = entry.get("id") or link
        if not link:
            yield None, spider.skip(response.url, f"feed entry without a link "
                                                  f"({plain_title(entry.get('title')) or guid or '?'})"), None
        elif guid in seen or canonical_url(link) in seen:
            yield None, spider.skip(link, f"duplicate GUID in feed: {guid}"), None
        else:
            seen.update({guid, canonical_url(link)})
            yield entry, link, guid


def parse_feed(body, content_type=""):
    """(entries as plain dicts, feed metadata, problem or None) from RSS, Atom or JSON Feed bytes."""
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        return _parse_json_feed(body)
    parsed = feedparser.parse(body, response_headers={"content-type": content_type or "application/xml"})
    problem = None
    if isinstance(parsed.get("bozo_exception"), HARMLESS_BOZO):
        # The declared charset was wrong and feedparser fell back to a guess; a statistical
        # detector does better (a KOI8-R feed otherwise comes out as windows-1252 mojibake).
        detected = _detect_encoding(body)
        if detected and detected.replace("_", "-").lower() != (parsed.get("encoding") or "").lower():
            text = body.decode(detected, errors="replace")
            text = re.sub(r"^(\s*<\?xml[^>]*?)\s+encoding=[\"'][^\"']*[\"']", r"\1", text)
            parsed = feedparser.parse(text)
            problem = f"wrong or missing encoding: decoded as {detected}"
    elif parsed.get("bozo"):
        problem = f"ill-formed feed ({type(parsed.bozo_exception).__name__}: {str(parsed.bozo_exception)[:120]})"
    entries = []
    for e in parsed.entries:
        content = ""
        if e.get("content"):
            content = max((c.get("value") or "" for c in e.content), key=len)
        entries.append({
            "id": e.get("id") or e.get("guid"),
            "link": e.get("link"),
            "title": e.get("title"),
            "summary": e.get("summary") or "",
            "content": content,
            "author": e.get("author"),
            "published": e.get("published_parsed") or e.get("updated_parsed") or e.get("published"),
            "lang": (e.get("content", [{}])[0].get("language") if e.get("content") else None),
            "enclosures": [x.get("href") for x in e.get("enclosures", []) if x.get("href")],
            "tags": [t.get("term") for t in e.get("tags", []) if t.get("term")],
        })
    meta = {"title": parsed.feed.get("title"), "lang": (parsed.feed.get("language") or "").split("-")[0] or None,
            "version": parsed.get("version")}
    if not entries and parsed.get("bozo"):
        problem = problem or "not a feed"
    return entries, meta, problem


def _detect_encoding(body):
    import charset_normalizer
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return best.encoding if best else None


def _parse_json_feed(body):
    try:
        data, _ = json.JSONDecoder().raw_decode(body.decode("utf-8-sig", errors="replace").lstrip())
    except ValueError as e:
        return [], {}, f"JSON Feed is not valid JSON ({e})"
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], {}, "JSON document is not a JSON Feed (no items list)"
    entries = []
    for it in data["items"]:
        if not isinstance(it, dict):
            continue
        author = it.get("author") or (it.get("authors") or [{}])[0]
        entries.append({
            "id": str(it["id"]) if it.get("id") is not None else None,
            "link": it.get("url") or it.get("external_url"),
            "title": it.get("title"),
            "summary": it.get("summary") or "",
            "content": it.get("content_html") or it.get("content_text") or "",
            "author": author.get("name") if isinstance(author, dict) else None,
            "published": it.get("date_published") or it.get("date_modified"),
            "lang": it.get("language"),
            "enclosures": [a.get("url") for a in it.get("attachments", []) if isinstance(a, dict)],
            "tags": it.get("tags") or [],
        })
    return entries, {"title": data.get("title"), "lang": data.get("language"), "version": "json"}, None


class FeedSpider(SourceSpider):
    kind = "feed"
    default_doc_kind = "article"

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        follow = self.source.get("follow", "auto")
        min_words = int(self.source.get("full_text_words", 150))
        meta, entries = feed_entries(self, response, limit=int(self.source.get("max_entries", 100)))
        for entry, link, guid in entries:
            if entry is None:
                yield link  # a skip record
                continue
            body_text = html_to_text(entry["content"] or entry["summary"])
            fields = {
                "title": plain_title(entry.get("title")), "author": plain_title(entry.get("author")),
                "published": iso_utc(entry.get("published")), "guid": guid,
                "lang": entry.get("lang") or meta.get("lang"),
                "extra": {"feed_title": meta.get("title"), "tags": entry.get("tags") or []},
            }
            if entry.get("enclosures"):
                fields["extra"]["enclosures"] = entry["enclosures"]
            full = len(body_text.split()) >= min_words
            if follow == "never" or (follow == "auto" and full):
                if not body_text and not fields["title"]:
                    yield self.skip(link, "feed entry without text or title")
                    continue
                yield self.document(link, body_text or fields["title"], **fields)
            elif self.is_known(link):
                continue  # stored on an earlier crawl: do not fetch the page again
            else:
                fields["extra"]["summary"] = body_text[:2000]
                yield self.page_request(link, self.parse_page, cb_kwargs={"fields": fields})

    @guarded
    def parse_page(self, response, fields):
        """An entry's page: the article text; the feed's summary when the page has none."""
        if response.status == 304:
            return
        problem = self.check_body(response, expect="html")
        article = None if problem else extract_article(getattr(response, "text", None) or response.body, response.url)
        summary = fields["extra"].pop("summary", "")
        if not article:
            if summary:
                fields["extra"]["summary_only"] = True
                yield self.document(response.url, summary, **fields)
            else:
                yield self.skip(response.url, problem or "no article text found on the page")
            return
        for key in ("title", "author", "published", "lang"):
            fields[key] = fields.get(key) or article.get(key)
        fields["canonical_url"] = article.get("canonical_url")
        yield self.document(response.url, article["text"], **fields)
