"""The HTML of the reading pages built on stored queries (search, week, new stories, entities,
system cards), rendered straight from the stored query.

Datasette's query view also gathers every table's row count and columns for its SQL editor on
each request; at 200,000 documents that alone took 100-300 ms a page. These pages have no SQL
editor, so this route runs the same stored query (same permissions, same parameters, same
templates) and leaves .json, .atom and .csv to Datasette itself.
"""
import sqlite3
import urllib.parse

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.resources import QueryResource
from datasette.utils.asgi import Forbidden, NotFound, Response
from markupsafe import Markup

from plugins.iw_render import render_cell

DB_NAME = "incidentwire"
PAGES = ("search", "week", "new_stories", "entity_stories", "system_cards")


def page_cells(datasette, rows, columns):
    """Display values as Datasette's query view gives them, from this project's own render_cell
    only: these templates are ours, and skipping every plugin's hook per cell saves ~10 ms a page."""
    out = []
    for row in rows:
        cells = []
        for column, value in zip(columns, row):
            shown = render_cell(value=value, column=column, table=None, database=DB_NAME, datasette=datasette)
            if shown is None:
                shown = Markup("&nbsp;") if value in ("", None) else value
            cells.append(shown)
        out.append(cells)
    return out


async def stored_query_page(request, datasette):
    name = request.url_vars["name"]
    query = await datasette.get_query(DB_NAME, name)
    if query is None:
        raise NotFound(f"No stored query named {name!r}.")
    visible, _ = await datasette.check_visibility(
        request.actor, action="view-query", resource=QueryResource(database=DB_NAME, query=name))
    if not visible:
        raise Forbidden("You do not have permission to view this query")
    values = {p: request.args.get(p) or "" for p in (query.parameters or []) if not p.startswith("_")}
    db = datasette.get_database(DB_NAME)
    rows, columns, error = [], [], None
    try:
        results = await db.execute(query.sql, values, truncate=True)
        rows, columns = results.rows, list(results.columns)
    except (QueryInterrupted, sqlite3.DatabaseError) as e:
        error = str(e) if not isinstance(e, QueryInterrupted) else "The query took too long."
    path = datasette.urls.database(DB_NAME) + "/" + urllib.parse.quote(name)
    qs = ("?" + request.query_string) if request.query_string else ""
    renderers = {"json": f"{path}.json{qs}"}
    if {"atom_id", "atom_title", "atom_updated"} <= set(columns):
        renderers["atom"] = f"{path}.atom{qs}"
    context = {
        "database": DB_NAME,
        "stored_query": name,
        "query": {"sql": query.sql, "params": values},
        "metadata": {"title": query.title, "description": query.description},
        "named_parameter_values": values,
        "columns": columns,
        "display_rows": page_cells(datasette, rows, columns),
        "renderers": renderers,
        "url_csv": f"{path}.csv{qs}",
        "error": error,
    }
    html = await datasette.render_template(
        [f"query-{DB_NAME}-{name}.html"], context, request=request, view_name="database")
    return Response.html(html, status=400 if error else 200)


@hookimpl
def register_routes():
    return [(rf"^/{DB_NAME}/(?P<name>{'|'.join(PAGES)})$", stored_query_page)]
