"""Extractive summaries: whole source sentences chosen for centrality and outlet diversity.

Nothing is rewritten: every sentence returned is a verbatim slice of a document's text,
with the document it came from. TF-IDF over the story's own sentences keeps it offline,
deterministic and fast.
"""
import itertools
import re

from pipeline.enrich.quotes import quote_spans
from pipeline.enrich.sentences import BOILERPLATE_RE, sentence_spans, word_count

MIN_WORDS, MAX_WORDS = 60, 80
POOL = 12                  # candidate sentences considered for the combination search
DIVERSITY_BONUS = 0.12     # per extra outlet in a summary
SKIP_RE = re.compile(
    r"^(?:join our|read more|source link|click|share this|related:|why do we care|search all|"
    r"get the|choose your|sign up|subscribe|advertisement|image:|photo:|credit:)|hide caption|photos?:|"
    r"\b\d+ of \d+ photos\b|getty images|all rights reserved|"
    r"\b(?:I|we|my|our) (?:mentioned|wrote|covered|reported)\b|https?://",
    re.I,
)


DANGLING_RE = re.compile(r"(?:Hence|However|But|And|Also|So|Still|Yet|Instead|Meanwhile|This|That|These|Those|"
                         r"It|Its|They|Their|He|She|His|Her|We|Our)\b")


FIRST_PERSON_RE = re.compile(r"\b(?:I|me|my|we|us|our)\b")
# a sentence about a word of someone's quote ('The “it” was in reference to …') makes no sense alone
QUOTE_FRAGMENT_RE = re.compile(r"[“\"][a-z][a-z’']*(?: [a-z][a-z’']*)?[”\"]")


def candidate_sentences(docs):
    """Summary-worthy sentences of `docs`: dicts text, document_id, publisher, url, published, order."""
    out = []
    titles = {(d.get("title") or "").strip() for d in docs}
    for rank, doc in enumerate(docs):
        text = doc.get("text") or ""
        quoted = quote_spans(text)
        for k, (s, e) in enumerate(sentence_spans(text)):
            if any(a < e and s < b for a, b in quoted if b - a > 60):
                continue    # inside or across someone's quote: shown as a quote, with its speaker
            sent = text[s:e]
            if sent in titles:
                continue    # the headline repeated as the first line of the text
            n = word_count(sent)
            if n < 8 or n > 48 or sent.endswith(("?", ":")) or not sent[-1:] in ".!\"”’)":
                continue
            if SKIP_RE.search(sent) or BOILERPLATE_RE.search(sent):
                continue
            if sent.lstrip()[:1].islower():
                continue    # starts mid-sentence (a PDF's line break, a missed split): a fragment
            if sent.lstrip()[:1] in "“\"" or QUOTE_FRAGMENT_RE.search(sent):
                continue    # a quote is shown as a quote, with its speaker, not as summary
            out.append({"text": sent, "words": n, "document_id": doc.get("id"),
                        "publisher": doc.get("publisher") or doc.get("site") or "unknown",
                        "url": doc.get("url"), "published": doc.get("published"),
                        "order": (rank, k)})
    return out


def _scores(cands, title_text=""):
    """Centrality (cosine to the story centroid, plus closeness to the titles) and the similarity matrix."""
    import numpy as np

    texts = [c["text"] for c in cands]
    rows = _tfidf(texts + [title_text])
    if rows is None:        # only stop words: nothing to rank by
        return [0.0] * len(cands), np.zeros((len(cands), len(cands)))
    m = rows[:-1]
    centroid = m.mean(axis=0)
    norm = np.linalg.norm(centroid) or 1.0
    central = (m @ centroid) / norm
    titles = rows[-1] if title_text else np.zeros(m.shape[1])
    title_sim = m @ titles
    sim = m @ m.T
    scores = [float(a + 0.5 * b) for a, b in zip(np.asarray(central).ravel(), np.asarray(title_sim).ravel())]
    # the first sentences of a report carry the event: a small lead bonus
    scores = [s + (0.05 if c["order"][1] < 3 else 0.0) for s, c in zip(scores, cands)]
    # a sentence that leans on the one before it ("Hence, ...", "It ...") reads badly out of place
    scores = [s - (0.15 if DANGLING_RE.match(c["text"]) else 0.0) for s, c in zip(scores, cands)]
    # the reporter's own asides ("pointed me to", "I mentioned") are not the event
    scores = [s - (0.1 if FIRST_PERSON_RE.search(c["text"]) else 0.0) for s, c in zip(scores, cands)]
    return scores, sim


_TFIDF_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _tfidf(texts):
    """Rows (dense, l2-normalised) of scikit-learn's TfidfVectorizer(stop_words="english",
    sublinear_tf=True) fitted on `texts`, or None when they hold no term; computed here (the same
    tokens, smoothed idf and log tf) so a brief does not import scikit-learn."""
    import math
    from collections import Counter
    import numpy as np
    from pipeline.stopwords import english
    stop = english()
    counts = [Counter(t for t in _TFIDF_TOKEN.findall(x.lower()) if t not in stop) for x in texts]
    vocab = sorted({t for c in counts for t in c})
    if not vocab:
        return None
    col = {t: j for j, t in enumerate(vocab)}
    df = np.zeros(len(vocab))
    for c in counts:
        df[[col[t] for t in c]] += 1
    idf = np.log((len(texts) + 1) / (df + 1)) + 1
    out = np.zeros((len(texts), len(vocab)))
    for i, c in enumerate(counts):
        cols = np.array(sorted(col[t] for t in c), dtype=int)
        if not len(cols):
            continue
        data = np.log(np.array([c[vocab[j]] for j in cols], dtype=float)) + 1
        data *= idf[cols]
        norm = math.sqrt(sum(x * x for x in data.tolist()))
        out[i, cols] = data / norm if norm else data
    return out


def _best_combination(pool, scores, sim, lo, hi, sizes):
    """The subset of `pool` (indices) within [lo, hi] words maximising centrality + diversity - redundancy.

    Where the pool spans two or more outlets, a summary from a single outlet is the last resort.
    """
    want = min(2, len({scores[i][2] for i in pool}))
    for min_outlets in range(want, 0, -1):
        combo = _search(pool, scores, sim, lo, hi, sizes, min_outlets)
        if combo is not None:
            return combo
    return None


def _search(pool, scores, sim, lo, hi, sizes, min_outlets):
    best, best_value = None, None
    for size in sizes:
        for combo in itertools.combinations(pool, size):
            words = sum(scores[i][1] for i in combo)
            if not lo <= words <= hi or len({scores[i][2] for i in combo}) < min_outlets:
                continue
            value = sum(scores[i][0] for i in combo)
            value += DIVERSITY_BONUS * (len({scores[i][2] for i in combo}) - 1)
            value -= max((sim[a][b] for a, b in itertools.combinations(combo, 2)), default=0.0)
            if best_value is None or value > best_value + 1e-12:
                best, best_value = combo, value
    return best


def select_sentences(docs, lo=MIN_WORDS, hi=MAX_WORDS, title_text="", sizes=(2, 3, 4)):
    """Sentences for a lo–hi word summary, in reading order (by document date, then position)."""
    cands = candidate_sentences(docs)
    if not cands:
        return []
    scores, sim = _scores(cands, title_text)
    ranked = sorted(range(len(cands)), key=lambda i: (-scores[i], cands[i]["order"]))
    # one sentence per distinct text: syndicated copies repeat sentences word for word
    seen, pool = set(), []
    for i in ranked:
        if cands[i]["text"] not in seen:
            seen.add(cands[i]["text"])
            pool.append(i)
        if len(pool) >= POOL:
            break
    meta = {i: (scores[i], cands[i]["words"], cands[i]["publisher"]) for i in pool}
    combo = _best_combination(pool, meta, sim, lo, hi, sizes)
    if combo is None:
        # nothing fits the window: greedily take central sentences up to the upper bound
        combo, total = [], 0
        for i in pool:
            if total + cands[i]["words"] <= hi or not combo:
                combo.append(i)
                total += cands[i]["words"]
            if total >= lo:
                break
    chosen = [cands[i] for i in combo]
    chosen.sort(key=lambda c: ((c.get("published") or ""), c["order"]))
    return chosen


def summarise(docs, lo=MIN_WORDS, hi=MAX_WORDS, title_text=""):
    """(summary text, chosen sentences) for a story's documents."""
    chosen = select_sentences(docs, lo, hi, title_text)
    return " ".join(c["text"] for c in chosen), chosen


def cold_open(docs, title_text="", lead_id=None):
    """Two sentences: the first report's opening (its most central of the first three), then the most
    central sentence from another outlet; in reading order."""
    cands = candidate_sentences(docs)
    if not cands:
        return []
    scores, sim = _scores(cands, title_text)
    lead_id = lead_id if lead_id is not None else cands[0]["document_id"]
    opening = [i for i, c in enumerate(cands) if c["document_id"] == lead_id][:3]
    ranked = sorted(range(len(cands)), key=lambda i: (-scores[i], cands[i]["order"]))
    if not opening:
        opening = ranked[:1]
    # earlier is better for an opener; a much more central third sentence can still win
    first = max(opening, key=lambda i: (scores[i] - 0.15 * opening.index(i), -i))
    others = [i for i in ranked if cands[i]["publisher"] != cands[first]["publisher"]] or \
             [i for i in ranked if i != first]
    chosen = [cands[first]] + ([cands[others[0]]] if others else [])
    chosen.sort(key=lambda c: ((c.get("published") or ""), c["order"]))
    return chosen
