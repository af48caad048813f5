"""Story pages: /stories/{id} (HTML and .json), and its brief at /stories/{id}/brief(.json|.md)."""
import importlib
import json
import re
import urllib.parse

import bleach
import markdown
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from pipeline.publish.story import read_story, resolve_story, rows, story_card_versions, story_incident
from pipeline.enrich.story_summary import lead_excerpt

DB_NAME = "incidentwire"
TIMELINE_LIMIT = 500
BRIEF_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "ul", "ol", "li", "blockquote", "em", "strong",
              "a", "code", "pre", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}


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


PAGE_FIELDS = ("id", "url", "fetched_url", "kind", "publisher", "site", "title", "author", "published",
               "duplicate_of", "word_count", "story_id")


def page_document(doc, copies=None):
    """A document of the read model as the page shows it: no text, parsed extra, a safe link."""
    out = {k: doc.get(k) for k in PAGE_FIELDS}
    out["extra"] = safe_json(doc.get("extra"))
    out["link"] = http_url(doc.get("url"))
    if copies is not None:
        out["also_published_at"] = [dict(c, link=http_url(c["url"])) for c in copies.get(doc["id"], [])]
    return out


def story_entities(conn, story):
    entities = []
    for key in json_list(story.get("entities")):
        found = rows(conn, "select id, name, kind from entities where id = ? or name = ? limit 1", [str(key), str(key)])
        entities.append(found[0] if found else {"id": None, "name": str(key), "kind": None})
    return entities


def related_stories(conn, story):
    related = []
    for rid in json_list(story.get("related")):
        target = resolve_story(conn, str(rid))
        if target and target != story["id"] and target not in {r["id"] for r in related}:
            related.extend(rows(conn, "select id, headline, first_week, heat from stories where id = ?", [target]))
    return related


def _quote_key(text):
    return re.sub(r"\W+", " ", (text or "").lower()).strip()


def shown_once(reactions, quotes):
    """(reactions, quotes) with each text shown once: a post quoted in three articles is one block.
    Reactions keep their earliest copy; a quote already shown (or inside one shown) is left out."""
    kept, out = [], ([], [])
    for k, items in enumerate((reactions, quotes)):
        for item in items:
            key = _quote_key(item["text"])
            if not key or any(key in seen for seen in kept):
                continue
            kept.append(key)
            out[k].append(item)
    return out


def load_story(conn, story_id):
    """Everything the story page shows, as plain data (also served as JSON).

    Documents, copies, quotes, lead and reactions come from the story read model
    (pipeline.publish.story), the same the brief and the digest read.
    """
    model = read_story(conn, story_id)
    story, documents = model["story"], model["documents"]
    lead = model["lead"]
    reactions, quotes = shown_once(model["reactions"], model["quotes"])
    return {
        "story": story,
        "categories": [str(c) for c in json_list(story.get("categories"))],
        "entities": story_entities(conn, story),
        "first_reported_by": page_document(lead) if lead else None,
        "lead_excerpt": lead_excerpt(lead) if lead else "",
        "timeline": [page_document(d, model["copies"]) for d in documents[:TIMELINE_LIMIT]],
        "truncated": len(documents) > TIMELINE_LIMIT,
        "quotes": [dict(q, link=http_url(q["url"])) for q in model["quotes"]],
        "reactions": [dict(r, link=http_url(r["url"])) for r in model["reactions"]],
        # what the page shows: each text once (the JSON keeps every row above)
        "quotes_shown": [dict(q, link=http_url(q["url"])) for q in quotes],
        "reactions_shown": [dict(r, link=http_url(r["url"])) for r in reactions],
        "related": related_stories(conn, story),
        "primary": model["primary"],    # primary sources, passages, claims not found (issue 22)
        "card_versions": story_card_versions(conn, story_id),
        "incident": story_incident(conn, model),
        "also_covered_in": [dict(r, link=http_url(r["url"])) for r in model["also_covered_in"]],  # roundups (issue 19)
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


def roundup_document(conn, story_id):
    """The document id of the roundup whose own story id this is, or None."""
    if not conn.execute("select 1 from sqlite_master where name = 'roundup_checks'").fetchone():
        return None
    row = conn.execute("select document_id from roundup_checks where roundup = 1 and story_id = ?",
                       [story_id]).fetchone()
    return row[0] if row else None


async def find_story(datasette, request, suffix):
    """(surviving story id, None), or (None, a redirect for a merged id or a 404 page)."""
    story_id = story_id_from(request)
    db = datasette.get_database(DB_NAME)
    target = await db.execute_fn(lambda conn: resolve_story(conn, story_id))
    if target is None:
        # A roundup keeps a story id of its own that no story holds (it counts in none): its link
        # leads to the roundup's document page instead of a 404.
        roundup = await db.execute_fn(lambda conn: roundup_document(conn, story_id))
        if roundup is not None:
            return None, Response.redirect(datasette.urls.path(f"/{DB_NAME}/documents/{roundup}"))
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


def served_from(request):
    """The catalog's own base URL, as the request reached it: briefs served live link to this host."""
    return f"{request.scheme}://{request.host}" if request is not None and request.host else None


async def build_brief_data(datasette, story_id, base_url=None):
    """Build and render the brief on a read-only connection: ({data, markdown}, None) or (None, error)."""
    try:
        brief_module = importlib.import_module("pipeline.publish.brief")
    except ImportError:
        return None, "Briefs are not available in this install yet (pipeline.publish.brief is missing)."
    import sqlite_utils

    def build(conn):
        try:
            data = brief_module.build_brief(sqlite_utils.Database(conn), story_id, base_url=base_url)
        except brief_module.BriefError as e:
            return None, str(e)
        return {"data": data, "markdown": brief_module.render_brief_markdown(data)}, None

    return await datasette.get_database(DB_NAME).execute_fn(build)


async def brief_page(request, datasette):
    story_id, redirect = await find_story(datasette, request, "/brief")
    if redirect:
        return redirect
    brief, error = await build_brief_data(datasette, story_id, served_from(request))
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
    brief, error = await build_brief_data(datasette, story_id, served_from(request))
    if brief is None:
        return Response.json({"ok": False, "error": error}, status=503)
    return Response.json(brief["data"], default=str)


async def brief_markdown(request, datasette):
    story_id, redirect = await find_story(datasette, request, "/brief.md")
    if redirect:
        return redirect
    brief, error = await build_brief_data(datasette, story_id, served_from(request))
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
    return {"iw_http_url": http_url, "iw_when": when, "iw_markdown_html": brief_html,
            "iw_row_url": lambda table, pk: row_url(datasette, table, pk)}
