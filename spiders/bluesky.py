"""bluesky: app.bsky.feed.searchPosts (login with an app password) or getAuthorFeed (public).

Expects: `url` is an XRPC endpoint:
  https://bsky.social/xrpc/app.bsky.feed.searchPosts  with `query` (q), sort=latest; needs a
    session: handle and app password from the environment variables named by `handle_env` /
    `password_env` (default BLUESKY_HANDLE / BLUESKY_APP_PASSWORD), exchanged at `auth_url`
    (default https://bsky.social/xrpc/com.atproto.server.createSession, a POST). Without them
    the request is sent anonymously (fine for a mirror; the real API answers 401/403 -> skip).
  https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed  with `actor` (a handle), no login.
Paging by `cursor` up to `max_pages` (default 2), `limit` per page (default 50).
Response: {"posts": [postView]} (search) or {"feed": [{"post": postView}]} (author feed); postView
has uri, author{handle, displayName}, record{text, createdAt, reply, langs}, likeCount,
repostCount, replyCount. Document URL: https://bsky.app/profile/HANDLE/post/RKEY.
Loopback: xrpc/app.bsky.feed.searchPosts/index.json (or getAuthorFeed), no credentials set.
"""
import json
import os
import urllib.parse

import scrapy

from spiders.base import SourceSpider, guarded
from spiders.extract import clean_text, iso_utc
from spiders.social import post_title, read_json

AUTH_URL = "https://bsky.social/xrpc/com.atproto.server.createSession"


class BlueskySpider(SourceSpider):
    kind = "bluesky"
    default_doc_kind = "social"
    auth = {}  # Authorization header once logged in (replaced, never mutated)

    def page_url(self, cursor=None):
        params = {"limit": int(self.source.get("limit", 50))}
        if self.source.get("query"):
            params.update(q=self.source["query"], sort="latest")
        if self.source.get("actor"):
            params["actor"] = self.source["actor"]
        if cursor:
            params["cursor"] = cursor
        url = self.source["url"]
        return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)

    def entry_requests(self):
        self.auth = {}
        handle = os.environ.get(self.source.get("handle_env", "BLUESKY_HANDLE"))
        password = os.environ.get(self.source.get("password_env", "BLUESKY_APP_PASSWORD"))
        if "searchPosts" in self.source["url"] and handle and password:
            yield scrapy.Request(
                self.source.get("auth_url", AUTH_URL), method="POST", callback=self.after_login,
                errback=self.on_error, dont_filter=True, meta={"entry": True},
                body=json.dumps({"identifier": handle, "password": password}),
                headers={"Content-Type": "application/json"})
        else:
            yield self.entry_request(self.page_url(), meta={"page": 1})

    @guarded
    def after_login(self, response):
        token = read_json(response.body).get("accessJwt")
        if not token:
            yield self.skip(response.url, "Bluesky login answered without an access token", fatal=True)
            return
        self.auth = {"Authorization": f"Bearer {token}"}
        yield self.entry_request(self.page_url(), meta={"page": 1}, headers=self.auth)

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=response.meta.get("entry", False))
            return
        data = read_json(response.body)
        if not isinstance(data, dict):
            yield self.skip(response.url, "expected a JSON object", fatal=True)
            return
        if isinstance(data.get("posts"), list):
            posts = data["posts"]
        elif isinstance(data.get("feed"), list):
            posts = [f.get("post") for f in data["feed"] if isinstance(f, dict)]
        else:
            yield self.skip(response.url, "expected posts or feed in the response", fatal=True)
            return
        new = 0
        for post, skip in self.unseen(posts, "uri", response.url, "post without a uri"):
            new += post is not None
            yield skip or self.post_item(post, response.url)
        page = response.meta.get("page", 1)
        if new and data.get("cursor") and page < int(self.source.get("max_pages", 2)):
            yield self.page_request(self.page_url(data["cursor"]), self.parse_entry,
                                    meta={"page": page + 1}, headers=self.auth)

    def post_item(self, post, api_url):
        record = post.get("record") if isinstance(post.get("record"), dict) else {}
        author = post.get("author") if isinstance(post.get("author"), dict) else {}
        handle = author.get("handle")
        text = clean_text(record.get("text") or "")
        rkey = post["uri"].rsplit("/", 1)[-1]
        if not handle or not text:
            return self.skip(api_url, f"post {post['uri']} has no {'author' if not handle else 'text'}")
        name = author.get("displayName") or handle
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        return self.document(
            f"https://bsky.app/profile/{handle}/post/{rkey}", text, title=post_title(name, text),
            author=name, published=iso_utc(record.get("createdAt") or post.get("indexedAt")),
            lang=(record.get("langs") or [None])[0], guid=post["uri"],
            extra={"handle": f"@{handle}", "display_name": name, "likes": post.get("likeCount"),
                   "reposts": post.get("repostCount"), "replies": post.get("replyCount"),
                   "reply_to": (reply.get("parent") or {}).get("uri")})
