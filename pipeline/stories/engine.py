"""Streaming story assignment: each document joins the best active story or opens a new one.

The pure entry point is `cluster_stream(items, vectors)`; `assign_stories(db)` feeds it from the
database (documents already assigned are replayed as state, new ones are decided) and writes the
results back. The bench runs the same function.
"""
import datetime
import hashlib
import json
import logging
import math
import re
from collections import Counter, OrderedDict

import numpy as np

from pipeline.language import WORDS_OF, guess_language

log = logging.getLogger(__name__)

# One configuration for all data (tuned on ../shared/eval, fixed here).
CONFIG = {
    "window_days": 365.0,    # a dated document meets stories seen within this window ...
    "max_active": 2000,      # ... and at most this many most recently touched stories
    "tau_days": 10.0,        # time kernel: evidence fades as a story goes quiet ...
    "time_penalty": 0.05,    # ... by at most this much (dates are often missing or rough)
    "topk": 12,              # candidate stories (by dense similarity) scored in full
    "member_cap": 64,        # max-link looks at this many members of a story (first + latest)
    "idf_batch": True,       # IDF from every document known at run time (no labels involved)
    "key_avg": True,         # names count by the share of a story's members that carry them
    # Score of a document against a story (weights on similarities in [0, 1]):
    "w_c": 0.222,            # dense cosine to the story centroid
    "w_mx": 0.3,             # dense cosine to the closest member (max-link): mixed stories
                             # (lab post, article, podcast, posts) have no typical member
    "w_avg": 0.422,          # mean dense cosine to the members (average-link)
    "w_lexavg": 0.422,       # mean tf-idf cosine to the members
    "w_key": 0.033,          # share of the document's names/numbers the story's members carry
    "w_short": 0.667,        # lift / sqrt(distinct terms): short texts score lower against everything
    "social_bonus": 0.1,     # posts (kind "social") within social_days of a story's coverage ...
    "social_days": 2.0,      # ... get this lift: they react to it in few words
    "w_miss": -0.07,         # share of the names and numbers a story keeps using (half its members name them)
                             # that the document never names: another event of the same kind (another
                             # ship, another count of pirates). Articles in the story's language only
    "w_year_clash": -0.15,   # the members agree on a year the document never names: same kind
                             # of event, another time (when a date is missing)
    "join": 0.69,            # join the best story at or above this score, else open a new one
    "fold": 0.5,             # at the next refine, a story of at most fold_max documents folds into the
    "fold_margin": 0.02,     # ... bigger story that takes each of its members at this score, this much
    "fold_max": 2,           # ... ahead of any other story, and (when dated) within tau_days of its
                             # ... coverage (see fold)
    "near": 8,               # after a join, the story is checked against this many neighbours:
    "rejoin_max": 1,         # ... a neighbour this small whose members would now join it, with
    "rejoin_margin": 0.02,   # ... this much to spare, folds in (it came before the story grew)
    "merge": 0.6,            # two live stories scoring this much with each other merge
    "refine_every": 100,     # second thoughts after this many documents (and at the end of a run):
    "refine_margin": 0.02,   # ... a member of a story they touched moves to a neighbouring story
    "refine_passes": 3,      # ... that now scores it higher by this much (see refine)
    "w_own_pub": -0.1,       # a lab's or vendor's own post (kind blog or system card) against a story made
                             # only of that publisher's posts: a publisher does not announce one thing twice
    "w_xlang": 0.8,          # a document in another language than the story's: share of the names and
                             # numbers the story keeps using that it names too (the model reads English,
                             # the vocabularies differ, names carry over)
}

# The weight (CONFIG key) of each feature in a document-story score.
WEIGHTS = {"c": "w_c", "mx": "w_mx", "avg": "w_avg", "lexavg": "w_lexavg", "key": "w_key",
           "short": "w_short", "time": "time_penalty", "social": "social_bonus", "year_clash": "w_year_clash",
           "xlang": "w_xlang", "own_pub": "w_own_pub", "miss": "w_miss"}

_WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*", re.UNICODE)
_CAP = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'-]*[a-z][\w'-]*|[A-Z]{2,}[\w-]*)\b")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]+")
_NUM = re.compile(r"\b\d[\d,.:]*\d\b|\b\d{2,}\b")
_ROUNDUP = re.compile(r"\b(round-?up|week in review|this week in|newsletter|weekly digest|news digest|"
                      r"links? for|what we'?re reading|daily brief(ing)?|top stories|"
                      r"(year|month|(19|20)\d\d) in review|^(the )?top \d+(?![%.,\d])|"
                      r"\d+ (\w+ ){0,2}(failures|fails|blunders|fiascos))\b", re.I)


def _stopwords():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    return ENGLISH_STOP_WORDS


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


def iso_published(value):
    """A record's publication date as ISO 8601 UTC (see pipeline.dates.parse_date), or None."""
    if value is not None and parse_time(value) is not None:
        return str(value).strip()
    from pipeline.dates import parse_date
    dt = parse_date(value)
    if dt is None:
        return None
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.isoformat(timespec="seconds") if 1990 <= dt.year <= 2100 else None


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def _years(item, t):
    """Years a document is about: its publication year and years its title and lede name."""
    years = set(_YEAR.findall(f"{item.get('title') or ''} {(item.get('text') or '')[:1500]}"))
    if t is not None:
        years.add(str(datetime.datetime.fromtimestamp(t * 86400, datetime.timezone.utc).year))
    return years


def story_id_for(item):
    """Stable id from the founding document: 's-' + short hash of its canonical URL (or id)."""
    key = item.get("canonical_url") or item.get("url") or str(item.get("id"))
    return "s-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def stream_order(items):
    """Publication order; undated items keep their place after the dated item before them.

    Items dated the same instant put those with text before title-only ones, which may need
    them as context (see _launch_story).
    """
    keys, last = [], -math.inf
    for i, it in enumerate(items):
        t = parse_time(it.get("published"))
        if t is not None:
            last = t
        keys.append((last, 0, i) if t is None else (t, int(is_thin(it)), i))
    return [k[-1] for k in sorted(keys)]


THIN_WORDS = 8
FIRST_PARTY = ("blog", "system_card")  # kinds a lab or vendor publishes about itself
# Second thoughts score a member in full only when a neighbour's centroid is at most this much less
# close than its own story's. A filter for cost: scoring every member in full made a document cost
# about five times as much on a 20,000-document stream like the scale bench's, for 0.002 more on
# aiid-fixtures and nothing on the other sets.
REFINE_SLACK = 0.1


def is_thin(item):
    """A feed entry with (almost) no text beyond its title: too few words to measure."""
    title = set(tokens(item.get("title")))
    return sum(1 for t in tokens((item.get("text") or "")[:2000]) if t not in title) < THIN_WORDS


class _Story:
    __slots__ = ("id", "members", "vsum", "keys", "first", "last", "touched", "closed", "n", "lsum", "slot",
                 "reported", "years", "langs", "pubs", "core", "lv", "ll")

    def __init__(self, sid):
        self.id, self.members, self.keys = sid, [], Counter()
        self.vsum, self.first, self.last, self.touched, self.closed, self.n = None, None, None, 0, False, 0
        self.slot = None  # row in the centroid matrix while the story is live
        self.lsum = Counter()  # sum of members' unit tf-idf vectors: average-link lexical similarity
        self.reported = False  # has a member that is not a social post
        self.years = Counter()  # members naming each year (publication year or in the text)
        self.langs = Counter()  # members in each (known) language
        self.lv, self.ll = {}, {}  # per known language: its members' vector sum and unit tf-idf sum
        self.pubs = Counter()  # members from each publisher
        self.core = None  # names half the members name, by share (cached; None when members changed)


def _cos_sparse(a, b, idf, norm_b=None):
    """Cosine of two sparse term-weight dicts under the idf function."""
    dot = sum(w * b[t] * idf(t) ** 2 for t, w in a.items() if t in b)
    if not dot:
        return 0.0
    na = math.sqrt(sum((w * idf(t)) ** 2 for t, w in a.items()))
    nb = norm_b if norm_b is not None else math.sqrt(sum((w * idf(t)) ** 2 for t, w in b.items()))
    return dot / (na * nb) if na and nb else 0.0


def _key_overlap(doc_keys, story_keys, idf, n=None):
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


def cluster_stream(items, vectors, config=None, timings=None):
    """Assign items to stories in stream order (see _cluster_stream); the GC is paused meanwhile."""
    import gc
    # Hundreds of thousands of small dicts and no reference cycles: the cyclic GC would only
    # rescan them ever more slowly as the stream grows.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _cluster_stream(items, vectors, config, timings)
    finally:
        if enabled:
            gc.enable()


def _cluster_stream(items, vectors, config=None, timings=None):
    """Assign items (dicts: id, title, text, published, ...) to stories in stream order.

    An item with "story" set is replayed into that story (state from an earlier run). An item
    with "link" (index of an earlier item: the original of a duplicate, the post a reaction
    replies to) joins that item's story. Returns {"labels": story id per item, "stories":
    {id: [item indexes]}, "redirects": {old: new}, "new": [ids opened]}.
    """
    import time as _time
    cfg = {**CONFIG, **(config or {})}
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(items)
    labels = [None] * n
    stories, redirects, opened = {}, {}, []
    df, n_docs = Counter(), 0
    key_df = Counter()
    born = {}  # story id -> creation rank: the older story survives a merge
    objs = {}  # story id -> _Story (live or retired)
    active = OrderedDict()  # story id -> _Story still eligible for joining, in touch order
    # Unit centroids of live stories in a fixed-size matrix: scoring a document against every
    # live story is one matrix-vector product, however large the store grows.
    cap_rows = cfg["max_active"] + 1
    cents = np.zeros((cap_rows, vectors.shape[1] if vectors.ndim == 2 else 1), dtype=np.float32)
    live = np.zeros(cap_rows, dtype=bool)
    owner = [None] * cap_rows
    free = list(range(cap_rows - 1, -1, -1))

    def activate(story):
        if story.closed or story.slot is not None:
            return
        while not free:
            retire(next(iter(active.values())))
        story.slot = free.pop()
        owner[story.slot], live[story.slot] = story, True
        cents[story.slot] = _unit(story.vsum) if story.vsum is not None else 0
        active[story.id] = story

    def retire(story):
        active.pop(story.id, None)
        if story.slot is not None:
            live[story.slot], owner[story.slot] = False, None
            free.append(story.slot)
            story.slot = None
    touch = 0

    def idf(t):
        return math.log((n_docs + 1) / (df[t] + 1)) + 1.0

    def kidf(k):
        return math.log((n_docs + 1) / (key_df[k] + 1)) + 1.0

    def resolve(sid):
        while sid in redirects:
            sid = redirects[sid]
        return sid

    doc_terms, doc_keys, doc_time, doc_unit = [None] * n, [None] * n, [None] * n, [None] * n
    doc_years = [None] * n
    doc_thin = [is_thin(it) for it in items]
    doc_lang = [_language(it) for it in items]
    doc_kind = [it.get("kind") for it in items]
    doc_publisher = [(it.get("publisher") or "").strip().lower() for it in items]
    counted = [False] * n  # shapes its story's state (not a reaction or launch post carried along)
    cards = {}  # publisher -> items of kind system_card placed so far (see _launch_story)
    plain_texts = {}  # item index -> its text reduced to lowercase words, for quote matching

    def add(story, i, passive=False):
        nonlocal touch
        story.members.append(i)
        labels[i] = story.id
        if doc_kind[i] == "system_card" and doc_time[i] is not None and i not in cards.get(doc_publisher[i], ()):
            cards.setdefault(doc_publisher[i], []).append(i)
        if (passive or doc_kind[i] == "social") and story.reported:
            # Reactions join a reported story without reshaping it: a dozen short posts must not
            # dilute the average links that the next article is measured against.
            return
        counted[i] = True
        story.reported = story.reported or doc_kind[i] != "social"
        story.vsum = vectors[i].copy() if story.vsum is None else story.vsum + vectors[i]
        story.lsum.update(doc_unit[i])
        story.keys.update(doc_keys[i])
        story.years.update(doc_years[i])
        if doc_lang[i]:
            lang = doc_lang[i]
            story.langs[lang] += 1
            story.lv[lang] = story.lv.get(lang, 0) + vectors[i]
            story.ll.setdefault(lang, Counter()).update(doc_unit[i])
        story.pubs[doc_publisher[i]] += 1
        t = doc_time[i]
        if t is not None:
            story.first = t if story.first is None else min(story.first, t)
            story.last = t if story.last is None else max(story.last, t)
        touch += 1
        story.touched = touch
        if story.id in active:
            active.move_to_end(story.id)
        if story.slot is not None:
            cents[story.slot] = _unit(story.vsum)
        story.n += 1
        story.core = None

    def candidates(t):
        """Retire the stories that went quiet for longer than the window (oldest first)."""
        if t is not None:
            while active:
                oldest = next(iter(active.values()))
                if oldest.last is None or t - oldest.last <= cfg["window_days"]:
                    break
                retire(oldest)

    def dense_scores(i):
        """Closest live stories (rows), their centroid and max-link similarities.

        Always the whole fixed-size matrix and a partial sort of fixed size: the same work with
        ten live stories or two thousand.
        """
        v = vectors[i]
        c_all = cents @ v
        c_all[~live] = -2.0
        k = min(2 * cfg["topk"], cap_rows)
        pre = np.argpartition(-c_all, k - 1)[:k]
        pre = pre[live[pre]]
        if not len(pre):
            return pre, None, None
        mems = [sampled(owner[r]) for r in pre]
        offsets = np.cumsum([0] + [len(m) for m in mems[:-1]])
        sims = vectors[np.concatenate(mems)] @ v
        return pre, c_all[pre], np.maximum.reduceat(sims, offsets)

    def shortlist(i):
        """Document i's candidate stories, closest first: the topk live stories by dense similarity,
        each with its centroid and max-link cosine."""
        rows, c, mx = dense_scores(i)
        if not len(rows):
            return []
        return [(owner[rows[j]], float(c[j]), float(mx[j]))
                for j in np.argsort(-np.maximum(c, mx), kind="stable")[:cfg["topk"]]]

    def gap_days(i, s):
        """Days between document i and story s's coverage (0 inside it), or None when either is undated."""
        t = doc_time[i]
        return None if t is None or s.last is None else max(0.0, s.first - t, t - s.last)

    def sampled(story):
        """The members max-link looks at: the first and the latest, at most member_cap."""
        m, cap = story.members, cfg["member_cap"]
        return m if len(m) <= cap else m[:cap // 4] + m[-(cap - cap // 4):]

    def features(i, s, c, mx):
        """Evidence that document i belongs to story s, each roughly in [0, 1]."""
        vsum, lsum, n_in, foreign = in_language(i, s)
        avg = float(vectors[i] @ vsum) / n_in
        # A lab's own post gets no lift: its title names a product or a programme, not an event, and a
        # title-only one is placed by its context (see _launch_story) or by strong evidence.
        short = 0.0 if doc_kind[i] in FIRST_PARTY else 1 / math.sqrt(len(doc_terms[i]) + 1)
        f = {"c": float(c), "mx": float(mx), "avg": avg,
             "lexavg": sum(w * lsum(t) for t, w in doc_unit[i].items() if t in s.lsum) / n_in,
             "key": _key_overlap(doc_keys[i], s.keys, kidf, s.n if cfg["key_avg"] else None),
             # Short documents (headlines, posts) score lower against everything: lift them.
             "short": short, "time": 0.0, "social": 0.0,
             "year_clash": 0.0, "xlang": 0.0, "miss": 0.0,
             # A lab's post against a story of only that lab's posts: another announcement, most likely.
             "own_pub": float(doc_kind[i] in FIRST_PARTY and bool(doc_publisher[i])
                              and s.pubs[doc_publisher[i]] == s.n)}
        if foreign:
            # Another language: the model and the vocabulary see little in common, names and numbers
            # still do. How much of what the story's members keep naming does this document name?
            tot = sum(kidf(k) * m for k, m in s.keys.items())
            f["xlang"] = sum(kidf(k) * m for k, m in s.keys.items() if k in doc_keys[i]) / tot if tot else 0.0
        if s.n >= 2 and not doc_thin[i] and doc_kind[i] != "social" and not foreign:
            # An article names the actors, places and figures of its event: the more of those its story's
            # members keep naming it leaves out, the likelier it reports another event of the same kind.
            # Headlines and posts are too short to name them; other languages spell and capitalise them
            # differently.
            if s.core is None:
                s.core = {k: m / s.n for k, m in s.keys.items() if m * 2 >= s.n}
            total = sum(kidf(k) * w for k, w in s.core.items())
            if total:
                f["miss"] = sum(kidf(k) * w for k, w in s.core.items() if k not in doc_keys[i]) / total
        gap = gap_days(i, s)
        if gap is not None:
            f["time"] = -(1 - math.exp(-gap / cfg["tau_days"]))
            # A post is a reaction: within a story's burst it needs less evidence to join it.
            f["social"] = float(doc_kind[i] == "social" and gap <= cfg["social_days"])
        if gap is None:
            # Same kind of event, another year: the members agree on a year the document never names.
            # Only when a date is missing: with both dates known the time kernel judges the distance,
            # and a New Year between them is no evidence (coverage of one incident can span years).
            f["year_clash"] = float(bool(doc_years[i]) and not any(s.years[y] * 2 > s.n for y in doc_years[i])
                                    and any(c * 2 > s.n for c in s.years.values()))
        return f

    def in_language(i, s):
        """What document i is read against in story s: (vector sum, tf-idf sum of a term, members,
        foreign). A story covered in several languages is read, in its main language, without its
        members in the others: they would dilute the average links (the model and the vocabulary
        see little in common across languages). A document in another language than the story's
        main one reads all of it, and is foreign (see the xlang feature)."""
        lang = doc_lang[i]
        if not lang or not s.langs or (len(s.langs) == 1 and lang in s.langs):
            return s.vsum, s.lsum.__getitem__, s.n, False
        if s.langs.most_common(1)[0][0] != lang:
            return s.vsum, s.lsum.__getitem__, s.n, True
        others = [x for x in s.langs if x != lang]
        return (s.vsum - sum(s.lv[x] for x in others), lambda t: s.lsum[t] - sum(s.ll[x][t] for x in others),
                s.n - sum(s.langs[x] for x in others), False)

    def score(i, s, c, mx):
        return sum(cfg[WEIGHTS[k]] * v for k, v in features(i, s, c, mx).items())

    def story_pair_score(a, b):
        """The joining score, story to story: centroids, average links, shared names."""
        ca, cb = _unit(a.vsum), _unit(b.vsum)
        avg = float(a.vsum @ b.vsum) / (a.n * b.n)
        small, big = (a, b) if len(a.lsum) <= len(b.lsum) else (b, a)
        lexavg = sum(w * big.lsum[t] for t, w in small.lsum.items() if t in big.lsum) / (a.n * b.n)
        key = 0.0
        for x, y in ((a, b), (b, a)):
            total = sum(kidf(k) * c / x.n for k, c in x.keys.items())
            shared = sum(kidf(k) * c / x.n * y.keys[k] / y.n for k, c in x.keys.items() if k in y.keys)
            key += 0.5 * (shared / total if total else 0.0)
        return (cfg["w_c"] * float(ca @ cb) + cfg["w_avg"] * avg + cfg["w_lexavg"] * lexavg
                + cfg["w_key"] * key)

    def rejoins(small, story):
        """Would a small story's members now join `story` as documents? (It has grown since they came.)"""
        return all(story_score(j, story) >= cfg["join"] + cfg["rejoin_margin"] for j in small.members)

    def merge(keep, gone):
        for m in gone.members:
            was, counted[m] = counted[m], False  # gone's state goes with it
            add(keep, m, passive=not was)
        keep.touched = touch
        gone.closed = True
        redirects[gone.id] = keep.id
        stories[keep.id].extend(stories.pop(gone.id))
        retire(gone)

    def remove(story, i):
        """Take member i out of its story: the inverse of add."""
        story.members.remove(i)
        stories[story.id].remove(i)
        if not counted[i]:
            return
        counted[i] = False
        story.vsum = story.vsum - vectors[i]
        story.lsum.subtract(doc_unit[i])
        story.keys.subtract(doc_keys[i])
        story.years.subtract(doc_years[i])
        if doc_lang[i]:
            lang = doc_lang[i]
            story.langs[lang] -= 1
            story.lv[lang] = story.lv[lang] - vectors[i]
            story.ll[lang].subtract(doc_unit[i])
            if story.langs[lang] <= 0:
                del story.lv[lang], story.ll[lang]
        story.pubs[doc_publisher[i]] -= 1
        for c in (story.lsum, story.keys, story.years, story.langs, story.pubs):
            for k in [k for k, v in c.items() if v <= 1e-9]:
                del c[k]
        story.n -= 1
        story.core = None
        times = [doc_time[m] for m in story.members if counted[m] and doc_time[m] is not None]
        story.first, story.last = (min(times), max(times)) if times else (None, None)
        if story.slot is not None:
            cents[story.slot] = _unit(story.vsum)

    def refine(touched):
        """Second thoughts on the stories new documents have joined, and on their neighbours.

        A document placed before its story took shape (the first reports of an event can look like
        another event, and the stream cannot wait) may fit a neighbouring story better once both
        have grown. Members of a touched story are reconsidered against the live stories closest
        to it, and members of those neighbours against the touched story. A member is scored as a
        newcomer would be, against its own story without itself, and moves when another scores
        higher by refine_margin. Only documents that have arrived are used, so this is no
        look-ahead: it is the merge step's counterpart for single documents. Copies, replies and
        launch posts move with the document they joined through; a story keeps its id while one
        member stays, and a story's last member never moves (it is a story of its own).
        """
        settled = set()  # moved once in this call: no document goes back and forth
        near_of = {}  # story id -> its neighbours, as the last pass found them (the fold uses them too)
        for _ in range(cfg["refine_passes"]):
            moved = 0
            for sid in sorted(touched):
                story = objs.get(resolve(sid))
                if story is None or story.closed or story.slot is None:
                    continue
                neighbours = near_of[story.id] = neighbours_of(story)
                moved += sum(reconsider(i, story, neighbours, settled) for i in movable(story, neighbours))
                for other in neighbours:
                    moved += sum(reconsider(i, other, [story], settled) for i in movable(other, [story]))
            if not moved:
                break
        fold(touched, near_of)
        touched.clear()

    def fold(touched, near_of):
        """Deferred decisions: a story of at most fold_max documents, new or near a story new documents
        joined, folds into the bigger story that takes each of its members at fold or more, ahead of
        every other story by fold_margin.

        A document short of join opens a story of its own: at that moment it may be the first report
        of a look-alike event. When nothing (or one document) has followed it by the next refine, and
        one bigger story stands out for each of its members, it is more likely coverage of that story
        than an event of its own. The join threshold can then stay strict where look-alikes meet.
        """
        small = set()
        for sid in touched:
            story = objs.get(resolve(sid))
            if story is None or story.closed or story.slot is None:
                continue
            if len(story.members) <= cfg["fold_max"]:
                small.add(story.id)
            else:
                neighbours = near_of.get(story.id) or neighbours_of(story)
                small.update(s.id for s in neighbours if len(s.members) <= cfg["fold_max"])
        for sid in sorted(small, key=born.get):
            story = objs[sid]
            if story.closed or story.slot is None or len(story.members) > cfg["fold_max"]:
                continue  # (one that took in another small story meanwhile is no longer small)
            # A copy or reply goes where its original goes: only originals are judged, and a story
            # holding a copy of a document elsewhere stays (that is the stream's own decision).
            judged = [i for i in story.members if items[i].get("link") is None]
            if not judged or any(labels[items[i]["link"]] != story.id for i in story.members
                                 if items[i].get("link") is not None):
                continue
            targets = {fold_target(i, story) for i in judged}
            if len(targets) == 1 and None not in targets:
                merge(targets.pop(), story)

    def fold_target(i, story):
        """The bigger story that takes member i of story at fold or more, by fold_margin over the rest."""
        cands = sorted(((score(i, st, c, mx), k, st, c, mx) for k, (st, c, mx) in enumerate(shortlist(i))
                        if st is not story), key=lambda x: (-x[0], x[1]))
        if not cands:
            return None
        best, _, target, c, mx = cands[0]
        rival = cands[1][0] if len(cands) > 1 else 0.0
        if target.n <= story.n or best < cfg["fold"] or best < rival + cfg["fold_margin"]:
            return None
        if features(i, target, c, mx)["own_pub"]:
            return None  # a lab's post among its own posts: another announcement, not late coverage
        gap = gap_days(i, target)
        if gap is not None and gap > cfg["tau_days"]:
            return None  # weeks after a story went quiet, a report is a new event of its kind
        return target

    def neighbours_of(story):
        """The live stories whose centroids are closest to story's (at most near)."""
        sims = cents @ cents[story.slot]
        sims[~live] = -2.0
        k = min(cfg["near"] + 1, cap_rows)
        rows = [r for r in np.argpartition(-sims, k - 1)[:k] if live[r] and owner[r] is not story]
        return [owner[r] for r in rows if not owner[r].closed]

    def movable(source, targets):
        """Members of source worth scoring against targets: the centroid of one of them is about as
        close as their own story's (without themselves). A cheap filter before full scores."""
        if source.n < 2 or source.slot is None or not targets:
            return []
        mem = [m for m in source.members if counted[m] and items[m].get("link") is None]
        if not mem:
            return []
        v = vectors[mem]
        group = v.copy()  # each with what joined through it, which moves with it
        for row, m in enumerate(mem):
            for j in carried(m, source):
                if counted[j]:
                    group[row] += vectors[j]
        rest = source.vsum[None, :] - group
        own = np.einsum("ij,ij->i", v, rest) / (np.linalg.norm(rest, axis=1) + 1e-9)
        there = (v @ cents[[t.slot for t in targets]].T).max(axis=1)
        return [m for m, a, b in zip(mem, own, there) if b >= a - REFINE_SLACK]

    def carried(i, source):
        """The copies, replies and launch posts in source that joined it through member i."""
        return [j for j in followers.get(i, ()) if labels[j] == source.id]

    def reconsider(i, source, targets, settled):
        """Move member i of source to the best of targets if it scores higher there by the margin."""
        if i in settled or labels[i] != source.id:  # moved earlier in this round
            return False
        # What joined through it goes with it, so it is no evidence for staying.
        group = [i] + carried(i, source)
        shaping = [counted[j] for j in group]
        if source.n <= sum(shaping):
            return False
        for j in group:
            remove(source, j)
        best, target = story_score(i, source) + cfg["refine_margin"], source
        for other in targets:  # live stories: nothing closes or retires during a refine
            sc = story_score(i, other)
            if sc > best:
                best, target = sc, other
        for j, was in zip(group, shaping):
            add(target, j, passive=not was)
            stories[target.id].append(j)
        if target is not source:
            settled.add(i)
        return target is not source

    def story_score(i, s):
        """Document i's join score against live story s."""
        return score(i, s, float(cents[s.slot] @ vectors[i]), float(np.max(vectors[sampled(s)] @ vectors[i])))

    order = stream_order(items)
    followers = {}  # item -> the copies, replies and launch posts that joined its story through it
    for i, it in enumerate(items):
        if it.get("link") is not None:
            followers.setdefault(it["link"], []).append(i)
    for i in order:
        it = items[i]
        doc_time[i] = parse_time(it.get("published"))
        doc_terms[i] = lexical_terms(it.get("title"), it.get("text"), lang=doc_lang[i])
        doc_keys[i] = key_terms(it.get("title"), it.get("text"), it.get("entities") or ())
        doc_years[i] = _years(it, doc_time[i])

    if cfg["idf_batch"]:
        # Corpus statistics (not labels) from every document known at run time.
        for i in order:
            n_docs += 1
            df.update(doc_terms[i].keys())
            key_df.update(doc_keys[i])

    touched, since = set(), 0  # stories new documents joined since the last refine
    for i in order:
        # CPU time, not wall time: on a shared machine other processes must not count as our cost.
        t0 = _time.process_time() if timings is not None else 0
        it = items[i]
        if not cfg["idf_batch"]:
            n_docs += 1
            df.update(doc_terms[i].keys())
            key_df.update(doc_keys[i])
        uw = {t: w * idf(t) for t, w in doc_terms[i].items()}
        un = math.sqrt(sum(w * w for w in uw.values())) or 1.0
        doc_unit[i] = {t: w / un for t, w in uw.items()}
        preset = it.get("story")
        link = it.get("link")
        target, near = None, []
        if preset:
            sid = resolve(preset)
            target = objs.get(sid)
            if target is None:
                target = objs[sid] = _Story(sid)
                stories.setdefault(sid, [])
                born.setdefault(sid, len(born))
        elif link is not None and labels[link] is not None:
            target = objs[resolve(labels[link])]
        passive = False
        if doc_publisher[i] and doc_time[i] is not None and doc_thin[i] and (target is None or preset):
            card = _launch_story(i, cards.get(doc_publisher[i], ()), doc_time)
            if card is not None and (target is None or resolve(labels[card]) == target.id):
                # Carried along (replayed as placed), and it goes where its card goes.
                followers.setdefault(card, []).append(i)
                target, passive = objs[resolve(labels[card])], True
        if target is None and not _ROUNDUP.search(it.get("title") or ""):
            candidates(doc_time[i])
            cands = shortlist(i)
            if cands and doc_kind[i] == "social":
                # A post the coverage quotes word for word is a reaction within that story.
                target = _quoted_in(items, i, [st for st, _, _ in cands], cfg["member_cap"], plain_texts)
            if target is None and cands:
                best, k = max((score(i, st, c, mx), -k) for k, (st, c, mx) in enumerate(cands))
                if best >= cfg["join"]:
                    target = cands[-k][0]
                near = [st for st, _, _ in cands[:cfg["near"]]]
        if target is None:
            sid = story_id_for(it)
            while sid in stories or sid in redirects:  # same founding URL twice (should not happen)
                sid = "s-" + hashlib.sha1((sid + str(i)).encode()).hexdigest()[:10]
            target = objs[sid] = _Story(sid)
            if _ROUNDUP.search(it.get("title") or ""):
                target.closed = True  # a roundup covers many events: it joins none, none join it
            stories[sid] = []
            born[sid] = len(born)
            opened.append(sid)
        add(target, i, passive)
        stories[target.id].append(i)
        activate(target)
        if not preset:
            touched.add(target.id)
        # Near-duplicate stories merge: the newer folds into the older, whose id survives. A lone
        # document the grown story would now take folds into it (the story keeps its id).
        if not preset and target.n >= 2 and not target.closed:
            for other in near:
                if other is target or other.closed or other.id in redirects:
                    continue
                if other.n <= cfg["rejoin_max"] < target.n and rejoins(other, target):
                    merge(target, other)
                elif story_pair_score(target, other) >= cfg["merge"]:
                    older, newer = sorted([target, other], key=lambda s: (born[s.id], s.id))
                    merge(older, newer)
                    target = older
        if not preset:
            since += 1
            if since >= cfg["refine_every"]:
                refine(touched)
                since = 0
        if timings is not None:
            timings.append(_time.process_time() - t0)
    t0 = _time.process_time()
    refine(touched)
    if timings:
        timings[-1] += _time.process_time() - t0  # the last document pays for the run's last refine

    final = [resolve(l) for l in labels]
    return {"labels": final, "stories": stories, "redirects": redirects,
            "new": [s for s in opened if s not in redirects]}


def _language(item):
    """The document's language: as its source declared it ("en-US" is "en"), else as its words say."""
    declared = str(item.get("lang") or "").split("-")[0].split("_")[0].strip().lower()
    return declared or guess_language(f"{item.get('title') or ''}. {item.get('text') or ''}")


def _launch_story(i, cards, doc_time):
    """The system card a title-only post belongs with: same publisher, within a day (or None).

    A lab publishes its launch posts with the model's system card ("Introducing Claude 4",
    "Activating AI Safety Level 3 protections"); a title alone is too little to place them
    by content, and the card is what the coverage of the launch gathers around.
    """
    near = [j for j in cards if abs(doc_time[j] - doc_time[i]) <= 1.0]
    return min(near, key=lambda j: abs(doc_time[j] - doc_time[i])) if near else None


def _unit(v):
    return v / (np.linalg.norm(v) + 1e-9)


_NONWORD = re.compile(r"[\W_]+", re.UNICODE)
QUOTE_MIN_WORDS = 6


def _plain(text):
    return " " + _NONWORD.sub(" ", (text or "").lower()).strip() + " "


def _quoted_in(items, i, stories, member_cap, cache):
    """The first of `stories` whose non-social members carry post i's text verbatim (or None)."""
    words = _plain(items[i].get("text")).split()
    if len(words) < QUOTE_MIN_WORDS:
        return None
    # Its opening or its close: the coverage may break a post in two around "added X on X:".
    probes = {" " + " ".join(words[:8]) + " ", " " + " ".join(words[-8:]) + " "}
    for story in stories:
        for m in story.members[:member_cap]:
            if items[m].get("kind") == "social":
                continue
            if m not in cache:
                cache[m] = _plain(items[m].get("text"))
            if any(probe in cache[m] for probe in probes):
                return story
    return None


# ---- database --------------------------------------------------------------------------------

_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>)\]]+")
DOC_COLUMNS = ("id, url, canonical_url, kind, publisher, site, source_id, title, text, published, "
               "duplicate_of, story_id, content_hash, extra, guid, lang")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _iso_week(published):
    t = parse_time(published)
    if t is None:
        return None
    y, w, _ = datetime.datetime.fromtimestamp(t * 86400, datetime.timezone.utc).isocalendar()
    return f"{y}-W{w:02d}"


def _extra(row):
    try:
        extra = json.loads(row.get("extra") or "{}")
    except (TypeError, ValueError):
        return {}
    return extra if isinstance(extra, dict) else {}


def _links_of(row):
    """What a document points at: URLs (the article it shares, links in a post) and post ids it replies to."""
    urls, ids = [], []
    extra = _extra(row)
    for key in ("reply_to", "original_url", "in_reply_to", "quoted_url", "link", "story_url", "parent_url"):
        value = extra.get(key)
        if isinstance(value, str) and value.startswith("http"):
            urls.append(value)
        elif isinstance(value, (str, int)) and str(value).strip():
            ids.append(str(value))
    if row.get("kind") == "social":
        urls += _URL_IN_TEXT.findall(row.get("text") or "")
    return [u.rstrip(".,;") for u in urls], ids


def _slug(url):
    """The last path segment when it is a long article slug: mirrors and syndicated copies keep it."""
    path = re.sub(r"[?#].*$", "", url or "").rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    for ext in (".html", ".htm", ".php"):
        last = last.removesuffix(ext)
    return last if len(last) >= 24 and last.count("-") >= 3 else None


def link_targets(rows):
    """Per row, the index of the row whose story it follows, or None: the original of a duplicate,
    the document a post shares or links to (by URL, or by the article slug a syndicated copy keeps),
    the post it replies to (by GUID). Rows: dicts with id, url, canonical_url, guid, duplicate_of,
    kind, text, extra.
    """
    pos = {r["id"]: k for k, r in enumerate(rows)}
    by_url, by_guid = {}, {}
    for r in rows:
        for u in (r.get("url"), r.get("canonical_url")):
            if u:
                by_url.setdefault(u, r["id"])
                if _slug(u):
                    by_url.setdefault(_slug(u), r["id"])
        if r.get("guid"):
            by_guid.setdefault(str(r["guid"]), r["id"])
    out = []
    for r in rows:
        if r.get("duplicate_of") in pos:
            out.append(pos[r["duplicate_of"]])
            continue
        urls, ids = _links_of(r)
        keys = [by_url.get(u, by_url.get(_slug(u))) for u in urls] + [by_guid.get(x) for x in ids]
        out.append(next((pos[t] for t in keys if t in pos and t != r["id"]), None))
    return out


def items_from_records(records):
    """Stream items from plain records {id, title, text, url, source, published[, kind, publisher]}
    (bench sets, imports), knowing what `process` knows of crawled documents: the date in ISO form
    (as the spiders store it; see iso_published), the kind (from the
    URL's host when not given), the publisher (the source), republished copies (near-duplicate
    text; the earlier one is the original) and what a post links to.
    """
    from pipeline.store.dedup import duplicate_originals
    from pipeline.urls import canonical_url, kind_of_url
    from pipeline.dates import url_date
    records = [{**rec, "published": iso_published(rec.get("published")) or url_date(rec.get("url"))}
               for rec in records]
    order = stream_order(records)
    originals = duplicate_originals([records[i].get("text") or "" for i in order])
    duplicate_of = {order[k]: order[o] for k, o in enumerate(originals) if o is not None}
    rows = []
    for i, rec in enumerate(records):
        url = rec.get("url") or ""
        rows.append({"id": i, "url": url, "canonical_url": canonical_url(url) if url.startswith("http") else url,
                     "guid": None, "duplicate_of": duplicate_of.get(i),
                     "kind": rec.get("kind") or kind_of_url(url), "text": rec.get("text") or "",
                     "extra": "{}"})
    links = link_targets(rows)
    items = []
    for rec, row, link in zip(records, rows, links):
        item = {**rec, "kind": row["kind"], "canonical_url": row["canonical_url"] or None,
                "publisher": rec.get("publisher") or rec.get("source")}
        item.pop("story", None)
        item.pop("link", None)
        if link is not None:
            item["link"] = link
        items.append(item)
    return items


def _load_rows(db):
    """New documents plus the assigned ones the stream needs as state (within the window)."""
    new = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IS NULL ORDER BY id"))
    if not new:
        return [], new
    times = [parse_time(r["published"]) for r in new]
    dated = [t for t in times if t is not None]
    if dated and len(dated) == len(times):
        start = datetime.datetime.fromtimestamp((min(dated) - CONFIG["window_days"]) * 86400,
                                                datetime.timezone.utc).isoformat(timespec="seconds")
        old = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IS NOT NULL AND "
                            "(published IS NULL OR published >= ?) ORDER BY id", [start]))
    else:
        old = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IS NOT NULL ORDER BY id"))
    # Originals of new duplicates and targets of new posts must be present, even if old.
    have = {r["id"] for r in old} | {r["id"] for r in new}
    want = {r["duplicate_of"] for r in new if r["duplicate_of"]} - have
    if want:
        old += [r for r in db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE id IN "
                                    f"({','.join('?' * len(want))})", list(want)) if r["story_id"]]
    link_urls = {u for r in new for u in _links_of(r)[0]}
    if link_urls:
        urls = list(link_urls)[:900]
        qs = ",".join("?" * len(urls))
        have = {r["id"] for r in old} | {r["id"] for r in new}
        old += [r for r in db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IS NOT NULL AND "
                                    f"(canonical_url IN ({qs}) OR url IN ({qs}))", urls + urls)
                if r["id"] not in have]
    rows = sorted(old + new, key=lambda r: r["id"])
    return rows, new


def _doc_entities(db, ids):
    out = {}
    ids = list(ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        for r in db.query(f"SELECT document_id, entity_id FROM document_entities WHERE document_id IN "
                          f"({','.join('?' * len(chunk))})", chunk):
            out.setdefault(r["document_id"], []).append(r["entity_id"])
    return out


def assign_stories(db, model_name=None):
    """Assign documents without a story, merge near-duplicate stories, refresh story fields."""
    from pipeline.stories.embed import content_key, embed_documents, load_vectors, resolve_model
    from pipeline.stories.entities import index_entities

    embed_documents(db, model_name)
    index_entities(db)
    rows, new = _load_rows(db)
    counts = {"assigned": 0, "new_stories": 0, "merged": 0, "moved": 0}
    if not new:
        return counts
    vec_of = load_vectors(db, model_name)
    ents = _doc_entities(db, [r["id"] for r in rows])
    links = link_targets(rows)
    redirects = {r["old_id"]: r["new_id"] for r in db["story_redirects"].rows}

    def current(sid):
        seen = set()
        while sid in redirects and sid not in seen:
            seen.add(sid)
            sid = redirects[sid]
        return sid

    items, vectors = [], []
    dim = len(next(iter(vec_of.values()))) if vec_of else 384
    for k, r in enumerate(rows):
        # A post without a title borrows the title of the thread it belongs to (HN story_title).
        title = r["title"] or _extra(r).get("story_title") or ""
        item = {"id": r["id"], "title": title, "text": r["text"], "published": r["published"],
                "canonical_url": r["canonical_url"] or r["url"], "kind": r["kind"], "publisher": r["publisher"],
                "lang": r["lang"],
                "entities": ents.get(r["id"], [])}
        if r["story_id"]:
            item["story"] = current(r["story_id"])
        if links[k] is not None:  # a placed copy keeps following its original (see refine)
            item["link"] = links[k]
        items.append(item)
        v = vec_of.get(content_key(r))
        vectors.append(v if v is not None else np.zeros(dim, dtype=np.float32))
    result = cluster_stream(items, np.vstack(vectors))
    labels = result["labels"]

    now = _now()
    touched = set()
    with db.conn:
        for r, label in zip(rows, labels):
            if r["story_id"] != label:
                if r["story_id"] is None:
                    counts["assigned"] += 1
                elif (left := _final(result["redirects"], current(r["story_id"]))) != label:
                    # Moved on second thoughts (see cluster_stream's refine): the story it left changes too.
                    counts["moved"] += 1
                    touched.add(left)
                db.execute("UPDATE documents SET story_id = ? WHERE id = ?", [label, r["id"]])
                touched.add(label)
        for old_id, new_id in result["redirects"].items():
            final = _final(result["redirects"], new_id)
            db["story_redirects"].upsert({"old_id": old_id, "new_id": final}, pk="old_id")
            # Earlier redirects to the merged story now point at the survivor.
            db.execute("UPDATE story_redirects SET new_id = ? WHERE new_id = ?", [final, old_id])
            db.execute("UPDATE documents SET story_id = ? WHERE story_id = ?", [final, old_id])
            if db["stories"].count_where("id = ?", [old_id]):
                db["stories"].update(old_id, {"merged_into": final, "n_documents": 0, "updated": now})
            counts["merged"] += 1
            touched.add(final)
        counts["new_stories"] = len([s for s in result["new"] if s in set(labels)])
        refresh_stories(db, touched, vec_of, now, model=resolve_model(model_name)[0])
    return counts


def _final(redirects, sid):
    while sid in redirects:
        sid = redirects[sid]
    return sid


def _heat(times, n_docs, n_sources):
    """Coverage (documents, distinct sources) plus velocity (documents in the first 3 days)."""
    dated = sorted(t for t in times if t is not None)
    burst = sum(1 for t in dated if t - dated[0] <= 3.0) if dated else 0
    return round(math.log1p(n_docs) + 1.5 * math.log1p(n_sources) + math.log1p(burst), 3)


def _story_entities(db, sid, headline):
    """Names the coverage is about, most mentioned first (at most 15).

    Counted over independent documents (a republished copy repeats its original). In a story of
    three or more, a name must come from two of them or the headline: one passing mention ("a
    former SpaceX and Apple designer") does not make a story about Apple.
    """
    from pipeline.stories.entities import extract_entities
    count = Counter()
    for r in db.query("SELECT de.entity_id AS e, count(*) AS n FROM document_entities de JOIN documents d "
                      "ON d.id = de.document_id WHERE d.story_id = ? AND d.duplicate_of IS NULL "
                      "GROUP BY de.entity_id", [sid]):
        count[r["e"]] = r["n"]
    n = db.execute("SELECT count(*) FROM documents WHERE story_id = ? AND duplicate_of IS NULL", [sid]).fetchone()[0]
    named = set(extract_entities(headline or ""))
    keep = [e for e, k in count.items() if n < 3 or k >= 2 or e in named]
    return sorted(keep, key=lambda e: (-count[e], e))[:15]


def refresh_stories(db, story_ids, vec_of=None, now=None, model=None):
    """Recompute headline, lead, dates, counts, entities, categories, heat, related; write changes only.

    `model` names the model `vec_of` was loaded with: each story's embedding sum is kept per model
    in `story_centroids`, so related stories need no scan of every document. Without it (ad-hoc
    vectors passed in) nothing is kept and every centroid is read from documents. `process` calls
    this inside its write transaction, so no other writer changes the documents meanwhile.
    """
    from pipeline.stories.embed import content_key, load_vectors, resolve_model
    from pipeline.stories.categories import categorise
    if not story_ids:
        return 0
    keep = model is not None or vec_of is None
    if vec_of is None:
        vec_of = load_vectors(db, model)
    model = resolve_model(model)[0] if keep else None
    now = now or _now()
    changed = 0
    centroids = {}
    for sid in sorted(story_ids):
        docs = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id = ? ORDER BY id", [sid]))
        if not docs:
            if keep:  # merged away or emptied: no longer a live story
                db.execute("DELETE FROM story_centroids WHERE story_id = ?", [sid])
            continue
        vecs = [vec_of.get(content_key(d)) for d in docs]
        total = _embedding_sum(vecs)
        cent = _unit(total) if total is not None else None
        if cent is not None:
            centroids[sid] = cent
        if keep:
            _store_centroid(db, sid, model, vecs, total)
        # Headline: the most representative title (closest to the centroid), from articles
        # before posts; duplicates add nothing.
        def rank(k):
            d = docs[k]
            sim = float(vecs[k] @ cent) if cent is not None and vecs[k] is not None else 0.0
            return (d["kind"] == "social", not d["title"], d["duplicate_of"] is not None, -sim, d["id"])
        headline = (docs[min(range(len(docs)), key=rank)]["title"] or "").strip() or None
        times = [parse_time(d["published"]) for d in docs]
        # Lead: the first report; on a tie the original beats its republished copy, and a
        # document with text beats a title-only entry.
        lead = min(range(len(docs)), key=lambda k: (times[k] is None, times[k] or 0.0,
                                                     docs[k]["duplicate_of"] is not None, is_thin(docs[k]),
                                                     docs[k]["id"]))
        dated = [(t, d["published"]) for t, d in zip(times, docs) if t is not None]
        first = min(dated)[1] if dated else None
        last = max(dated)[1] if dated else None
        sources = {d["publisher"] or d["site"] or d["source_id"] for d in docs}
        sources.discard(None)
        entities = _story_entities(db, sid, headline)
        cat_count = Counter()
        for d in docs:
            cat_count.update(categorise(f"{d['title'] or ''}\n{(d['text'] or '')[:3000]}")[:3])
        # A category must be carried by a fair share of the coverage, not one passing mention.
        need = max(1, math.ceil(0.25 * len(docs)))
        categories = [c for c, k in sorted(cat_count.items(), key=lambda kv: (-kv[1], kv[0])) if k >= need][:4]
        row = {
            "id": sid, "headline": headline, "first_seen": first, "last_seen": last,
            "first_week": _iso_week(first), "lead_document_id": docs[lead]["id"],
            "n_documents": len(docs), "n_sources": len(sources) or 1,
            "heat": _heat(times, len(docs), len(sources) or 1),
            "categories": json.dumps(categories), "entities": json.dumps(entities), "merged_into": None,
        }
        changed += _write_if_changed(db, row, now)
    _refresh_related(db, centroids, vec_of, now, model=model if keep else None)
    return changed


def _embedding_sum(vecs):
    """The sum of a story's vectors in document order (float32, added one by one), or None."""
    total = None
    for v in vecs:
        if v is not None:
            total = v if total is None else total + v
    return total


def _store_centroid(db, sid, model, vecs, total):
    """Keep a story's embedding sum for this model, only when every member has a vector: a
    document whose vector is missing (its text changed since the vectors were loaded) would leave
    a stale sum behind. The story is then read from its documents next time."""
    if total is None or any(v is None for v in vecs):
        db.execute("DELETE FROM story_centroids WHERE story_id = ? AND model = ?", [sid, model])
    else:
        db.execute("INSERT OR REPLACE INTO story_centroids (story_id, model, n, vector) VALUES (?, ?, ?, ?)",
                   [sid, model, len(vecs), np.asarray(total, dtype=np.float32).tobytes()])


def _sums_from_documents(db, story_ids, vec_of, model=None):
    """{story_id: embedding sum} read from the stories' documents; kept for `model` when given."""
    from pipeline.stories.embed import content_key
    sums, ids = {}, sorted(story_ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        docs = {}
        for d in db.query(f"SELECT story_id, id, content_hash, title, text FROM documents WHERE story_id IN "
                          f"({','.join('?' * len(chunk))}) ORDER BY id", chunk):
            docs.setdefault(d["story_id"], []).append(d)
        for sid, ds in docs.items():
            vs = [vec_of.get(content_key(d)) for d in ds]
            total = _embedding_sum(vs)
            if model is not None:
                _store_centroid(db, sid, model, vs, total)
            if total is not None:
                sums[sid] = total
    return sums


def _story_sums(db, vec_of, model):
    """{story_id: embedding sum} for every live story (one with documents) that has a vector.

    Read from `story_centroids` for this model; stories missing there (a database from before it,
    a new model, documents changed since: triggers drop those rows) are read from their documents
    once and kept. Without a model every story is read from its documents, as before the table.
    """
    live = [r[0] for r in db.execute("SELECT DISTINCT story_id FROM documents WHERE story_id IS NOT NULL")]
    if model is None:
        return _sums_from_documents(db, live, vec_of)
    live_set, sums = set(live), {}
    stale = []
    for sid, blob in db.execute("SELECT story_id, vector FROM story_centroids WHERE model = ?", [model]):
        if sid in live_set:
            sums[sid] = np.frombuffer(blob, dtype=np.float32)
        else:
            stale.append(sid)
    if stale:
        db.executemany("DELETE FROM story_centroids WHERE story_id = ?", [[s] for s in stale])
    missing = [sid for sid in live if sid not in sums]
    if missing:
        filled = _sums_from_documents(db, missing, vec_of, model)
        log.info("story centroids (%s): read %d stories from their documents (%d kept)",
                 model, len(missing), len(filled))
        sums.update(filled)
    return sums


def _write_if_changed(db, row, now):
    existing = db["stories"].get(row["id"]) if db["stories"].count_where("id = ?", [row["id"]]) else None
    if existing and all(existing.get(k) == v for k, v in row.items()):
        return 0
    db["stories"].upsert({**row, "updated": now}, pk="id", alter=False)
    return 1


def _refresh_related(db, centroids, vec_of, now, top=3, min_sim=0.5, model=None):
    """Related stories: the closest other live stories by centroid.

    Recomputed for the stories that changed and for those they may enter or leave: stories close
    to a changed one, and stories whose list names a changed or merged-away story. Centroids come
    from `story_centroids` for `model` (see `_story_sums`), not from every document.
    """
    if not centroids:
        return
    sums = _story_sums(db, vec_of, model)
    ids = sorted(sums)
    if len(ids) < 2:
        return
    row_of = {sid: j for j, sid in enumerate(ids)}
    mat = np.array([sums[s] for s in ids], dtype=np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
    changed = [sid for sid in centroids if sid in row_of]
    todo = set(changed)
    if changed:
        close = (mat @ mat[[row_of[s] for s in changed]].T).max(axis=1) >= min_sim
        todo |= {ids[j] for j in np.nonzero(close)[0]}
    listed = {r["id"]: r["related"] for r in db.query("SELECT id, related FROM stories")}
    for sid, rel in listed.items():
        if sid in row_of and any(r in centroids or r not in row_of for r in json.loads(rel or "[]")):
            todo.add(sid)
    for sid in sorted(todo):
        sims = mat @ mat[row_of[sid]]
        related = [ids[j] for j in np.argsort(-sims, kind="stable") if ids[j] != sid and sims[j] >= min_sim][:top]
        if listed.get(sid) != json.dumps(related) and sid in listed:
            db["stories"].update(sid, {"related": json.dumps(related), "updated": now})
