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
    """Quote each term so any user text is a valid FTS5 query (all terms, `term*` = prefix)."""
    terms = []
    for raw in str(value or "").replace('"', " ").replace("\x00", " ").split()[:32]:
        prefix = raw.endswith("*") and len(raw.rstrip("*")) > 1
        term = raw.rstrip("*") if prefix else raw
        if term.strip("*"):
            terms.append(f'"{term}"' + ("*" if prefix else ""))
    # An empty phrase is valid FTS5 and matches nothing: a blank search lists nothing.
    return " ".join(terms) or '""'



def fts_title_query(value):
    """fts_query restricted to the title column."""
    return "{title} : (" + fts_query(value) + ")"


@hookimpl
def prepare_connection(conn):
    conn.create_function("iw_fts_title_query", 1, fts_title_query, deterministic=True)
    conn.create_function("iw_mark_html", 1, mark_html, deterministic=True)
    conn.create_function("iw_fts_query", 1, fts_query, deterministic=True)
