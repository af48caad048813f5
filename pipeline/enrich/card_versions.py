"""The DB side of card diffs (run by `process`): each stored system card version compared with the
one before it (pipeline.enrich.card_diff), dated, and linked to the stories that followed it.

A version's date (`seen`) is when it can be said to exist: the first version counts from the card's
own date (`documents.published`) when that is not later than its fetch; a later version from the
Last-Modified its server sent with it, when that falls after the previous version and not after
the fetch; else from its fetch. Last-Modified is kept only for the newest version (the store keeps
the latest response's validators), so a version that was replaced before `process` read it counts
from its fetch.

A story followed a version when one of its documents is dated in the 14 days after the version and
names the card's model (the most specific model its title names, else its text; a card naming no
model: its lab) or links to the card. Links are rewritten on every run, as stories merge and grow.
"""
import datetime
import email.utils
import json

from pipeline.enrich import card_diff
from pipeline.publish.story import resolve_story, rows
from pipeline.stories.entities import GAZETTEER, IMPLIES, extract_entities

FOLLOW_DAYS = 14
KINDS = {eid: kind for eid, _, kind, _ in GAZETTEER}
NAMES = {eid: name for eid, name, _, _ in GAZETTEER}


def iso(value):
    """An ISO date or time (or an HTTP date) as UTC ISO 8601; None when unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


def _last_modified(doc):
    try:
        return iso(json.loads(doc.get("extra") or "{}").get("http_last_modified"))
    except ValueError:
        return None


def version_date(doc, version, previous_seen):
    """(seen, basis) of a version (see the module docstring)."""
    fetched = iso(version["fetched"])
    if previous_seen is None:
        published = iso(doc.get("published"))
        if published and (not fetched or published <= fetched):
            return published, "the card's own date"
        return fetched, "first fetched"
    modified = _last_modified(doc) if version["content_hash"] == doc["content_hash"] else None
    if modified and modified > previous_seen and (not fetched or modified <= fetched):
        return modified, "Last-Modified when fetched"
    return fetched, "first fetched"


def compare_version(doc, version, previous, previous_seen):
    """The card_versions row and card_changes rows of one version."""
    seen, basis = version_date(doc, version, previous_seen)
    row = {"version_id": version["id"], "document_id": doc["id"], "seen": seen, "seen_basis": basis,
           "markers": json.dumps(card_diff.markers(version["text"]), ensure_ascii=False),
           "previous_version_id": previous["id"] if previous else None}
    if previous is None:
        return dict(row, new_markers="[]", silent_edit=None, n_reworded=0, n_added=0, n_removed=0, numbers="[]",
                    summary=card_diff.FIRST_VERSION), []
    changes = card_diff.compare(previous["text"], version["text"])
    silent, new = card_diff.silent_edit(previous["text"], version["text"])
    numbers = [pair for c in changes for pair in c.get("numbers") or []]
    row.update(new_markers=json.dumps(new, ensure_ascii=False), silent_edit=int(silent),
               numbers=json.dumps(numbers, ensure_ascii=False), summary=card_diff.summary(changes, silent, new),
               **{f"n_{k}": sum(1 for c in changes if c["change"] == k) for k in ("reworded", "added", "removed")})
    out = [{"version_id": version["id"], "document_id": doc["id"], "position": k, "section": c["section"],
            "change": c["change"], "before": c["before"], "after": c["after"], "similarity": c.get("similarity"),
            "numbers": json.dumps(c.get("numbers") or [], ensure_ascii=False)} for k, c in enumerate(changes)]
    return row, out


def compare_new_versions(db):
    """Compare every card version not yet in card_versions with the one before; return how many."""
    n = 0
    for doc in rows(db, "select id, title, text, published, extra, content_hash, coalesce(canonical_url, url) as url "
                        "from documents where kind = 'system_card' and id in (select document_id from document_versions)"):
        versions = rows(db, "select id, fetched, text, content_hash from document_versions where document_id = ? "
                            "order by fetched, id", [doc["id"]])
        done = {r["version_id"]: r["seen"] for r in rows(db, "select version_id, seen from card_versions "
                                                             "where document_id = ?", [doc["id"]])}
        previous, previous_seen = None, None
        for version in versions:
            if version["id"] not in done:
                row, changes = compare_version(doc, version, previous, previous_seen)
                with db.conn:
                    db["card_versions"].insert(row, pk="version_id", replace=True)
                    db["card_changes"].delete_where("version_id = ?", [version["id"]])
                    if changes:
                        db["card_changes"].insert_all(changes, pk="id")
                done[version["id"]] = row["seen"]
                n += 1
            previous, previous_seen = version, done[version["id"]]
    return n


def card_subjects(doc):
    """The entity ids a card is about: the most specific models its title names, else its text
    names; a card naming no model: its labs and companies."""
    title, text = doc.get("title") or "", (doc.get("text") or "")[:5000]
    for part in (title, text):
        found = extract_entities(part)
        models = [e for e in found if KINDS.get(e) == "model" and not any(e in IMPLIES.get(o, ()) for o in found)]
        if models:
            return models
    return [e for e in extract_entities(f"{title}\n{text}") if KINDS.get(e) in ("lab", "company")]


def following_stories(db, doc, version):
    """[card_version_stories rows]: each story with coverage in the 14 days after the version."""
    start = version["seen"]
    end = iso(datetime.datetime.fromisoformat(start) + datetime.timedelta(days=FOLLOW_DAYS))
    subjects = card_subjects(doc)
    marks = ",".join("?" * len(subjects)) or "null"
    found = rows(db, (
        "select d.id, d.story_id, d.published, exists (select 1 from document_entities e where e.document_id = d.id "
        f"and e.entity_id in ({marks})) as names_it from documents d where d.published >= ? and d.published <= ? "
        "and d.duplicate_of is null and d.story_id is not null and d.id != ? and (exists (select 1 from "
        f"document_entities e where e.document_id = d.id and e.entity_id in ({marks})) or instr(d.text, ?) > 0) "
        "order by d.published, d.id"), [*subjects, start, end, doc["id"], *subjects, doc["url"]])
    out = {}
    for d in found:
        story = resolve_story(db, d["story_id"])
        if not story or story in out:
            continue
        days = (datetime.datetime.fromisoformat(iso(d["published"])) - datetime.datetime.fromisoformat(start))
        reason = ("names " + ", ".join(NAMES.get(s, s) for s in subjects)) if d["names_it"] else "links to the card"
        out[story] = {"version_id": version["version_id"], "story_id": story, "document_id": d["id"],
                      "published": d["published"], "days_after": round(days.total_seconds() / 86400, 1),
                      "reason": reason}
    return list(out.values())


def link_stories(db):
    """Rewrite card_version_stories for every card version; return the number of links."""
    links = []
    for doc in rows(db, "select id, title, text, coalesce(canonical_url, url) as url from documents "
                        "where id in (select document_id from card_versions)"):
        for version in rows(db, "select version_id, seen from card_versions where document_id = ? and seen is not null",
                            [doc["id"]]):
            links += following_stories(db, doc, version)
    with db.conn:
        db.conn.execute("delete from card_version_stories")
        if links:
            db["card_version_stories"].insert_all(links, pk=("version_id", "story_id"), replace=True)
    return len(links)


def record_card_changes(db):
    """`process`'s step: compare new card versions, then relink versions and stories; return counts."""
    return {"card_versions": compare_new_versions(db), "card_story_links": link_stories(db)}
