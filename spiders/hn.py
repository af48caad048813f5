"""hn: Hacker News through the Algolia API, search_by_date (no key needed).

Expects: `url` is https://hn.algolia.com/api/v1/search_by_date; query from `query`, tags from
`tags` (default "story"), hitsPerPage (`per_page`, default 50), page=0..`max_pages`-1 (default 1).
Response: {"hits": [{objectID, title, url, author, created_at, story_text, comment_text, points,
num_comments, story_id, story_title, parent_id}], "nbPages": N}. Each hit becomes a social
document at https://news.ycombinator.com/item?id=objectID; the story's own link is extra.link (what it discusses, not a copy of it).
Loopback: api/v1/search_by_date/index.json.
"""
import urllib.parse

from spiders.base import SourceSpider, guarded
from spiders.extract import html_to_text, iso_utc, plain_title
from spiders.social import post_title, read_json


class HackerNewsSpider(SourceSpider):
    kind = "hn"
    default_doc_kind = "social"

    def page_url(self, page):
        params = {"tags": self.source.get("tags", "story"), "page": page,
                  "hitsPerPage": int(self.source.get("per_page", 50))}
        if self.source.get("query"):
            params["query"] = self.source["query"]
        url = self.source["url"]
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)

    def entry_requests(self):
        yield self.entry_request(self.page_url(0), meta={"page": 0})

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=response.meta.get("entry", False))
            return
        data = read_json(response.body)
        if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
            yield self.skip(response.url, "expected an Algolia response with a hits list",
                            fatal=response.meta.get("entry", False))
            return
        new = 0
        for hit, skip in self.unseen(data["hits"], "objectID", response.url, "hit without an objectID"):
            new += hit is not None
            yield skip or self.hit_item(hit, response.url)
        page = response.meta.get("page", 0)
        pages = data.get("nbPages") if isinstance(data.get("nbPages"), int) else 1
        if new and page + 1 < min(pages, int(self.source.get("max_pages", 1))):
            yield self.page_request(self.page_url(page + 1), self.parse_entry, meta={"page": page + 1})

    def hit_item(self, hit, api_url):
        item_url = f"https://news.ycombinator.com/item?id={hit['objectID']}"
        title = plain_title(hit.get("title") or hit.get("story_title"))
        body = html_to_text(hit.get("story_text") or hit.get("comment_text") or "")
        text = "\n\n".join(t for t in (hit.get("title") and title, body) if t)
        if not text:
            return self.skip(item_url, f"hit {hit['objectID']} has no title or text")
        author = hit.get("author")
        return self.document(
            item_url, text, title=title if hit.get("title") else post_title(author, body),
            author=author, published=iso_utc(hit.get("created_at") or hit.get("created_at_i")),
            guid=f"hn:{hit['objectID']}",
            extra={"handle": author, "display_name": author, "likes": hit.get("points"),
                   "replies": hit.get("num_comments"), "link": hit.get("url") or hit.get("story_url"),
                   "reply_to": hit.get("parent_id"), "story_title": hit.get("story_title")})
