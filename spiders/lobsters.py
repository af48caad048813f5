"""lobsters: a lobste.rs tag listing as JSON (https://lobste.rs/t/ai.json), no login.

Expects: `url` answers with a JSON list of stories: short_id, short_id_url, comments_url,
created_at, title, url, score, comment_count, description / description_plain, submitter_user
(a name or an object with username), tags. Each story becomes a social document at its lobste.rs
URL; the linked article is extra.link.
Loopback: t/ai.json as a file (or t/ai/index.json).
"""
from spiders.base import SourceSpider, guarded
from spiders.extract import html_to_text, iso_utc, plain_title
from spiders.social import read_json


class LobstersSpider(SourceSpider):
    kind = "lobsters"
    default_doc_kind = "social"

    @guarded
    def parse_entry(self, response):
        problem = self.check_body(response)
        if problem:
            yield self.skip(response.url, problem, fatal=True)
            return
        stories = read_json(response.body)
        if not isinstance(stories, list):
            yield self.skip(response.url, "expected a JSON list of stories", fatal=True)
            return
        for story in stories:
            if not isinstance(story, dict) or not (story.get("short_id_url") or story.get("comments_url")):
                yield self.skip(response.url, "story without short_id_url")
                continue
            url = story.get("short_id_url") or story.get("comments_url")
            title = plain_title(story.get("title"))
            body = story.get("description_plain") or html_to_text(story.get("description") or "")
            text = "\n\n".join(t for t in (title, body) if t)
            if not text:
                yield self.skip(url, "story has no title or text")
                continue
            user = story.get("submitter_user")
            user = user.get("username") if isinstance(user, dict) else user
            yield self.document(
                url, text, title=title, author=user, published=iso_utc(story.get("created_at")),
                guid=f"lobsters:{story.get('short_id') or url}",
                extra={"handle": user, "display_name": user, "likes": story.get("score"),
                       "replies": story.get("comment_count"), "link": story.get("url"),
                       "tags": story.get("tags")})
