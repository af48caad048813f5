"""Atom feeds for the stored queries, replacing datasette-atom's renderer for three reasons.

datasette-atom 0.11a0 fails on an empty result (max() of nothing), yet a subscribed search
with nothing new must still be a feed; its feed title is the query title for every search,
where "Search documents: blackmail" tells subscribers which search it is; and its entry links
stay relative, which several feed readers do not resolve. HTML content is still cleaned with
datasette-atom's own bleach allow-list. Registered trylast so it wins the "atom" extension.
"""
import datetime

import datasette_atom
from datasette import __version__, hookimpl
from datasette.utils.asgi import Response
from feedgen.feed import FeedGenerator


async def render_atom(datasette, request, sql, columns, rows, database, table, query_name,
                      view_name, data):
    if not datasette_atom.REQUIRED_COLUMNS.issubset(columns):
        return await datasette_atom.render_atom(datasette, request, sql, columns, rows, database,
                                                table, query_name, view_name, data)
    fg = FeedGenerator()
    fg.generator(generator="Datasette", version=__version__, uri="https://github.com/simonw/datasette")
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    fg.updated(max(row["atom_updated"] for row in rows) if rows
               else datetime.datetime.now(datetime.timezone.utc))
    title = "incidentwire"
    if query_name:
        query = await datasette.get_query(database, query_name)
        if query and query.title:
            title = query.title
        if request.args.get("q"):
            title += ": " + request.args["q"]
    fg.title(title)
    for row in reversed(rows):  # feedgen prepends entries
        entry = fg.add_entry()
        entry.id(str(row["atom_id"]))
        entry.title(str(row["atom_title"]))
        entry.updated(row["atom_updated"])
        if "atom_content_html" in columns and row["atom_content_html"]:
            entry.content(datasette_atom.clean(row["atom_content_html"]), type="html")
        elif "atom_content" in columns and row["atom_content"]:
            entry.content(row["atom_content"], type="text")
        link = row["atom_link"] if "atom_link" in columns else None
        if link:
            if link.startswith("/") and not link.startswith("//"):
                link = datasette.absolute_url(request, link)
            entry.link(href=link)
        if "atom_author_name" in columns and row["atom_author_name"]:
            entry.author({"name": row["atom_author_name"]})
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


@hookimpl(trylast=True)
def register_output_renderer():
    return {"extension": "atom", "render": render_atom, "can_render": datasette_atom.can_render_atom}
