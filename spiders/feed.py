"""feed: RSS 0.9x/1.0/2.0, Atom (feedparser) and JSON Feed; follows entries to their pages.

Expects: `url` answers with an RSS/Atom document or a JSON Feed (version https://jsonfeed.org/...),
whatever Content-Type it comes with (raw GitHub sends text/plain). Parsing: spiders.feed_parse.
Each entry's link (else an http(s) id/guid, else its enclosure) is followed to its page (article
extraction with trafilatura) unless the entry carries full content (at least `full_text_words`,
default 150 words, not ending in a truncation mark such as "Read the full story") or
`follow = "never"` (`follow = "always"` fetches every page). Pages already stored are not fetched
again (known by canonical URL, entry link or GUID). An entry whose page fails (HTTP error, timeout,
refusal, Cloudflare challenge) or has no article text is kept as the feed gave it, marked
`extra.summary_only` with `extra.fetch_error` (or `page_problem`); a failed page is tried again on
every crawl, even when the feed is unchanged, and the document is upgraded when it answers.
Options: doc_kind (article|blog|podcast|...), follow, full_text_words, max_entries (default 100).
Loopback: serve `feed.xml`/`index.xml`/`feed.json`, entry links pointing at pages on the server.
"""
import urllib.parse

from pipeline.urls import canonical_url
from spiders.base import SourceSpider, guarded, _header
from spiders.extract import (challenge_page, extract_article, html_to_text, is_teaser, iso_utc,
                             page_canonical)
from spiders.feed_parse import parse_feed

__all__ = ["FeedSpider", "feed_entries", "parse_feed", "web_url"]


def web_url(base, value):
    """`value` joined to `base` when that gives an http(s) address, else None (junk never raises)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = urllib.parse.urljoin(base, value.strip())
        parts = urllib.parse.urlsplit(url)
        parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def feed_entries(spider, response, limit=None):
    """(feed metadata, iterator of (entry, absolute link, GUID) per usable entry, in feed order).

    A broken feed, an entry without a usable address and a repeated GUID or link come out of the
    iterator as (None, skip record, None): the caller yields the record and goes on.
    """
    entries, meta, problem = parse_feed(response.body, _header(response, "Content-Type"))
    return meta, _usable_entries(spider, response, entries, problem, limit)


def _usable_entries(spider, response, entries, problem, limit):
    if problem:
        yield None, spider.skip(response.url, problem + (f"; {len(entries)} entries recovered" if entries else ""),
                                fatal=not entries), None
    seen = set()
    for entry in entries[:limit]:
        if "skip" in entry:
            yield None, spider.skip(response.url, entry["skip"]), None
            continue
        link = next(filter(None, (web_url(response.url, u) for u in entry["links"])), None)
        entry["enclosures"] = [u for u in (web_url(response.url, e) for e in entry["enclosures"]) if u]
        guid = entry.get("id") or link
        if not link:
            yield None, spider.skip(response.url, f"feed entry without a usable link "
                                                  f"({entry.get('title') or guid or '?'})"), None
        elif guid in seen or canonical_url(link) in seen:
            yield None, spider.skip(link, f"duplicate GUID in feed: {guid}"), None
        else:
            seen.update({guid, canonical_url(link)})
            yield entry, link, guid


class FeedSpider(SourceSpider):
    kind = "feed"
    default_doc_kind = "article"

    def entry_requests(self):
        """The feed, and the page of every entry kept summary-only, even if the feed is unchanged."""
        yield from super().entry_requests()
        for known in self.known.values():
            entry = known.get("entry")
            if entry and "alias_of" not in known:
                fields = {k: entry.get(k) for k in ("title", "author", "published", "lang", "guid")}
                fields["extra"] = {**entry.get("extra", {}), "summary": entry.get("summary") or ""}
                yield self.page_request(entry["url"], self.parse_page, errback=self.page_failed,
                                        cb_kwargs={"fields": fields, "link": entry["url"]})

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        meta, entries = feed_entries(self, response, limit=int(self.source.get("max_entries", 100)))
        for entry, link, guid in entries:
            if entry is None:
                yield link  # a skip record
                continue
            yield from self.entry_item(entry, link, guid, meta)

    def entry_item(self, entry, link, guid, meta):
        """The entry as a document (full content in the feed), or a request for its page."""
        follow = self.source.get("follow", "auto")
        body_text = html_to_text(entry["content"] or entry["summary"])
        fields = {
            "title": entry.get("title"), "author": entry.get("author"),
            "published": iso_utc(entry.get("published")), "guid": guid,
            "lang": entry.get("lang") or meta.get("lang"),
            "extra": {"feed_title": meta.get("title"), "tags": entry.get("tags") or []},
        }
        if entry.get("enclosures"):
            fields["extra"]["enclosures"] = entry["enclosures"]
        teaser = is_teaser(body_text)
        full = len(body_text.split()) >= int(self.source.get("full_text_words", 150)) and not teaser
        if follow == "never" or (follow == "auto" and full):
            if not body_text and not fields["title"]:
                yield self.skip(link, "feed entry without text or title")
            else:
                if teaser:
                    fields["extra"]["summary_only"] = True
                yield self.document(link, body_text or fields["title"], **fields)
        elif not self.is_known(link, guid):  # a stored page is not fetched again
            fields["extra"]["summary"] = body_text[:2000]
            yield self.page_request(link, self.parse_page, errback=self.page_failed,
                                    cb_kwargs={"fields": fields, "link": link})

    def summary_document(self, url, fields, reason, canonical=None, failed=True):
        """The entry as the feed gave it (title, date, summary), marked summary-only, with why:
        nothing the feed sent is lost when its page cannot be read. A later crawl tries the page again."""
        extra = fields["extra"]
        text = extra.pop("summary", "") or fields.get("title")
        if not text:
            return self.skip(url, reason)
        extra["summary_only"] = True
        extra["fetch_error" if failed else "page_problem"] = reason
        return self.document(url, text, canonical_url=canonical, **fields)

    def page_failed(self, failure):
        """Errback of an entry's page (403, 429, timeout, refused): the entry is kept summary-only."""
        request = failure.request
        yield self.summary_document(request.cb_kwargs["link"], request.cb_kwargs["fields"],
                                    self.failure_reason(failure))

    @guarded
    def parse_page(self, response, fields, link=None):
        """An entry's page: the article text; the feed's summary when the page has none."""
        if response.status == 304:
            return
        link = link or response.url
        if canonical_url(link) not in (canonical_url(response.url),):
            fields["extra"]["entry_link"] = link  # a redirecting feed link: known by it next time
        blocked = challenge_page(response)
        if blocked:
            yield self.summary_document(link, fields, blocked)
            return
        problem = self.check_body(response, expect="html")
        html = getattr(response, "text", None) or response.body
        article = None if problem else extract_article(html, response.url)
        if not article:
            canonical = None if problem else page_canonical(html, response.url)
            yield self.summary_document(response.url, fields, problem or "no article text found on the page",
                                        canonical=canonical, failed=bool(problem))
            return
        for key in ("title", "author", "published", "lang"):
            fields[key] = fields.get(key) or article.get(key)
        fields["canonical_url"] = article.get("canonical_url")
        fields["extra"].pop("summary", None)
        yield self.document(response.url, article["text"], **fields)
