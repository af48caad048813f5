"""Cell rendering and navigation: <mark>-only snippets, story links, menu links."""
import re
from urllib.parse import quote

from datasette import hookimpl
from markupsafe import Markup, escape

NAV = [
    ("Search", "/incidentwire/search"),
    ("This week", "/incidentwire/week"),
    ("New stories", "/incidentwire/new_stories"),
    ("Entities", "/incidentwire/entity_stories"),
    ("System cards", "/incidentwire/system_cards"),
    ("Digests", "/incidentwire/digests"),
]


MARK_SPLIT = re.compile(r"(</?mark>)")


def only_marks(value):
    """Markup that keeps bare <mark> tags and lets no other tag through, whoever wrote the SQL.

    Values come from iw_mark_html (escaped text plus <mark>). A piece between marks holding a
    raw < or > was not escaped, so it is escaped here; text without them cannot open a tag.
    (bleach does the same job but took ~1 ms a cell, a quarter of a search page.)
    """
    pieces = []
    for piece in MARK_SPLIT.split(str(value)):
        if piece in ("<mark>", "</mark>"):
            pieces.append(piece)
        elif "<" in piece or ">" in piece:
            pieces.append(str(escape(piece)))
        else:
            pieces.append(piece)
    return Markup("".join(pieces))


def story_link(datasette, story_id):
    url = datasette.urls.path("/stories/" + quote(str(story_id), safe=""))
    return Markup('<a href="{}">{}</a>').format(url, story_id)


def safe_href(value):
    """http(s) URLs and site paths pass; anything else (javascript:, data:, //host) is dropped."""
    value = str(value or "").strip()
    if value.lower().startswith(("http://", "https://")):
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    return ""


@hookimpl
def render_cell(value, column, table, database, datasette):
    if database != "incidentwire":
        return None
    if column.endswith("_href") and table is None:
        # A plain string: templates put it in href="..." with autoescape on.
        return safe_href(value)
    if value is None or value == "":
        return None
    if column == "diff" and isinstance(value, str):
        return Markup('<pre class="iw-diff">{}</pre>').format(value)
    if column.endswith("_html") and isinstance(value, str):
        return only_marks(value)
    # Story ids without a foreign key (quotes.story_id has one, and gets its headline label).
    if isinstance(value, str) and ((column == "story_id" and table in (None, "documents"))
                                   or (table == "stories" and column in ("id", "merged_into"))
                                   or (table == "story_redirects" and column in ("old_id", "new_id"))):
        return story_link(datasette, value)
    return None


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path(href), "label": label} for label, href in NAV]


@hookimpl
def extra_template_vars(datasette):
    return {"iw_nav": [(label, datasette.urls.path(href)) for label, href in NAV],
            "iw_marks": only_marks, "iw_escape": escape}


@hookimpl
def row_actions(datasette, database, table, row):
    if database == "incidentwire" and table == "stories" and row is not None:
        return [{"href": datasette.urls.path("/stories/" + quote(str(row["id"]), safe="")), "label": "Open the story page",
                 "description": "Timeline, quotes, reactions and brief"}]
    if database == "incidentwire" and table == "documents" and row is not None and row["story_id"]:
        return [{"href": datasette.urls.path("/stories/" + quote(str(row["story_id"]), safe="")), "label": "Open its story"}]
    return None
