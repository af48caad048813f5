"""Finding stories: by week, words (full-text, quoted phrases as phrases) or entity.

Used by `incidentwire stories` (so a host can find a story id for `brief`) and by the catalog's
search pages (the FTS query builder, the entity lookup and the "did you mean" suggestions).
"""
import difflib
import json
import re

PHRASE_RE = re.compile(r'"([^"]*)"|(\S+)')
POSSESSIVE_RE = re.compile(r"(?:['’]s|['’])$", re.I)


def fts_query(value):
    """Any user text as a valid FTS5 query: "quoted words" stay a phrase, other words are all
    required, `term*` is a prefix. A blank query is the empty phrase, which matches nothing."""
    parts = []
    for phrase, word in PHRASE_RE.findall(str(value or "").replace("\x00", " "))[:32]:
        if phrase:
            words = phrase.split()
            if words:
                parts.append('"' + " ".join(words) + '"')
            continue
        prefix = word.endswith("*") and len(word.rstrip("*")) > 1
        term = word.rstrip("*").replace('"', " ").strip() if prefix else word.replace('"', " ").strip()
        if term.strip("*"):
            parts.append(f'"{term}"' + ("*" if prefix else ""))
    return " ".join(parts) or '""'


def entity_key(name):
    """An entity as people type it: case and a possessive ("Anthropic’s") do not matter."""
    return POSSESSIVE_RE.sub("", (name or "").strip()).casefold()


def find_entity(db, name):
    """The entities row whose id, name or an alias matches `name` (see entity_key), or None."""
    key = entity_key(name)
    if not key:
        return None
    for row in db.execute("select id, name, kind, aliases from entities order by id").fetchall():
        try:
            aliases = json.loads(row[3] or "[]")
        except ValueError:
            aliases = []
        if key in {entity_key(x) for x in [row[0], row[1]] + list(aliases) if isinstance(x, str)}:
            return {"id": row[0], "name": row[1], "kind": row[2]}
    return None


def entity_story_ids(db, entity_id, entity_name):
    """Surviving stories that mention the entity: in their entities list or in any document's entities."""
    rows = db.execute(
        "select s.id from stories s where s.merged_into is null and ("
        " exists (select 1 from json_each(case when json_valid(s.entities) then s.entities else '[]' end) j"
        "         where j.value in (?, ?))"
        " or exists (select 1 from documents d join document_entities de on de.document_id = d.id"
        "            where d.story_id = s.id and de.entity_id = ?))", [entity_id, entity_name, entity_id])
    return {r[0] for r in rows.fetchall()}


def search_story_ids(db, query):
    """Surviving stories whose headline or summary, or any document, matches the query."""
    q = fts_query(query)
    ids = {r[0] for r in db.execute(
        "select s.id from stories_fts join stories s on s.rowid = stories_fts.rowid "
        "where stories_fts match ? and s.merged_into is null", [q]).fetchall()}
    ids |= {r[0] for r in db.execute(
        "select distinct s.id from documents_fts join documents d on d.id = documents_fts.rowid "
        "join stories s on s.id = d.story_id where documents_fts match ? and s.merged_into is null", [q]).fetchall()}
    return ids


def week_story_ids(db, week):
    return {r[0] for r in db.execute(
        "select distinct s.id from documents d join stories s on s.id = d.story_id "
        "where d.published_week = ? and s.merged_into is null", [week]).fetchall()}


class FindError(ValueError):
    """A search cannot run; the message names the bad input."""


def find_stories(db, week=None, search=None, entity=None, limit=100):
    """Stories matching every filter given, newest first: dicts id, headline, first_seen, n_sources."""
    ids = None
    if entity:
        found = find_entity(db, entity)
        if found is None:
            raise FindError(f"no entity named {entity!r}; entities are labs, models and companies such as Anthropic")
        ids = entity_story_ids(db, found["id"], found["name"])
    for value, lookup in ((week, week_story_ids), (search, search_story_ids)):
        if value:
            got = lookup(db, value)
            ids = got if ids is None else ids & got
    sql = "select id, headline, first_seen, last_seen, n_sources from stories where merged_into is null"
    rows = [dict(zip(("id", "headline", "first_seen", "last_seen", "n_sources"), r))
            for r in db.execute(sql).fetchall() if ids is None or r[0] in ids]
    rows.sort(key=lambda r: (r["last_seen"] or "", r["id"]), reverse=True)
    return rows[:limit]


def title_vocabulary(db, limit=200000):
    """Words of document titles and story headlines (real words, not FTS stems), most common first."""
    counts = {}
    rows = db.execute("select title from documents where title is not null union all "
                      "select headline from stories where headline is not null limit ?", [limit]).fetchall()
    for (text,) in rows:
        for word in re.findall(r"[^\W\d_]{3,}", text.lower()):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))
    # then the index's own terms (porter stems of the text: "blackmail", "deceiv"), most documents first
    db.execute("create virtual table if not exists temp.iw_documents_vocab using fts5vocab(main, documents_fts, row)")
    seen = set(words)
    words += [r[0] for r in db.execute("select term from temp.iw_documents_vocab where length(term) >= 3 "
                                       "order by doc desc, term limit ?", [limit]).fetchall()
              if r[0] not in seen and r[0].isalpha()]
    return words


def suggest_terms(db, query, n=3):
    """Close title words for the words of a query that found nothing ("blakmail" -> "blackmail")."""
    vocab = title_vocabulary(db)
    known = set(vocab)
    out = []
    for word in re.findall(r"[^\W\d_]{3,}", str(query or "").lower()):
        if word not in known:
            for t in difflib.get_close_matches(word, vocab, n=n, cutoff=0.75):
                if not any(o.startswith(t) or t.startswith(o) for o in out):    # a stem of a word shown
                    out.append(t)
    return out[:n]
