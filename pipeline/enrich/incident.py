"""An incident record per story, as the AI Incident Database keeps one, drawn only from the texts.

- event date, kept apart from the report dates: the earliest system card or post of a lab or
  company the story names (its primary source), else the earliest report (a post only when there is
  nothing else), else the first date a text states;
- developer: the lab or company whose model or product the texts name (the gazetteer knows whose
  it is), with the sentence that names it; deployer and harmed parties only where a sentence says
  so in a general pattern ("X deployed an AI system", "patients were wrongly denied"); a field no
  sentence supports stays empty;
- severity (low / medium / high), generated, with every reason quoting the words that triggered it:
  real-world harm, data exposed, money lost, people affected, legal action, and, lowering the
  estimate when no real-world harm is stated, a test scenario. A cue right after a negation
  ("no data was exposed") does not count.
"""
import re

from pipeline.enrich.card_diff import DATE_RE
from pipeline.enrich.sentences import sentence_spans
from pipeline.stories.entities import GAZETTEER, IMPLIES, extract_entities

KINDS = {eid: kind for eid, _, kind, _ in GAZETTEER}
NAMES = {eid: name for eid, name, _, _ in GAZETTEER}
ALIASES = {eid: [a.lower() for a in aliases] for eid, _, _, aliases in GAZETTEER}
ORGS = ("lab", "company")
MAX_SENTENCES = 400          # per document: the opening of a long card or article says what happened
QUOTE_CHARS = 280
PARTY_NEAR = 60              # characters between a harm word and the group it names
NEGATION = re.compile(r"\b(?:no|not|never|without|nor|none|neither)\b(?:\W+\w+){0,3}\W*$", re.I)
PARTY = (r"(?:(?:\d[\d,.]*(?:\s(?:million|thousand|hundred))?|thousands of|millions of|hundreds of|many|some|"
         r"several)\s+)?(?:(?:black|elderly|young|vulnerable|innocent|local|minority)\s+)?(?:customers|users|patients|drivers|pedestrians|passengers|employees|workers|"
         r"students|children|teenagers|minors|women|black people|people of colou?r|applicants|tenants|residents|"
         r"voters|consumers|families|citizens|job seekers|borrowers|taxpayers|defendants|prisoners|"
         r"motorists|cyclists|shoppers)")
PARTY_RE = re.compile(rf"\b{PARTY}\b", re.I)
HARM_RE = re.compile(r"\b(?:harmed|injured|killed|died|victims?|discriminat\w+|wrongly|wrongfully|falsely|mistakenly|"
                     r"misidentif\w+|defamed|denied|exposed|leaked|stolen|defrauded|scammed|targeted|"
                     r"bias(?:ed)? against)\b", re.I)
DEPLOYER_RE = re.compile(
    r"\b((?:[A-Z][\w&.'’-]*\s+){0,3}[A-Z][\w&.'’-]*)\s+(?:has |had |have )?(?:deployed|rolled out|used|uses|"
    r"is using|was using|relied on|relies on|adopted|introduced)\s+(?:an?\s+|its\s+|the\s+|their\s+)?"
    r"(?:[\w-]+\s+){0,3}?(?:AI|algorithms?|system|software|chatbot|tool|facial recognition|robots?|agent)\b")
NOT_NAMES = {"the", "this", "that", "it", "they", "we", "he", "she", "i", "you", "researchers", "a", "an",
             "some", "many", "users", "people", "companies", "if", "when", "and", "but", "its", "their"}
TEST_RE = re.compile(r"\b(?:in testing|during testing|test scenarios?|in (?:a |the )?tests?|simulated|fictional|"
                     r"hypothetical|red[- ]team\w*|pre-deployment|safety testing|controlled experiment|"
                     r"research setting)\b", re.I)
CUES = [  # (reason, weight, pattern, a pattern the same sentence must also hold or None)
    ("real-world harm", 3, re.compile(r"\b(?:died|killed|deaths?|injur(?:ed|ies|y)|hospitali[sz]ed|suicide|"
                                      r"wrongful(?:ly)? (?:arrest|convict)\w*|arrested|(?:sent|taken|rushed) to (?:the )?hospital)\b", re.I), None),
    ("data exposed", 2, re.compile(r"\b(?:data breach|breached|leak(?:ed|s)?|exposed (?:\w+ ){0,3}(?:data|"
                                   r"information|records|details|conversations|chats)|personal (?:data|"
                                   r"information)|private (?:data|information|conversations))\b", re.I), None),
    ("money lost", 2, re.compile(r"(?:[$€£]\s?\d[\d,.]*(?:\s?(?:million|billion|bn|m|k)\b)?|\b\d[\d,.]*\s?"
                                 r"(?:million|billion) (?:dollars|euros|pounds))", re.I),
     re.compile(r"\b(?:lost|loss|losses|stole|stolen|fraud\w*|scam\w*|fined?|damages|refund\w*|cost)\b", re.I)),
    ("people affected", 1, re.compile(r"\b(?:\d[\d,.]*(?:\s(?:million|thousand|hundred))?|thousands of|millions of|"
                                      r"hundreds of)\s+(?:people|users|customers|patients|drivers|employees|workers|"
                                      r"students|children|accounts|residents|applicants|victims)\b", re.I), None),
    ("legal action", 1, re.compile(r"\b(?:lawsuit|sued|suing|class action|court ruled|judicial review)\b", re.I),
     None),
]
LEVELS = ("low", "medium", "high")


def story_sentences(documents):
    """(document, sentence text, start) for the sentences of every document, titles first."""
    for d in documents:
        text = d.get("text") or ""
        for k, (s, e) in enumerate(sentence_spans(text)):
            if k >= MAX_SENTENCES:
                break
            yield d, text[s:e], s


def quote(sentence, match):
    """The sentence, or a verbatim window of it around the match when it is long."""
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    start = max(0, match.start() - QUOTE_CHARS // 2)
    return sentence[start:start + QUOTE_CHARS].strip()


def evidence(doc, sentence, match, **extra):
    """Where a field or reason comes from: the words that matched, the sentence around them, the document."""
    return dict(extra, phrase=match.group(0), quote=quote(sentence, match), document_id=doc["id"],
                url=doc.get("url"), outlet=doc.get("publisher") or doc.get("site"))


def negated(sentence, match):
    return bool(NEGATION.search(sentence[:match.start()]))


def _day(value):
    return (value or "")[:10] or None


def subject_orgs(story, documents):
    """Labs and companies the story names (its entities, else its texts)."""
    ids = story.get("entity_ids") or []
    if not ids:
        ids = extract_entities(" ".join((d.get("title") or "") for d in documents))
    return [e for e in ids if KINDS.get(e) in ORGS]


def from_org(doc, orgs):
    """The lab or company among `orgs` that published `doc`, by its publisher name."""
    publisher = (doc.get("publisher") or "").lower()
    return next((o for o in orgs if any(publisher == a or publisher.startswith(a + " ") for a in ALIASES[o])), None)


def event_date(story, documents):
    """{date, basis, document_id, url} (see the module docstring), or None when nothing is dated."""
    dated = [d for d in documents if d.get("published")]
    orgs = subject_orgs(story, documents) + [e for e in KINDS if KINDS[e] in ORGS]  # the story's own first
    primary = [d for d in dated if d.get("kind") in ("system_card", "blog") and from_org(d, orgs)]
    if primary:
        d = min(primary, key=lambda x: x["published"])
        kind = "system card" if d["kind"] == "system_card" else "post"
        return {"date": _day(d["published"]), "basis": f"the earliest {kind} of {NAMES[from_org(d, orgs)]}",
                "document_id": d["id"], "url": d.get("url")}
    reports = [d for d in dated if d.get("kind") != "social"] or dated
    if reports:
        d = min(reports, key=lambda x: x["published"])
        return {"date": _day(d["published"]), "basis": "the earliest report", "document_id": d["id"], "url": d.get("url")}
    for d, sentence, _ in story_sentences(documents):
        m = DATE_RE.search(sentence)
        if m:
            return {"date": m.group(0), "basis": "a date the texts state", "document_id": d["id"], "url": d.get("url"),
                    "quote": quote(sentence, m)}
    return None


def developer(documents):
    """[{name, model, ...evidence}]: whose model or product the texts name (one per organisation)."""
    out, seen = [], set()
    for d, sentence, _ in story_sentences(documents):
        found = extract_entities(sentence)
        for eid in found:
            if KINDS.get(eid) not in ("model", "product"):
                continue
            owner = next((o for o in IMPLIES.get(eid, []) if KINDS.get(o) in ORGS), None)
            named = next((m for m in (re.search(rf"\b{re.escape(a)}\b", sentence, re.I) for a in ALIASES[eid]) if m),
                         None)
            if owner and owner not in seen and named:
                seen.add(owner)
                out.append(evidence(d, sentence, named, name=NAMES[owner], model=NAMES[eid]))
    return out[:2]


def deployers(documents):
    """[{name, ...evidence}] of sentences that say an organisation deployed or used an AI system."""
    out, seen = [], set()
    for d, sentence, _ in story_sentences(documents):
        for m in DEPLOYER_RE.finditer(sentence):
            name = m.group(1).strip()
            words = name.split()
            while words and words[0].lower() in NOT_NAMES:
                words = words[1:]
            name = " ".join(words)
            if not name or name.lower() in seen or TEST_RE.search(sentence) or negated(sentence, m):
                continue
            seen.add(name.lower())
            out.append(evidence(d, sentence, m, name=name))
    return out[:3]


def harmed_parties(documents):
    """[{party, ...evidence}]: groups a sentence names beside a harm, outside any test scenario."""
    out, seen = [], set()
    for d, sentence, _ in story_sentences(documents):
        harm = HARM_RE.search(sentence)
        if not harm or negated(sentence, harm) or TEST_RE.search(sentence):
            continue
        for m in PARTY_RE.finditer(sentence):
            if abs(m.start() - harm.start()) > PARTY_NEAR:
                continue    # a group named far from the harm is not said to suffer it
            party = " ".join(m.group(0).split())
            if party.lower() not in seen:
                seen.add(party.lower())
                out.append(evidence(d, sentence, m, party=party))
    return out[:5]


def severity(documents):
    """{level, score, reasons, generated}: each reason names its cue and quotes the words that set it off."""
    reasons, test = {}, None
    for d, sentence, _ in story_sentences(documents):
        for reason, weight, pattern, needs in CUES:
            if reason in reasons:
                continue
            m = pattern.search(sentence)
            if m and not negated(sentence, m) and (needs is None or needs.search(sentence)):
                reasons[reason] = evidence(d, sentence, m, reason=reason, weight=weight)
        if test is None:
            m = TEST_RE.search(sentence)
            test = evidence(d, sentence, m, reason="test scenario", weight=-1) if m else None
    score = sum(r["weight"] for r in reasons.values())
    level = 2 if score >= 4 or "real-world harm" in reasons else 1 if score >= 2 else 0
    shown = list(reasons.values())
    if test and "real-world harm" not in reasons:
        level = max(0, level - 1)
        shown.append(test)
    return {"level": LEVELS[level], "score": score, "reasons": shown, "generated": True}


def incident_record(story, documents, categories=(), related=()):
    """The incident record of a story (its row, its documents in reading order with their texts)."""
    dates = sorted(d["published"] for d in documents if d.get("published"))
    return {
        "story_id": story.get("id"),
        "event_date": event_date(story, documents),
        "reports": {"first": _day(dates[0]) if dates else None, "last": _day(dates[-1]) if dates else None,
                    # the story's own count (copies included), as its page and the digest say it
                    "count": story.get("n_documents") or len(documents)},
        "developer": developer(documents),
        "deployer": deployers(documents),
        "harmed_parties": harmed_parties(documents),
        "categories": list(categories),
        "similar_stories": list(related),
        "severity": severity(documents),
        "generated": True,
    }
