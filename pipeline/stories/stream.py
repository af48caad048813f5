"""Streaming story assignment: each document joins the best active story or opens a new one.

The pure entry point is `cluster_stream(items, vectors)`; `assign.assign_stories(db)` feeds it
from the database (documents already assigned are replayed as state, new ones are decided) and
writes the results back. The bench runs the same function.
"""
import time

import numpy as np

from pipeline.dates import dateline_date

from pipeline.stories.features import (ROUNDUP, figure_terms, figures, key_terms, lexical_terms, parse_time, plain,
                                       unit_terms, years)
from pipeline.stories.records import stream_order
from pipeline.stories.refine import refine
from pipeline.stories.scoring import CONFIG, score, shortlist, story_pair_score, story_score
from pipeline.stories.state import Story, Stream, activate, add, merge, open_story, resolve, retire

QUOTE_MIN_WORDS = 6


def cluster_stream(items, vectors, config=None, timings=None):
    """Assign items to stories in stream order (see run); the GC is paused meanwhile."""
    import gc
    # Hundreds of thousands of small dicts and no reference cycles: the cyclic GC would only
    # rescan them ever more slowly as the stream grows.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return run(items, vectors, config, timings)
    finally:
        if enabled:
            gc.enable()


def run(items, vectors, config=None, timings=None):
    """Assign items (dicts: id, title, text, published, ...) to stories in stream order.

    An item with "story" set is replayed into that story (state from an earlier run). An item
    with "link" (index of an earlier item: the original of a duplicate, the post a reaction
    replies to) joins that item's story. Returns {"labels": story id per item, "stories":
    {id: [item indexes]}, "redirects": {old: new}, "new": [ids opened]}. With `timings` (a list),
    the CPU time each document took is appended to it.
    """
    cfg = {**CONFIG, **(config or {})}
    st = Stream(items, np.asarray(vectors, dtype=np.float32), cfg)
    order = stream_order(items)
    for i, it in enumerate(items):
        if it.get("link") is not None:
            st.followers.setdefault(it["link"], []).append(i)
    read_documents(st, order)
    touched, since = set(), 0  # stories new documents joined since the last refine
    for i in order:
        # CPU time, not wall time: on a shared machine other processes must not count as our cost.
        t0 = time.process_time() if timings is not None else 0
        if place(st, i, touched):
            since += 1
            if since >= cfg["refine_every"]:
                refine(st, touched)
                since = 0
        if timings is not None:
            timings.append(time.process_time() - t0)
    t0 = time.process_time()
    refine(st, touched)
    if timings:
        timings[-1] += time.process_time() - t0  # the last document pays for the run's last refine
    final = [resolve(st.redirects, label) for label in st.labels]
    return {"labels": final, "stories": st.stories, "redirects": st.redirects,
            "new": [s for s in st.opened if s not in st.redirects]}


def read_documents(st, order):
    """What the stream reads in each item; with idf_batch, corpus statistics (not labels) from
    every document known at run time."""
    for i in order:
        it = st.items[i]
        # An undated page is timed by the date its text opens with, if any (never by its absence).
        st.doc_time[i] = t = parse_time(it.get("published") or dateline_date(it.get("text")))
        if "reading" in it:  # read before (see features.reading)
            r = it["reading"]
            st.doc_terms[i], st.doc_keys[i], st.doc_years[i] = r["terms"], set(r["keys"]), set(r["years"])
            # A reading kept before figures were read: its names and numbers, dates not told apart.
            st.doc_figs[i] = set(r["figures"]) if "figures" in r else figures(r["keys"])
            continue
        st.doc_terms[i] = lexical_terms(it.get("title"), it.get("text"), lang=st.doc_lang[i])
        st.doc_keys[i] = key_terms(it.get("title"), it.get("text"), it.get("entities") or ())
        st.doc_years[i] = years(it, t)
        st.doc_figs[i] = figure_terms(it.get("title"), it.get("text"))
    if st.cfg["idf_batch"]:
        for i in order:
            count_document(st, i)


def count_document(st, i):
    """Item i counts in the corpus statistics the idf weights come from."""
    st.n_docs += 1
    st.df.update(st.doc_terms[i].keys())
    st.key_df.update(st.doc_keys[i])


def place(st, i, touched):
    """Put item i in a story (an existing one or a new one) and merge near-duplicate stories.
    Returns whether it was decided here (not replayed from an earlier run)."""
    if not st.cfg["idf_batch"]:
        count_document(st, i)
    st.doc_unit[i] = unit_terms(st.doc_terms[i], st.idf)
    decided = not st.items[i].get("story")
    target, near, passive = choose(st, i)
    if target is None:
        target = open_story(st, i)
    add(st, target, i, passive)
    st.stories[target.id].append(i)
    activate(st, target)
    if decided:
        touched.add(target.id)
        if target.n >= 2 and not target.closed:
            merge_near(st, target, near)
    return decided


def choose(st, i):
    """The story item i joins (None: a new one), the stories near it, and whether it joins passively
    (carried along: a launch post goes where its system card went)."""
    it, labels = st.items[i], st.labels
    preset, link = it.get("story"), it.get("link")
    target = None
    if preset:
        target = replayed_story(st, preset)
    elif link is not None and labels[link] is not None:
        target = st.objs[resolve(st.redirects, labels[link])]
    passive = False
    publisher = st.doc_publisher[i]
    if publisher and st.doc_time[i] is not None and st.doc_thin[i] and (target is None or preset):
        card = launch_card(i, st.cards.get(publisher, ()), st.doc_time)
        if card is not None and (target is None or resolve(st.redirects, labels[card]) == target.id):
            # Carried along (replayed as placed), and it goes where its card goes.
            st.followers.setdefault(card, []).append(i)
            target, passive = st.objs[resolve(st.redirects, labels[card])], True
    if target is None and not ROUNDUP.search(it.get("title") or ""):
        target, near = by_content(st, i)
        return target, near, passive
    return target, [], passive


def replayed_story(st, preset):
    """The story an item placed in an earlier run is replayed into (made on first sight)."""
    sid = resolve(st.redirects, preset)
    target = st.objs.get(sid)
    if target is None:
        target = st.objs[sid] = Story(sid)
        st.stories.setdefault(sid, [])
        st.born.setdefault(sid, len(st.born))
    return target


def by_content(st, i):
    """The live story item i scores best against at join or more (or None), and its closest ones."""
    retire_quiet(st, st.doc_time[i])
    cands = shortlist(st, i)
    target = None
    if cands and st.doc_kind[i] == "social":
        # A post the coverage quotes word for word is a reaction within that story.
        target = quoted_in(st, i, [s for s, _, _ in cands])
    if target is not None or not cands:
        return target, []
    best, k = max((score(st, i, s, c, mx), -k) for k, (s, c, mx) in enumerate(cands))
    if best >= st.cfg["join"]:
        target = cands[-k][0]
    return target, [s for s, _, _ in cands[:st.cfg["near"]]]


def retire_quiet(st, t):
    """Retire the stories that went quiet for longer than the window (oldest first)."""
    if t is not None:
        while st.active:
            oldest = next(iter(st.active.values()))
            if oldest.last is None or t - oldest.last <= st.cfg["window_days"]:
                break
            retire(st, oldest)


def merge_near(st, target, near):
    """Near-duplicate stories merge: the newer folds into the older, whose id survives. A lone
    document the grown story would now take folds into it (the story keeps its id)."""
    cfg = st.cfg
    for other in near:
        if other is target or other.closed or other.slot is None or other.id in st.redirects:
            continue
        if other.n <= cfg["rejoin_max"] < target.n and rejoins(st, other, target):
            merge(st, target, other)
        elif story_pair_score(st, target, other) >= cfg["merge"]:
            older, newer = sorted([target, other], key=lambda s: (st.born[s.id], s.id))
            merge(st, older, newer)
            target = older


def rejoins(st, small, story):
    """Would a small story's members now join `story` as documents? (It has grown since they came.)"""
    return all(story_score(st, j, story) >= st.cfg["join"] + st.cfg["rejoin_margin"] for j in small.members)


def launch_card(i, cards, doc_time):
    """The system card a title-only post belongs with: same publisher, within a day (or None).

    A lab publishes its launch posts with the model's system card ("Introducing Claude 4",
    "Activating AI Safety Level 3 protections"); a title alone is too little to place them
    by content, and the card is what the coverage of the launch gathers around.
    """
    near = [j for j in cards if abs(doc_time[j] - doc_time[i]) <= 1.0]
    return min(near, key=lambda j: abs(doc_time[j] - doc_time[i])) if near else None


def quoted_in(st, i, stories):
    """The first of `stories` whose non-social members carry post i's text verbatim (or None)."""
    items, cache = st.items, st.plain_texts
    words = plain(items[i].get("text")).split()
    if len(words) < QUOTE_MIN_WORDS:
        return None
    # Its opening or its close: the coverage may break a post in two around "added X on X:".
    probes = {" " + " ".join(words[:8]) + " ", " " + " ".join(words[-8:]) + " "}
    for story in stories:
        for m in story.members[:st.cfg["member_cap"]]:
            if items[m].get("kind") == "social":
                continue
            if m not in cache:
                cache[m] = plain(items[m].get("text"))
            if any(probe in cache[m] for probe in probes):
                return story
    return None
