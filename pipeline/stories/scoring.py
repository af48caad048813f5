"""How well a document fits a story: the configuration, its weights, and the features they weigh."""
import math

import numpy as np

from pipeline.stories.features import key_overlap, unit
from pipeline.stories.state import retired_candidates

# One configuration for all data (tuned on ../shared/eval, fixed here).
CONFIG = {
    "window_days": 365.0,    # a dated document meets stories seen within this window ...
    "max_active": 2000,      # ... and at most this many most recently touched stories
    "tau_days": 10.0,        # time kernel: evidence fades as a story goes quiet ...
    "time_penalty": 0.0366,    # ... by at most this much (dates are often missing or rough)
    "topk": 12,              # candidate stories (by dense similarity) scored in full
    "member_cap": 64,        # max-link looks at this many members of a story (first + latest)
    "idf_batch": True,       # IDF from every document known at run time (no labels involved)
    "key_avg": True,         # names count by the share of a story's members that carry them
    # Score of a document against a story (weights on similarities in [0, 1]):
    "w_c": 0.1625,            # dense cosine to the story centroid
    "w_mx": 0.2196,             # dense cosine to the closest member (max-link): mixed stories
                             # (lab post, article, podcast, posts) have no typical member
    "w_avg": 0.3089,          # mean dense cosine to the members (average-link)
    "w_lexavg": 0.3089,       # mean tf-idf cosine to the members
    "w_key": 0.0242,          # share of the document's names/numbers the story's members carry
    "w_short": 0.4883,        # lift / sqrt(distinct terms): short texts score lower against everything
    "w_miss": -0.0512,         # share of the names and numbers a story keeps using (half its members name them)
                             # that the document never names: another event of the same kind (another
                             # ship, another count of pirates). Articles in the story's language only
    "w_figures": -0.1,         # a document giving figures of its own and none of those the story's members
                             # agree on (half of them give it): share of those it leaves out. Another
                             # event of the same kind (another group's code, another count, another
                             # model). Figures read alike in every language; dates and clock times
                             # are not figures. Not headlines or posts
    "w_year_clash": -0.1098,   # the members agree on a year the document never names: same kind
                             # of event, another time (when a date is missing)
    "join": 0.5051,            # join the best story at or above this score, else open a new one
    "fold": 0.366,             # at the next refine, a story of at most fold_max documents folds into the
    "fold_margin": 0.0146,     # ... bigger story that takes each of its members at this score, this much
    "fold_max": 2,           # ... ahead of any other story, and (when dated) within tau_days of its
                             # ... coverage (see fold)
    "near": 8,               # after a join, the story is checked against this many neighbours:
    "rejoin_max": 1,         # ... a neighbour this small whose members would now join it, with
    "rejoin_margin": 0.0146,   # ... this much to spare, folds in (it came before the story grew)
    "merge": 0.5629,            # two live stories scoring this much with each other merge
    "refine_every": 100,     # second thoughts after this many documents (and at the end of a run):
    "refine_margin": 0.0146,   # ... a member of a story they touched moves to a neighbouring story
    "refine_passes": 3,      # ... that now scores it higher by this much (see refine)
    "w_own_pub": -0.0732,       # a lab's or vendor's own post (kind blog or system card) against a story made
                             # only of that publisher's posts: a publisher does not announce one thing twice
    "w_xlang": 0.5857,          # a document in another language than the story's: share of the names and
                             # numbers the story keeps using that it names too (the model reads English,
                             # the vocabularies differ, names carry over)
}

# The weight (CONFIG key) of each feature in a document-story score.
WEIGHTS = {"c": "w_c", "mx": "w_mx", "avg": "w_avg", "lexavg": "w_lexavg", "key": "w_key",
           "short": "w_short", "time": "time_penalty", "year_clash": "w_year_clash",
           "xlang": "w_xlang", "own_pub": "w_own_pub", "miss": "w_miss", "figures": "w_figures"}

SIMILARITIES = ("c", "mx", "avg", "lexavg")  # averaged by their weights (see score)
FIRST_PARTY = ("blog", "system_card")  # kinds a lab or vendor publishes about itself


def sampled(st, story):
    """The members max-link looks at: the first and the latest, at most member_cap."""
    m, cap = story.members, st.cfg["member_cap"]
    return m if len(m) <= cap else m[:cap // 4] + m[-(cap - cap // 4):]


def dense_scores(st, i):
    """Closest live stories (rows), their centroid and max-link similarities.

    Always the whole fixed-size matrix and a partial sort of fixed size: the same work with
    ten live stories or two thousand.
    """
    v = st.vectors[i]
    c_all = st.cents @ v
    c_all[~st.live] = -2.0
    k = min(2 * st.cfg["topk"], st.cap_rows)
    pre = np.argpartition(-c_all, k - 1)[:k]
    pre = pre[st.live[pre]]
    if not len(pre):
        return pre, None, None
    mems = [sampled(st, st.owner[r]) for r in pre]
    offsets = np.cumsum([0] + [len(m) for m in mems[:-1]])
    sims = st.vectors[np.concatenate(mems)] @ v
    return pre, c_all[pre], np.maximum.reduceat(sims, offsets)


def shortlist(st, i):
    """Document i's candidate stories, closest first: the topk live stories by dense similarity,
    each with its centroid and max-link cosine."""
    rows, c, mx = dense_scores(st, i)
    cands = [] if not len(rows) else [(st.owner[rows[j]], float(c[j]), float(mx[j]))
                                      for j in np.argsort(-np.maximum(c, mx), kind="stable")[:st.cfg["topk"]]]
    return cands if st.doc_time[i] is not None else with_retired(st, i, cands)


def with_retired(st, i, cands):
    """An undated document may report a story that went quiet long ago: a missing date is no
    evidence of being recent. It also meets the retired stories closest to it (topk in all, closest
    first); one it joins comes back to life."""
    v = st.vectors[i]
    old = [(s, c, float(np.max(st.vectors[sampled(st, s)] @ v))) for s, c in retired_candidates(st, v, st.cfg["topk"])]
    return sorted(cands + old, key=lambda x: -max(x[1], x[2]))[:st.cfg["topk"]] if old else cands


def gap_days(st, i, s):
    """Days between document i and story s's coverage (0 inside it), or None when either is undated."""
    t = st.doc_time[i]
    return None if t is None or s.last is None else max(0.0, s.first - t, t - s.last)


def in_language(st, i, s):
    """What document i is read against in story s: (vector sum, tf-idf sum of a term, members,
    foreign). A story covered in several languages is read, in its main language, without its
    members in the others: they would dilute the average links (the model and the vocabulary
    see little in common across languages). A document in another language than the story's
    main one reads all of it, and is foreign (see the xlang feature)."""
    lang = st.doc_lang[i]
    if not lang or not s.langs or (len(s.langs) == 1 and lang in s.langs):
        return s.vsum, s.lsum.__getitem__, s.n, False
    if s.langs.most_common(1)[0][0] != lang:
        return s.vsum, s.lsum.__getitem__, s.n, True
    others = [x for x in s.langs if x != lang]
    return (s.vsum - sum(s.lv[x] for x in others), lambda t: s.lsum[t] - sum(s.ll[x][t] for x in others),
            s.n - sum(s.langs[x] for x in others), False)


def pair_features(st, i, s, c, mx):
    """Evidence that document i belongs to story s, each roughly in [0, 1] (keys: WEIGHTS)."""
    vsum, lsum, n_in, foreign = in_language(st, i, s)
    kind, publisher = st.doc_kind[i], st.doc_publisher[i]
    # A lab's own post gets no lift: its title names a product or a programme, not an event, and a
    # title-only one is placed by its context (see stream.launch_card) or by strong evidence.
    short = 0.0 if kind in FIRST_PARTY else 1 / math.sqrt(len(st.doc_terms[i]) + 1)
    f = {"c": float(c), "mx": float(mx), "avg": float(st.vectors[i] @ vsum) / n_in,
         "lexavg": sum(w * lsum(t) for t, w in st.doc_unit[i].items() if t in s.lsum) / n_in,
         "key": key_overlap(st.doc_keys[i], s.keys, st.kidf, s.n if st.cfg["key_avg"] else None),
         # Short documents (headlines, posts) score lower against everything: lift them.
         "short": short, "time": 0.0,
         "year_clash": 0.0, "xlang": 0.0, "miss": 0.0, "figures": 0.0,
         # A lab's post against a story of only that lab's posts: another announcement, most likely.
         "own_pub": float(kind in FIRST_PARTY and bool(publisher) and s.pubs[publisher] == s.n)}
    if foreign:
        f["xlang"] = _named_share(st, i, s)
    if not st.doc_thin[i] and kind != "social":
        if s.n >= 2 and not foreign:
            f["miss"] = _missed_share(st, i, s)
        f["figures"] = _other_figures(st, i, s)
    gap = gap_days(st, i, s)
    if gap is not None:
        f["time"] = -(1 - math.exp(-gap / st.cfg["tau_days"]))
    if gap is None:
        # Same kind of event, another year: the members agree on a year the document never names.
        # Only when a date is missing: with both dates known the time kernel judges the distance,
        # and a New Year between them is no evidence (coverage of one incident can span years).
        doc_years = st.doc_years[i]
        f["year_clash"] = float(bool(doc_years) and not any(s.years[y] * 2 > s.n for y in doc_years)
                                and any(c * 2 > s.n for c in s.years.values()))
    return f


def _named_share(st, i, s):
    """Another language: the model and the vocabulary see little in common, names and numbers
    still do. How much of what the story's members keep naming does this document name?"""
    tot = sum(st.kidf(k) * m for k, m in s.keys.items())
    return sum(st.kidf(k) * m for k, m in s.keys.items() if k in st.doc_keys[i]) / tot if tot else 0.0


def _missed_share(st, i, s):
    """An article names the actors, places and figures of its event: the more of those its story's
    members keep naming it leaves out, the likelier it reports another event of the same kind.
    Headlines and posts are too short to name them; other languages spell and capitalise them
    differently."""
    core = _core(s)
    total = sum(st.kidf(k) * w for k, w in core.items())
    if not total:
        return 0.0
    return sum(st.kidf(k) * w for k, w in core.items() if k not in st.doc_keys[i]) / total


def _other_figures(st, i, s):
    """Figures are what tells two events of one kind apart (GTG-1002 and its 30 targets, GTG-2002
    and its 17 organisations), and they read alike in every language. A document that gives a
    figure its story's members never give, and leaves out those they agree on, most likely reports
    another event: the share (by idf) of the agreed figures it leaves out. One that gives no figure
    of its own says nothing either way."""
    mine = st.doc_figs[i]
    if not mine or all(k in s.figures for k in mine):
        return 0.0
    if s.agreed is None:
        s.agreed = {k: m / s.n for k, m in s.figures.items() if m * 2 >= s.n}
    total = sum(st.kidf(k) * w for k, w in s.agreed.items())
    if not total:
        return 0.0
    return sum(st.kidf(k) * w for k, w in s.agreed.items() if k not in mine) / total


def _core(s):
    """The names and numbers half the story's members name, by the share that name them (cached)."""
    if s.core is None:
        s.core = {k: m / s.n for k, m in s.keys.items() if m * 2 >= s.n}
    return s.core


def score(st, i, s, c, mx):
    """Document i's join score against story s, given its centroid and max-link cosines: a weighted
    mean of the similarities (their weights are shares, so raising one lowers the others and the
    score keeps its scale), plus the lifts and penalties."""
    f, cfg = pair_features(st, i, s, c, mx), st.cfg
    return (sum(cfg[WEIGHTS[k]] * f[k] for k in SIMILARITIES) / shares(cfg, SIMILARITIES)
            + sum(cfg[WEIGHTS[k]] * v for k, v in f.items() if k not in SIMILARITIES))


def shares(cfg, keys):
    """The sum the weights of `keys` are shares of (1 when they are all off)."""
    return sum(cfg[WEIGHTS[k]] for k in keys) or 1.0


def story_score(st, i, s):
    """Document i's join score against live story s."""
    v = st.vectors[i]
    return score(st, i, s, float(st.cents[s.slot] @ v), float(np.max(st.vectors[sampled(st, s)] @ v)))


def story_pair_score(st, a, b):
    """The joining score, story to story: centroids, average links, shared names."""
    ca, cb = unit(a.vsum), unit(b.vsum)
    avg = float(a.vsum @ b.vsum) / (a.n * b.n)
    small, big = (a, b) if len(a.lsum) <= len(b.lsum) else (b, a)
    lexavg = sum(w * big.lsum[t] for t, w in small.lsum.items() if t in big.lsum) / (a.n * b.n)
    key = 0.0
    for x, y in ((a, b), (b, a)):
        total = sum(st.kidf(k) * c / x.n for k, c in x.keys.items())
        shared = sum(st.kidf(k) * c / x.n * y.keys[k] / y.n for k, c in x.keys.items() if k in y.keys)
        key += 0.5 * (shared / total if total else 0.0)
    cfg = st.cfg
    return ((cfg["w_c"] * float(ca @ cb) + cfg["w_avg"] * avg + cfg["w_lexavg"] * lexavg)
            / shares(cfg, ("c", "avg", "lexavg")) + cfg["w_key"] * key)
