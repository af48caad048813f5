"""What the story engine reads in one document: tokens and term weights, names and numbers, years,
dates, language, and the idf helpers that weigh them against the corpus."""
import datetime
import math
import re
from collections import Counter

import numpy as np

from pipeline.language import WORDS_OF, guess_language

_WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*", re.UNICODE)
_CAP = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'-]*[a-z][\w'-]*|[A-Z]{2,}[\w-]*)\b")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]+")
_NUM = re.compile(r"\b\d[\d,.:]*\d\b|\b\d{2,}\b")
ROUNDUP = re.compile(r"\b(round-?up|week in review|this week in|newsletter|weekly digest|news digest|"
                     r"links? for|what we'?re reading|daily brief(ing)?|top stories|"
                     r"(year|month|(19|20)\d\d) in review|^(the )?top \d+(?![%.,\d])|"
                     r"\d+ (\w+ ){0,2}(failures|fails|blunders|fiascos))\b", re.I)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_NONWORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGIT = re.compile(r"\d")
_THOUSANDS = re.compile(r"(?<=\d)[.,](?=\d{3}(?!\d))")
# Month names (English with abbreviations, French, German, Spanish, Italian, Dutch, Portuguese):
# the day beside one is a date, not a figure of the event.
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec "
           "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre "
           "januar februar märz april juni juli oktober dezember "
           "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre "
           "gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre "
           "januari februari maart mei augustus "
           "janeiro fevereiro março abril maio junho julho setembro outubro novembro dezembro").split()
_MONTH = r"(?:" + "|".join(sorted(set(_MONTHS), key=len, reverse=True)) + r")\.?"
_DATE_OR_TIME = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+)?" + _MONTH + r"(?!\w)"   # 22 May, 22. Mai, 22 de mayo
    r"|\b" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?\b"                       # May 22
    r"|\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b"                                  # 2025-05-22, 22/05/2025
    r"|\b\d{1,2}:\d{2}\b|\b\d{1,2}[.h]\d{2}\s*(?:uhr|h)\b"                      # 12:43, 10.30 Uhr, 10h30
    r"|\d+\s*[年月日時分]", re.I)                                                 # 2025年11月13日
THIN_WORDS = 8


def _stopwords():
    from pipeline.stopwords import english  # scikit-learn's list, without importing scikit-learn
    return english()


STOP = None


def tokens(text, lang=None):
    """Lowercased word tokens without stop words (and without the function words of `lang`)."""
    global STOP
    if STOP is None:
        STOP = _stopwords()
    extra = WORDS_OF.get(lang, ()) if lang != "en" else ()  # English's are in STOP
    return [t for t in (w.lower() for w in _WORD.findall(text or "")) if len(t) > 1 and t not in STOP
            and t not in extra]


def lexical_terms(title, text, body_chars=3000, lang=None):
    """Sublinear term weights of title (counted twice: it names the event) and the text's start."""
    counts = Counter(tokens(title, lang) * 2 + tokens((text or "")[:body_chars], lang))
    return {t: 1.0 + math.log(c) for t, c in counts.items()}


def key_terms(title, text, entities=(), body_chars=3000):
    """Names and numbers: capitalised words inside sentences, multi-digit numbers, gazetteer ids."""
    # Names written in Latin letters inside Japanese, Chinese or Korean text stand apart from it.
    blob = _CJK.sub(" ", f"{title or ''}\n{(text or '')[:body_chars]}")
    keys = {m.lower() for m in _CAP.findall(blob)}
    keys |= {m.replace(",", "") for m in _NUM.findall(blob)}
    keys -= STOP or _stopwords()
    keys |= {f"@{e}" for e in entities}
    return keys


def figures(keys):
    """The figures among names and numbers: counts, sums, codes and model names with digits
    (GTG-1002, gpt-4), thousands written alike in every language; not years (coverage of one event
    spans them), clock times nor gazetteer ids."""
    return {_THOUSANDS.sub("", k) for k in keys
            if k[0] != "@" and ":" not in k and _DIGIT.search(k) and not _YEAR.fullmatch(k)}


def figure_terms(title, text):
    """The figures a document gives (see figures), its dates and clock times left out: "May 22"
    and "12:43" say when it was written, not which event it reports."""
    return figures(key_terms(_DATE_OR_TIME.sub(" ", title or ""), _DATE_OR_TIME.sub(" ", text or "")))


def parse_time(value):
    """Epoch days of an ISO date/datetime, or None."""
    if not value:
        return None
    try:
        s = str(value).replace("Z", "+00:00")
        dt = datetime.datetime.fromisoformat(s) if "T" in s or " " in s else datetime.datetime.fromisoformat(s[:10])
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp() / 86400.0
    except (ValueError, TypeError):
        return None


def years(item, t):
    """Years a document is about: its publication year and years its title and lede name."""
    found = set(_YEAR.findall(f"{item.get('title') or ''} {(item.get('text') or '')[:1500]}"))
    if t is not None:
        found.add(str(datetime.datetime.fromtimestamp(t * 86400, datetime.timezone.utc).year))
    return found


def is_thin(item):
    """A feed entry with (almost) no text beyond its title: too few words to measure."""
    title = set(tokens(item.get("title")))
    return sum(1 for t in tokens((item.get("text") or "")[:2000]) if t not in title) < THIN_WORDS


def language(item):
    """The document's language: as its source declared it ("en-US" is "en"), else as its words say."""
    declared = str(item.get("lang") or "").split("-")[0].split("_")[0].strip().lower()
    return declared or guess_language(f"{item.get('title') or ''}. {item.get('text') or ''}")


def plain(text):
    """Lowercase words between single spaces (and at both ends), for verbatim matching."""
    return " " + _NONWORD.sub(" ", (text or "").lower()).strip() + " "


def idf_weight(n_docs, df):
    """Smoothed inverse document frequency of a term in df of n_docs documents."""
    return math.log((n_docs + 1) / (df + 1)) + 1.0


def unit_terms(terms, idf):
    """A document's tf-idf vector (sparse, a dict) scaled to unit length."""
    uw = {t: w * idf(t) for t, w in terms.items()}
    un = math.sqrt(sum(w * w for w in uw.values())) or 1.0
    return {t: w / un for t, w in uw.items()}


def key_overlap(doc_keys, story_keys, idf, n=None):
    """Share of the document's names/numbers (idf-weighted) that the story's members mention.

    With n (story size) each name counts by the share of members that mention it, so one
    stray member cannot lend its names to the whole story.
    """
    if not doc_keys:
        return 0.0
    total = sum(idf(k) for k in doc_keys)
    if n:
        shared = sum(idf(k) * story_keys[k] / n for k in doc_keys if k in story_keys)
    else:
        shared = sum(idf(k) for k in doc_keys if k in story_keys)
    return shared / total if total else 0.0


def unit(v):
    """A dense vector scaled to unit length (a zero vector stays zero)."""
    return v / (np.linalg.norm(v) + 1e-9)


def reading(item, entities=()):
    """What the stream reads in one item (thin, language, term weights, names, years), as JSON
    values: `process` keeps it per document (see stories.readings), and an item that carries it
    as "reading" is not read again (see state.Stream and stream.read_documents)."""
    lang, t = language(item), parse_time(item.get("published"))
    return {"thin": is_thin(item), "lang": lang,
            "terms": lexical_terms(item.get("title"), item.get("text"), lang=lang),
            "keys": sorted(key_terms(item.get("title"), item.get("text"), entities)),
            "figures": sorted(figure_terms(item.get("title"), item.get("text"))),
            "years": sorted(years(item, t))}
