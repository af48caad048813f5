"""incidentwire's domain tools on datasette-mcp's /-/mcp endpoint (answers from pipeline.agent.tools).

Registered after datasette-mcp's own tools (list_databases, get_database_schema, execute_sql);
with arbitrary SQL switched off (`serve --no-sql`) execute_sql is removed, not just refused.
Everything is read-only: the database is mounted read-only and no writing tool is offered.
"""
import asyncio
import datetime
import os
from typing import Any, Optional

from datasette import hookimpl
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from pipeline.agent import tools

DB_NAME = "incidentwire"
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def embed_query(query):
    """(model key, unit vector) for a search query with the bundled model; (None, None) when it cannot load."""
    from pipeline.stories.embed import ModelError, encode, resolve_model
    try:
        return resolve_model()[0], encode([query], progress=False)[0]
    except (ModelError, OSError, ImportError):
        return None, None


def make_runner(datasette):
    async def run(fn, *args):
        try:
            return await datasette.get_database(DB_NAME).execute_fn(lambda conn: fn(conn, *args))
        except tools.ToolArgumentError as e:
            raise ToolError(str(e)) from None
    return run


@hookimpl(trylast=True)
def register_mcp_tools(datasette, mcp):
    run = make_runner(datasette)

    def base(ctx):
        """$INCIDENTWIRE_CATALOG_URL, else the scheme and host the client reached this server at."""
        url = getattr(ctx.request_context.request, "url", None)
        here = f"{url.scheme}://{url.netloc}" if url is not None else "http://127.0.0.1:8001"
        return (os.environ.get("INCIDENTWIRE_CATALOG_URL") or here).rstrip("/")

    @mcp.tool(annotations=READ_ONLY)
    async def search_stories(query: str, ctx: Context, since: Optional[str] = None,
                             limit: int = 10) -> dict[str, Any]:
        """Find stories of AI agent safety incidents by words and by meaning (hybrid: full text and
        sentence vectors, fused), so other words than the coverage's still find the story. `since`
        (a date like 2025-05-22) keeps stories seen since then. Returns ids for get_story and get_brief."""
        model, qvec = await asyncio.to_thread(embed_query, query) if str(query or "").strip() else (None, None)
        return await run(tools.search, query, qvec, model, since, base(ctx), limit)

    @mcp.tool(annotations=READ_ONLY)
    async def get_story(id: str, ctx: Context) -> dict[str, Any]:
        """One story as the catalog shows it: headline, summary, dates, documents (metadata and links),
        verified quotes, the first report and a citation. Merged ids resolve to the surviving story."""
        return await run(tools.get_story, id, base(ctx), datetime.date.today().isoformat())

    @mcp.tool(annotations=READ_ONLY)
    async def get_brief(id: str, ctx: Context) -> dict[str, Any]:
        """The story brief (show prep): cold open, timeline, key quotes, numbers, reactions, MSP
        takeaways, open questions and sources, every quote verbatim from its source."""
        return await run(tools.get_brief, id, base(ctx))

    @mcp.tool(annotations=READ_ONLY)
    async def whats_new(since: str, ctx: Context) -> dict[str, Any]:
        """Stories first seen since `since` (a date like 2025-05-22), and older stories that grew
        (new documents since then), with how many."""
        return await run(tools.whats_new, since, base(ctx))

    @mcp.tool(annotations=READ_ONLY)
    async def entity_stories(name: str, ctx: Context) -> dict[str, Any]:
        """Stories that name an entity (lab, model, product, person, regulator) by name, id or alias."""
        return await run(tools.entity_stories, name, base(ctx))

    if not datasette.setting("default_allow_sql"):
        mcp.remove_tool("execute_sql")
