"""wordpress: the WordPress REST API, /wp-json/wp/v2/posts, with search, after and paging.

Expects: `url` is the posts endpoint (https://site/wp-json/wp/v2/posts) or the site root (the
endpoint path is appended). Query: search (`search` option), after (`after` option, ISO date),
per_page (`per_page`, default 20), page=1..`max_pages` (default 3), orderby=date; paging stops at
X-WP-TotalPages, a short page, or a page with no new post ids.
Response: a JSON list of post objects, or ONE post object, possibly followed by junk (some caching
plugins append an HTML comment); both are read. Post fields used: id, link, guid.rendered,
title.rendered, content.rendered, excerpt.rendered, date_gmt/date, modified_gmt, author,
_embedded.author[0].name, yoast_head_json.canonical / og_url.
Loopback: a folder wp-json/wp/v2/posts/ holding index.json (query strings are ignored).
"""
import json
import urllib.parse

from spiders.base import SourceSpider, guarded, _header
from spiders.extract import html_to_text, iso_utc, plain_title


def read_posts(body):
    """Post objects from a response body: a list or a single object, trailing junk ignored."""
    text = body.decode("utf-8-sig", errors="replace").lstrip()
    data, _end = json.JSONDecoder().raw_decode(text)
    if isinstance(data, dict):
        if "code" in data and "message" in data and "id" not in data:
            raise ValueError(f"API error {data.get('code')}: {str(data.get('message'))[:120]}")
        return [data]
    if isinstance(data, list):
        return data
    raise ValueError(f"expected post objects, got {type(data).__name__}")


def _rendered(value):
    if isinstance(value, dict):
        return value.get("rendered") or ""
    return value if isinstance(value, str) else ""


class WordpressSpider(SourceSpider):
    kind = "wordpress"
    default_doc_kind = "article"

    def endpoint(self, page):
        url = self.source["url"]
        if "/wp-json/" not in url:
            url = url.rstrip("/") + "/wp-json/wp/v2/posts"
        params = {"per_page": int(self.source.get("per_page", 20)), "page": page,
                  "orderby": "date", "order": "desc", "_embed": "author"}
        if self.source.get("search"):
            params["search"] = self.source["search"]
        if self.source.get("after"):
            params["after"] = self.source["after"]
        sep = "&" if "?" in url else "?"
        return url + sep + urllib.parse.urlencode(params)

    def entry_requests(self):
        yield self.entry_request(self.endpoint(1), meta={"page": 1})

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=response.meta.get("entry", False))
            return
        try:
            posts = read_posts(response.body)
        except ValueError as e:
            yield self.skip(response.url, f"not a WordPress posts response ({str(e)[:160]})",
                            fatal=response.meta.get("entry", False))
            return
        new = 0
        for post in posts:
            if not isinstance(post, dict):
                yield self.skip(response.url, "post is not a JSON object")
                continue
            if post.get("id") in self.seen_ids:
                continue
            self.seen_ids.add(post.get("id"))
            new += 1
            item = self.post_item(post, response.url)
            if item:
                yield item
        page = response.meta.get("page", 1)
        total = _header(response, "X-WP-TotalPages")
        more = (new and len(posts) >= int(self.source.get("per_page", 20))
                and page < int(self.source.get("max_pages", 3))
                and (not total or not total.isdigit() or page < int(total)))
        if more:
            yield self.page_request(self.endpoint(page + 1), self.parse_entry, meta={"page": page + 1})

    def post_item(self, post, api_url):
        """A document item from one post object, or a skip item naming the missing field."""
        link = post.get("link")
        content = _rendered(post.get("content"))
        if not link:
            return self.skip(api_url, f"post {post.get('id', '?')} has no link")
        text = html_to_text(content) or html_to_text(_rendered(post.get("excerpt")))
        if not text:
            return self.skip(link, f"post {post.get('id', '?')} has no content")
        author = None
        embedded = post.get("_embedded") or {}
        if isinstance(embedded, dict) and embedded.get("author"):
            first = embedded["author"][0]
            author = first.get("name") if isinstance(first, dict) else None
        yoast = post.get("yoast_head_json") or {}
        canonical = (yoast.get("canonical") or yoast.get("og_url")) if isinstance(yoast, dict) else None
        published = post.get("date_gmt") and iso_utc(post["date_gmt"] + "+00:00") or iso_utc(post.get("date"))
        return self.document(
            link, text, title=plain_title(_rendered(post.get("title"))), author=plain_title(author),
            published=published, guid=_rendered(post.get("guid")) or str(post.get("id")),
            canonical_url=canonical,
            extra={"wp_id": post.get("id"), "modified": iso_utc((post.get("modified_gmt") or "") + "+00:00")
                   if post.get("modified_gmt") else None})
