"""Second thoughts: the member that fits a story new documents joined worst may split off (see
split_off), members of those stories move to a neighbour that now fits them better, and a small
story that one bigger story stands out for folds into it (see refine)."""
import numpy as np

from pipeline.stories.scoring import gap_days, pair_features, score, shortlist, story_score
from pipeline.stories.state import activate, add, merge, open_story, remove, resolve

# Second thoughts score a member in full only when a neighbour's centroid is at most this much less
# close than its own story's. A filter for cost: scoring every member in full made a document cost
# about five times as much on a 20,000-document stream like the scale bench's, for 0.002 more on
# aiid-fixtures and nothing on the other sets.
REFINE_SLACK = 0.1

# A story this small is not split: its weakest member is a large share of what it is measured by.
SPLIT_MIN = 4
# Members of a story scored in full for the split (the ones least close to its centroid without
# themselves): a filter for cost, so a story of thousands costs what one of a dozen does.
SPLIT_PROBES = 4


def _live(st, sid):
    """The live story a (possibly merged) id now names, or None."""
    story = st.objs.get(resolve(st.redirects, sid))
    return None if story is None or story.closed or story.slot is None else story


def refine(st, touched):
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
    seeds = split_off(st, touched)
    settled = set()  # moved once in this call: no document goes back and forth
    near_of = {}  # story id -> its neighbours, as the last pass found them (the fold uses them too)
    for _ in range(st.cfg["refine_passes"]):
        moved = 0
        for sid in sorted(touched):
            story = _live(st, sid)
            if story is None:
                continue
            neighbours = near_of[story.id] = neighbours_of(st, story)
            moved += sum(reconsider(st, i, story, neighbours, settled) for i in movable(st, story, neighbours))
            for other in neighbours:
                moved += sum(reconsider(st, i, other, [story], settled) for i in movable(st, other, [story]))
        if not moved:
            break
    fold(st, touched, near_of)
    forget_folded(st, seeds)
    touched.clear()


def split_off(st, touched):
    """The member of each touched story that fits it worst opens a story of its own when it would
    no longer join that story as a newcomer.

    Look-alike reports (another incident of the same company, told in the same words) can join a
    story one after another, each through the one before it, and the passes below can only move a
    member to a story that exists. Without one that fell short of `join` when it arrived, nothing
    is left to move the chain to. The split gives the passes that place: the look-alikes that fit
    it better follow it there. When none does, the fold (below) takes it back, if one story stands
    out for it. This is why the order documents arrive in matters less: the order decides which
    report, if any, happened to fall short of `join`. Returns the stories it opened.
    """
    seeds = []
    for sid in sorted(touched):
        story = _live(st, sid)
        if story is None or story.n < SPLIT_MIN:
            continue
        scores = [(score_without(st, story, i), i) for i in weakest(st, story)]
        worst, who = min(scores, default=(st.cfg["join"], None))
        if worst < st.cfg["join"]:
            remove(st, story, who)
            seed = open_story(st, who)
            add(st, seed, who)
            st.stories[seed.id].append(who)
            activate(st, seed)
            touched.add(seed.id)
            seeds.append(seed)
    return seeds


def score_without(st, story, i):
    """Member i's join score against its story without it, as a newcomer's; it stays in its place
    (the first and latest members are the ones max-link samples)."""
    at, where = story.members.index(i), st.stories[story.id].index(i)
    remove(st, story, i)
    sc = story_score(st, i, story)
    add(st, story, i)
    story.members.insert(at, story.members.pop())
    st.stories[story.id].insert(where, i)
    return sc


def forget_folded(st, seeds):
    """A story the split opened that the fold took back in the same call was never seen outside
    it: it leaves no redirect (nothing was ever filed under its id) and counts as no merge."""
    for seed in seeds:
        if seed.id in st.redirects and seed.id not in st.redirects.values():
            del st.redirects[seed.id]
            st.opened.remove(seed.id)
            del st.objs[seed.id], st.born[seed.id]


def weakest(st, story):
    """Up to SPLIT_PROBES members of story that the split may take, least close to its centroid
    without themselves first: counted in its sums, not a copy, reply or post (reactions found no
    story), not shown in a published digest, none joined through them, and in the story's main
    language (the model places other languages far from it whatever they report)."""
    main = story.langs.most_common(1)[0][0] if story.langs else None
    mem = [m for m in story.members if st.counted[m] and st.items[m].get("link") is None
           and st.doc_kind[m] != "social" and not st.items[m].get("pinned")
           and (not main or not st.doc_lang[m] or st.doc_lang[m] == main) and not carried(st, m, story)]
    if not mem:
        return []
    v = st.vectors[mem]
    rest = story.vsum[None, :] - v
    own = np.einsum("ij,ij->i", v, rest) / (np.linalg.norm(rest, axis=1) + 1e-9)
    return [mem[k] for k in np.argsort(own, kind="stable")[:SPLIT_PROBES]]


def fold(st, touched, near_of):
    """Deferred decisions: a story of at most fold_max documents, new or near a story new documents
    joined, folds into the bigger story that takes each of its members at fold or more, ahead of
    every other story by fold_margin.

    A document short of join opens a story of its own: at that moment it may be the first report
    of a look-alike event. When nothing (or one document) has followed it by the next refine, and
    one bigger story stands out for each of its members, it is more likely coverage of that story
    than an event of its own. The join threshold can then stay strict where look-alikes meet.
    """
    fold_max, items, labels = st.cfg["fold_max"], st.items, st.labels
    small = set()
    for sid in touched:
        story = _live(st, sid)
        if story is None:
            continue
        if len(story.members) <= fold_max:
            small.add(story.id)
        else:
            neighbours = near_of.get(story.id) or neighbours_of(st, story)
            small.update(s.id for s in neighbours if len(s.members) <= fold_max)
    for sid in sorted(small, key=st.born.get):
        story = st.objs[sid]
        if story.closed or story.slot is None or len(story.members) > fold_max:
            continue  # (one that took in another small story meanwhile is no longer small)
        # A copy or reply goes where its original goes: only originals are judged, and a story
        # holding a copy of a document elsewhere stays (that is the stream's own decision).
        judged = [i for i in story.members if items[i].get("link") is None]
        if not judged or any(labels[items[i]["link"]] != story.id for i in story.members
                             if items[i].get("link") is not None):
            continue
        targets = {fold_target(st, i, story) for i in judged}
        if len(targets) == 1 and None not in targets:
            target = targets.pop()
            merge(st, target, story)
            activate(st, target)  # a retired story an undated document belongs to lives again


def fold_target(st, i, story):
    """The bigger story that takes member i of story at fold or more, by fold_margin over the rest."""
    cands = sorted(((score(st, i, s, c, mx), k, s, c, mx) for k, (s, c, mx) in enumerate(shortlist(st, i))
                    if s is not story), key=lambda x: (-x[0], x[1]))
    if not cands:
        return None
    best, _, target, c, mx = cands[0]
    rival = cands[1][0] if len(cands) > 1 else 0.0
    if target.n <= story.n or best < st.cfg["fold"] or best < rival + st.cfg["fold_margin"]:
        return None
    if pair_features(st, i, target, c, mx)["own_pub"]:
        return None  # a lab's post among its own posts: another announcement, not late coverage
    gap = gap_days(st, i, target)
    if gap is not None and gap > st.cfg["tau_days"]:
        return None  # weeks after a story went quiet, a report is a new event of its kind
    return target


def neighbours_of(st, story):
    """The live stories whose centroids are closest to story's (at most near)."""
    sims = st.cents @ st.cents[story.slot]
    sims[~st.live] = -2.0
    k = min(st.cfg["near"] + 1, st.cap_rows)
    rows = [r for r in np.argpartition(-sims, k - 1)[:k] if st.live[r] and st.owner[r] is not story]
    return [st.owner[r] for r in rows if not st.owner[r].closed]


def movable(st, source, targets):
    """Members of source worth scoring against targets: the centroid of one of them is about as
    close as their own story's (without themselves). A cheap filter before full scores."""
    if source.n < 2 or source.slot is None or not targets:
        return []
    # A document a published digest showed under this story stays (its story id must keep naming it).
    mem = [m for m in source.members
           if st.counted[m] and st.items[m].get("link") is None and not st.items[m].get("pinned")]
    if not mem:
        return []
    v = st.vectors[mem]
    group = v.copy()  # each with what joined through it, which moves with it
    for row, m in enumerate(mem):
        for j in carried(st, m, source):
            if st.counted[j]:
                group[row] += st.vectors[j]
    rest = source.vsum[None, :] - group
    own = np.einsum("ij,ij->i", v, rest) / (np.linalg.norm(rest, axis=1) + 1e-9)
    there = (v @ st.cents[[t.slot for t in targets]].T).max(axis=1)
    return [m for m, a, b in zip(mem, own, there) if b >= a - REFINE_SLACK]


def carried(st, i, source):
    """The copies, replies and launch posts in source that joined it through member i."""
    return [j for j in st.followers.get(i, ()) if st.labels[j] == source.id]


def reconsider(st, i, source, targets, settled):
    """Move member i of source to the best of targets if it scores higher there by the margin."""
    if i in settled or st.labels[i] != source.id:  # moved earlier in this round
        return False
    # What joined through it goes with it, so it is no evidence for staying.
    group = [i] + carried(st, i, source)
    shaping = [st.counted[j] for j in group]
    if source.n <= sum(shaping):
        return False
    for j in group:
        remove(st, source, j)
    best, target = story_score(st, i, source) + st.cfg["refine_margin"], source
    for other in targets:  # live stories: nothing closes or retires during a refine
        sc = story_score(st, i, other)
        if sc > best:
            best, target = sc, other
    for j, was in zip(group, shaping):
        add(st, target, j, passive=not was)
        st.stories[target.id].append(j)
    if target is not source:
        settled.add(i)
    return target is not source
