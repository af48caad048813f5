"""Claim checks: the numbers and quotes a document attributes to a primary source, looked up in it.

Precision first (a false accusation of an outlet is worse than a miss), so a claim is only
checked when its sentence plainly attributes it to the source or to its maker:
- the source by name of its kind ("according to the system card", "disclosed in a safety
  report", "the paper found"); each kind of source answers only to its own nouns, so a number
  "according to a study" is never checked against a system card;
- the maker as the subject of a reporting verb ("Anthropic wrote", "Anthropic has warned");
  neither when the sentence names another channel (a spokesperson, a statement, an interview, a post);
- a sentence that goes on in the same paragraph ("During testing, it was found that …") after
  one that attributes, and a quote that opens the paragraph after an attributing sentence that
  ends in a colon.
Numbers that are years, dates, model versions ("Claude Opus 4") or page counts are not claims
(enrich.numbers leaves them out); a number inside a checked quote is checked with the quote.
Quotes of fewer than three words (scare quotes) are not checked.
"""
import re

from pipeline.enrich.numbers import NUMBER_RE, _is_model_number
from pipeline.enrich.quotes import quote_spans
from pipeline.enrich.sentences import sentence_spans, word_count

MIN_QUOTE_WORDS = 3
# "a 120-page card" is its length, "previous 737 models" a product's name: not claims
NOT_A_CLAIM_RE = re.compile(r"[\s\-]*(?:pages?|models?|series|versions?)\b", re.I)
VERBS = (r"(?:said|says|say|wrote|writes|write|disclosed|discloses|reported|reports|found|finds|stated|states|"
         r"noted|notes|warned|warns|acknowledged|acknowledges|admitted|admits|revealed|reveals|claimed|claims|"
         r"described|describes|detailed|details|explained|explains|shows|showed|shown|reads|estimated|estimates|"
         r"published|observed|observes|concluded|concludes|documented|documents|indicated|indicates)")
AUX = r"(?:(?:also|has|had|have|openly|publicly|previously|itself|already|then|later|now|further|recently)\s+)"
# the nouns a story's primary source answers to, by what it is (primary.KINDS)
NOUNS = {
    "system card": r"(?:system card|model card|card|safety report|technical report|risk report|(?<=its )report)",
    "paper": r"(?:paper|study|preprint|research|(?<=its )report|(?<=their )report)",
    "court filing": r"(?:court filing|filing|complaint|lawsuit|court documents?|motion|indictment)",
    "vendor advisory": r"(?:advisory|security bulletin|bulletin|security notice|notice)",
    "own post": r"(?:blog post|blog|post|announcement)",
}
OTHER_CHANNEL_RE = re.compile(r"\b(?:spokes(?:person|man|woman)|statement|interview|told|e-?mail|tweet\w*|"
                              r"on X\b|on social media|posted|post on|podcast|press release)", re.I)
GOES_ON_RE = re.compile(r"\b(?:it|this) (?:was|is|were) (?:found|observed|noted|reported|shown)\b|"
                        r"\b(?:during|in) (?:testing|tests|evaluations?|the tests?|the evaluations?)\b|"
                        r"\b(?:also|further) (?:found|notes?|says?|said|states?|reports?|showed|shows)\b", re.I)


def attribution_res(kinds, makers):
    """The regexes that make a sentence attribute to a source of one of `kinds` made by `makers`."""
    nouns = "|".join(NOUNS[k] for k in sorted(set(kinds)) if k in NOUNS) or r"(?!x)x"
    owners = "|".join(re.escape(m) for m in sorted(set(makers), key=len, reverse=True) if m) or r"(?!x)x"
    det = rf"(?:the|its|their|a|an|this|that|(?:{owners})['’]s)\s+"
    mod = r"(?:[\w\-]+\s+){0,3}"
    by_source = re.compile(
        rf"\b(?:according to|in|per|from)\s+{det}{mod}(?:{nouns})\b"
        rf"|\b{det}{mod}(?:{nouns})\s+{AUX}{{0,2}}{VERBS}\b", re.I)
    by_maker = re.compile(rf"(?<![\w’'-])(?:{owners})\s+{AUX}{{0,3}}{VERBS}\b")
    return by_source, by_maker


def _attributes(sentence, res):
    by_source, by_maker = res
    if OTHER_CHANNEL_RE.search(sentence):
        return False    # "…as described in Boeing's bulletin," the Southwest spokeswoman said: not the source's words
    return bool(by_source.search(sentence) or by_maker.search(sentence))


def attributed_spans(text, res):
    """(start, end) of the sentences (and quoted paragraphs) of `text` that attribute to the source."""
    text = text or ""
    spans = sentence_spans(text)
    out, prev = [], None
    for s, e in spans:
        sentence = text[s:e]
        same_para = prev is not None and "\n" not in text[prev[1]:s]
        if _attributes(sentence, res) or (same_para and prev in out and GOES_ON_RE.search(sentence)):
            out.append((s, e))
        elif prev in out and text[prev[0]:prev[1]].rstrip().endswith(":") and re.match(r"\s*\n\s*[“\"]", text[prev[1]:s + 1]):
            para_end = text.find("\n", s)
            out.append((s, len(text) if para_end < 0 else para_end))     # the quote it introduces
        prev = (s, e)
    return out


def document_claims(text, res):
    """Claims of a text: dicts kind (number|quote), claim, sentence (verbatim), position."""
    text = text or ""
    quotes = quote_spans(text)
    claims, taken = [], []
    for s, e in attributed_spans(text, res):
        for a, b in quotes:
            body = text[a + 1:b].strip().rstrip(",").strip()
            if s <= a < e and word_count(body) >= MIN_QUOTE_WORDS and (a, b) not in taken:
                taken.append((a, b))
                claims.append({"kind": "quote", "claim": body, "sentence": text[s:max(e, b + 1)].strip(),
                               "position": a + 1})
        sentence = text[s:e]
        for m in NUMBER_RE.finditer(sentence):
            value, at = m.group().strip(), s + m.start()
            if re.fullmatch(r"(19|20)\d\d", value) or _is_model_number(sentence, m.start(), m.end()) \
                    or NOT_A_CLAIM_RE.match(sentence, m.end()):
                continue
            if any(a <= at <= b for a, b in taken):
                continue    # checked with its quote
            claims.append({"kind": "number", "claim": value, "sentence": sentence, "position": at})
    return claims


def check_claims(claims, sources):
    """Each claim with found (1/0) and source_document_id: the source that has it, else the first."""
    out = []
    for c in claims:
        hit = None
        for src in sources:
            span = src.find_quote(c["claim"]) if c["kind"] == "quote" else src.find_number(c["claim"])
            if span is not None:
                hit = src
                break
        out.append(dict(c, found=1 if hit else 0,
                        source_document_id=(hit or sources[0]).document_id if sources else None))
    return out
