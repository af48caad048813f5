"""Helpers shared by the social spiders (Mastodon, Bluesky, HN, Reddit, lobste.rs).

Posts are short, so their relevance scores run low; a social source's query or tag already picks
the topic, so social sources default to the lower `social_relevance_min` cut-off (0.1).
"""
import json


def read_json(body):
    """The first JSON value in `body` (trailing junk ignored); raises ValueError."""
    text = body.decode("utf-8-sig", errors="replace").lstrip()
    return json.JSONDecoder().raw_decode(text)[0]


def post_title(author, text, limit=90):
    """A title for a post that has none: who said it and how it starts."""
    first = " ".join((text or "").split())
    if len(first) > limit:
        first = first[:limit].rsplit(" ", 1)[0] + "…"
    return f"{author}: {first}" if author else first
