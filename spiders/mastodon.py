"""mastodon: a hashtag timeline, /api/v1/timelines/tag/:tag, paged by max_id (public, no login).

Expects: `url` is https://instance/api/v1/timelines/tag/TAG. Query: limit (`limit`, default 40),
max_id for the next page (the last status id seen), up to `max_pages` (default 3); paging stops on
an empty page or a page with no new ids. Response: a JSON list of statuses with id, created_at,
url/uri, content (HTML), spoiler_text, language, account{acct, display_name, url},
favourites_count, reblogs_count, replies_count, in_reply_to_id, reblog (boosts are unwrapped),
card (its url is the post's extra.link), media_attachments (descriptions: a picture post's text).
Loopback: api/v1/timelines/tag/TAG/index.json (query strings are ignored, so one page).
"""
import urllib.parse

from spiders.base import SourceSpider, guarded
from spiders.extract import html_to_text, iso_utc
from spiders.social import post_title, read_json, visible_name, web_link


class MastodonSpider(SourceSpider):
    kind = "mastodon"
    default_doc_kind = "social"

    def page_url(self, max_id=None):
        params = {"limit": int(self.source.get("limit", 40))}
        if max_id:
            params["max_id"] = max_id
        url = self.source["url"]
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)

    def entry_requests(self):
        yield self.entry_request(self.page_url(), meta={"page": 1})

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=response.meta.get("entry", False))
            return
        statuses = read_json(response.body)
        if not isinstance(statuses, list):
            yield self.skip(response.url, "expected a JSON list of statuses", fatal=response.meta.get("entry", False))
            return
        # The next page starts below the oldest status on this one, seen before or not.
        ids = [s["id"] for s in statuses if isinstance(s, dict) and s.get("id")]
        last_id = ids[-1] if ids else None
        new = 0
        for status, skip in self.unseen(statuses, "id", response.url, "status without an id"):
            new += status is not None
            yield skip or self.status_item(status, response.url)
        page = response.meta.get("page", 1)
        if new and last_id and page < int(self.source.get("max_pages", 3)):
            yield self.page_request(self.page_url(last_id), self.parse_entry, meta={"page": page + 1})

    def status_item(self, status, api_url):
        post = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
        url = post.get("url") or post.get("uri")
        text = html_to_text(post.get("content") or "")
        if post.get("spoiler_text"):
            text = f"{post['spoiler_text']}\n\n{text}".strip()
        if not text:  # a picture post: its descriptions are its words
            text = "\n\n".join(m["description"] for m in post.get("media_attachments") or []
                               if isinstance(m, dict) and isinstance(m.get("description"), str)).strip()
        if not url:
            return self.skip(api_url, f"status {status.get('id')} has no url")
        if not text:
            return self.skip(url, f"status {status.get('id')} has no text (media without a description)", benign=True)
        account = post.get("account") if isinstance(post.get("account"), dict) else {}
        handle = account.get("acct")
        name = visible_name(account.get("display_name")) or handle
        card = post.get("card") if isinstance(post.get("card"), dict) else {}
        return self.document(
            url, text, title=post_title(name, text), author=name,
            published=iso_utc(post.get("created_at")), lang=post.get("language"),
            guid=post.get("uri") or str(post.get("id")),
            extra={"handle": f"@{handle}" if handle else None, "display_name": name,
                   "profile_url": account.get("url"), "likes": post.get("favourites_count"),
                   "reposts": post.get("reblogs_count"), "replies": post.get("replies_count"),
                   "reply_to": post.get("in_reply_to_id"), "link": web_link(card.get("url")),
                   "boosted_by": (status.get("account") or {}).get("acct") if post is not status else None})
