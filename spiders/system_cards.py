"""system_cards: a lab's index page of system/model cards -> each card, HTML or PDF (pypdf).

Expects: `url` answers with an HTML index page. Card links are the <a href> whose URL or link
text matches `link_pattern` (default: system card / model card / addendum, or any .pdf link).
Each card is HTML (trafilatura) or PDF (detected by Content-Type, .pdf or the %PDF magic).
Cards are fetched on every crawl, conditionally with the validators of the stored copy, so a
silently edited card shows up as a new version (the store keeps each version and its diff);
cards already known are re-checked even when the index itself is unchanged (304).
Loopback: an index.html linking e.g. cards/claude-opus-4.pdf.
"""
import re

from spiders.base import SourceSpider, guarded, _header
from spiders.extract import PdfError, extract_article, iso_utc, pdf_text, plain_title

DEFAULT_PATTERN = r"(?i)system[-_ ]?card|model[-_ ]?card|addendum|\.pdf(?:$|[?#])"


class SystemCardsSpider(SourceSpider):
    kind = "system_cards"
    default_doc_kind = "system_card"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requested = set()  # canonical URLs of cards already requested in this crawl

    def entry_requests(self):
        yield self.entry_request(self.source["url"])
        # Known cards are re-checked on every crawl, whether or not the index changed.
        for url, validators in self.known.items():
            if "alias_of" in validators:  # the same card under its GUID or entry link
                continue
            self.requested.add(url)
            yield self.page_request(url, self.parse_card, validators=validators,
                                    cb_kwargs={"link_text": None}, dont_filter=True)

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        pattern = re.compile(self.source.get("link_pattern") or DEFAULT_PATTERN)
        from pipeline.urls import canonical_url
        found = 0
        for a in response.css("a[href]"):
            href = a.attrib.get("href", "").strip()
            text = " ".join(" ".join(a.css("::text").getall()).split())
            if not href or href.startswith(("mailto:", "javascript:", "#")):
                continue
            url = response.urljoin(href)
            if not (pattern.search(url) or pattern.search(text)):
                continue
            key = canonical_url(url)
            if key in self.requested or key == canonical_url(response.url):
                continue
            self.requested.add(key)
            found += 1
            yield self.page_request(url, self.parse_card, cb_kwargs={"link_text": text or None})
        if not found and not any("alias_of" not in v for v in self.known.values()):
            yield self.skip(response.url, "no system card links found on the index page")

    @guarded
    def parse_card(self, response, link_text=None):
        if response.status == 304:
            return
        body = response.body or b""
        if not body.strip():
            yield self.skip(response.url, "empty response")
            return
        if len(body) > self.max_bytes:
            yield self.skip(response.url, f"response larger than {self.max_bytes} bytes")
            return
        ctype = (_header(response, "Content-Type") or "").lower()
        validators = {"http_etag": _header(response, "ETag"),
                      "http_last_modified": _header(response, "Last-Modified")}
        if body.lstrip()[:4] == b"%PDF" or "pdf" in ctype or response.url.lower().endswith(".pdf"):
            try:
                pdf = pdf_text(body)
            except PdfError as e:
                yield self.skip(response.url, str(e))
                return
            published = pdf["published"] or iso_utc(validators["http_last_modified"])
            yield self.document(response.url, pdf["text"], title=pdf["title"] or plain_title(link_text),
                                published=published, extra={**validators, "format": "pdf"})
            return
        problem = self.check_body(response, expect="html")
        article = None if problem else extract_article(getattr(response, "text", None) or body, response.url)
        if not article:
            yield self.skip(response.url, problem or "no card text found on the page")
            return
        yield self.document(response.url, article["text"], title=article["title"] or plain_title(link_text),
                            author=article["author"],
                            published=article["published"] or iso_utc(validators["http_last_modified"]),
                            lang=article["lang"], canonical_url=article["canonical_url"],
                            extra={**validators, "format": "html"})
