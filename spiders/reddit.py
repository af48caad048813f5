"""reddit: a subreddit's RSS/Atom feed (the unauthenticated JSON API answers 403 since 2026).

Expects: `url` like https://www.reddit.com/r/SUBREDDIT/new/.rss or
https://www.reddit.com/r/SUBREDDIT/search.rss?q=QUERY&restrict_sr=1&sort=new: an Atom feed whose
entries have title, link (the comments page), author (/u/name), content (HTML), updated/published.
Entries become social documents at their reddit URL; pages are never followed; the first external
link in the post becomes extra.link.
Loopback: r/SUB/new/index.xml or a .rss file.
"""
import re

import lxml.html

from spiders.base import SourceSpider, guarded
from spiders.extract import html_to_text, iso_utc
from spiders.feed import feed_entries


class RedditSpider(SourceSpider):
    kind = "reddit"
    default_doc_kind = "social"

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        meta, entries = feed_entries(self, response)
        for entry, link, guid in entries:
            if entry is None:
                yield link  # a skip record
                continue
            html = entry["content"] or entry["summary"]
            body = html_to_text(html)
            # Reddit appends "submitted by /u/x [link] [comments]" to every post.
            body = re.sub(r"\s*submitted by\s+/u/\S+.*$", "", body, flags=re.S).strip()
            title = entry.get("title")
            author = (entry.get("author") or "").removeprefix("/u/") or None
            original = None
            try:
                for href in lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div").xpath("//a/@href"):
                    if "reddit.com" not in href and href.startswith("http"):
                        original = href
                        break
            except Exception:  # unparsable HTML: no original link, the post itself is kept
                pass
            yield self.document(
                link, "\n\n".join(t for t in (title, body) if t) or link, title=title, author=author,
                published=iso_utc(entry.get("published")), guid=guid,
                extra={"handle": f"u/{author}" if author else None, "display_name": author,
                       "link": original, "subreddit": meta.get("title")})
