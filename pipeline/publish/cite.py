""""Cite this story": the stable id, URL and dates of a story, and one citation line. A leaf of publish."""

FORMAT = "{title}. incidentwire story {id}, {first} to {last}. {url} (accessed {accessed})."


def citation(story, base_url, accessed):
    """Citation data for a `stories` row; `base_url` is the public catalog root (None: no public
    catalog, so no URL is cited: an address on someone's own machine is no use to a reader),
    `accessed` a date (YYYY-MM-DD)."""
    story_id = story["id"]
    url = f"{base_url.rstrip('/')}/stories/{story_id}" if base_url else None
    first, last = (story.get("first_seen") or "")[:10], (story.get("last_seen") or "")[:10]
    title = (story.get("headline") or story_id).rstrip(".")
    return {"id": story_id, "url": url, "title": title, "first_seen": first or None, "last_seen": last or None,
            "updated": (story.get("updated") or "")[:10] or None, "accessed": accessed,
            "text": FORMAT.format(title=title, id=story_id, first=first or "undated", last=last or "undated",
                                  url=url, accessed=accessed).replace(". None (accessed", " (accessed")}
