"""Roundups: pages that cover several events (a newsletter, a week in review, a "top 10" list).

A roundup belongs to none of the stories it covers: `link_roundups` (run by `process` after
assignment) checks each newly assigned document once, by its title (features.ROUNDUP) or by its
sections: several sections that each match a different story strongly while the page as a whole
matches none. A roundup keeps a story id of its own, with no `stories` row (so no digest, list,
feed or count shows it), and `roundup_links` lists each story it covers with the section that
matched it. A normal article that recalls an earlier incident in one paragraph has most of its
sections on its own story and is no roundup.
"""
import re

import numpy as np

from pipeline.stories.features import ROUNDUP, parse_time

SECTION_WORDS = 15      # a shorter block (a heading, a caption, a byline) says too little to match
SECTION_CHARS = 600     # what of a section is embedded: its heading and opening, as for documents
SECTION_MATCH = 0.55    # cosine of a section to a story's centroid that says "this section is that story"
PAGE_MATCH = 0.8        # a page whose sections average this close to one story is that story's coverage
MIN_STORIES = 3         # a page on two events is more often an article recalling an earlier one
MAX_SHARE = 0.5         # the most sections one story may hold in a roundup found by its sections
WINDOW_DAYS = 60        # stories further than this from a dated page are not compared
SHOWN_CHARS = 300       # of the matching section, kept in roundup_links.section

_BLOCK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•▪◦]|\d{1,2}[.)])\s)|\n(?=#{1,6}\s)")


def sections(text):
    """The page's sections, verbatim: blocks split on blank lines, list items and headings; a
    short block (a heading) opens the section after it; blocks too short to match are dropped."""
    out, head = [], ""
    for block in (b.strip() for b in _BLOCK.split(text or "")):
        if not block:
            continue
        if len(block.split()) < SECTION_WORDS:
            head = f"{head}\n{block}".strip() if head else block
            continue
        out.append(f"{head}\n{block}" if head else block)
        head = ""
    return out


def title_roundup(title):
    return bool(ROUNDUP.search(title or ""))


def story_centroids(db, doc, model_key, kept=None):
    """{story id: unit centroid} of the live stories near the document's date, each read from its
    members' vectors without the document itself and without other roundups. An undated page is
    compared with every live story: from their kept sums (`story_centroids`) where there are any,
    so that memory does not grow with the store (reading every member's text took an hourly run
    to 1.45 GB at 200,000 documents); `kept` holds them between the pages of one run."""
    from pipeline.stories.embed import content_key, vectors_for
    t = parse_time(doc.get("published"))
    where, params = "s.merged_into IS NULL", []
    if t is not None:
        where += " AND (s.last_seen IS NULL OR julianday(s.last_seen) >= ?) AND " \
                 "(s.first_seen IS NULL OR julianday(s.first_seen) <= ?)"
        params += [t + 2440587.5 - WINDOW_DAYS, t + 2440587.5 + WINDOW_DAYS]  # days since 1970 to julian
    cents = {}
    if t is None:
        kept = {} if kept is None else kept
        cents = _kept_units(db, doc, model_key, kept)
        missing = [sid for sid in kept["live"] if sid not in cents]
        if not missing:
            return cents
        where += f" AND s.id IN ({','.join('?' * len(missing))})"  # read from their members
        params += missing
    members = list(db.query(
        f"SELECT d.id, d.story_id, d.content_hash, d.title, d.text FROM documents d JOIN stories s "
        f"ON s.id = d.story_id WHERE {where} AND d.id != ? AND d.duplicate_of IS NULL AND d.id NOT IN "
        f"(SELECT document_id FROM roundup_checks WHERE roundup = 1)", params + [doc["id"]]))
    vec_of = vectors_for(db, [content_key(m) for m in members], model_key)
    sums = {}
    for m in members:
        v = vec_of.get(content_key(m))
        if v is not None:
            sums[m["story_id"]] = sums.get(m["story_id"], 0) + v
    cents.update({sid: v / (np.linalg.norm(v) or 1.0) for sid, v in sums.items()})
    return cents


def _kept_units(db, doc, model_key, kept):
    """{story id: unit centroid} from the kept sums of the live stories, the document's own story
    without it. `kept` caches the table and the live story ids between pages (link_roundups clears
    it when a story changes)."""
    from pipeline.stories.embed import content_key, vectors_for
    from pipeline.stories.fields import kept_sums
    if "sums" not in kept:
        kept["sums"], kept["n"] = {}, {}
        for sid, n, v in kept_sums(db, model_key):
            kept["sums"][sid], kept["n"][sid] = v, n
        kept["units"] = {sid: v / (np.linalg.norm(v) or 1.0) for sid, v in kept["sums"].items()}
        kept["live"] = [r[0] for r in db.execute("SELECT id FROM stories WHERE merged_into IS NULL")]
    units, own = dict(kept["units"]), doc.get("story_id")
    if own in units:
        v = vectors_for(db, [content_key(doc)], model_key).get(content_key(doc)) if kept["n"][own] > 1 else None
        if v is None:
            del units[own]  # alone in its story (nothing to compare with), or read from its members
        else:
            rest = kept["sums"][own] - v
            units[own] = rest / (np.linalg.norm(rest) or 1.0)
    return units


def best_matches(vectors, cents):
    """For each vector, (story id, cosine) of the centroid it is closest to ((None, 0.0) without any)."""
    if not cents:
        return [(None, 0.0)] * len(vectors)
    ids = list(cents)
    sims = np.asarray(vectors, dtype=np.float32) @ np.vstack([cents[s] for s in ids]).T
    return [(ids[int(k)], float(row[k])) for row, k in zip(sims, sims.argmax(axis=1))]


def decide(page_match, matches):
    """Is a page with this best whole-page match and these per-section matches a roundup?"""
    strong = [sid for sid, s in matches if sid is not None and s >= SECTION_MATCH]
    if len(set(strong)) < MIN_STORIES or page_match[1] >= PAGE_MATCH:
        return False
    top = max(strong.count(sid) for sid in set(strong))
    return top <= MAX_SHARE * len(matches)


def links_of(secs, matches):
    """{story id: (section, score)} for each story some section matches strongly (its best section)."""
    out = {}
    for sec, (sid, s) in zip(secs, matches):
        if sid is not None and s >= SECTION_MATCH and s > out.get(sid, ("", 0.0))[1]:
            out[sid] = (sec[:SHOWN_CHARS], round(s, 4))
    return out


def check(db, doc, model=None, model_key=None, kept=None):
    """(why or None, links) for one document: why is "title" or "sections" for a roundup."""
    from pipeline.stories.embed import encode
    by_title, secs = title_roundup(doc.get("title")), sections(doc.get("text"))
    if len(secs) < MIN_STORIES and not by_title:
        return None, {}
    cents = story_centroids(db, doc, model_key, kept) if secs else {}
    if not cents:
        return ("title" if by_title else None), {}
    vecs = encode([" ".join(s.split())[:SECTION_CHARS] for s in secs], model=model)
    # The page as a whole: the mean of its sections (the document's own vector reads its opening only).
    whole = vecs.mean(axis=0)
    matches, page = best_matches(vecs, cents), best_matches([whole / (np.linalg.norm(whole) or 1.0)], cents)[0]
    why = "title" if by_title else "sections" if decide(page, matches) else None
    return why, (links_of(secs, matches) if why else {})


def link_roundups(db, model_name=None):
    """Check each assigned document not checked before; set roundups apart and link them to the
    stories they cover. Returns {"roundups": found, "roundup_links": links written}."""
    from pipeline.stories.embed import load_model, resolve_model
    key = resolve_model(model_name)[0]
    todo = list(db.query("SELECT id, title, text, published, story_id, canonical_url, url, content_hash "
                         "FROM documents WHERE story_id IS NOT NULL AND duplicate_of IS NULL AND id NOT IN "
                         "(SELECT document_id FROM roundup_checks) ORDER BY id"))
    counts, model, kept = {"roundups": 0, "roundup_links": 0}, None, {}  # kept: story sums, read once
    for doc in todo:
        if model is None and (len(sections(doc["text"])) >= MIN_STORIES or title_roundup(doc["title"])):
            model = load_model(model_name)  # only when some page has sections to compare
        why, links = check(db, doc, model, key, kept) if model is not None else (None, {})
        with db.conn:
            sid = set_apart(db, doc, key) if why else doc["story_id"]
            db["roundup_checks"].upsert({"document_id": doc["id"], "roundup": int(bool(why)), "why": why,
                                         "story_id": sid}, pk="document_id")
            db["roundup_links"].upsert_all([{"document_id": doc["id"], "story_id": s, "section": sec, "score": score}
                                            for s, (sec, score) in links.items()], pk=("document_id", "story_id"))
        if why:
            kept.clear()  # the story it left changed: its kept sum is read again
        counts["roundups"] += bool(why)
        counts["roundup_links"] += len(links)
    with db.conn:  # a copy that joined a roundup's story since (its story row remade) is set apart too
        db.execute("DELETE FROM stories WHERE id IN (SELECT story_id FROM roundup_checks WHERE roundup = 1)")
    return counts


def set_apart(db, doc, model_key):
    """Give the roundup a story id of its own with no `stories` row; the story it leaves (if others
    are in it) is refreshed without it. Returns the roundup's story id."""
    import hashlib
    from pipeline.stories.fields import refresh_stories
    sid = doc["story_id"]
    others = db.execute("SELECT count(*) FROM documents WHERE story_id = ? AND id != ? AND duplicate_of IS NULL",
                        [sid, doc["id"]]).fetchone()[0]
    if others:
        left, sid = sid, "r-" + hashlib.sha1(f"roundup:{doc['id']}:{doc['url']}".encode()).hexdigest()[:10]
        db.execute("UPDATE documents SET story_id = ? WHERE id = ? OR duplicate_of = ?", [sid, doc["id"], doc["id"]])
        refresh_stories(db, {left}, model=model_key)
    db.execute("DELETE FROM stories WHERE id = ?", [sid])
    db.execute("DELETE FROM story_centroids WHERE story_id = ?", [sid])
    return sid
