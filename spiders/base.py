"""What every source spider shares: conditional entry request, item builders, failure handling."""
import functools
import logging

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from pipeline.urls import canonical_url
from spiders.extract import looks_binary
from spiders.items import document_item, skip_item

log = logging.getLogger(__name__)


def guarded(callback):
    """Wrap a generator callback so hostile input becomes a skip item, never a crash."""
    @functools.wraps(callback)
    def wrapper(self, response, *args, **kwargs):
        try:
            yield from callback(self, response, *args, **kwargs)
        except Exception as e:  # any parse failure on input we do not control
            log.warning("%s: cannot parse %s: %s", self.source["name"], response.url, e)
            yield self.skip(response.url, f"cannot parse ({type(e).__name__}: {str(e)[:200]})",
                            fatal=response.meta.get("entry", False))
    return wrapper


class SourceSpider(scrapy.Spider):
    """One spider instance per configured source; subclasses implement `parse_entry`."""

    name = "source"
    kind = None
    default_doc_kind = "article"
    custom_settings = {}

    def __init__(self, source, state=None, known=None, **kwargs):
        super().__init__(name=f"{self.kind}:{source['name']}", **kwargs)
        self.source = source
        self.state = state or {}
        self.known = known or {}  # canonical URL -> {"etag", "last_modified"} of stored documents
        self.new_state = None  # validators of the entry response, saved when the crawl finishes
        self.not_modified = False
        self.seen_ids = set()  # ids of posts/entries already yielded in this crawl (paging)
        self.max_bytes = int(source.get("max_response_bytes") or 10 * 1024 * 1024)

    # -- requests -------------------------------------------------------------------------
    async def start(self):
        for request in self.entry_requests():
            yield request

    def entry_requests(self):
        yield self.entry_request(self.source["url"])

    def entry_request(self, url, callback=None, conditional=True, **kwargs):
        """The source's own URL, fetched conditionally with the stored ETag/Last-Modified."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if conditional:
            if self.state.get("etag"):
                headers["If-None-Match"] = self.state["etag"]
            if self.state.get("last_modified"):
                headers["If-Modified-Since"] = self.state["last_modified"]
        meta = {"handle_httpstatus_list": [304], "entry": True, **kwargs.pop("meta", {})}
        return scrapy.Request(url, callback=callback or self.parse, errback=self.on_error,
                              headers=headers, meta=meta, dont_filter=True, **kwargs)

    def page_request(self, url, callback, validators=None, errback=None, **kwargs):
        """A follow-up request; conditional when we stored validators for that page."""
        headers = dict(kwargs.pop("headers", {}) or {})
        meta = dict(kwargs.pop("meta", {}) or {})
        if validators:
            if validators.get("etag"):
                headers["If-None-Match"] = validators["etag"]
            if validators.get("last_modified"):
                headers["If-Modified-Since"] = validators["last_modified"]
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(url, callback=callback, errback=errback or self.on_error, headers=headers,
                              meta=meta, **kwargs)

    def is_known(self, url, guid=None):
        """True when `url` (or the entry's `guid`) is a stored document that needs no new fetch.

        Known documents are keyed by canonical URL, by the entry link they were reached from
        (a redirecting feed link) and by "guid:" + GUID; one kept summary-only is not known, so
        its page is tried again.
        """
        for key in (canonical_url(url), f"guid:{guid}" if guid else None):
            found = self.known.get(key) if key else None
            if found is not None:
                return not found.get("summary_only")
        return False

    # -- responses ------------------------------------------------------------------------
    def parse(self, response):
        """Entry response: 304 means nothing changed; otherwise remember validators and parse."""
        if response.status == 304:
            self.not_modified = True
            return
        self.new_state = {
            "etag": _header(response, "ETag"),
            "last_modified": _header(response, "Last-Modified"),
        }
        yield from self.parse_entry(response)

    def parse_entry(self, response):
        raise NotImplementedError

    def on_error(self, failure):
        """A failed request becomes a skip item (refusals and robots.txt included)."""
        request = failure.request
        reason = self.failure_reason(failure)
        yield self.skip(request.url, reason, fatal=request.meta.get("entry", False),
                        refused=reason.startswith("refused "))

    def failure_reason(self, failure):
        """A one-line reason for a failed request: "HTTP 403", a refusal, a timeout."""
        exc = failure.value
        if isinstance(exc, HttpError):
            return f"HTTP {exc.response.status}"
        if isinstance(exc, IgnoreRequest):
            return str(exc) or "ignored"
        reason = f"{type(exc).__name__}: {str(exc)[:200]}".rstrip(": ")
        if "maxsize" in reason.lower() or "max size" in reason.lower() or "Cancelled" in reason:
            reason = f"response larger than {self.max_bytes} bytes ({reason})"
        return reason

    # -- items ----------------------------------------------------------------------------
    def document(self, url, text, title=None, **fields):
        """A document item from this spider's source (see spiders.items)."""
        return document_item(self.source, url, text, title, default_kind=self.default_doc_kind, **fields)

    def skip(self, url, reason, fatal=False, refused=False, benign=False):
        """A skip item: counted and logged by the store, never silently dropped."""
        return skip_item(self.source["name"], url, reason, fatal=fatal, refused=refused, benign=benign)

    def unseen(self, records, key, url, missing):
        """Yield (record, None) for each record not yet yielded in this crawl, (None, skip) for one
        without `key`: API pages overlap while paging, and a post must be stored once."""
        for record in records:
            if not isinstance(record, dict) or not record.get(key):
                yield None, self.skip(url, missing)
                continue
            if record[key] not in self.seen_ids:
                self.seen_ids.add(record[key])
                yield record, None

    def check_body(self, response, expect="text"):
        """A reason to skip this response (binary, too large, empty), or None."""
        body = response.body or b""
        ctype = _header(response, "Content-Type") or ""
        if not body.strip():
            return "empty response"
        if len(body) > self.max_bytes:
            return f"response larger than {self.max_bytes} bytes"
        if expect in ("text", "html") and looks_binary(body, ctype):
            return f"binary content ({ctype or 'unknown type'}) where text was expected"
        if expect == "html" and body.lstrip()[:1] in (b"{", b"["):
            return "JSON where an HTML page was expected"
        return None


def _header(response, name):
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

