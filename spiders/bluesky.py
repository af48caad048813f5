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
repostCount, replyCount, embed. Document URL: https://bsky.app/profile/HANDLE/post/RKEY. Links:
extra.link (the article a post shares: its external embed, else its first link facet),
extra.quoted_url (a quoted post), extra.links (all); link facets' full URIs replace their shortened
labels in the text. A display name of invisible characters gives way to the handle; an image-only
post's text is its images' descriptions (none: a benign skip, not the source's error).
Loopback: xrpc/app.bsky.feed.searchPosts/index.json (or getAuthorFeed), no credentials set.
"""
import json
import os
import urllib.parse

import scrapy

from spiders.base import SourceSpider, guarded
from spiders.extract import clean_text, iso_utc
from spiders.social import post_title, read_json, visible_name, web_link

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
        rkey = post["uri"].rsplit("/", 1)[-1]
        links = post_links(post, record)
        text = clean_text(full_text(record)) or image_text(record)
        if not handle:
            return self.skip(api_url, f"post {post['uri']} has no author")
        if not text:
            return self.skip(api_url, f"post {post['uri']} has no text (an image without a description)",
                             benign=True)
        name = visible_name(author.get("displayName")) or handle
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        return self.document(
            f"https://bsky.app/profile/{handle}/post/{rkey}", text, title=post_title(name, text),
            author=name, published=iso_utc(record.get("createdAt") or post.get("indexedAt")),
            lang=(record.get("langs") or [None])[0], guid=post["uri"],
            extra={"handle": f"@{handle}", "display_name": name, "likes": post.get("likeCount"),
                   "reposts": post.get("repostCount"), "replies": post.get("replyCount"),
                   "reply_to": (reply.get("parent") or {}).get("uri"), **links})


def _dict(value):
    return value if isinstance(value, dict) else {}


def full_text(record):
    """The post's text with each link facet's shortened, scheme-less label replaced by its full URI."""
    text = record.get("text") if isinstance(record.get("text"), str) else ""
    data = text.encode("utf-8")
    spans = []
    for facet in record.get("facets") or []:
        index = _dict(_dict(facet).get("index"))
        uri = next((web_link(f.get("uri")) for f in _dict(facet).get("features") or []
                    if _dict(f).get("$type") == "app.bsky.richtext.facet#link" and web_link(f.get("uri"))), None)
        start, end = index.get("byteStart"), index.get("byteEnd")
        if uri and isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data):
            spans.append((start, end, uri))
    for start, end, uri in sorted(spans, reverse=True):
        if not any(s < end and start < e for s, e, _ in spans if (s, e) != (start, end)):
            data = data[:start] + uri.encode("utf-8") + data[end:]
    return data.decode("utf-8", errors="replace")


def image_text(record):
    """The descriptions (alt texts) of a post's images: the only words of an image-only post."""
    embed = _dict(record.get("embed"))
    images = _dict(embed.get("media")).get("images") or embed.get("images") or []
    return clean_text("\n\n".join(i["alt"] for i in images if isinstance(i, dict) and isinstance(i.get("alt"), str)))


def post_links(post, record):
    """extra fields for what a post points at: link (the article it shares: external embed, else
    its first link facet), quoted_url (the post it quotes) and links (every http(s) address)."""
    embeds = [_dict(record.get("embed")), _dict(post.get("embed"))]
    embeds += [_dict(e.get("media")) for e in embeds]
    external = [web_link(_dict(e.get("external")).get("uri")) for e in embeds]
    facets = [web_link(_dict(f).get("uri")) for facet in record.get("facets") or []
              for f in _dict(facet).get("features") or []]
    links = list(dict.fromkeys(u for u in external + facets if u))
    return {"link": links[0] if links else None, "quoted_url": quoted_url(record, post), "links": links or None}


def quoted_url(record, post):
    """The bsky.app address of the post a post quotes (record or recordWithMedia embed), or None."""
    for embed in (_dict(post.get("embed")), _dict(record.get("embed"))):
        quoted = _dict(embed.get("record"))
        quoted = _dict(quoted.get("record")) if "record" in quoted else quoted  # recordWithMedia nests it
        uri = quoted.get("uri")
        if isinstance(uri, str) and uri.startswith("at://") and "/app.bsky.feed.post/" in uri:
            actor = _dict(quoted.get("author")).get("handle") or uri[5:].split("/", 1)[0]
            return f"https://bsky.app/profile/{actor}/post/{uri.rsplit('/', 1)[-1]}"
    return None
