"""A story's primary sources and the passages of them that its coverage draws on.

A document is a primary source of its story by general signals only, never by id or title:
- a system card or model card (documents.kind 'system_card');
- a paper (arxiv.org/abs|pdf, openreview.net, aclanthology.org, doi.org addresses);
- a court filing (courtlistener.com, a docket or a court's .gov address);
- a vendor advisory (an address with "advisory"/"advisories"/"security-bulletin", the NVD or
  CVE record pages);
- the maker's own post: a lab or vendor blog ('blog' kind) whose publisher the story is about
  (its first word is one of the story's entities or in its headline).
A passage is a stretch of the source's sentences that the coverage shares: a quote of four or
more words, a number with its unit, or a phrase of six or more words with at least three that
are not stop words, one of them long (seven letters or more: rare enough not to be chance).
"""
import re

from pipeline.enrich.numbers import NUMBER_RE
from pipeline.enrich.quotes import quote_spans
from pipeline.enrich.sentences import word_count
from pipeline.enrich.source_match import Source, enclosing, loose_spans, number_key, text_fragment
from pipeline.stopwords import english

MIN_SOURCE_WORDS = 40       # a title-only feed entry has nothing to compare with
QUOTE_WORDS = 4
PHRASE_WORDS = 6
URL_KINDS = (
    ("paper", re.compile(r"//(?:[\w.-]+\.)?(?:arxiv\.org/(?:abs|pdf)/|openreview\.net/|aclanthology\.org/|doi\.org/10\.)", re.I)),
    ("court filing", re.compile(r"//(?:[\w.-]+\.)?(?:courtlistener\.com/|pacer\.uscourts\.gov|uscourts\.gov/.*\.pdf)|/docket", re.I)),
    ("vendor advisory", re.compile(r"/(?:security[-_]?)?advisor(?:y|ies)(?:/|$|\?)|/GHSA-|security[-_]bulletin|"
                                   r"/security/bulletins?/|nvd\.nist\.gov/vuln|cve\.org/CVERecord", re.I)),
)
# SQL over `documents d` that is true for a document source_kind may take (a cheap first cut)
CANDIDATE_SQL = "(d.kind in ('system_card', 'blog') or " + " or ".join(
    f"lower(coalesce(d.canonical_url, d.url)) like '%{p}%'" for p in (
        "arxiv.org/", "openreview.net/", "aclanthology.org/", "doi.org/10.", "courtlistener.com/", "uscourts.gov",
        "docket", "advisor", "ghsa-", "security_bulletin", "security-bulletin", "/security/bulletin", "nvd.nist.gov/vuln", "cve.org/cverecord")) + ")"
WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def story_subjects(story):
    """Lower-case words naming what the story is about: its entity ids and headline words."""
    import json
    try:
        entities = json.loads(story.get("entities") or "[]")
    except ValueError:
        entities = []
    words = {str(e).lower() for e in entities if e} | {w.lower() for w in WORD_RE.findall(story.get("headline") or "")}
    return {w for w in words if len(w) > 2 and w not in english()}


def source_kind(doc, subjects):
    """What makes `doc` a primary source ('system card', 'paper', …), or None."""
    if doc.get("kind") == "system_card":
        return "system card"
    url = doc.get("url") or ""
    for kind, pattern in URL_KINDS:
        if pattern.search(url):
            return kind
    first = (WORD_RE.findall(doc.get("publisher") or "") or [""])[0].lower()
    if doc.get("kind") == "blog" and first and first in subjects:
        return "own post"
    return None


def primary_sources(story, docs):
    """[(doc, kind)] of the story's documents that are primary sources, in reading order."""
    subjects = story_subjects(story)
    found = [(d, source_kind(d, subjects)) for d in docs if not d.get("duplicate_of")]
    return [(d, k) for d, k in found if k]


def maker_names(docs):
    """The names a primary source's maker goes by: its publisher, and that name's first word."""
    names = set()
    for d in docs:
        publisher = (d.get("publisher") or "").strip()
        if publisher:
            names.add(publisher)
            first = publisher.split()[0]
            if len(first) > 2 and first[0].isupper() and first.lower() not in english():
                names.add(first)
    return names


def _ngrams(text, n):
    words = [(m.group().lower(), m.start(), m.end()) for m in WORD_RE.finditer(text or "")]
    for k in range(len(words) - n + 1):
        yield tuple(w for w, _, _ in words[k:k + n]), words[k][1], words[k + n - 1][2]


def _distinctive(gram):
    content = [w for w in gram if w not in english()]
    return len(content) >= 3 and any(len(w) >= 7 for w in content)


def shared_spans(source, text):
    """[(start, end, matched_by)] in the source's text that `text` (one coverage document) shares."""
    hits = []
    for a, b in quote_spans(text):
        body = text[a + 1:b]
        if word_count(body) >= QUOTE_WORDS:
            span = source.find_quote(body)
            if span and span[1] > span[0]:
                hits.append((span[0], span[1], "quote"))
    for m in NUMBER_RE.finditer(text):
        key = number_key(m.group())
        if key and key[1]:          # with a unit: '84%', '$2 million', '3x'
            span = source.numbers.get(key)
            if span:
                hits.append((span[0], span[1], "number"))
    grams = {g: (s, e) for g, s, e in _ngrams(source.text, PHRASE_WORDS) if _distinctive(g)}
    for g, _, _ in _ngrams(text, PHRASE_WORDS):
        if g in grams:
            hits.append((grams[g][0], grams[g][1], "phrase"))
    return hits


def source_passages(source, coverage):
    """Passages of `source` (a Source) the `coverage` documents draw on: dicts start, end, passage,
    anchor, matched_by (sorted list) and covered_by (document ids), in the order of the source."""
    spans = loose_spans(source.text)
    by_sentence = {}
    for doc in coverage:
        for start, end, how in shared_spans(source, doc.get("text") or ""):
            for s, e in spans:
                if s < end and e > start:
                    entry = by_sentence.setdefault((s, e), {"how": set(), "docs": set()})
                    entry["how"].add(how)
                    entry["docs"].add(doc["id"])
    merged = []
    for (s, e) in sorted(by_sentence):
        entry = by_sentence[(s, e)]
        last = merged[-1] if merged else None
        if last and not source.text[last["end"]:s].strip():
            last.update(end=e, how=last["how"] | entry["how"], docs=last["docs"] | entry["docs"])
        else:
            merged.append({"start": s, "end": e, "how": set(entry["how"]), "docs": set(entry["docs"])})
    out = []
    for p in merged:
        start, end = enclosing(spans, p["start"], p["end"])
        passage = source.text[start:end]
        out.append({"start": start, "end": end, "passage": passage, "anchor": text_fragment(passage),
                    "matched_by": sorted(p["how"]), "covered_by": sorted(p["docs"])})
    return out


def comparable(doc):
    """True when a source has text enough to find passages and claims in."""
    return word_count(doc.get("text") or "") >= MIN_SOURCE_WORDS


PARTIAL_RE = re.compile(r"\b(?:excerpts?|not the (?:full|whole|complete)|abridged|partial (?:copy|text))\b", re.I)


def partial(doc):
    """True when the stored source says of itself that it is an excerpt: a claim missing from it
    may be in the whole document, and the page says so."""
    return bool(PARTIAL_RE.search((doc.get("title") or "") + "\n" + (doc.get("text") or "")[:600]))


def prepare(doc):
    return Source(doc["id"], doc.get("text") or "")
