"""One-page story briefs for podcast hosts, in show-prep order; also the story facts the digest uses.

Every quote, number, question and summary sentence is a verbatim slice of a source document
and is checked against that text before it is shown. MSP takeaways are playbook guidance and
are labelled as such.
"""
import datetime
import json
import os
import re

from pipeline.enrich import summarise
from pipeline.enrich.numbers import extract_numbers
from pipeline.enrich.quotes import document_quotes, quote_spans, social_author
from pipeline.enrich.reactions import AGAINST, FOR, reaction_stance
from pipeline.enrich.sentences import BOILERPLATE_RE, sentence_spans, word_count
from pipeline.publish import playbook
from pipeline.publish.render import render_brief_markdown  # noqa: F401  (callers import it from here)

DEFAULT_CATALOG_URL = "http://127.0.0.1:8001"
MAX_KEY_QUOTES = 8
MAX_NUMBERS = 6
MAX_QUESTIONS = 4
STOP = set("""a an the and or but of to in on for with at by from as is are was were be been it its this that
these those will would can could should may might has have had not no yes about into over after before
than then so if when what which who whom how why new says said week year more most also just""".split())


class BriefError(Exception):
    """A brief cannot be built; the message is one sentence naming the bad input."""


def catalog_url(base_url=None):
    """The catalog base URL: argument, then $INCIDENTWIRE_CATALOG_URL, then the local default."""
    return (base_url or os.environ.get("INCIDENTWIRE_CATALOG_URL") or DEFAULT_CATALOG_URL).rstrip("/")


def resolve_story_id(db, story_id):
    """Follow story_redirects and merged_into to the surviving story; BriefError if unknown."""
    seen = set()
    current = str(story_id).strip()
    while current not in seen:
        seen.add(current)
        row = db.execute("select new_id from story_redirects where old_id = ?", [current]).fetchone() \
            if "story_redirects" in db.table_names() else None
        if row and row[0]:
            current = row[0]
            continue
        story = db.execute("select merged_into from stories where id = ?", [current]).fetchone()
        if story and story[0]:
            current = story[0]
            continue
        if story:
            return current
        break
    raise BriefError(f"story {story_id!r} not found; list stories with `incidentwire status` or the catalog's stories table")


def story_row(db, story_id):
    rows = list(db.query("select * from stories where id = ?", [story_id]))
    return rows[0] if rows else None


def story_documents(db, story_id):
    """The story's documents (syndicated copies left out), oldest first."""
    ids = [story_id] + [r["old_id"] for r in db.query(
        "select old_id from story_redirects where new_id = ?", [story_id])]
    marks = ",".join("?" * len(ids))
    return list(db.query(
        # the canonical URL is the stable public one; `url` may be where a mirror served it
        f"select id, coalesce(canonical_url, url) as url, url as fetched_url, kind, publisher, site, title, author, "
        f"published, text, extra "
        f"from documents where story_id in ({marks}) and duplicate_of is null "
        f"order by coalesce(published, '9999'), id", ids))


def outlet(doc):
    return doc.get("publisher") or doc.get("site") or "unknown outlet"


def day(iso):
    return (iso or "")[:10] or "undated"


def story_terms(story, docs):
    """Words that say what the story is about: headline and titles, stop words removed."""
    text = " ".join([story.get("headline") or ""] + [d.get("title") or "" for d in docs])
    return {w for w in re.findall(r"[a-z][a-z\-]{2,}", text.lower()) if w not in STOP}


def verified(snippet, doc):
    """True when `snippet` is a verbatim slice of the document's text."""
    return bool(snippet) and snippet in (doc.get("text") or "")


def story_quotes(docs):
    """Every verbatim quote in the story's documents, with the document it came from."""
    out = []
    for doc in docs:
        for q in document_quotes(doc):
            if not verified(q["text"], doc):
                continue    # defensive: a quote we cannot find verbatim is never shown
            out.append(dict(q, document_id=doc["id"], outlet=outlet(doc), url=doc.get("url"),
                            date=day(doc.get("published")), kind=doc.get("kind")))
    return out


def key_quotes(quotes, terms, limit=MAX_KEY_QUOTES):
    """Article quotes worth reading aloud: each speaker's most on-story quote first, then the rest, in reading order."""
    pool = [q for q in quotes if q["kind"] != "social"]

    def score(q):
        words = set(re.findall(r"[a-z][a-z\-]+", q["text"].lower()))
        n = word_count(q["text"])
        return (1 if q["speaker"] else 0, len(words & terms) + (2 if 8 <= n <= 90 else 0))

    best = {}
    for q in pool:
        key = q["speaker"] or f"unattributed:{q['document_id']}:{q['position']}"
        if key not in best or score(q) > score(best[key]):
            best[key] = q
    chosen = sorted(best.values(), key=score, reverse=True)[:limit]
    chosen.sort(key=lambda q: (q["date"], q["document_id"], q["position"]))
    return chosen


def lead_quote(quotes, terms):
    """The one quote for a digest: attributed, from a person in an article, on-story, not too long."""
    ranked = [q for q in quotes if q["speaker"]] or quotes
    if not ranked:
        return None

    def score(q):
        words = set(re.findall(r"[a-z][a-z\-]+", q["text"].lower()))
        n = word_count(q["text"])
        return (q["kind"] != "social", 10 <= n <= 60, bool(q.get("role")), len(words & terms), -q["position"])

    return max(ranked, key=score)


def reactions(docs, quotes):
    """Social posts in the story with a lexicon stance; article-quoted reactions when there are no posts."""
    posts = [q for q in quotes if q["kind"] == "social"]
    source = "social posts"
    if not posts:
        # people only (a handle or a full name): an organisation's statement is not a reaction
        posts = [q for q in quotes if q["speaker"] and q["kind"] != "social"
                 and (q["speaker"].startswith("@") or len(q["speaker"].split()) >= 2)
                 and (q["speaker"].startswith("@") or " on X" in (q.get("role") or "")
                      or AGAINST.search(q["text"]) or FOR.search(q["text"]))]
        source = "quoted in coverage"
    out = []
    for q in posts:
        out.append(dict(q, stance=reaction_stance(q["text"]), via=source))
    return out


def numbers(docs, terms):
    """Numbers to say aloud: on-story sentences first, boilerplate (prices, plans) left out."""
    found = []
    for doc in docs:
        for n in extract_numbers(doc.get("text") or "", terms):
            if n["score"] < 1 or not verified(n["sentence"], doc) or n["value"] not in n["sentence"]:
                continue
            found.append(dict(n, document_id=doc["id"], outlet=outlet(doc), url=doc.get("url"),
                              date=day(doc.get("published"))))
    found.sort(key=lambda n: (-n["score"], n["date"], n["document_id"], n["position"]))
    seen, out = set(), []
    for n in found:
        if n["value"] in seen:
            continue
        seen.add(n["value"])
        out.append(n)
    return out[:MAX_NUMBERS]


def open_questions(docs, limit=MAX_QUESTIONS):
    """Question sentences from the sources (not inside quotes), verbatim."""
    out, seen = [], set()
    for doc in docs:
        if doc.get("kind") == "social":
            continue
        text = doc.get("text") or ""
        quoted = [(a, b) for a, b in quote_spans(text)]
        for s, e in sentence_spans(text):
            sent = text[s:e]
            if not sent.endswith("?") or not 6 <= word_count(sent) <= 45:
                continue
            if any(a <= s <= b or a <= e - 1 <= b for a, b in quoted):
                continue
            if BOILERPLATE_RE.search(sent) or sent in seen:
                continue
            seen.add(sent)
            out.append({"text": sent, "outlet": outlet(doc), "url": doc.get("url"), "document_id": doc["id"]})
    return out[:limit]


def timeline(docs):
    events = []
    for doc in docs:
        if doc.get("kind") == "social":
            who, _handle = social_author(doc)
            what = f"Post by {who}" if who else "Social post"
        else:
            what = doc.get("title") or "(untitled)"
        events.append({"date": day(doc.get("published")), "what": what, "source": outlet(doc),
                       "url": doc.get("url"), "kind": doc.get("kind")})
    return events


def sources(docs):
    return [{"outlet": outlet(d), "title": d.get("title"), "url": d.get("url"), "date": day(d.get("published")),
             "kind": d.get("kind")} for d in docs]


def slugify(text):
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:60].rstrip("-") or "story"


def first_report(story, docs):
    lead = next((d for d in docs if d["id"] == story.get("lead_document_id")), None)
    articles = [d for d in docs if d.get("kind") != "social"] or docs
    lead = lead or (articles[0] if articles else None)
    return {"outlet": outlet(lead), "date": day(lead.get("published")), "url": lead.get("url"),
            "title": lead.get("title"), "document_id": lead["id"]} if lead else None


def story_facts(db, story_id, base_url=None):
    """Everything the brief and the digest show about one story (already verified)."""
    story = story_row(db, story_id)
    docs = story_documents(db, story_id)
    if not docs:
        raise BriefError(f"story {story_id!r} has no documents to brief from")
    terms = story_terms(story, docs)
    # summaries come from reporting; a story of social posts alone has its posts as quotes instead
    articles = [d for d in docs if d.get("kind") != "social"]
    titles = " ".join([story.get("headline") or ""] + [d.get("title") or "" for d in articles or docs])
    summary, summary_sents = summarise.summarise(articles, title_text=titles)
    quotes = story_quotes(docs)
    categories = playbook.story_categories(story)
    if not categories:
        from pipeline.stories.entities import categorise
        categories = categorise(" ".join((d.get("title") or "") + "\n" + (d.get("text") or "")[:5000] for d in articles or docs))
    all_text = "\n".join(d.get("text") or "" for d in docs)
    areas = playbook.msp_areas(categories, all_text)
    specifics = playbook.story_specifics(db, story_id, all_text)
    base = catalog_url(base_url)
    return {
        "story": story, "docs": docs, "articles": articles, "terms": terms, "titles": titles,
        "summary": summary, "summary_sentences": summary_sents, "quotes": quotes,
        "categories": categories, "areas": areas, "specifics": specifics,
        "urls": {"story": f"{base}/stories/{story_id}", "brief": f"{base}/stories/{story_id}/brief",
                 "catalog": base},
    }


def build_brief(db, story_id, base_url=None):
    """The brief for `story_id` (merged ids followed) as a JSON-ready dict."""
    resolved = resolve_story_id(db, story_id)
    facts = story_facts(db, resolved, base_url)
    story, docs, articles = facts["story"], facts["docs"], facts["articles"]
    headline = story.get("headline") or docs[0].get("title") or resolved
    lead = first_report(story, docs)
    opener = summarise.cold_open(articles, facts["titles"], lead_id=lead["document_id"] if lead else None)
    msp = playbook.takeaways(facts["areas"], facts["specifics"], n=3, categories=facts["categories"])
    from pipeline.publish import llm as llm_hook
    msp_text, msp_model = llm_hook.rewrite("msp", "\n".join(msp), facts)
    result = {
        "id": resolved,
        "requested_id": str(story_id) if str(story_id) != resolved else None,
        "slug": slugify(headline),
        "headline": headline,
        "first_report": first_report(story, docs),
        "cold_open": [{"text": s["text"], "outlet": s["publisher"], "url": s["url"], "document_id": s["document_id"]}
                      for s in opener],
        "summary": facts["summary"],
        "summary_sentences": [{"text": s["text"], "outlet": s["publisher"], "url": s["url"],
                               "document_id": s["document_id"]} for s in facts["summary_sentences"]],
        "timeline": timeline(docs),
        "key_quotes": [_quote_out(q) for q in key_quotes(facts["quotes"], facts["terms"])],
        "numbers": [{"value": n["value"], "sentence": n["sentence"], "outlet": n["outlet"], "url": n["url"],
                     "date": n["date"], "document_id": n["document_id"]} for n in numbers(docs, facts["terms"])],
        "reactions": [dict(_quote_out(q), stance=q["stance"], via=q["via"]) for q in reactions(docs, facts["quotes"])],
        "reactions_method": "stance by a small word list (lexicon), not a model: check before quoting",
        "msp_takeaways": msp,
        "msp_takeaways_note": "generated guidance from the incidentwire MSP playbook, keyed on the story's categories",
        "msp_takeaways_llm": msp_text if msp_model else None,
        "llm_model": msp_model,
        "open_questions": open_questions(articles),
        "categories": facts["categories"],
        "msp_areas": [playbook.AREAS[a]["label"] for a in facts["areas"]],
        "sources": sources(docs),
        "urls": facts["urls"],
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return result


def _quote_out(q):
    return {"text": q["text"], "speaker": q["speaker"], "role": q.get("role"), "outlet": q["outlet"],
            "date": q["date"], "url": q["url"], "document_id": q["document_id"], "position": q["position"]}


def brief_json(brief):
    return json.dumps(brief, indent=2, ensure_ascii=False)
