"""SQL functions for the stored queries: safe highlight markup and forgiving FTS queries."""
import html

from datasette import hookimpl

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


def mark_html(value):
    """Escape text, then turn FTS highlight markers (\\x02, \\x03) into <mark> tags."""
    if value is None:
        return None
    escaped = html.escape(str(value), quote=True)
    return escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def fts_query(value):
    """Any user text as a valid FTS5 query: "quoted words" a phrase, other words all required,
    `term*` a prefix; a blank search is the empty phrase, which matches nothing (pipeline.publish.find)."""
    from pipeline.publish.find import fts_query as build
    return build(value)



def entity_key(value):
    """An entity name as people type it: case and a possessive do not matter (pipeline.publish.find)."""
    from pipeline.publish.find import entity_key as key
    return key(value) if isinstance(value, str) else value


def fts_title_query(value):
    """fts_query restricted to the title column."""
    return "{title} : (" + fts_query(value) + ")"


@hookimpl
def prepare_connection(conn):
    conn.create_function("iw_fts_title_query", 1, fts_title_query, deterministic=True)
    conn.create_function("iw_mark_html", 1, mark_html, deterministic=True)
    conn.create_function("iw_fts_query", 1, fts_query, deterministic=True)
    conn.create_function("iw_entity_key", 1, entity_key, deterministic=True)


@hookimpl
def extra_template_vars(datasette):
    async def iw_suggest(q):
        """Close words from the index for a search that found nothing ("blakmail" -> ["blackmail"])."""
        from pipeline.publish.find import suggest_terms
        if not q:
            return []
        return await datasette.get_database("incidentwire").execute_fn(lambda conn: suggest_terms(conn, q))

    async def iw_search_facets(q):
        """{"kind": [(value, count)], "publisher": [...]} over every document matching `q`."""
        if not q:
            return {}
        return await datasette.get_database("incidentwire").execute_fn(lambda conn: search_facets(conn, q))

    return {"iw_suggest": iw_suggest, "iw_search_facets": iw_search_facets}


def search_facets(conn, q, limit=8):
    """Counts by kind and by outlet of the documents matching the search `q` (all of them, not one page)."""
    out = {}
    for column in ("kind", "publisher"):
        out[column] = conn.execute(
            f"select d.{column}, count(*) from documents_fts join documents d on d.id = documents_fts.rowid "
            f"where documents_fts match ? and d.{column} is not null group by 1 order by 2 desc, 1 limit ?",
            [fts_query(q), limit]).fetchall()
    return out
