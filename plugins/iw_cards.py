"""System card change pages: /cards/{document_id} ("what changed", HTML) and /cards/{document_id}.json."""
import urllib.parse

from datasette import hookimpl
from datasette.utils.asgi import Response

from pipeline.publish.cards import CardError, card_history

DB_NAME = "incidentwire"


async def history(datasette, request):
    """(data, None) or (None, the error message) for the card the URL names."""
    card_id = urllib.parse.unquote(request.url_vars["card_id"])
    db = datasette.get_database(DB_NAME)

    def read(conn):
        try:
            return card_history(conn, card_id), None
        except CardError as e:
            return None, str(e)

    return await db.execute_fn(read)


async def card_page(request, datasette):
    data, error = await history(datasette, request)
    if error:
        return Response.html(await datasette.render_template(
            "error.html", {"error": error, "status": 404, "title": "System card not found"}, request=request),
            status=404)
    json_url = datasette.urls.path(f"/cards/{data['card']['id']}.json")
    return Response.html(await datasette.render_template(
        "card_changes.html", dict(data, json_url=json_url), request=request))


async def card_json(request, datasette):
    data, error = await history(datasette, request)
    if error:
        return Response.json({"ok": False, "error": error, "status": 404}, status=404)
    return Response.json(data, default=str)


async def cards_index(request, datasette):
    return Response.redirect(datasette.urls.path(f"/{DB_NAME}/system_cards"))


@hookimpl
def register_routes():
    return [
        (r"^/cards/?$", cards_index),
        (r"^/cards/(?P<card_id>[^/]+?)\.json$", card_json),
        (r"^/cards/(?P<card_id>[^/]+)$", card_page),
    ]
