"""The story read model: one story as every reader sees it (the brief, the digest, /stories/{id}).

`resolve_story` follows merged ids to the surviving story; `read_story` assembles it, each part
by one rule:

- documents: the story's documents (and any still filed under an id redirected to it),
  syndicated copies left out, in reading order (pipeline.stories.fields.report_order, the rule
  that picks the lead): oldest day first, undated last; within a day a date without its hour
  never beats a timestamp, and the primary source leads when times tie or are unknown. `url` is the canonical
  URL, the stable public one (`fetched_url` is where it was fetched); a URL on this machine (a
  snapshot served on loopback) gives way to the feed's public guid (`public_url`).
- copies: each document's syndicated copies ("also published at"), in the same order, each
  with the URL it was published at.
- quotes: the `quotes` table's rows for those documents (written by enrich), in document order
  then position; a quote that is not a verbatim slice of its document's text is never shown.
- lead: the story's `lead_document_id` (chosen by the same rule, so it is the first document
  unless it is a post) when it is one of its documents, else the first document that is not a
  social post, else the first document.
- reactions: social posts, or people quoted reacting in the coverage (enrich.reactions).
- sources: one line a document, in document order.
- primary: the story's primary sources (a system card, a paper, a filing, an advisory, the maker's
  own post), the passages of each that the coverage draws on, and the claims the coverage
  attributes to them that were not found in them, per outlet (enrich.primary_table wrote them;
  only verbatim passages and sentences are shown).
- also_covered_in: the roundups (newsletters, weeks in review, "top 10" lists) that cover the story
  among others (stories.roundups wrote roundup_links), newest first; a roundup counts in no story.

`story_facts` adds what the brief and the digest derive from it (summary, terms, categories,
MSP areas, catalog links).
"""
import json
import os
import re

from pipeline.enrich.story_summary import story_overview
from pipeline.enrich.reactions import pick_reactions
from pipeline.enrich.incident import incident_record
from pipeline.publish import playbook
from pipeline.stories.fields import report_order

COPY_ORDER = "coalesce(published, '9999'), id"      # an original's copies: oldest first, undated last
STOP = set("""a an the and or but of to in on for with at by from as is are was were be been it its this that
these those will would can could should may might has have had not no yes about into over after before
than then so if when what which who whom how why new says said week year more most also just""".split())


class StoryError(Exception):
    """A story cannot be read; the message is one sentence naming the bad input."""


def rows(db, sql, params=()):
    """Rows as dicts from a sqlite3 connection or a sqlite_utils Database, whatever its row factory."""
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def rows_in(db, sql, ids, chunk=500):
    """rows() for a query over `ids`, in chunks; `sql` has one {marks} slot for the placeholders."""
    out = []
    for k in range(0, len(ids), chunk):
        part = list(ids[k:k + chunk])
        out += rows(db, sql.format(marks=",".join("?" * len(part))), part)
    return out


def _redirect(db, story_id):
    row = db.execute("select new_id from story_redirects where old_id = ?", [story_id]).fetchone()
    return row[0] if row else None


def resolve_story(db, story_id):
    """The surviving story id for `story_id`, or None when unknown.

    A story row that is not merged is the answer; a merged one is followed through
    `merged_into`; an id with no row through `story_redirects`.
    """
    current = str(story_id).strip() if story_id is not None else ""
    seen = set()
    while current and current not in seen:
        seen.add(current)
        row = db.execute("select merged_into from stories where id = ?", [current]).fetchone()
        if row is not None and not row[0]:
            return current
        current = row[0] if row is not None else _redirect(db, current)
    return None


LOCAL_HOST_RE = re.compile(r"^https?://(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?/", re.I)


def public_url(url, guid=None):
    """The address a reader can open: the URL, unless it is on this machine (a snapshot served on
    loopback, as in the demo): then the feed's guid when that is a public http(s) address of the
    same item, else None (a link to someone's own machine is dead for every reader; pages still
    link the catalog's record of the document)."""
    if url and LOCAL_HOST_RE.match(url):
        if guid and guid.lower().startswith(("http://", "https://")) and not LOCAL_HOST_RE.match(guid):
            return guid
        return None
    return url


def story_documents(db, story_id):
    """The story's documents in reading order (see the module docstring); copies left out."""
    # "+duplicate_of": SQLite searches by story_id instead of walking every original
    docs = rows(db, (
        "select id, coalesce(canonical_url, url) as url, url as fetched_url, guid, kind, publisher, site, title, "
        "author, published, text, extra, word_count, story_id, duplicate_of from documents "
        "where (story_id = :id or story_id in (select old_id from story_redirects where new_id = :id)) "
        "and +duplicate_of is null"), {"id": story_id})
    docs = report_order(docs)
    for d in docs:
        d["url"] = public_url(d["url"], d.pop("guid"))
    return docs


def story_copies(db, documents):
    """{original id: [its syndicated copies]}, each copy with the URL it was published at."""
    copies = {}
    for copy in rows_in(db, ("select id, url, publisher, site, title, published, duplicate_of, story_id "
                             f"from documents where duplicate_of in ({{marks}}) order by {COPY_ORDER}"),
                        [d["id"] for d in documents]):
        copies.setdefault(copy["duplicate_of"], []).append(copy)    # an original's copies share a chunk
    return copies


def outlet(doc):
    return doc.get("publisher") or doc.get("site") or "unknown outlet"


def day(iso):
    return (iso or "")[:10] or "undated"


def verified(snippet, doc):
    """True when `snippet` is a verbatim slice of the document's text."""
    return bool(snippet) and snippet in (doc.get("text") or "")


def story_quotes(db, documents):
    """The `quotes` rows of the documents, verified verbatim, in document order then position."""
    order = {d["id"]: k for k, d in enumerate(documents)}
    found = rows_in(db, "select id, document_id, position, speaker, role, text from quotes "
                        "where document_id in ({marks})", list(order))
    found.sort(key=lambda q: (order[q["document_id"]], q["position"], q["id"]))
    out = []
    for q in found:
        doc = documents[order[q["document_id"]]]
        if not verified(q["text"], doc):
            continue    # the text changed since enrichment: a quote we cannot find verbatim is never shown
        out.append(dict(q, kind=doc.get("kind"), outlet=outlet(doc), url=doc.get("url"),
                        date=day(doc.get("published")), published=doc.get("published"),
                        publisher=doc.get("publisher"), document_title=doc.get("title")))
    return out


def lead_document(story, documents):
    """The story's lead document if it is one of its documents, else the first that is not a post."""
    lead = next((d for d in documents if d["id"] == story.get("lead_document_id")), None)
    return lead or next((d for d in documents if d.get("kind") != "social"), documents[0] if documents else None)


def first_report(lead):
    """The lead document as the brief and the digest show it ("first reported by")."""
    if lead is None:
        return None
    return {"outlet": outlet(lead), "date": day(lead.get("published")), "url": lead.get("url"),
            "title": lead.get("title"), "document_id": lead["id"]}


def sources(documents):
    return [{"outlet": outlet(d), "title": d.get("title"), "url": d.get("url"), "date": day(d.get("published")),
             "kind": d.get("kind"), "document_id": d["id"]} for d in documents]


def quote_out(q):
    """A quote as briefs and digests publish it."""
    return {"text": q["text"], "speaker": q["speaker"], "role": q.get("role"), "outlet": q["outlet"],
            "date": q["date"], "url": q["url"], "document_id": q["document_id"], "position": q["position"]}


def read_story(db, story_id):
    """The story `story_id` (already resolved) as readers see it; StoryError if there is no such row."""
    found = rows(db, "select * from stories where id = ?", [story_id])
    if not found:
        raise StoryError(f"story {story_id!r} not found")
    story = found[0]
    documents = story_documents(db, story_id)
    quotes = story_quotes(db, documents)
    return {"story": story, "documents": documents, "copies": story_copies(db, documents), "quotes": quotes,
            "lead": lead_document(story, documents), "reactions": pick_reactions(quotes),
            "sources": sources(documents), "primary": story_primary(db, story_id, documents),
            "also_covered_in": also_covered_in(db, story_id)}


def story_card_versions(db, story_id):
    """The system card versions that preceded the story (card_version_stories, written by `process`):
    each with its card, date, silent-edit flag, summary and how soon the story followed."""
    return rows(db, (
        "select c.document_id, d.title, c.version_id, c.seen, c.silent_edit, c.summary, l.days_after, l.reason "
        "from card_version_stories l join card_versions c on c.version_id = l.version_id join documents d "
        "on d.id = c.document_id where l.story_id = ? order by c.seen, c.version_id"), [story_id])


def json_ids(value):
    """A JSON list column (entities, related) as a list of strings; anything else is []."""
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [str(v) for v in value if v is not None] if isinstance(value, list) else []


def story_incident(db, model):
    """The incident record (pipeline.enrich.incident) of a story read by read_story: event date apart
    from report dates, developer, deployer, harmed parties, categories, similar stories, a generated
    severity with its reasons. Read on demand (the page, the brief, the export), not by the digest."""
    story = model["story"]
    related = [r for r in (resolve_story(db, i) for i in json_ids(story.get("related"))) if r and r != story["id"]]
    return incident_record(dict(story, entity_ids=json_ids(story.get("entities"))), model["documents"],
                           categories=playbook.story_categories(story), related=list(dict.fromkeys(related)))


# ---------------------------------------------------------------- what the brief and the digest derive

def catalog_url(base_url=None):
    """The public catalog base URL: argument, then $INCIDENTWIRE_CATALOG_URL; None when neither is set
    (a link to a catalog on someone's own machine is no use to a reader, so none is printed)."""
    return (base_url or os.environ.get("INCIDENTWIRE_CATALOG_URL") or "").rstrip("/") or None


def catalog_links(story_id, base_url=None):
    """{story, brief, catalog} URLs on the public catalog, or {} when none is configured."""
    base = catalog_url(base_url)
    if not base:
        return {}
    return {"story": f"{base}/stories/{story_id}", "brief": f"{base}/stories/{story_id}/brief", "catalog": base}


def article_links(documents, limit=6):
    """The original reporting to link: one article per outlet (its earliest), posts left out."""
    out, seen = [], set()
    for d in documents:
        if d.get("kind") == "social" or not d.get("url") or outlet(d) in seen:
            continue
        seen.add(outlet(d))
        out.append({"outlet": outlet(d), "url": d["url"], "title": d.get("title"), "date": day(d.get("published"))})
    return out[:limit]


def story_terms(story, docs):
    """Words that say what the story is about: headline and titles, stop words removed."""
    text = " ".join([story.get("headline") or ""] + [d.get("title") or "" for d in docs])
    return {w for w in re.findall(r"[a-z][a-z\-]{2,}", text.lower()) if w not in STOP}


def story_categories(story, docs):
    """The story's stored categories (what its page shows; an empty list is an answer: no category
    is carried by a fair share of its coverage), else, for a story row never refreshed, its text's."""
    categories = playbook.story_categories(story)
    if not categories and story.get("categories") is None:
        from pipeline.stories.categories import categorise
        categories = categorise(" ".join((d.get("title") or "") + "\n" + (d.get("text") or "")[:5000] for d in docs))
    return categories


def story_facts(db, story_id, base_url=None):
    """read_story plus everything the brief and the digest derive from it (all verified)."""
    facts = read_story(db, story_id)
    story, docs = facts["story"], facts["documents"]
    if not docs:
        raise StoryError(f"story {story_id!r} has no documents to brief from")
    # summaries come from reporting; a story of social posts alone has its posts as quotes instead
    articles = [d for d in docs if d.get("kind") != "social"]
    titles = " ".join([story.get("headline") or ""] + [d.get("title") or "" for d in articles or docs])
    overview = story_overview(docs, story.get("headline"), facts["lead"])
    summary, summary_sents = " ".join(s["text"] for s in overview["sentences"]), overview["sentences"]
    categories = story_categories(story, articles or docs)
    all_text = "\n".join(d.get("text") or "" for d in docs)
    return dict(
        facts, docs=docs, articles=articles, terms=story_terms(story, docs), titles=titles,
        summary=summary, summary_sentences=summary_sents, categories=categories,
        overview=overview["summary"], excerpt=overview["excerpt"],
        areas=playbook.msp_areas(categories, all_text), specifics=playbook.story_specifics(db, story_id, all_text),
        urls=catalog_links(story_id, base_url), links=article_links(docs),
    )


# ---------------------------------------------------------------- primary sources and claim checks (issue 22)

WHY_TEXT = {"system card": "the maker's system card", "paper": "the paper itself", "court filing": "the court filing",
            "vendor advisory": "the vendor's advisory", "own post": "the maker's own post"}


def _has_table(db, name):
    return db.execute("select 1 from sqlite_master where type = 'table' and name = ?", [name]).fetchone() is not None


def passage_link(url, anchor):
    """The source's public address with a text fragment that scrolls to the passage; None on this machine."""
    if not url or LOCAL_HOST_RE.match(url) or not url.lower().startswith(("http://", "https://")):
        return None
    return url.split("#")[0] + (anchor or "")


def primary_source_rows(db, story_id, by_id):
    """The story's primary sources with the passages its coverage draws on (each a verbatim slice)."""
    out = []
    for s in rows(db, "select document_id, why, comparable, partial from primary_sources where story_id = ? "
                      "order by document_id", [story_id]):
        doc = by_id.get(s["document_id"])
        if doc is None:
            continue
        passages = []
        for p in rows(db, "select passage, start, anchor, matched_by, covered_by, covered_by_count from source_passages "
                          "where story_id = ? and source_document_id = ? order by start", [story_id, doc["id"]]):
            if not verified(p["passage"], doc):
                continue    # the source changed since: a passage we cannot find verbatim is never shown
            ids = [i for i in _json_ids(p["covered_by"]) if i in by_id]
            passages.append(dict(p, matched_by=p["matched_by"].split(","), covered_by=ids,
                                 covered_by_outlets=sorted({outlet(by_id[i]) for i in ids}),
                                 link=passage_link(doc.get("url"), p["anchor"])))
        out.append({"document_id": doc["id"], "why": s["why"], "why_text": WHY_TEXT.get(s["why"], s["why"]),
                    "title": doc.get("title"), "outlet": outlet(doc), "url": doc.get("url"),
                    "date": day(doc.get("published")), "kind": doc.get("kind"), "comparable": bool(s["comparable"]),
                    "partial": bool(s["partial"]), "words": doc.get("word_count"), "passages": passages})
    out.sort(key=lambda s: (not s["comparable"], s["date"], s["document_id"]))
    return out


def _json_ids(value):
    import json
    try:
        found = json.loads(value or "[]")
    except ValueError:
        return []
    return [i for i in found if isinstance(i, int)] if isinstance(found, list) else []


def claim_checks(db, story_id, by_id):
    """(checked, found, [per outlet: claims not found in the primary source]) for the story."""
    checked = found = 0
    groups = {}
    for c in rows(db, "select id, document_id, sentence, claim, kind, found, source_document_id, first_seen "
                      "from claim_flags where story_id = ? order by document_id, position", [story_id]):
        doc, source = by_id.get(c["document_id"]), by_id.get(c["source_document_id"])
        if doc is None or source is None or not verified(c["sentence"], doc):
            continue
        checked += 1
        found += c["found"]
        if c["found"]:
            continue
        group = groups.setdefault(outlet(doc), {"outlet": outlet(doc), "flags": []})
        group["flags"].append(dict(c, url=doc.get("url"), title=doc.get("title"), date=day(doc.get("published")),
                                   source_title=source.get("title"), source_partial=None))
    return checked, found, list(groups.values())


def story_primary(db, story_id, documents):
    """Primary sources, their passages and the claim checks of a story (empty when it has none)."""
    if not _has_table(db, "primary_sources"):
        return {"sources": [], "claims_checked": 0, "claims_found": 0, "not_found": []}
    by_id = {d["id"]: d for d in documents}
    sources = primary_source_rows(db, story_id, by_id)
    partial = {s["document_id"] for s in sources if s["partial"]}
    checked, found, not_found = claim_checks(db, story_id, by_id)
    for group in not_found:
        for f in group["flags"]:
            f["source_partial"] = f["source_document_id"] in partial
    return {"sources": sources, "claims_checked": checked, "claims_found": found, "not_found": not_found}


# ---------------------------------------------------------------- roundups that cover the story (issue 19)

def also_covered_in(db, story_id):
    """The roundups linked to the story (or to an id redirected to it): title, outlet, date, link
    and the section that covers it, newest first, undated last."""
    if not _has_table(db, "roundup_links"):
        return []
    found = rows(db, (
        "select d.id as document_id, d.title, d.publisher, d.site, d.published, coalesce(d.canonical_url, d.url) as url, "
        "d.guid, l.section, l.score from roundup_links l join documents d on d.id = l.document_id "
        "where l.story_id = :id or l.story_id in (select old_id from story_redirects where new_id = :id) "
        "order by coalesce(d.published, '') desc, d.id"), {"id": story_id})
    out, seen = [], set()
    for r in found:
        if r["document_id"] not in seen:
            seen.add(r["document_id"])
            out.append({"document_id": r["document_id"], "title": r["title"], "outlet": outlet(r), "date": day(r["published"]),
                        "url": public_url(r["url"], r["guid"]), "section": r["section"]})
    return out
