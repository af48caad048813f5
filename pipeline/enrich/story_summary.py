"""A story's summary and lead excerpt, as the story page, the digest and new_stories.atom show them,
and the `stories.summary` column they are stored in (indexed by stories_fts with the headline).

- summary: whole sentences from the reporting (summarise.summarise), 60-80 words over two or more
  outlets where the texts allow; where the sources carry no sentence beyond their headlines (old
  incidents re-hosted title-only), the outlets' own headlines, quoted and attributed.
- lead excerpt: the opening of the lead document's text, verbatim, cut at a word with an ellipsis.
Only stories with two or more sources get a stored summary: a single source is its own summary.
"""

import re

from pipeline.enrich.summarise import summarise as summarise_docs

EXCERPT_WORDS = 45
MIN_SOURCES = 2


def _outlet(doc):
    return doc.get("publisher") or doc.get("site") or "unknown outlet"


def lead_excerpt(lead, words=EXCERPT_WORDS):
    """The lead document's opening words, verbatim ('…' marks a cut); '' when it is only its title."""
    if not lead:
        return ""
    text = re.sub(r"\s+", " ", lead.get("text") or "").strip()
    title = re.sub(r"\s+", " ", lead.get("title") or "").strip()
    if text.startswith(title) and title:
        text = text[len(title):].strip()
    parts = text.split(" ")
    if not text:
        return ""
    return text if len(parts) <= words else " ".join(parts[:words]).rstrip(",;:") + " …"


def headline_digest(docs, headline, limit=3):
    """'Also reported as “…” (Outlet); …' from other outlets' headlines, when there is nothing else."""
    seen, parts = {re.sub(r"\W+", " ", (headline or "").lower()).strip()}, []
    for d in docs:
        title = re.sub(r"\s+", " ", d.get("title") or "").strip()
        key = re.sub(r"\W+", " ", title.lower()).strip()
        if d.get("kind") == "social" or not title or key in seen:
            continue
        seen.add(key)
        parts.append(f"“{title}” ({_outlet(d)})")
        if len(parts) == limit:
            break
    return ("Also reported as " + "; ".join(parts) + ".") if parts else ""


def story_overview(docs, headline, lead=None):
    """{summary, sentences, excerpt} for a story's documents (see the module docstring)."""
    articles = [d for d in docs if d.get("kind") != "social"]
    titles = " ".join([headline or ""] + [d.get("title") or "" for d in articles or docs])
    text, sentences = summarise_docs(articles, title_text=titles)
    if not text:
        text = headline_digest(articles, headline)
    return {"summary": text, "sentences": sentences, "excerpt": lead_excerpt(lead)}


def _story_docs(db, story_id):
    cursor = db.execute("select id, kind, publisher, site, title, text, url, published from documents "
                        "where story_id = ? and duplicate_of is null order by coalesce(published, '9999'), id",
                        [story_id])
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def summarise_stories(db, story_ids=None):
    """Write `stories.summary` for the surviving stories (`story_ids`, else all) with two or more
    sources; returns counts. An unchanged summary is not written (stories_fts follows by trigger)."""
    counts = {"summaries_written": 0}
    rows = db.execute("select id, headline, summary, lead_document_id from stories where merged_into is null").fetchall()
    wanted = set(story_ids) if story_ids is not None else None
    updates = []
    for story_id, headline, old, lead_id in rows:
        if wanted is not None and story_id not in wanted:
            continue
        docs = _story_docs(db, story_id)
        if len({_outlet(d) for d in docs}) < MIN_SOURCES:
            new = None
        else:
            lead = next((d for d in docs if d["id"] == lead_id), None) or next(
                (d for d in docs if d.get("kind") != "social"), docs[0])
            new = story_overview(docs, headline, lead)["summary"] or None
        if new != old:
            updates.append((new, story_id))
    if updates:
        with db.conn:
            db.conn.executemany("update stories set summary = ? where id = ?", updates)
        counts["summaries_written"] = len(updates)
    return counts



