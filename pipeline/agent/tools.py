"""The domain tools behind /-/mcp: each a function of a read connection, returning JSON-ready data.

Merged story ids resolve to the surviving story (`requested_id` says what was asked for). Bad
arguments raise ToolArgumentError with one sentence that names the argument.
"""
import datetime
import json

import sqlite_utils

from pipeline.find.hybrid import search_stories as hybrid_search
from pipeline.publish.brief import BriefError, build_brief
from pipeline.publish.cite import citation
from pipeline.publish.story import StoryError, read_story, resolve_story, rows

LIMIT = 50
STORY_FIELDS = "id, headline, summary, first_seen, last_seen, first_week, n_documents, n_sources, heat, categories"


class ToolArgumentError(ValueError):
    """A tool was called with an argument it cannot use."""


def json_list(value):
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def since_date(value, name="since"):
    """An ISO date or time (2025-05-22, 2025-05-22T10:00:00Z) as a string comparable with stored times."""
    text = str(value or "").strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else \
            datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time())
    except ValueError:
        raise ToolArgumentError(f"{name} must be a date like 2025-05-22 (or an ISO time), not {value!r}")
    if parsed.tzinfo:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed.isoformat()


def story_out(row, base):
    return {"id": row["id"], "headline": row["headline"], "summary": row["summary"],
            "first_seen": row["first_seen"], "last_seen": row["last_seen"], "n_documents": row["n_documents"],
            "n_sources": row["n_sources"], "categories": json_list(row["categories"]),
            "url": f"{base}/stories/{row['id']}"}


def story_rows(conn, ids, base):
    found = {r["id"]: r for r in rows(conn, f"select {STORY_FIELDS} from stories where id in ({','.join('?' * len(ids))})",
                                      list(ids))} if ids else {}
    return [story_out(found[i], base) for i in ids if i in found]


def resolved(conn, story_id):
    target = resolve_story(conn, story_id)
    if target is None:
        raise ToolArgumentError(f"no story with id {story_id!r}; search_stories finds ids")
    return target


def search(conn, query, qvec, model, since, base, limit=10):
    if not str(query or "").strip():
        raise ToolArgumentError("query must be some words, e.g. 'agent deleted a production database'")
    if not isinstance(limit, int) or not 0 < limit <= LIMIT:
        raise ToolArgumentError(f"limit must be a whole number from 1 to {LIMIT}")
    found = hybrid_search(conn, query, qvec, model, since_date(since) if since else None, limit)
    stories = {s["id"]: s for s in story_rows(conn, [sid for sid, _, _ in found], base)}
    return {"query": query, "since": since, "stories": [dict(stories[sid], score=score, matched_by=how)
                                                        for sid, score, how in found if sid in stories]}


def get_story(conn, story_id, base, today):
    target = resolved(conn, story_id)
    try:
        model = read_story(conn, target)
    except StoryError as e:
        raise ToolArgumentError(str(e))
    keep = ("id", "url", "kind", "publisher", "title", "author", "published", "word_count")
    return dict(story_out(model["story"], base), requested_id=story_id if story_id != target else None,
                entities=json_list(model["story"].get("entities")),
                documents=[{k: d.get(k) for k in keep} for d in model["documents"]],
                quotes=[{k: q.get(k) for k in ("text", "speaker", "role", "outlet", "date", "url")} for q in model["quotes"]],
                first_report=model["sources"][model["documents"].index(model["lead"])] if model["lead"] else None,
                citation=citation(model["story"], base, today))


def get_brief(conn, story_id, base):
    target = resolved(conn, story_id)
    try:
        brief = build_brief(sqlite_utils.Database(conn), target, base_url=base)   # the brief reads table names
    except (BriefError, StoryError) as e:
        raise ToolArgumentError(str(e))
    return dict(brief, requested_id=story_id if story_id != target else None)


def whats_new(conn, since, base):
    """Stories first seen since `since`, and older stories with documents published since then."""
    when = since_date(since)
    new = rows(conn, f"select {STORY_FIELDS} from stories where (merged_into is null or merged_into = '') "
                     f"and first_seen >= ? order by first_seen desc limit {LIMIT}", [when])
    grown = rows(conn, (f"select {STORY_FIELDS}, (select count(*) from documents d where d.story_id = s.id and "
                        "d.duplicate_of is null and coalesce(d.published, d.fetched) >= :w) as new_documents "
                        "from stories s where (merged_into is null or merged_into = '') and first_seen < :w and "
                        "exists (select 1 from documents d where d.story_id = s.id and coalesce(d.published, d.fetched) >= :w) "
                        f"order by last_seen desc limit {LIMIT}"), {"w": when})
    return {"since": since, "new": [story_out(r, base) for r in new],
            "grown": [dict(story_out(r, base), new_documents=r["new_documents"]) for r in grown]}


def find_entity(conn, name):
    text = str(name or "").strip()
    if not text:
        raise ToolArgumentError("name must be an entity's name or id, e.g. 'Anthropic'")
    for e in rows(conn, "select id, name, kind, aliases from entities"):
        if text.lower() in {e["id"].lower(), (e["name"] or "").lower()} | {str(a).lower() for a in json_list(e["aliases"])}:
            return e
    raise ToolArgumentError(f"no entity named {name!r}; the entities table lists them")


def entity_stories(conn, name, base):
    e = find_entity(conn, name)
    found = rows(conn, (f"select {STORY_FIELDS} from stories s where (merged_into is null or merged_into = '') and "
                        "(exists (select 1 from json_each(case when json_valid(s.entities) then s.entities end) j where j.value in (:id, :name)) or exists ("
                        "select 1 from document_entities de join documents d on d.id = de.document_id "
                        "where de.entity_id = :id and d.story_id = s.id)) "
                        f"order by coalesce(last_seen, first_seen) desc limit {LIMIT}"),
                 {"id": e["id"], "name": e["name"]})
    return {"entity": {"id": e["id"], "name": e["name"], "kind": e["kind"]},
            "stories": [story_out(r, base) for r in found]}
