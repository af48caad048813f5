"""A system card's history as its "what changed" page shows it (/cards/{id}, plugins/iw_cards.py).

Reads what `process` wrote (pipeline.enrich.card_versions): every version newest first, each with
its date and where the date came from, the silent-edit flag, a readable summary, its changes
grouped by section (reworded sentences with their word-level differences and changed numbers),
and the stories that followed it within 14 days.
"""
import json

from pipeline.enrich.card_diff import word_diff
from pipeline.publish.story import public_url, rows, rows_in


class CardError(Exception):
    """No such card; the message names the id."""


def _json(value, default):
    try:
        return json.loads(value) if value else default
    except ValueError:
        return default


def card_document(db, document_id):
    """The card's document row (no text), or CardError."""
    try:
        key = int(str(document_id).strip())
    except ValueError:
        raise CardError(f"No system card with id {document_id!r}.") from None
    found = rows(db, "select id, title, publisher, coalesce(canonical_url, url) as url, guid, published, story_id "
                     "from documents where id = ? and kind = 'system_card'", [key])
    if not found:
        raise CardError(f"No system card with id {document_id!r}.")
    doc = found[0]
    doc["url"] = public_url(doc["url"], doc.pop("guid"))
    return doc


def _grouped(changes):
    """[{section, changes}] in the card's order, a section once."""
    out = []
    for c in changes:
        if not out or out[-1]["section"] != c["section"]:
            out.append({"section": c["section"], "changes": []})
        out[-1]["changes"].append(c)
    return out


def _change(c):
    out = {k: c[k] for k in ("change", "section", "before", "after", "similarity")}
    out["numbers"] = _json(c["numbers"], [])
    out["words"] = word_diff(c["before"], c["after"]) if c["change"] == "reworded" else []
    return out


def card_history(db, document_id):
    """{card, versions, silent_edits}: the whole page as plain data (also served as JSON)."""
    card = card_document(db, document_id)
    versions = rows(db, "select c.*, v.fetched, v.content_hash from card_versions c join document_versions v "
                        "on v.id = c.version_id where c.document_id = ? order by c.seen desc, c.version_id desc",
                    [card["id"]])
    ids = [v["version_id"] for v in versions]
    changes = rows_in(db, "select * from card_changes where version_id in ({marks}) order by version_id, position", ids)
    links = rows_in(db, "select l.*, s.headline from card_version_stories l join stories s on s.id = l.story_id "
                        "where l.version_id in ({marks}) order by l.published, l.story_id", ids)
    for v in versions:
        mine = [_change(c) for c in changes if c["version_id"] == v["version_id"]]
        v.update(markers=_json(v["markers"], []), new_markers=_json(v["new_markers"], []),
                 numbers=_json(v["numbers"], []), sections=_grouped(mine),
                 stories=[link for link in links if link["version_id"] == v["version_id"]])
    return {"card": card, "versions": versions, "silent_edits": sum(1 for v in versions if v["silent_edit"])}
