"""Helpers shared by the social spiders (Mastodon, Bluesky, HN, Reddit, lobste.rs).

Posts are short, so their relevance scores run low; a social source's query or tag already picks
the topic, so social sources default to the lower `social_relevance_min` cut-off (0.1).
"""
import json
import unicodedata


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


def visible_name(name):
    """A display name, or None when it is made only of invisible characters (format marks such as
    U+200E, spaces, controls): such a name must not become a post's author or title."""
    if not isinstance(name, str):
        return None
    if not any(unicodedata.category(c)[0] not in "CZM" for c in name):
        return None
    return " ".join(name.split())


def web_link(value):
    """`value` when it is an absolute http(s) URL, else None (javascript:, at://, junk)."""
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None
