"""article: one page (or an index page's links) through trafilatura.

Expects: `url` answers with an HTML article page; text, title, author, date and language come
from trafilatura, the canonical URL from <link rel=canonical> or og:url.
Option `link_pattern` (a regex): treat `url` as an index page and extract every linked page whose
URL matches it (at most `max_links`, default 50). Option `urls` (list): more pages to fetch.
Loopback: any static HTML file.
"""
import re

from spiders.base import SourceSpider, guarded
from spiders.extract import extract_article


class ArticleSpider(SourceSpider):
    kind = "article"
    default_doc_kind = "article"

    def entry_requests(self):
        yield self.entry_request(self.source["url"])
        for url in self.source.get("urls", []) or []:
            yield self.page_request(url, self.parse_article, dont_filter=True)

    @guarded
    def parse_entry(self, response):
        pattern = self.source.get("link_pattern")
        if not pattern:
            yield from self.parse_article(response)
            return
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        regex = re.compile(pattern)
        links = []
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if regex.search(url) and url not in links and url != response.url:
                links.append(url)
        for url in links[: int(self.source.get("max_links", 50))]:
            if not self.is_known(url):
                yield self.page_request(url, self.parse_article)

    @guarded
    def parse_article(self, response):
        if response.status == 304:
            return
        problem = self.check_body(response, expect="html")
        if problem:
            yield self.skip(response.url, problem)
            return
        article = extract_article(getattr(response, "text", None) or response.body, response.url)
        if not article:
            yield self.skip(response.url, "no article text found on the page")
            return
        yield self.document(
            response.url, article["text"], title=article["title"], author=article["author"],
            published=article["published"], lang=article["lang"],
            canonical_url=article["canonical_url"])
