"""Routes for the subscribable feeds and the OPML list (built by pipeline.outbound.feeds)."""
import urllib.parse

from datasette import hookimpl
from datasette.utils.asgi import Response

from pipeline.outbound import feeds
from pipeline.stories.categories import CATEGORIES

DB_NAME = "incidentwire"
ATOM = "application/atom+xml; charset=utf-8"


def base_url(datasette, request):
    return datasette.absolute_url(request, datasette.urls.path("/")).rstrip("/")


def arg(request, name):
    return urllib.parse.unquote(request.url_vars[name])


async def build(datasette, fn, *args):
    return await datasette.get_database(DB_NAME).execute_fn(lambda conn: fn(conn, *args))


def missing(what):
    return Response.text(f"No such {what}; /feeds.opml lists every feed.\n", status=404)


async def story_atom(datasette, request):
    found = await build(datasette, feeds.story_feed, arg(request, "story_id"), base_url(datasette, request))
    if found is None:
        return missing("story")
    target, xml = found
    if target != arg(request, "story_id"):
        return Response.redirect(datasette.urls.path(f"/feeds/stories/{urllib.parse.quote(target, safe='')}.atom"),
                                 status=301)
    return Response(xml, content_type=ATOM)


async def entity_atom(datasette, request):
    xml = await build(datasette, feeds.entity_feed, arg(request, "entity"), base_url(datasette, request))
    return missing("entity") if xml is None else Response(xml, content_type=ATOM)


async def category_atom(datasette, request):
    xml = await build(datasette, feeds.category_feed, arg(request, "category"), set(CATEGORIES),
                      base_url(datasette, request))
    return missing("category") if xml is None else Response(xml, content_type=ATOM)


async def system_cards_atom(datasette, request):
    return Response(await build(datasette, feeds.system_card_feed, base_url(datasette, request)), content_type=ATOM)


async def claims_atom(datasette, request):
    return Response(await build(datasette, feeds.claim_flags_feed, base_url(datasette, request)), content_type=ATOM)


async def opml(datasette, request):
    text = await build(datasette, feeds.opml, set(CATEGORIES), base_url(datasette, request))
    return Response(text, content_type="text/x-opml; charset=utf-8")


@hookimpl
def register_routes():
    return [
        (r"^/feeds/stories/(?P<story_id>[^/]+)\.atom$", story_atom),
        (r"^/feeds/entities/(?P<entity>[^/]+)\.atom$", entity_atom),
        (r"^/feeds/categories/(?P<category>[^/]+)\.atom$", category_atom),
        (r"^/feeds/system-cards\.atom$", system_cards_atom),
        (r"^/feeds/claims\.atom$", claims_atom),
        (r"^/feeds\.opml$", opml),
    ]
