"""Story pages: /stories/{id} (HTML and .json), and its brief at /stories/{id}/brief(.json|.md)."""
import importlib
import json
import urllib.parse

import bleach
import markdown
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

DB_NAME = "incidentwire"
TIMELINE_LIMIT = 500
BRIEF_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "ul", "ol", "li", "blockquote", "em", "strong",
              "a", "code", "pre", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}


def fetch(conn, sql, params=()):
    """Rows as dicts, whatever row factory the connection has."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def json_list(value):
    """A JSON list column as a Python list; anything else is an empty list."""
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [v for v in value if v is not None] if isinstance(value, list) else []


def http_url(url):
    """The URL if it is http(s), else None: scraped links never become javascript: hrefs."""
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def resolve_story(conn, story_id):
    """Follow story_redirects and merged_into to the surviving story id, or None if unknown."""
    seen = set()
    current = story_id
    while current and current not in seen and len(seen) < 20:
        seen.add(current)
        rows = fetch(conn, "select merged_into from stories where id = ?", [current])
        if rows and not rows[0]["merged_into"]:
            return current
        if rows:
            current = rows[0]["merged_into"]
            continue
        redirect = fetch(conn, "select new_id from story_redirects where old_id = ?", [current])
        current = redirect[0]["new_id"] if redirect else None
    return None


def load_story(conn, story_id):
    """Everything the story page shows, as plain data (also served as JSON)."""
    story = fetch(conn, "select * from stories where id = ?", [story_id])[0]
    docs = fetch(conn, """
        select id, url, kind, publisher, site, title, author, published, duplicate_of, extra,
               word_count, story_id
        from documents where story_id = ?
        order by coalesce(published, fetched), id limit ?""", [story_id, TIMELINE_LIMIT])
    ids = {d["id"] for d in docs}
    copies = fetch(conn, """
        select id, url, publisher, site, title, published, duplicate_of, story_id
        from documents where duplicate_of in (select id from documents where story_id = ?)
        order by coalesce(published, fetched), id""", [story_id])
    copies_of = {}
    for copy in copies:
        copies_of.setdefault(copy["duplicate_of"], []).append(copy)
    timeline = []
    for d in docs:
        d["extra"] = safe_json(d["extra"])
        d["link"] = http_url(d["url"])
        if d["duplicate_of"] in ids:
            continue  # shown under its original as "also published at"
        d["also_published_at"] = [dict(c, link=http_url(c["url"])) for c in copies_of.get(d["id"], [])]
        timeline.append(d)
    lead = None
    if story.get("lead_document_id") is not None:
        found = fetch(conn, "select id, url, publisher, site, title, published, kind from documents "
                            "where id = ?", [story["lead_document_id"]])
        lead = found[0] if found else None
    if lead is None and timeline:
        lead = next((d for d in timeline if d["kind"] != "social"), timeline[0])
    if lead is not None:
        lead = dict(lead, link=http_url(lead["url"]))
    quotes = fetch(conn, """
        select q.id, q.speaker, q.role, q.text, q.position, q.document_id,
               d.publisher, d.title as document_title, d.url, d.published
        from quotes q left join documents d on d.id = q.document_id
        where q.story_id = ? order by coalesce(d.published, ''), q.document_id, q.position""", [story_id])
    for q in quotes:
        q["link"] = http_url(q["url"])
    reactions = [d for d in docs if d["kind"] == "social"]
    if reactions:
        texts = dict(conn.execute(
            "select id, substr(text, 1, 1000) from documents where id in (%s)"
            % ",".join("?" * len(reactions)), [d["id"] for d in reactions]).fetchall())
        for d in reactions:
            d["text"] = texts.get(d["id"])
            d["handle"] = d["extra"].get("handle") or d["author"]
    entity_keys = json_list(story.get("entities"))
    entities = []
    for key in entity_keys:
        found = fetch(conn, "select id, name, kind from entities where id = ? or name = ? limit 1",
                      [str(key), str(key)])
        entities.append(found[0] if found else {"id": None, "name": str(key), "kind": None})
    related = []
    for rid in json_list(story.get("related")):
        target = resolve_story(conn, str(rid))
        if target and target != story_id and target not in {r["id"] for r in related}:
            row = fetch(conn, "select id, headline, first_week, heat from stories where id = ?", [target])
            related.extend(row)
    return {
        "story": story,
        "categories": [str(c) for c in json_list(story.get("categories"))],
        "entities": entities,
        "first_reported_by": lead,
        "timeline": timeline,
        "truncated": len(docs) >= TIMELINE_LIMIT,
        "quotes": quotes,
        "reactions": reactions,
        "related": related,
    }


def safe_json(value):
    try:
        value = json.loads(value) if value else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def brief_html(markdown_text):
    """Brief Markdown to HTML; scraped quotes inside it are escaped or stripped, never run."""
    rendered = markdown.markdown(markdown_text or "", output_format="html5")
    cleaned = bleach.clean(rendered, tags=BRIEF_TAGS, attributes={"a": ["href", "title"]},
                           protocols={"http", "https", "mailto"}, strip=False)
    return Markup(cleaned)


def story_id_from(request):
    from datasette.utils import tilde_decode
    return tilde_decode(urllib.parse.unquote(request.url_vars["story_id"]))


def story_path(datasette, story_id, suffix=""):
    return datasette.urls.path("/stories/" + urllib.parse.quote(story_id, safe="") + suffix)


async def not_found(datasette, request, message):
    """A 404 page in the site's look (raising NotFound would also log a traceback)."""
    if request.path.endswith((".json", ".md")):
        return Response.json({"ok": False, "error": message, "status": 404}, status=404)
    return Response.html(await datasette.render_template(
        "error.html", {"error": message, "status": 404, "title": "Story not found"}, request=request),
        status=404)


async def find_story(datasette, request, suffix):
    """(surviving story id, None), or (None, a redirect for a merged id or a 404 page)."""
    story_id = story_id_from(request)
    db = datasette.get_database(DB_NAME)
    target = await db.execute_fn(lambda conn: resolve_story(conn, story_id))
    if target is None:
        return None, await not_found(datasette, request, f"No story with id {story_id!r}.")
    if target != story_id:
        location = story_path(datasette, target, suffix)
        if request.query_string:
            location += "?" + request.query_string
        return target, Response.redirect(location)
    return target, None


async def story_page(request, datasette):
    story_id, redirect = await find_story(datasette, request, "")
    if redirect:
        return redirect
    db = datasette.get_database(DB_NAME)
    data = await db.execute_fn(lambda conn: load_story(conn, story_id))
    return Response.html(await datasette.render_template(
        "story.html", dict(data, story_id=story_id,
                           json_url=story_path(datasette, story_id, ".json"),
                           brief_url=story_path(datasette, story_id, "/brief"),
                           brief_json_url=story_path(datasette, story_id, "/brief.json")),
        request=request))


async def story_json(request, datasette):
    story_id, redirect = await find_story(datasette, request, ".json")
    if redirect:
        return redirect
    db = datasette.get_database(DB_NAME)
    data = await db.execute_fn(lambda conn: load_story(conn, story_id))
    return Response.json(data, default=str)


async def build_brief_data(datasette, story_id):
    """Build and render the brief on a read-only connection: ({data, markdown}, None) or (None, error)."""
    try:
        brief_module = importlib.import_module("pipeline.publish.brief")
    except ImportError:
        return None, "Briefs are not available in this install yet (pipeline.publish.brief is missing)."
    import sqlite_utils

    def build(conn):
        try:
            data = brief_module.build_brief(sqlite_utils.Database(conn), story_id)
        except brief_module.BriefError as e:
            return None, str(e)
        return {"data": data, "markdown": brief_module.render_brief_markdown(data)}, None

    return await datasette.get_database(DB_NAME).execute_fn(build)


async def brief_page(request, datasette):
    story_id, redirect = await find_story(datasette, request, "/brief")
    if redirect:
        return redirect
    brief, error = await build_brief_data(datasette, story_id)
    body = brief_html(brief["markdown"]) if brief else None
    db = datasette.get_database(DB_NAME)
    headline = (await db.execute("select headline from stories where id = ?", [story_id])).first()
    return Response.html(await datasette.render_template(
        "brief.html", {"story_id": story_id, "headline": headline[0] if headline else story_id,
                       "body": body, "error": error,
                       "story_url": story_path(datasette, story_id),
                       "brief_json_url": story_path(datasette, story_id, "/brief.json"),
                       "brief_md_url": story_path(datasette, story_id, "/brief.md")},
        request=request), status=200 if body is not None else 503)


async def brief_json(request, datasette):
    story_id, redirect = await find_story(datasette, request, "/brief.json")
    if redirect:
        return redirect
    brief, error = await build_brief_data(datasette, story_id)
    if brief is None:
        return Response.json({"ok": False, "error": error}, status=503)
    return Response.json(brief["data"], default=str)


async def brief_markdown(request, datasette):
    story_id, redirect = await find_story(datasette, request, "/brief.md")
    if redirect:
        return redirect
    brief, error = await build_brief_data(datasette, story_id)
    if brief is None:
        return Response.text(error + "\n", status=503)
    return Response(brief["markdown"], content_type="text/markdown; charset=utf-8")


async def stories_index(request, datasette):
    return Response.redirect(datasette.urls.path("/incidentwire/new_stories"))


@hookimpl
def register_routes():
    return [
        (r"^/stories/?$", stories_index),
        (r"^/stories/(?P<story_id>[^/]+)/brief\.json$", brief_json),
        (r"^/stories/(?P<story_id>[^/]+)/brief\.md$", brief_markdown),
        (r"^/stories/(?P<story_id>[^/]+)/brief$", brief_page),
        (r"^/stories/(?P<story_id>[^/]+?)\.json$", story_json),
        (r"^/stories/(?P<story_id>[^/]+)$", story_page),
    ]


def when(value):
    """'2025-05-22 16:43' from an ISO time; the date alone when the source gave no time."""
    value = str(value or "")
    if len(value) < 16 or value[10] != "T":
        return value[:10]
    return value[:10] if value[11:19] == "00:00:00" else value[:10] + " " + value[11:16]


def row_url(datasette, table, pk):
    from datasette.utils import tilde_encode
    return datasette.urls.table(DB_NAME, table) + "/" + tilde_encode(str(pk))


@hookimpl
def extra_template_vars(datasette):
    return {"iw_http_url": http_url, "iw_when": when,
            "iw_row_url": lambda table, pk: row_url(datasette, table, pk)}
