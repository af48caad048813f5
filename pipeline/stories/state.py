"""A live story and its sums, and the state one run of the stream shares (see stream.py).

Every sum a story keeps is changed only by `add` and `remove`, so a document that leaves takes
exactly what it brought (second thoughts and merges move documents between live stories).
"""
import hashlib
from collections import Counter, OrderedDict

import numpy as np

from pipeline.stories.features import ROUNDUP, idf_weight, is_thin, language, unit


class Story:
    __slots__ = ("id", "members", "vsum", "keys", "first", "last", "touched", "closed", "n", "lsum", "slot",
                 "reported", "years", "langs", "pubs", "core", "figures", "agreed", "lv", "ll")

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
        self.figures = Counter()  # members giving each figure (see features.figure_terms)
        self.agreed = None  # figures half the members give, by share (cached like core)


class Stream:
    """One run: the items and what was read in them, the stories so far, the live-centroid matrix."""

    def __init__(self, items, vectors, cfg):
        self.cfg, self.items, self.vectors = cfg, items, vectors
        n = len(items)
        self.labels = [None] * n
        self.stories, self.redirects, self.opened = {}, {}, []  # id -> member indexes; old -> new; ids opened
        self.df, self.key_df, self.n_docs = Counter(), Counter(), 0
        # With idf_batch the statistics are fixed before the first placement: each term's weight
        # is worked out once (the same value) instead of at every use.
        self.weights = {} if cfg["idf_batch"] else None
        self.born = {}  # story id -> creation rank: the older story survives a merge
        self.objs = {}  # story id -> Story (live or retired)
        self.active = OrderedDict()  # story id -> Story still eligible for joining, in touch order
        # Unit centroids of live stories in a fixed-size matrix: scoring a document against every
        # live story is one matrix-vector product, however large the store grows.
        self.cap_rows = cfg["max_active"] + 1
        self.cents = np.zeros((self.cap_rows, vectors.shape[1] if vectors.ndim == 2 else 1), dtype=np.float32)
        self.live = np.zeros(self.cap_rows, dtype=bool)
        self.owner = [None] * self.cap_rows
        self.free = list(range(self.cap_rows - 1, -1, -1))
        self.touch = 0
        # Per item, filled in stream order (see stream.read_documents); unit: its tf-idf vector.
        self.doc_terms, self.doc_keys, self.doc_time, self.doc_unit = [None] * n, [None] * n, [None] * n, [None] * n
        self.doc_years, self.doc_figs = [None] * n, [None] * n
        # An item may carry what was read in it before (see features.reading): not read again.
        self.doc_thin = [it["reading"]["thin"] if "reading" in it else is_thin(it) for it in items]
        self.doc_lang = [it["reading"]["lang"] if "reading" in it else language(it) for it in items]
        self.doc_kind = [it.get("kind") for it in items]
        self.doc_publisher = [(it.get("publisher") or "").strip().lower() for it in items]
        self.counted = [False] * n  # shapes its story's state (not a reaction or launch post carried along)
        self.cards = {}  # publisher -> items of kind system_card placed so far (see stream.launch_card)
        self.plain_texts = {}  # item index -> its text reduced to lowercase words, for quote matching
        self.followers = {}  # item -> the copies, replies and launch posts that joined its story through it
        # Retired stories an undated document may still belong to (see retired_candidates): their
        # unit centroids as rows, the story of each row, whether the row is current (a story revived
        # and retired again gets a new one), and each shelved story's row.
        self.shelf = np.zeros((0, self.cents.shape[1]), dtype=np.float32)
        self.shelf_current = np.zeros(0, dtype=bool)
        self.shelf_owner, self.shelf_row = [], {}

    def idf(self, t):
        if self.weights is None:
            return idf_weight(self.n_docs, self.df[t])
        w = self.weights.get(t)
        if w is None:
            w = self.weights[t] = idf_weight(self.n_docs, self.df[t])
        return w

    def kidf(self, k):
        return idf_weight(self.n_docs, self.key_df[k])


def story_id_for(item):
    """Stable id from the founding document: 's-' + short hash of its canonical URL (or id)."""
    key = item.get("canonical_url") or item.get("url") or str(item.get("id"))
    return "s-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def open_story(st, i):
    """A new story founded by item i."""
    it = st.items[i]
    sid = story_id_for(it)
    while sid in st.stories or sid in st.redirects:  # founded a story before, merged away or split from
        sid = "s-" + hashlib.sha1((sid + str(i)).encode()).hexdigest()[:10]
    target = st.objs[sid] = Story(sid)
    if ROUNDUP.search(it.get("title") or ""):
        target.closed = True  # a roundup covers many events: it joins none, none join it
    st.stories[sid] = []
    st.born[sid] = len(st.born)
    st.opened.append(sid)
    return target


def resolve(redirects, sid):
    """The story a (possibly merged) story id now lives in: redirects {old: new} followed to the end.
    The one resolver of every writer (the stream, assign_stories); a cycle stops where it closes."""
    seen = set()
    while sid in redirects and sid not in seen:
        seen.add(sid)
        sid = redirects[sid]
    return sid


def activate(st, story):
    """Give a story a row in the centroid matrix (retiring the least recently touched when full)."""
    if story.closed or story.slot is not None:
        return
    while not st.free:
        retire(st, next(iter(st.active.values())))
    story.slot = st.free.pop()
    row = st.shelf_row.pop(story.id, None)
    if row is not None:
        st.shelf_current[row] = False  # live again: off the shelf
    st.owner[story.slot], st.live[story.slot] = story, True
    st.cents[story.slot] = unit(story.vsum) if story.vsum is not None else 0
    st.active[story.id] = story


def retire(st, story):
    """No longer eligible for joining by dated documents: its row in the centroid matrix is freed,
    and (unless merged away) it goes on the shelf undated documents still search."""
    st.active.pop(story.id, None)
    if story.slot is not None:
        st.live[story.slot], st.owner[story.slot] = False, None
        st.free.append(story.slot)
        story.slot = None
        if not story.closed and story.vsum is not None:
            shelve(st, story)


def shelve(st, story):
    """Put a retired story's centroid on the shelf (the array doubles when full)."""
    row = len(st.shelf_owner)
    if row == len(st.shelf):
        size = max(64, 2 * row)
        st.shelf = np.resize(st.shelf, (size, st.shelf.shape[1]))
        st.shelf_current = np.concatenate([st.shelf_current, np.zeros(size - row, dtype=bool)])
    st.shelf[row], st.shelf_current[row] = unit(story.vsum), True
    st.shelf_owner.append(story)
    st.shelf_row[story.id] = row


def retired_candidates(st, v, k):
    """The k shelved stories whose centroids are closest to vector v, with their cosines."""
    if not st.shelf_row:
        return []
    n = len(st.shelf_owner)
    sims = np.where(st.shelf_current[:n], st.shelf[:n] @ v, -2.0)
    k = min(k, len(st.shelf_row))
    return [(st.shelf_owner[r], float(sims[r])) for r in np.argpartition(-sims, k - 1)[:k]]


def add(st, story, i, passive=False):
    """Make item i a member of story; unless passive (or a reaction), its sums take it in."""
    story.members.append(i)
    st.labels[i] = story.id
    publisher = st.doc_publisher[i]
    if st.doc_kind[i] == "system_card" and st.doc_time[i] is not None and i not in st.cards.get(publisher, ()):
        st.cards.setdefault(publisher, []).append(i)
    if (passive or st.doc_kind[i] == "social") and story.reported:
        # Reactions join a reported story without reshaping it: a dozen short posts must not
        # dilute the average links that the next article is measured against.
        return
    st.counted[i] = True
    story.reported = story.reported or st.doc_kind[i] != "social"
    story.vsum = st.vectors[i].copy() if story.vsum is None else story.vsum + st.vectors[i]
    story.lsum.update(st.doc_unit[i])
    story.keys.update(st.doc_keys[i])
    story.figures.update(st.doc_figs[i])
    story.years.update(st.doc_years[i])
    if st.doc_lang[i]:
        lang = st.doc_lang[i]
        story.langs[lang] += 1
        story.lv[lang] = story.lv.get(lang, 0) + st.vectors[i]
        story.ll.setdefault(lang, Counter()).update(st.doc_unit[i])
    story.pubs[publisher] += 1
    t = st.doc_time[i]
    if t is not None:
        story.first = t if story.first is None else min(story.first, t)
        story.last = t if story.last is None else max(story.last, t)
    st.touch += 1
    story.touched = st.touch
    if story.id in st.active:
        st.active.move_to_end(story.id)
    if story.slot is not None:
        st.cents[story.slot] = unit(story.vsum)
    story.n += 1
    story.core = story.agreed = None


def remove(st, story, i):
    """Take member i out of its story: the inverse of add."""
    story.members.remove(i)
    st.stories[story.id].remove(i)
    if not st.counted[i]:
        return
    st.counted[i] = False
    story.vsum = story.vsum - st.vectors[i]
    story.lsum.subtract(st.doc_unit[i])
    story.keys.subtract(st.doc_keys[i])
    story.figures.subtract(st.doc_figs[i])
    story.years.subtract(st.doc_years[i])
    if st.doc_lang[i]:
        lang = st.doc_lang[i]
        story.langs[lang] -= 1
        story.lv[lang] = story.lv[lang] - st.vectors[i]
        story.ll[lang].subtract(st.doc_unit[i])
        if story.langs[lang] <= 0:
            del story.lv[lang], story.ll[lang]
    story.pubs[st.doc_publisher[i]] -= 1
    for c in (story.lsum, story.keys, story.figures, story.years, story.langs, story.pubs):
        for k in [k for k, v in c.items() if v <= 1e-9]:
            del c[k]
    story.n -= 1
    story.core = story.agreed = None
    times = [st.doc_time[m] for m in story.members if st.counted[m] and st.doc_time[m] is not None]
    story.first, story.last = (min(times), max(times)) if times else (None, None)
    if story.slot is not None:
        st.cents[story.slot] = unit(story.vsum)


def merge(st, keep, gone):
    """Story gone folds into keep: its members move over, its id redirects to keep's."""
    for m in gone.members:
        was, st.counted[m] = st.counted[m], False  # gone's state goes with it
        add(st, keep, m, passive=not was)
    keep.touched = st.touch
    gone.closed = True
    st.redirects[gone.id] = keep.id
    st.stories[keep.id].extend(st.stories.pop(gone.id))
    retire(st, gone)
