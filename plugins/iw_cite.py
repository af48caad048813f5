""""Cite this story" on /stories/{id}: `citation` for templates/_iw_cite.html (pipeline.publish.cite)."""
import datetime
import urllib.parse

from datasette import hookimpl

from pipeline.publish.cite import citation
from pipeline.publish.story import resolve_story, rows

DB_NAME = "incidentwire"


def story_citation(conn, story_id, base_url):
    target = resolve_story(conn, story_id)
    found = rows(conn, "select * from stories where id = ?", [target]) if target else []
    return citation(found[0], base_url, datetime.date.today().isoformat()) if found else None


@hookimpl
def extra_template_vars(template, request, datasette):
    if template != "story.html" or request is None or "story_id" not in (request.url_vars or {}):
        return {}
    from datasette.utils import tilde_decode
    story_id = tilde_decode(urllib.parse.unquote(request.url_vars["story_id"]))
    base_url = datasette.absolute_url(request, datasette.urls.path("/"))

    async def inner():
        db = datasette.get_database(DB_NAME)
        return {"citation": await db.execute_fn(lambda conn: story_citation(conn, story_id, base_url))}
    return inner
