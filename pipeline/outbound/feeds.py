"""Atom feeds people subscribe to, and an OPML file listing them (served by plugins/iw_feeds.py).

- /feeds/stories/{id}.atom: new coverage of one story, one entry per document (merged ids redirect).
- /feeds/entities/{id}.atom: stories that name an entity (a lab, model, person...), one entry per story.
- /feeds/categories/{slug}.atom: stories of one category.
- /feeds/system-cards.atom: every change seen in a system card, with its readable summary (sentences
  reworded, added, removed; numbers changed; silent edits) and first changed sentences, linked to its page.
- /feeds/claims.atom: claims the coverage attributes to a primary source that were not found in it
  (issue 22), one entry per claim, dated when first seen.
- /feeds.opml: all of them (live stories: the most recent STORY_LIMIT).

Every entry has a stable id (a tag: URI of the row it stands for), a link and a date; every feed
has a date even when empty. Reads only.
"""
import datetime
import html
import urllib.parse

from feedgen.feed import FeedGenerator

from pipeline.enrich.card_diff import FIRST_VERSION, changed_span
from pipeline.publish.story import resolve_story, rows

ENTRY_LIMIT = 50
STORY_LIMIT = 200
SUMMARY_CHARS = 400
EPOCH = "2025-01-01T00:00:00+00:00"   # the date of a feed with nothing in it: stable across requests
TAG = "tag:incidentwire,2025:"


def when(*values):
    """The first value that is an ISO date or time, as an aware datetime (UTC when no zone was given)."""
    for value in values:
        try:
            parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except (TypeError, ValueError):
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromisoformat(EPOCH)


def excerpt(text, limit=SUMMARY_CHARS):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def quoted(value):
    return urllib.parse.quote(str(value), safe="")


def atom(feed_id, title, subtitle, self_url, alternate, entries):
    """Atom XML (bytes) for `entries`: dicts of id, title, link, updated (datetime), summary."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.link(href=self_url, rel="self")
    fg.link(href=alternate, rel="alternate")
    fg.language("en")
    fg.generator("incidentwire")
    fg.updated(max((e["updated"] for e in entries), default=when(EPOCH)))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(e["id"])
        fe.title(e["title"] or "(untitled)")
        fe.link(href=e["link"], rel="alternate")
        fe.updated(e["updated"])
        fe.published(e["updated"])
        fe.summary(e["summary"] or e["title"] or "")
    return fg.atom_str(pretty=True)


def story_entries(conn, where, params, base):
    found = rows(conn, f"select id, headline, summary, first_seen, last_seen, updated, n_documents from stories s "
                       f"where (merged_into is null or merged_into = '') and {where} "
                       f"order by coalesce(last_seen, first_seen) desc limit {ENTRY_LIMIT}", params)
    return [{"id": f"{TAG}story/{s['id']}", "title": s["headline"], "link": f"{base}/stories/{quoted(s['id'])}",
             "updated": when(s["last_seen"], s["updated"], s["first_seen"]),
             "summary": excerpt(s["summary"]) or f"{s['n_documents'] or 0} documents"} for s in found]


def story_feed(conn, story_id, base):
    """(surviving id, Atom) for a story; the id differs when `story_id` was merged; None when unknown."""
    target = resolve_story(conn, story_id)
    if target is None:
        return None
    story = rows(conn, "select id, headline, summary from stories where id = ?", [target])[0]
    docs = rows(conn, ("select id, coalesce(canonical_url, url) as url, title, publisher, site, published, fetched, "
                       "substr(text, 1, 2000) as text from documents where duplicate_of is null and (story_id = :id "
                       "or story_id in (select old_id from story_redirects where new_id = :id)) "
                       f"order by coalesce(published, fetched) desc, id desc limit {ENTRY_LIMIT}"), {"id": target})
    entries = [{"id": f"{TAG}document/{d['id']}", "title": d["title"], "link": d["url"],
                "updated": when(d["published"], d["fetched"]),
                "summary": f"{d['publisher'] or d['site'] or 'unknown outlet'}: {excerpt(d['text'])}"} for d in docs]
    page = f"{base}/stories/{quoted(target)}"
    return target, atom(f"{TAG}feed/story/{target}", f"incidentwire: {story['headline'] or target}",
                        "New coverage of this story", f"{base}/feeds/stories/{quoted(target)}.atom", page, entries)


def entity_feed(conn, entity, base):
    found = rows(conn, "select id, name from entities where id = ? or name = ? limit 1", [entity, entity])
    if not found:
        return None
    e = found[0]
    entries = story_entries(conn, "exists (select 1 from json_each(case when json_valid(s.entities) then s.entities end) j where j.value in (?, ?))",
                            [e["id"], e["name"]], base)
    return atom(f"{TAG}feed/entity/{e['id']}", f"incidentwire: stories naming {e['name']}",
                f"Stories of AI agent safety incidents that name {e['name']}",
                f"{base}/feeds/entities/{quoted(e['id'])}.atom",
                f"{base}/incidentwire/entity_stories?entity={quoted(e['id'])}", entries)


def category_feed(conn, category, known, base):
    entries = story_entries(conn, "exists (select 1 from json_each(case when json_valid(s.categories) then s.categories end) j where j.value = ?)",
                            [category], base)
    if not entries and category not in known:
        return None
    return atom(f"{TAG}feed/category/{category}", f"incidentwire: {category} stories",
                f"Stories of AI agent safety incidents in the category {category}",
                f"{base}/feeds/categories/{quoted(category)}.atom",
                f"{base}/incidentwire/stories?categories__arraycontains={quoted(category)}", entries)


CHANGE_LINES = 3     # sentences quoted per system card change in the feed


def card_change_summary(conn, version):
    """The readable summary of a card version (card_versions) and its first changed sentences; the
    start of the line diff for a version `process` has not compared yet."""
    if version["summary"] is None:
        return excerpt(version["diff"], 1000) if version["diff"] else FIRST_VERSION
    lines = [version["summary"]]
    for c in rows(conn, "select change, before, after from card_changes where version_id = ? order by position "
                        f"limit {CHANGE_LINES}", [version["id"]]):
        if c["change"] == "reworded":
            old, new = changed_span(c["before"], c["after"])
            lines.append(f"Reworded: “{old}” → “{new}”")
        else:
            lines.append(f"{c['change'].capitalize()}: “{excerpt(c['before'] or c['after'], 300)}”")
    return "\n".join(lines)


def card_change_label(version):
    if version["summary"] == FIRST_VERSION or (version["summary"] is None and not version["diff"]):
        return "First version"
    return "Silent edit" if version["silent_edit"] else "Changed"


def system_card_feed(conn, base):
    versions = rows(conn, ("select v.id, v.fetched, v.diff, d.id as document_id, coalesce(d.canonical_url, d.url) "
                           "as url, d.title, d.publisher, c.summary, c.silent_edit from document_versions v join documents d "
                           "on d.id = v.document_id left join card_versions c on c.version_id = v.id "
                           "where d.kind = 'system_card' order by v.fetched desc, v.id desc "
                           f"limit {ENTRY_LIMIT}"))
    entries = [{"id": f"{TAG}document-version/{v['id']}",
                "title": f"{card_change_label(v)}: {v['title'] or v['url']}",
                "link": f"{base}/cards/{v['document_id']}#version-{v['id']}" if v["summary"] is not None else v["url"],
                "updated": when(v["fetched"]), "summary": card_change_summary(conn, v)} for v in versions]
    return atom(f"{TAG}feed/system-cards", "incidentwire: system card changes",
                "Every change seen in a lab's system card: what was reworded, added and removed, and silent edits",
                f"{base}/feeds/system-cards.atom", f"{base}/incidentwire/system_cards", entries)


def claim_flags_feed(conn, base):
    """New claims not found in their story's primary source, newest first."""
    if not rows(conn, "select 1 from sqlite_master where type = 'table' and name = 'claim_flags'"):
        flags = []
    else:
        flags = rows(conn, ("select f.id, f.story_id, f.claim, f.kind, f.sentence, f.first_seen, d.publisher, d.site, "
                            "s.title as source_title from claim_flags f join documents d on d.id = f.document_id "
                            "left join documents s on s.id = f.source_document_id where f.found = 0 "
                            f"order by f.first_seen desc, f.id limit {ENTRY_LIMIT}"))
    entries = [{"id": f"{TAG}claim-flag/{f['id']}",
                "title": f"{f['publisher'] or f['site'] or 'unknown outlet'}: "
                         f"{'“' + excerpt(f['claim'], 120) + '”' if f['kind'] == 'quote' else f['claim']} "
                         f"not found in {f['source_title'] or 'the primary source'}",
                "link": f"{base}/stories/{quoted(f['story_id'])}#primary-source", "updated": when(f["first_seen"]),
                "summary": excerpt(f["sentence"], 1000)} for f in flags]
    return atom(f"{TAG}feed/claims", "incidentwire: claims not found in the primary source",
                "Numbers and quotes the coverage attributes to a system card, paper, filing or advisory "
                "that were not found in it", f"{base}/feeds/claims.atom", f"{base}/incidentwire/claim_flags", entries)


def feed_list(conn, known_categories, base):
    """[(group, title, feed URL, page URL)] for the OPML file."""
    out = [("Changes", "System card changes", f"{base}/feeds/system-cards.atom", f"{base}/incidentwire/system_cards"),
           ("Changes", "Claims not found in the primary source", f"{base}/feeds/claims.atom",
            f"{base}/incidentwire/claim_flags?found=0")]
    used = {r["value"] for r in rows(conn, "select distinct j.value from stories s, json_each(s.categories) j "
                                           "where json_valid(s.categories)")}
    for c in sorted(set(known_categories) | {str(u) for u in used if u}):
        out.append(("Categories", c, f"{base}/feeds/categories/{quoted(c)}.atom",
                    f"{base}/incidentwire/stories?categories__arraycontains={quoted(c)}"))
    for e in rows(conn, "select id, name from entities order by name"):
        out.append(("Entities", e["name"], f"{base}/feeds/entities/{quoted(e['id'])}.atom",
                    f"{base}/incidentwire/entity_stories?entity={quoted(e['id'])}"))
    for s in rows(conn, "select id, headline from stories where merged_into is null or merged_into = '' "
                        f"order by coalesce(last_seen, first_seen) desc limit {STORY_LIMIT}"):
        out.append(("Stories", s["headline"] or s["id"], f"{base}/feeds/stories/{quoted(s['id'])}.atom",
                    f"{base}/stories/{quoted(s['id'])}"))
    return out


def opml(conn, known_categories, base):
    """An OPML 2.0 subscription list of every feed, grouped."""
    esc = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    groups = {}
    for group, title, xml_url, html_url in feed_list(conn, known_categories, base):
        groups.setdefault(group, []).append(f'      <outline type="rss" text="{esc(title)}" title="{esc(title)}" '
                                            f'xmlUrl="{esc(xml_url)}" htmlUrl="{esc(html_url)}"/>')
    body = "\n".join(f'    <outline text="{esc(g)}">\n' + "\n".join(lines) + "\n    </outline>"
                     for g, lines in groups.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n'
            "    <title>incidentwire feeds</title>\n  </head>\n  <body>\n" + body + "\n  </body>\n</opml>\n")

