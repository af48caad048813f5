"""Atom feeds that stay valid when a saved search has no results yet.

datasette-atom 0.11a0 computes max(atom_updated) over the rows and fails on an empty
result; a subscribed search with nothing new must still be a feed. This renderer runs
last so it replaces the plugin's entry and delegates whenever there are rows.
"""
import datetime

import datasette_atom
from datasette import __version__, hookimpl
from datasette.utils.asgi import Response
from feedgen.feed import FeedGenerator


async def render_atom(datasette, request, sql, columns, rows, database, table, query_name,
                      view_name, data):
    if rows or not datasette_atom.REQUIRED_COLUMNS.issubset(columns):
        return await datasette_atom.render_atom(datasette, request, sql, columns, rows, database,
                                                table, query_name, view_name, data)
    fg = FeedGenerator()
    fg.generator(generator="Datasette", version=__version__, uri="https://github.com/simonw/datasette")
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    fg.updated(datetime.datetime.now(datetime.timezone.utc))
    title = "incidentwire"
    if query_name:
        query = await datasette.get_query(database, query_name)
        if query and query.title:
            title = query.title
    fg.title(title)
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


@hookimpl(trylast=True)
def register_output_renderer():
    return {"extension": "atom", "render": render_atom, "can_render": datasette_atom.can_render_atom}
