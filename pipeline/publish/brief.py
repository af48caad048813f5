"""One-page story briefs for podcast hosts, in show-prep order.

The story comes from the read model (story.py), the same documents, quotes and lead as the
digest and the story page. Every quote, number, question and summary sentence is a verbatim
slice of a source document and is checked against that text before it is shown. MSP takeaways
are playbook guidance and are labelled as such.
"""
import datetime
import json
import re

from pipeline.enrich import summarise
from pipeline.enrich.numbers import extract_numbers
from pipeline.enrich.quotes import quote_spans, social_author
from pipeline.enrich.reactions import SHOW_STANCE
from pipeline.enrich.sentences import BOILERPLATE_RE, sentence_spans, word_count
from pipeline.publish import llm as llm_hook, playbook
from pipeline.publish.render import render_brief_markdown  # noqa: F401  (callers import it from here)
from pipeline.publish.story import (StoryError, day, first_report, outlet, passage_link, quote_out,
                                    resolve_story, story_card_versions, story_facts, verified)

MAX_KEY_QUOTES = 8
MAX_NUMBERS = 6
MAX_QUESTIONS = 4

REACTIONS_METHOD = ("Listed without a for/against stance: the word-list stance was right on 11 of 14 "
                    "labelled real posts (python -m bench.stance), short of 9 in 10, so none is printed."
                    if not SHOW_STANCE else "Stance by a word list, right 9 times in 10 on labelled real posts.")
BriefError = StoryError     # the name callers (CLI, catalog, bench) catch


def resolve_story_id(db, story_id):
    """The surviving story for `story_id` (merged ids followed); BriefError if unknown."""
    resolved = resolve_story(db, story_id)
    if resolved is None:
        raise BriefError(f"story {story_id!r} not found; find one with `incidentwire stories --search WORDS` (or --week, --entity)")
    return resolved


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


COUNT_STOP = {"when", "that", "which", "who", "and", "then", "after", "before", "while", "since", "but", "as",
              "in", "on", "at", "for", "from", "by", "with", "than", "if", "because"}


def counted(value, sentence, max_words=4):
    """The number with what it counts, verbatim from its sentence: '84% of the time', '189 people'."""
    at = sentence.find(value)
    words = []
    for word in re.findall(r"[^\s]+", sentence[at + len(value):])[:max_words]:
        bare = word.strip("“”\"'’(),.;:!?")
        if not bare or bare.lower() in COUNT_STOP or not re.match(r"[A-Za-z]", bare):
            break
        words.append(bare)
        if bare != word.rstrip():      # punctuation after the word ends the phrase
            break
    phrase = " ".join([value] + words)
    return phrase if phrase in sentence else value


def numbers(docs, terms):
    """Numbers to say aloud, each with what it counts, one a sentence: on-story sentences first,
    boilerplate (prices, plans) left out."""
    found = []
    for doc in docs:
        for n in extract_numbers(doc.get("text") or "", terms):
            if n["score"] < 1 or not verified(n["sentence"], doc) or n["value"] not in n["sentence"]:
                continue
            found.append(dict(n, document_id=doc["id"], outlet=outlet(doc), url=doc.get("url"),
                              date=day(doc.get("published")), counts=counted(n["value"], n["sentence"])))
    found.sort(key=lambda n: (-n["score"], n["date"], n["document_id"], n["position"]))
    seen, sentences, out = set(), set(), []
    for n in found:
        if n["value"] in seen or n["sentence"] in sentences:
            continue
        seen.add(n["value"])
        sentences.add(n["sentence"])
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


def clock(iso):
    """'16:43 UTC' from an ISO time; None for a date alone (a midnight with no time is no time)."""
    iso = iso or ""
    if len(iso) < 16 or iso[10] != "T" or iso[11:19] == "00:00:00":
        return None
    return iso[11:16] + " UTC"


def timeline(docs, lead=None):
    """Story beats with dates: the first report, each article (follow-ups), and social posts grouped
    into one line per day ("3 posts: A, B, C") rather than one line a post."""
    events = []
    for doc in docs:
        date, time = day(doc.get("published")), clock(doc.get("published"))
        if doc.get("kind") == "social":
            who, _handle = social_author(doc)
            last = events[-1] if events else None
            if last and last["kind"] == "social" and last["date"] == date:
                last["people"] += [who] if who and who not in last["people"] else []
                last["n"] += 1
            else:
                events.append({"date": date, "time": time, "kind": "social", "people": [who] if who else [], "n": 1,
                               "source": outlet(doc), "url": doc.get("url"), "document_id": doc["id"]})
            continue
        beat = story_beat(doc, lead, events)
        events.append({"date": date, "time": time, "what": f"{beat}: {doc.get('title') or '(untitled)'}", "source": outlet(doc),
                       "url": doc.get("url"), "kind": doc.get("kind"), "document_id": doc["id"]})
    for e in events:
        if e["kind"] == "social":
            n, people = e.pop("n"), e.pop("people")
            e["what"] = (f"Reactions: {n} posts" if n > 1 else "Reaction: a post") + (f" by {', '.join(people)}" if people else "")
    return events


CORRECTION_RE = re.compile(r"\b(?:correction|corrected|clarif\w*|update[sd]?|retract\w*|apolog\w*)\b", re.I)


def story_beat(doc, lead, events):
    """What a document is in the story: the first report, a primary disclosure (the maker's own
    system card or post), a correction or update, a follow-up (after the first report), or a report."""
    if lead and doc["id"] == lead["document_id"]:
        return "First report"
    if doc.get("kind") in ("system_card", "blog"):
        return "Primary disclosure"
    if CORRECTION_RE.search(doc.get("title") or ""):
        return "Correction or update"
    if any(e.get("what", "").startswith("First report") for e in events):
        return "Follow-up"
    return "Report"


def cold_open_note(opener, articles, docs, lead):
    """When no sentence of the reporting opens the story: a sentence that is true of it, or None."""
    if opener:
        return None
    if not articles:
        return f"No articles yet, only {len(docs)} social post{'s' if len(docs) != 1 else ''}: see the reactions below."
    if lead:
        return f"{lead['outlet']} first reported it on {lead['date']}: “{lead['title'] or 'untitled'}”."
    return None


def brief_primary(primary, urls):
    """'What the source says' for the brief: each primary source with its passages, each passage
    linked at the source (a text fragment) or, when the source has no public address, in the
    public catalog's record of it; and the claims not found, per outlet."""
    catalog = urls.get("catalog")
    sources = []
    for s in primary["sources"]:
        record = f"{catalog}/incidentwire/documents/{s['document_id']}" if catalog else None
        passages = [{"text": p["passage"], "outlets": p["covered_by_outlets"], "matched_by": p["matched_by"],
                     "link": p["link"] or (record + p["anchor"] if record else None)} for p in s["passages"]]
        sources.append({k: s[k] for k in ("document_id", "title", "why_text", "outlet", "date", "url", "partial",
                                           "comparable", "words")} | {"record": record, "passages": passages,
                                                        "url": s["url"] if passage_link(s["url"], "") else None})
    not_found = [{"outlet": g["outlet"], "flags": [{k: f[k] for k in ("claim", "kind", "sentence", "url", "date",
                                                                       "source_title", "source_partial")}
                                                    for f in g["flags"]]} for g in primary["not_found"]]
    return {"sources": sources, "claims_checked": primary["claims_checked"], "claims_found": primary["claims_found"],
            "not_found": not_found}


def card_changes(db, story_id, urls):
    """Edits of the system cards this story draws on (each version after a card's first), with the
    catalog's "what changed" page: the card a host reads today may not say what the coverage quoted."""
    if "card_version_stories" not in db.table_names():
        return []
    catalog = urls.get("catalog")
    return [{"title": v["title"], "date": (v["seen"] or "")[:10], "summary": v["summary"],
             "silent": bool(v["silent_edit"]), "link": f"{catalog}/cards/{v['document_id']}" if catalog else None}
            for v in story_card_versions(db, story_id) if v["silent_edit"] is not None]


def slugify(text):
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:60].rstrip("-") or "story"


def build_brief(db, story_id, base_url=None):
    """The brief for `story_id` (merged ids followed) as a JSON-ready dict."""
    resolved = resolve_story_id(db, story_id)
    facts = story_facts(db, resolved, base_url)
    story, docs, articles = facts["story"], facts["docs"], facts["articles"]
    headline = story.get("headline") or docs[0].get("title") or resolved
    lead = first_report(facts["lead"])
    opener = summarise.cold_open(articles, facts["titles"], lead_id=lead["document_id"] if lead else None)
    msp = playbook.takeaways(facts["areas"], facts["specifics"], n=3, categories=facts["categories"])
    msp_text, msp_model = llm_hook.rewrite("msp", "\n".join(msp), facts)
    result = {
        "id": resolved,
        "requested_id": str(story_id) if str(story_id) != resolved else None,
        "slug": slugify(headline),
        "headline": headline,
        "first_report": lead,
        "cold_open": [{"text": s["text"], "outlet": s["publisher"], "url": s["url"], "document_id": s["document_id"]}
                      for s in opener],
        "cold_open_note": cold_open_note(opener, articles, docs, lead),
        "overview": facts["overview"], "excerpt": facts["excerpt"],
        "summary": facts["summary"],
        "summary_sentences": [{"text": s["text"], "outlet": s["publisher"], "url": s["url"],
                               "document_id": s["document_id"]} for s in facts["summary_sentences"]],
        "primary": brief_primary(facts["primary"], facts["urls"]),
        "card_changes": card_changes(db, resolved, facts["urls"]),
        "also_covered_in": [{k: r[k] for k in ("title", "outlet", "date", "url", "document_id")}
                            for r in facts["also_covered_in"]],
        "timeline": timeline(docs, lead),
        "key_quotes": [quote_out(q) for q in key_quotes(facts["quotes"], facts["terms"])],
        "numbers": [{"value": n["value"], "counts": n["counts"], "sentence": n["sentence"], "outlet": n["outlet"], "url": n["url"],
                     "date": n["date"], "document_id": n["document_id"]} for n in numbers(docs, facts["terms"])],
        "reactions": [dict(quote_out(q), via=q["via"], **({"stance": q["stance"]} if SHOW_STANCE else {}))
                      for q in facts["reactions"]],
        "reactions_method": REACTIONS_METHOD,
        "msp_takeaways": msp,
        "msp_takeaways_note": "generated guidance from the incidentwire MSP playbook, keyed on the story's categories",
        "msp_takeaways_llm": msp_text if msp_model else None,
        "llm_model": msp_model,
        "open_questions": open_questions(articles),
        "categories": facts["categories"],
        "msp_areas": [playbook.AREAS[a]["label"] for a in facts["areas"]],
        "sources": facts["sources"],
        "urls": facts["urls"],
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return result


def brief_json(brief):
    return json.dumps(brief, indent=2, ensure_ascii=False)
