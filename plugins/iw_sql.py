"""SQL functions for the stored queries: safe highlight markup and forgiving FTS queries."""
import html

from datasette import hookimpl
from datasette.utils import escape_fts

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


def mark_html(value):
    """Escape text, then turn FTS highlight markers (\\x02, \\x03) into <mark> tags."""
    if value is None:
        return None
    escaped = html.escape(str(value), quote=True)
    return escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def fts_query(value):
    """Quote each term so any user text is a valid FTS5 query; blank matches nothing."""
    value = (value or "").strip()
    if not value:
        return '""'
    return escape_fts(value.replace("\x00", " "))


@hookimpl
def prepare_connection(conn):
    conn.create_function("iw_mark_html", 1, mark_html, deterministic=True)
    conn.create_function("iw_fts_query", 1, fts_query, deterministic=True)
