"""Fusing the words list and the meaning list of a document search, and the variants bench.retrieval measures.

A fusion is a dict: method "sum" (weighted sum of each list's scores, min-max normalised over its
top NORM_DEPTH ranks and clamped at 0, so a deeper read ranks the first pages the same), "rrf"
(reciprocal rank fusion, 1 / (k + rank), words weighted w) or "prf" ("sum", then the query vector
moved towards the mean vector of the `k` best documents by `alpha` and the meaning list read again:
pseudo-relevance feedback, Rocchio's, which lets a document in another language or other words reach
the top through the documents that match the query; `skip`: ids kept out of the feedback). FUSION is the one the catalog uses, chosen by
`python -m bench.retrieval` with a leave-one-set-out procedure (README, Benchmarks).
"""
NORM_DEPTH = 100
FUSION = {"method": "prf", "w": 0.7, "k": 3, "alpha": 4.0}


def normalised(ranked):
    """{id: score in [0, 1]} from [(id, score)] best first: 1 at the top, 0 from rank NORM_DEPTH on."""
    if not ranked:
        return {}
    high, low = ranked[0][1], ranked[min(len(ranked), NORM_DEPTH) - 1][1]
    span = high - low
    return {i: max(0.0, (v - low) / span) if span else 1.0 for i, v in ranked}


def weighted_sum(words, meaning, w):
    total = {}
    for weight, ranked in ((w, words), (1 - w, meaning)):
        for i, v in normalised(ranked).items():
            total[i] = total.get(i, 0.0) + weight * v
    return total


def rrf(words, meaning, w, k):
    total = {}
    for weight, ranked in ((w, words), (1 - w, meaning)):
        for rank, (i, _) in enumerate(ranked, 1):
            total[i] = total.get(i, 0.0) + weight / (k + rank)
    return total


def fused(words, meaning, fusion):
    """{id: score} of one pass (a "prf" fusion's first pass is its weighted sum)."""
    if fusion["method"] == "rrf":
        return rrf(words, meaning, fusion["w"], fusion["k"])
    return weighted_sum(words, meaning, fusion["w"])


def order(scores, words=(), meaning=()):
    """Ids best first; ties (a score of 0 past both lists' top ranks) by their best rank, then id."""
    rank = {}
    for ranked in (words, meaning):
        for r, (i, _) in enumerate(ranked):
            rank[i] = min(rank.get(i, r), r)
    return sorted(scores, key=lambda i: (-scores[i], rank.get(i, 1 << 30), i))


def variants():
    """{name: fusion} for bench.retrieval: every setting it measures."""
    out = {}
    for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        out[f"sum w={w}"] = {"method": "sum", "w": w}
    for k in (10, 30, 60):
        for w in (0.5, 0.6, 0.7):
            out[f"rrf k={k} w={w}"] = {"method": "rrf", "w": w, "k": k}
    for k in (1, 2, 3, 5):
        for alpha in (1.0, 2.0, 4.0):
            for w in (0.5, 0.6, 0.7):
                out[f"prf k={k} a={alpha:g} w={w}"] = {"method": "prf", "w": w, "k": k, "alpha": alpha}
    return out
