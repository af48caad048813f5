"""Story assignment: join, new story, merge with stable ids and redirects, idempotence, links."""
import json
import pathlib

import numpy as np
import pytest

from pipeline.stories import assign, scoring
from db.connection import open_db
from pipeline.stories.assign import assign_stories
from pipeline.stories.fields import refresh_stories
from pipeline.stories.state import story_id_for
from pipeline.stories.stream import cluster_stream
from tests.support.stories import FIXTURE, sample

def insert(db, rows, start=1, **extra):
    for k, r in enumerate(rows, start):
        db["documents"].insert({
            "id": k, "url": r["url"], "canonical_url": r["url"], "kind": r.get("kind", "article"),
            "publisher": r.get("source") or "", "title": r["title"], "text": (r.get("text") or "")[:1500],
            "published": r.get("published"), "content_hash": f"c{k}", **extra, **r.get("db", {})})


# The decision a document gets on arrival, without the fold's deferred second look (tested on its own).
AT_ARRIVAL = {"fold": 2.0}


def story_map(db):
    return {r["id"]: r["story_id"] for r in db.query("SELECT id, story_id FROM documents")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The AIID sample (3 incidents, 9 reports) assigned once."""
    path = tmp_path_factory.mktemp("stories") / "s.db"
    db = open_db(path)
    insert(db, sample())
    counts = assign_stories(db)
    return path, counts


def test_join_and_new_story(built):
    path, counts = built
    db = open_db(path)
    rows = sample()
    by_doc = story_map(db)
    gold = {}
    for k, r in enumerate(rows, 1):
        gold.setdefault(r["story_id"], set()).add(by_doc[k])
    # Each incident's reports join one story; the three incidents are three stories.
    assert all(len(ids) == 1 for ids in gold.values()), gold
    assert len({next(iter(ids)) for ids in gold.values()}) == 3
    assert counts["assigned"] == 9 and counts["new_stories"] == 3


def test_story_fields(built):
    path, _ = built
    db = open_db(path)
    rows = sample()
    m = story_map(db)
    s = db["stories"].get(m[1])  # Starbucks: doc 2 (2015-09-24) came before doc 1 (2016-06-04)
    # The id derives from the founding (earliest) document's canonical URL.
    assert m[1] == story_id_for({"canonical_url": rows[1]["url"]})
    assert s["n_documents"] == 2 and s["n_sources"] == 2
    assert s["lead_document_id"] == 2 and s["first_seen"] == "2015-09-24" and s["last_seen"] == "2016-06-04"
    assert s["first_week"] == "2015-W39"
    assert "starbucks" in json.loads(s["entities"])
    photos = db["stories"].get(m[3])
    assert photos["n_documents"] == 4 and photos["n_sources"] == 4 and photos["first_seen"] is None
    # The headline is the most central title, not the longest one.
    longest = max((r["title"] for r in rows[2:6]), key=len)
    assert photos["headline"] != longest and "Google Photo" in photos["headline"]
    assert "google-photos" in json.loads(photos["entities"])
    assert "bias-discrimination" in json.loads(photos["categories"])
    assert photos["heat"] > s["heat"] > 0
    assert m[7] in json.loads(photos["related"]) or json.loads(photos["related"]) == []


def test_rerun_changes_nothing(built):
    path, _ = built
    db = open_db(path)
    before = (list(db.query("SELECT * FROM stories ORDER BY id")), story_map(db))
    counts = assign_stories(db)
    assert counts == {"assigned": 0, "new_stories": 0, "merged": 0, "moved": 0}
    assert (list(db.query("SELECT * FROM stories ORDER BY id")), story_map(db)) == before


def test_incremental_run_joins_existing_story(tmp_path):
    db = open_db(tmp_path / "i.db")
    rows = sample()
    insert(db, rows[:4])
    assign_stories(db)
    first = story_map(db)
    insert(db, rows[4:6], start=5)  # two more Google Photos reports arrive an hour later
    counts = assign_stories(db)
    after = story_map(db)
    assert counts["assigned"] == 2 and counts["new_stories"] == 0
    assert after[5] == after[6] == first[3]
    assert {k: after[k] for k in first} == first  # earlier assignments stay put


def test_duplicate_and_social_reply_join_their_story(tmp_path):
    db = open_db(tmp_path / "d.db")
    rows = sample()
    insert(db, rows[:4])
    # A republished copy with a different title, and a short post that links to the article.
    db["documents"].insert({"id": 20, "url": "https://mirror.example/copy", "canonical_url": "https://mirror.example/copy",
                            "kind": "article", "title": "Republished", "text": "Copy.", "content_hash": "c20",
                            "duplicate_of": 3})
    db["documents"].insert({"id": 21, "url": "https://social.example/@a/1", "canonical_url": "https://social.example/@a/1",
                            "kind": "social", "title": "", "text": f"wow {rows[0]['url']}", "content_hash": "c21"})
    # An HN-style comment that links to the article's real URL while we hold a mirror of it:
    # the long slug still identifies the article.
    db["documents"].insert({"id": 22, "url": "https://hn.example/item?id=9", "canonical_url": "https://hn.example/item?id=9",
                            "kind": "social", "title": "", "text": "Unbelievable.", "content_hash": "c22",
                            "extra": json.dumps({"link": "https://real.example/story/" + rows[3]["url"].rsplit("/", 1)[-1]})})
    assign_stories(db)
    m = story_map(db)
    assert m[20] == m[3]
    assert m[21] == m[1]
    assert m[22] == m[4] == m[3]
    # The original, not its copy, stays the lead; the copy's title is not the headline.
    story = db["stories"].get(m[3])
    assert story["lead_document_id"] == 3 and story["headline"] != "Republished"


def test_merge_keeps_older_id_and_redirects():
    # Two stories open on unrelated vectors; later documents bridge them strongly.
    e1, e2 = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    mid = (e1 + e2) / np.linalg.norm(e1 + e2)
    items = [{"id": "a", "url": "https://a.example/1", "title": "Quake hits Aceh province", "text": "A quake."},
             {"id": "b", "url": "https://b.example/2", "title": "Pirates seized in Gulf of Aden", "text": "Navy."},
             {"id": "c", "url": "https://c.example/3", "title": "Quake hits Aceh; pirates seized", "text": ""},
             {"id": "d", "url": "https://d.example/4", "title": "Aceh quake and Aden pirates", "text": ""}]
    vectors = np.array([e1, e2, mid, mid])
    cfg = {"join": 0.5, "merge": 0.3}
    out = cluster_stream(items, vectors, config=cfg)
    a_id, b_id = story_id_for(items[0]), story_id_for(items[1])
    assert out["redirects"] == {b_id: a_id}
    assert set(out["labels"]) == {a_id}
    # Same input, same ids and same merge.
    assert cluster_stream(items, vectors, config=cfg) == out


def test_merge_in_db_writes_redirect(tmp_path, monkeypatch):
    db = open_db(tmp_path / "m.db")
    rows = sample()
    insert(db, [rows[0], rows[2]])  # Starbucks, Google Photos: two stories
    assign_stories(db)
    before = story_map(db)
    assert before[1] != before[2]
    # With a permissive merge threshold the next document fuses them; the older id survives.
    monkeypatch.setitem(scoring.CONFIG, "merge", -1.0)
    insert(db, [rows[3]], start=3)  # joins Google Photos, then the merge check fires
    counts = assign_stories(db)
    after = story_map(db)
    assert counts["merged"] == 1
    assert len(set(after.values())) == 1 and after[1] == before[1]
    red = {r["old_id"]: r["new_id"] for r in db["story_redirects"].rows}
    assert red == {before[2]: before[1]}
    assert db["stories"].get(before[2])["merged_into"] == before[1]


def test_model_change_reassigns_nothing_but_embeds(tmp_path):
    from pipeline.stories.embed import bundled_model_dir
    db = open_db(tmp_path / "x.db")
    insert(db, sample()[:3])
    assign_stories(db)
    n = db["embeddings"].count
    assign_stories(db, model_name=str(bundled_model_dir()))  # another model key: vectors made again
    assert db["embeddings"].count == 2 * n


def test_roundup_stays_alone():
    v = np.ones((3, 4), dtype=np.float32) / 2
    items = [{"id": 1, "title": "Starbucks schedules", "text": "x"},
             {"id": 2, "title": "This week in AI: a roundup", "text": "x"},
             {"id": 3, "title": "Starbucks schedules again", "text": "x"}]
    labels = cluster_stream(items, v)["labels"]
    assert labels[0] == labels[2] != labels[1]
    # Year-end lists and "top N" lists cover many events too; a headline with a number is not one.
    for title, alone in [("2018 in Review: 10 AI Failures", True), ("Top 5 AI Failures From 2017", True),
                         ("The 5 worst AI fails of the year", True), ("Starbucks schedules: the top 3 complaints", False),
                         ("Starbucks schedules hit 1,200 baristas", False)]:
        labels = cluster_stream([items[0], dict(items[1], title=title), items[2]], v)["labels"]
        assert (labels[1] != labels[0]) is alone, title


def test_a_post_the_coverage_quotes_joins_that_story_without_reshaping_it():
    """Short posts rarely score high enough on similarity; one quoted verbatim by a member is a reaction."""
    article = {"id": "a", "kind": "article", "title": "Anthropic faces backlash over Claude 4 Opus",
               "text": "Nobody likes a rat, added developer @ScottDavidKeefe on X: Why would anyone want one "
                       "built in, even if they are doing nothing wrong? The model can contact regulators."}
    post = {"id": "p", "kind": "social", "title": "ScottDavidKeefe",
            "text": "Nobody likes a rat Why would anyone want one built in, even if they are doing nothing wrong?"}
    unrelated = {"id": "u", "kind": "social", "title": "someone",
                 "text": "Nobody here has ever seen a rat in the kitchen of this restaurant today"}
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 8)).astype(np.float32)  # dissimilar: only the quote can join them
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = cluster_stream([article, post, unrelated], vectors)["labels"]
    assert labels[1] == labels[0]
    assert labels[2] != labels[0]


def test_a_labs_title_only_launch_posts_join_its_system_card_story():
    """Title-only posts are placed by their context: the same lab's system card of the same day."""
    day = "2025-05-22T00:00:00+00:00"
    card = {"id": "c", "kind": "system_card", "publisher": "Anthropic", "published": day,
            "title": "Claude Opus 4 system card",
            "text": "In test scenarios the model attempted to blackmail the engineer in 84% of rollouts "
                    "and, given tools and a prompt to take initiative, emailed regulators and the press."}
    launch = {"id": "l", "kind": "blog", "publisher": "Anthropic", "published": day,
              "title": "Introducing Claude 4", "text": "Introducing Claude 4"}
    other_lab = {"id": "o", "kind": "blog", "publisher": "Mistral", "published": day,
                 "title": "Introducing Magistral", "text": ""}
    later = {"id": "x", "kind": "blog", "publisher": "Anthropic", "published": "2025-06-20T00:00:00+00:00",
             "title": "Introducing Claude Gov", "text": ""}
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(4, 8)).astype(np.float32)  # dissimilar: only the context can join them
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # The post comes first in the input: at the same instant the card (with text) is placed first.
    labels = cluster_stream([launch, card, other_lab, later], vectors)["labels"]
    assert labels[0] == labels[1]
    assert labels[2] != labels[1] and labels[3] != labels[1]


def test_a_lone_document_rejoins_a_story_that_grew_toward_it():
    """Order effects: b came too early to join; once a story has grown toward it, b folds in."""
    import math
    deg = lambda d: [math.cos(math.radians(d)), math.sin(math.radians(d))]
    vectors = np.array([deg(50), deg(0), deg(22), deg(33)], dtype=np.float32)
    items = [{"id": k, "title": t, "text": "", "published": f"2025-05-2{k}"} for k, t in enumerate("bacd")]
    # Max-link only, so the geometry alone decides: a is 50 degrees from b (too far) and opens a
    # story, c joins a, d is closer to c than to b, and then b is within 17 degrees of d.
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_mx": 1.0, "join": 0.9, "time_penalty": 0.0, "rejoin_margin": 0.0})
    out = cluster_stream(items, vectors, config=cfg)
    grown = story_id_for(items[1])
    assert out["labels"] == [grown] * 4
    assert out["redirects"] == {story_id_for(items[0]): grown}  # the grown story keeps its id
    alone = cluster_stream(items, vectors, config={**cfg, "rejoin_max": 0, **AT_ARRIVAL})["labels"]
    assert alone[0] != alone[1] == alone[2] == alone[3]


def _fold_stream(y_published="2025-05-20"):
    """Story S (a, b, c at 0, 5, 10 degrees) and story T (d, e, f at 80, 85, 90); then x at 45
    degrees (average cos 0.76 to both S and T) and y at -30 (0.82 to S, nothing near T).

    Average link only, join 0.95: neither y nor x joins anything when it arrives.
    """
    import math
    deg = lambda d: [math.cos(math.radians(d)), math.sin(math.radians(d))]
    angles = {"a": 0, "b": 5, "c": 10, "d": 80, "e": 85, "f": 90, "x": 45, "y": -30}
    items = [{"id": k, "url": f"https://news.example/{k}", "title": k, "text": "",
              "published": y_published if k == "y" else "2025-05-20"} for k in angles]
    vectors = np.array([deg(a) for a in angles.values()], dtype=np.float32)
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_avg": 1.0, "join": 0.95, "merge": 0.99, "fold": 0.75, "time_penalty": 0.0})
    return items, vectors, cfg


def test_a_lone_report_nothing_followed_folds_into_the_one_story_that_stands_out():
    items, vectors, cfg = _fold_stream()
    s, t = story_id_for(items[0]), story_id_for(items[3])
    out = cluster_stream(items, vectors, config=cfg)
    # y folds into S (which keeps its id); x is as close to T as to S, so it stays alone.
    x, y = story_id_for(items[6]), story_id_for(items[7])
    assert out["labels"] == [s] * 3 + [t] * 3 + [x, s]
    assert out["redirects"] == {y: s}
    # Without the fold y stays a story of its own; weeks after S went quiet it is a new event.
    assert cluster_stream(items, vectors, config={**cfg, "fold": 1.1})["labels"][7] == y
    items, vectors, cfg = _fold_stream(y_published="2025-06-19")
    assert cluster_stream(items, vectors, config=cfg)["labels"][7] == y
    # A lab's post does not fold into a story of only that lab's posts: it is another announcement.
    items, vectors, cfg = _fold_stream()
    lab = [dict(it, kind="blog", publisher="Lab") if it["id"] in "abcy" else it for it in items]
    assert cluster_stream(lab, vectors, config=cfg)["labels"][7] == y


def test_a_report_and_its_copy_fold_together():
    """A republished copy follows its original: the pair is judged by the original and folds as one."""
    items, vectors, cfg = _fold_stream()
    copy = dict(items[7], id="y2", url="https://mirror.example/y", link=7)
    out = cluster_stream(items + [copy], np.vstack([vectors, vectors[7:8]]), config=cfg)
    assert out["labels"][7] == out["labels"][8] == story_id_for(items[0])


def _angled_stream(angles, **over):
    """Same-day reports on a plane at the given angles (2-D vectors), scored by max-link and
    average link only; no merges, no fold unless asked."""
    import math
    items = [{"id": f"{g}{k}", "url": f"https://news.example/{g}{k}", "title": f"{g}{k}", "text": "",
              "published": "2025-05-20"} for k, (g, _) in enumerate(angles)]
    vectors = np.array([[math.cos(math.radians(a)), math.sin(math.radians(a))] for _, a in angles], dtype=np.float32)
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_mx": 0.3, "w_avg": 0.7, "time_penalty": 0.0, "merge": 1.1, **AT_ARRIVAL, **over})
    return items, vectors, cfg


def test_a_chain_of_look_alikes_leaves_the_story_it_joined_once_one_of_them_no_longer_fits():
    """Story S: two reports at +6 and -6 degrees. A look-alike at 29 degrees joins it (0.885 against
    join 0.85), two more at 41 and 38 follow through it, then four more reports of S at -6. At the
    run's end the one at 41 would no longer join S as a newcomer (0.843): it opens a story of its
    own and the other two look-alikes, which fit it better, move there."""
    angles = [("a", 6), ("a", -6), ("b", 29), ("b", 41), ("b", 38)] + [("a", -6)] * 4
    items, vectors, cfg = _angled_stream(angles, join=0.85)
    out = cluster_stream(items, vectors, config=cfg)
    labels = out["labels"]
    s = story_id_for(items[0])
    assert [labels[k] for k, (g, _) in enumerate(angles) if g == "a"] == [s] * 6
    look_alikes = {labels[k] for k, (g, _) in enumerate(angles) if g == "b"}
    assert len(look_alikes) == 1 and s not in look_alikes
    assert out["redirects"] == {}


def test_a_straggler_split_off_alone_goes_back_and_leaves_no_trace():
    """A report that joined S early (25 degrees, two reports at 6) fits it less once S has grown
    the other way (four at -10): it is split off, nothing follows it, and the fold takes it back.
    The story it opened for a moment leaves no redirect and is not reported as new."""
    angles = [("a", 6), ("a", 6), ("w", 25)] + [("a", -10)] * 4
    items, vectors, cfg = _angled_stream(angles, join=0.9)
    alone = cluster_stream(items, vectors, config=cfg)["labels"]
    assert alone[2] != alone[0]  # split off (the fold is off here)
    out = cluster_stream(items, vectors, config={**cfg, "fold": scoring.CONFIG["fold"]})
    assert out["labels"] == [story_id_for(items[0])] * 7
    assert out["redirects"] == {} and out["new"] == [story_id_for(items[0])]


def test_a_storys_members_in_other_languages_do_not_dilute_it_for_its_main_one():
    """Story S: three English reports and two German ones, which the English model places far from
    them (60 degrees). An English report e, 10 degrees from the English ones, is read against them
    alone and joins S; against all five (average cos 0.85) it would fall short of join."""
    import math
    deg = lambda d: [math.cos(math.radians(d)), math.sin(math.radians(d))]
    angles = {"a1": 0, "a2": 0, "a3": 0, "b1": 60, "b2": 60, "e": 10}
    items = [{"id": k, "url": f"https://news.example/{k}", "title": k, "text": "", "published": "2025-05-20",
              "lang": "de" if k.startswith("b") else "en", **({"story": "s-1"} if k != "e" else {})}
             for k in angles]
    vectors = np.array([deg(a) for a in angles.values()], dtype=np.float32)
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_avg": 1.0, "join": 0.9, "time_penalty": 0.0, **AT_ARRIVAL})
    assert cluster_stream(items, vectors, config=cfg)["labels"] == ["s-1"] * 6
    # The same story all in English: e is read against all five and opens a story of its own.
    english = [dict(it, lang="en") for it in items]
    assert cluster_stream(english, vectors, config=cfg)["labels"][5] != "s-1"


def _second_thoughts_stream():
    """b comes early and joins a's story; c, d, e then form a story that fits b better.

    Average link only: b (40 degrees) is 40 degrees from a, so it joins a's story. c (90) opens a
    story, d (70) and e (60) join it. Without itself a's story is a alone (cos 40 = 0.77), while
    c, d, e average cos 50, 30, 20 = 0.82 to b.
    """
    import math
    deg = lambda d: [math.cos(math.radians(d)), math.sin(math.radians(d))]
    angles = {"a": 0, "b": 40, "c": 90, "d": 70, "e": 60}
    items = [{"id": k, "url": f"https://news.example/{k}", "title": k, "text": "",
              "published": f"2025-05-2{n}"} for n, k in enumerate("abcde")]
    items.append({"id": "b-copy", "url": "https://mirror.example/b", "title": "b", "text": "",
                  "published": "2025-05-21", "link": 1})  # a republished copy of b
    # b is a lab's system card; its title-only launch post of the same day joins through it.
    items[1].update(kind="system_card", publisher="Lab")
    items.append({"id": "b-launch", "url": "https://lab.example/news/b", "title": "Introducing b", "text": "",
                  "kind": "blog", "publisher": "Lab", "published": "2025-05-21"})
    vectors = np.array([deg(angles[k]) for k in "abcde"] + [deg(40), deg(180)], dtype=np.float32)
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_avg": 1.0, "join": 0.7, "merge": 0.9, "fold": 0.5, "refine_margin": 0.02, "fold_margin": 0.02,
                "time_penalty": 0.0})
    return items, vectors, cfg


def test_a_document_placed_too_early_moves_to_the_story_it_fits_on_second_thoughts():
    items, vectors, cfg = _second_thoughts_stream()
    a, c = story_id_for(items[0]), story_id_for(items[2])
    hasty = cluster_stream(items, vectors, config={**cfg, "refine_passes": 0})["labels"]
    assert hasty == [a, a, c, c, c, a, a]
    out = cluster_stream(items, vectors, config=cfg)
    # b moves, its copy and launch post with it; both stories keep their ids and nothing redirects.
    assert out["labels"] == [a, c, c, c, c, c, c]
    assert out["redirects"] == {}
    assert sorted(out["stories"][a]) == [0] and sorted(out["stories"][c]) == [1, 2, 3, 4, 5, 6]
    # A story's last member never moves: with only a and b, b stays however the rest looks.
    assert cluster_stream(items[:2], vectors[:2], config=cfg)["labels"] == [a, a]


def test_a_moved_document_is_written_back_and_both_stories_refreshed(tmp_path, monkeypatch):
    """b was placed in an earlier run; the run that brings c, d, e moves it and says so."""
    from pipeline.stories import embed
    items, vectors, cfg = _second_thoughts_stream()
    items, vectors = items[:5], vectors[:5]
    for key, value in cfg.items():
        monkeypatch.setitem(scoring.CONFIG, key, value)
    db = open_db(tmp_path / "moves.db")
    rows = [{"url": it["url"], "title": f"Report {it['id']}", "text": "", "published": it["published"]}
            for it in items]
    insert(db, rows[:2])
    # The geometry above, not the model's reading of these titles, is what this test is about.
    real_load = embed.vectors_for

    def geometric(db_, keys, model_name=None):
        got = real_load(db_, keys, model_name)
        by_title = {f"Report {it['id']}": v for it, v in zip(items, vectors)}
        keys = {embed.content_key(r): by_title[r["title"]] for r in db_.query("SELECT * FROM documents")}
        return {k: keys.get(k, v) for k, v in got.items()}
    monkeypatch.setattr(embed, "vectors_for", geometric)
    assign_stories(db)
    first = story_map(db)
    assert first[1] == first[2]
    insert(db, rows[2:], start=3)
    counts = assign_stories(db)
    after = story_map(db)
    assert counts["moved"] == 1 and counts["assigned"] == 3
    assert after[1] == first[1] and after[2] == after[3] == after[4] == after[5] != after[1]
    assert db["stories"].get(after[1])["n_documents"] == 1
    assert db["stories"].get(after[2])["n_documents"] == 4
    # Running again changes nothing.
    assert assign_stories(db) == {"assigned": 0, "new_stories": 0, "merged": 0, "moved": 0}
    assert story_map(db) == after


def test_a_labs_posts_are_separate_announcements_unless_the_evidence_is_strong():
    """Two title-only posts from one lab read alike (the lab's name, "Introducing ..."); the same
    two titles from two newsrooms are one story's coverage."""
    v = np.array([[1.0, 0.0], [0.8, 0.6]], dtype=np.float32)  # cosine 0.8
    posts = [{"id": k, "url": f"https://lab.example/{k}", "title": t, "text": "", "kind": "blog",
              "publisher": "Lab", "published": f"2025-06-0{k + 1}"}
             for k, t in enumerate(["Introducing Lab Code", "Introducing Lab Compute"])]
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_c": 1.0, "join": 0.75, "time_penalty": 0.0, "w_own_pub": scoring.CONFIG["w_own_pub"]})
    labels = cluster_stream(posts, v, config=cfg)["labels"]
    assert labels[0] != labels[1]
    news = [dict(p, kind="article", publisher=f"Newsroom {k}") for k, p in enumerate(posts)]
    assert len(set(cluster_stream(news, v, config=cfg)["labels"])) == 1
    # It weighs against joining, it does not forbid it: with a lower bar the lab's pair joins.
    assert len(set(cluster_stream(posts, v, config={**cfg, "join": 0.65})["labels"])) == 1


def test_a_labs_title_only_post_gets_no_short_text_lift():
    """Two headlines that half agree join on the lift short texts get; two labs' product posts
    with the same titles and vectors do not: a product name is not an event."""
    v = np.array([[1.0, 0.0], [0.5, 0.75 ** 0.5]], dtype=np.float32)  # cosine 0.5
    rows = [{"id": k, "url": f"https://site{k}.example/post", "title": t, "text": "",
             "published": f"2025-06-0{k + 1}", "publisher": f"Publisher {k}"}
            for k, t in enumerate(["Introducing Lab Code", "Introducing Lab Compute"])]
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_c": 1.0, "w_short": scoring.CONFIG["w_short"], "join": 0.7, "time_penalty": 0.0})
    headlines = [dict(r, kind="article") for r in rows]
    assert len(set(cluster_stream(headlines, v, config=cfg)["labels"])) == 1
    posts = [dict(r, kind="blog") for r in rows]
    assert len(set(cluster_stream(posts, v, config=cfg)["labels"])) == 2


def test_same_kind_of_event_in_another_year_opens_its_own_story():
    """Undated reports of a 2008 piracy capture; a 2011 report reads alike but names only 2011."""
    old = [{"id": k, "title": f"Navy captures 23 pirates in the Gulf of Aden ({k})",
            "text": "The Indian navy captured 23 pirates in December 2008 after they attacked a ship."}
           for k in range(3)]
    new = {"id": "n", "title": "Navy captures 26 pirates in the Gulf of Aden",
           "text": "The Indian navy captured 26 pirates on 11 November 2011 after they attacked a ship."}
    vectors = np.ones((4, 4), dtype=np.float32) / 2
    vectors[3] = np.array([0.55, 0.45, 0.5, 0.5]) / np.linalg.norm([0.55, 0.45, 0.5, 0.5])
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_c": 1.0, "join": 0.95, "w_year_clash": scoring.CONFIG["w_year_clash"], **AT_ARRIVAL})
    labels = cluster_stream(old + [new], vectors, config=cfg)["labels"]
    assert labels[0] == labels[1] == labels[2] != labels[3]
    same = cluster_stream(old + [dict(new, text=new["text"].replace("2011", "2008"))], vectors, config=cfg)["labels"]
    assert len(set(same)) == 1


def test_a_dated_follow_up_in_the_next_year_is_judged_by_its_date_not_the_year():
    """Coverage of one incident runs from December into February: with both dates known, the New Year
    is no clash (the time kernel weighs the gap); the same text undated would count the clash."""
    old = [{"id": k, "title": f"Scheduling software squeezes baristas ({k})", "published": f"2025-12-0{k + 1}",
            "text": "Baristas say the scheduling software gave them clopening shifts all through 2025."}
           for k in range(3)]
    new = {"id": "n", "title": "Coffee chain promises fairer schedules", "published": "2026-02-10",
           "text": "After months of complaints, the chain says from March 2026 baristas get a week's notice."}
    vectors = np.ones((4, 4), dtype=np.float32) / 2
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_c": 1.0, "join": 0.92, "w_year_clash": scoring.CONFIG["w_year_clash"], **AT_ARRIVAL})
    assert len(set(cluster_stream(old + [new], vectors, config=cfg)["labels"])) == 1
    undated = [dict(it, published=None) for it in old + [new]]
    labels = cluster_stream(undated, vectors, config=cfg)["labels"]
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_an_article_naming_none_of_its_storys_names_reports_another_event():
    """Three reports name the ship Mysore and 23 pirates; an article that reads alike but names the Sukanya
    and 26 pirates is another capture. A report naming the Mysore joins; so do a bare headline and a post,
    which are too short to name anything."""
    old = [{"id": k, "title": f"Navy frigate stops pirate attack ({k})", "kind": "article",
            "text": "The navy frigate Mysore answered a distress call and captured 23 pirates who were trying to "
                    "board the merchant ship Gibe off the coast."} for k in range(3)]
    other = {"id": "o", "title": "Navy frigate stops pirate attack", "kind": "article",
             "text": "The navy frigate Sukanya answered a distress call and captured 26 pirates who were trying to "
                     "board five merchant ships off the coast."}
    same = dict(other, id="s", text="Sailors from the frigate Mysore boarded the skiffs at dawn; the "
                                    "pirates surrendered without a fight and were taken to port for questioning.")
    vectors = np.ones((4, 4), dtype=np.float32) / 2
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    w = scoring.CONFIG["w_miss"]
    # leaving out all three names costs w, leaving out two of them about two thirds of w
    cfg.update({"w_c": 1.0, "join": 1 + 0.85 * w, "w_miss": w, **AT_ARRIVAL})
    labels = cluster_stream(old + [other], vectors, config=cfg)["labels"]
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert len(set(cluster_stream(old + [same], vectors, config=cfg)["labels"])) == 1
    for short in (dict(other, text=""), dict(other, kind="social")):
        assert len(set(cluster_stream(old + [short], vectors, config=cfg)["labels"])) == 1


def test_an_article_giving_other_figures_reports_another_event_in_any_language():
    """Three reports of one campaign give its figures (30 targets, 80 to 90% automated, GTG-1002); an
    article that reads alike but gives other figures (17 organisations, GTG-2002) is another event of
    the same kind, in English or in German. One that gives a figure of the story joins, and so does one
    that gives none: a missing figure is no evidence. Dates, clock times and years are not figures: each
    report gives its own."""
    told = ("On 13 November at 12:43, Anthropic said a state-backed group it tracks as {code} used its coding "
            "agent against {n} targets and let it run {share} percent of the work on its own.")
    old = [{"id": k, "title": f"Hackers turned a coding agent on its maker's customers ({k})", "kind": "article",
            "text": told.format(code="GTG-1002", n=30, share="80 to 90")} for k in range(3)]
    other = {"id": "o", "title": "Hackers turned a coding agent on its maker's customers", "kind": "article",
             "text": told.format(code="GTG-2002", n=17, share="most")}
    vectors = np.ones((4, 4), dtype=np.float32) / 2
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    w = scoring.CONFIG["w_figures"]
    cfg.update({"w_c": 1.0, "join": 1 + 0.5 * w, "w_figures": w, **AT_ARRIVAL})
    german = dict(other, lang="de", title="Hacker setzen einen Coding-Agenten gegen Kunden ein",
                  text="Eine Gruppe, die Anthropic als GTG-2002 führt, griff mit dem Agenten 17 Organisationen "
                       "an und ließ ihn den größten Teil der Arbeit selbst erledigen.")
    for newcomer in (other, german):
        labels = cluster_stream(old + [newcomer], vectors, config=cfg)["labels"]
        assert labels[0] == labels[1] == labels[2] != labels[3], newcomer["text"]
    agrees = dict(other, text=told.format(code="the same group", n=30, share="most") + " It was 2025.")
    silent = dict(other, text="Anthropic said on May 14, 2025 at 09:10 that a state-backed group used its "
                              "coding agent against its targets and let it run most of the work on its own.")
    for newcomer in (agrees, silent):
        assert len(set(cluster_stream(old + [newcomer], vectors, config=cfg)["labels"])) == 1, newcomer["text"]


def test_an_older_story_lists_a_related_story_that_came_later(tmp_path):
    """Related lists are two-way: a new story near an old one appears on the old one's page too."""
    db = open_db(tmp_path / "r.db")
    unit = lambda *v: np.array(v, dtype=np.float32) / np.linalg.norm(v)
    vec_of = {"a": unit(1, 0, 0), "b": unit(0, 0, 1), "c": unit(0.9, 0.3, 0)}
    for k, sid in enumerate(["s-a", "s-b"], 1):
        db["documents"].insert({"id": k, "url": f"https://x.example/{k}", "kind": "article", "title": sid, "text": "",
                                "content_hash": "ab"[k - 1], "story_id": sid})
    refresh_stories(db, ["s-a", "s-b"], vec_of)
    assert json.loads(db["stories"].get("s-a")["related"]) == []
    # A later run adds story c, close to a: only c changed, yet a's list now names it.
    db["documents"].insert({"id": 3, "url": "https://x.example/3", "kind": "article", "title": "s-c", "text": "",
                            "content_hash": "c", "story_id": "s-c"})
    refresh_stories(db, ["s-c"], vec_of)
    assert json.loads(db["stories"].get("s-c")["related"]) == ["s-a"]
    assert json.loads(db["stories"].get("s-a")["related"]) == ["s-c"]
    assert json.loads(db["stories"].get("s-b")["related"]) == []


def test_coverage_in_another_language_joins_by_the_names_it_shares():
    """English reports of one incident; a German report of it joins them, German news on something else
    does not. The model reads English, so without the names rule the German report stands alone."""
    from pipeline.stories.embed import encode
    english = [
        ("Replit's AI agent deleted a production database during a code freeze",
         "SaaStr founder Jason Lemkin said Replit's coding agent wiped the production database of his "
         "company during a code freeze and then claimed the data could not be restored."),
        ("Replit CEO apologises after agent wipes SaaStr database",
         "Amjad Masad, chief executive of Replit, apologised to Jason Lemkin after the coding agent deleted "
         "records for more than 1,200 executives during a code freeze at SaaStr."),
        ("What the Replit database deletion teaches about coding agents",
         "When Replit's agent deleted SaaStr's production database, Jason Lemkin had told it not to change "
         "code without permission. Replit now separates development and production databases."),
    ]
    german = ("KI-Agent von Replit löscht Produktionsdatenbank",
              "Der Programmieragent von Replit hat bei SaaStr während eines Code-Freeze die Datenbank mit den "
              "Daten von mehr als 1.200 Führungskräften gelöscht. Gründer Jason Lemkin sagt, der Agent habe "
              "gegen ausdrückliche Anweisungen gehandelt; Replit-Chef Amjad Masad entschuldigte sich.")
    other = ("Bundesregierung plant Reform der Grundsteuer",
             "Die Bundesregierung will die Grundsteuer reformieren. Kommunen warnen, dass Mieter in vielen "
             "Städten mehr zahlen müssten, und fordern einen Ausgleich vom Bund.")
    docs = english + [german, other]
    items = [{"id": k, "title": t, "text": x, "published": f"2025-07-{20 + k:02d}"} for k, (t, x) in enumerate(docs)]
    vectors = encode([f"{t}. {x}" for t, x in docs], progress=False)
    labels = cluster_stream(items, vectors)["labels"]
    assert labels[0] == labels[1] == labels[2] == labels[3] != labels[4]
    alone = cluster_stream(items, vectors, config={"w_xlang": 0.0, **AT_ARRIVAL})["labels"]
    assert alone[3] != alone[0]


def test_related_stories_read_only_the_changed_stories_documents(tmp_path, monkeypatch):
    """A run keeps each story's embedding sum (story_centroids), so related lists need no scan of every
    document: only the documents of the stories that changed are read. The lists are those of
    centroids summed from all documents, and a database without kept sums fills them once."""
    import re
    from pipeline.stories.embed import DEFAULT_MODEL
    db = open_db(tmp_path / "c.db")
    rng = np.random.default_rng(7)
    topics = rng.normal(size=(4, 32))
    unit = lambda v: (v / np.linalg.norm(v)).astype(np.float32)
    doc_id = 0

    def add(story, base, n, title):
        nonlocal doc_id
        for _ in range(n):
            doc_id += 1
            db["documents"].insert({"id": doc_id, "url": f"https://x.example/{doc_id}", "kind": "article",
                                    "title": f"{title} {doc_id}", "text": f"Report {doc_id} on {title}.",
                                    "content_hash": f"h{doc_id}", "story_id": story})
            db["embeddings"].insert({"content_hash": f"h{doc_id}", "model": DEFAULT_MODEL, "dim": 32,
                                     "vector": unit(base + 0.3 * rng.normal(size=32)).tobytes()})

    # Twelve stories of three documents on four topics: a story's neighbours share its topic.
    bases = {}
    for s in range(12):
        bases[f"s-{s:02d}"] = topics[s % 4] + 0.6 * rng.normal(size=32)
        add(f"s-{s:02d}", bases[f"s-{s:02d}"], 3, f"Topic {s % 4} story {s}")
    refresh_stories(db, list(bases))

    def expected():
        """Related lists as computed before the table: every story's documents summed, id order."""
        from pipeline.stories.embed import content_key, load_vectors
        vec_of, sums = load_vectors(db), {}
        for d in db.query("SELECT story_id, content_hash, title, text FROM documents "
                          "WHERE story_id IS NOT NULL ORDER BY id"):
            sums[d["story_id"]] = sums.get(d["story_id"], 0) + vec_of[content_key(d)]
        ids = sorted(sums)
        mat = np.array([sums[s] for s in ids], dtype=np.float32)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
        out = {}
        for j, sid in enumerate(ids):
            sims = mat @ mat[j]
            out[sid] = [ids[i] for i in np.argsort(-sims, kind="stable") if i != j and sims[i] >= 0.5][:3]
        return out, sums

    def related():
        return {r["id"]: json.loads(r["related"] or "[]") for r in db.query(
            "SELECT id, related FROM stories WHERE merged_into IS NULL AND n_documents > 0")}

    first, _ = expected()
    assert related() == first and any(first.values())
    # A later run: new documents close to story 0 and to story 7, assigned by assign_stories.
    db["documents"].insert_all([{"id": doc_id + k, "url": f"https://x.example/{doc_id + k}", "kind": "article",
                                 "title": f"Topic {s % 4} story {s} {doc_id + k}",
                                 "text": f"Report {doc_id + k} on topic {s % 4} story {s}.",
                                 "content_hash": f"h{doc_id + k}"} for k, s in ((1, 0), (2, 0), (3, 7))])
    for k, s in ((1, 0), (2, 0), (3, 7)):
        db["embeddings"].insert({"content_hash": f"h{doc_id + k}", "model": DEFAULT_MODEL, "dim": 32,
                                 "vector": unit(bases[f"s-{s:02d}"] + 0.3 * rng.normal(size=32)).tobytes()})
    before = story_map(db)
    statements = []
    refresh = refresh_stories

    def traced(db_, *args, **kwargs):
        db_.conn.set_trace_callback(statements.append)
        try:
            return refresh(db_, *args, **kwargs)
        finally:
            db_.conn.set_trace_callback(None)

    monkeypatch.setattr(assign, "refresh_stories", traced)
    assert assign_stories(db)["assigned"] == 3
    after = story_map(db)
    members = lambda m, sid: {d for d, s in m.items() if s == sid}
    changed = {s for s in set(before.values()) | set(after.values()) if s and members(before, s) != members(after, s)}
    assert changed and len(changed) < 12
    # Every statement that reads document text names the stories it reads, and only changed ones.
    reads = [q for q in statements if re.search(r"\bdocuments\b", q) and re.search(r"\btext\b", q)]
    assert reads
    for q in reads:
        named = set(re.findall(r"'(s-[0-9a-f-]+|[0-9a-f]{16,})'", q))
        assert re.search(r"story_id (=|IN)", q) and named and named <= changed, q
    now, sums = expected()
    assert related() == now and now != first
    kept = {r["story_id"]: r for r in db.query("SELECT * FROM story_centroids")}
    assert set(kept) == set(sums) and {r["model"] for r in kept.values()} == {DEFAULT_MODEL}
    assert all(np.array_equal(np.frombuffer(kept[s]["vector"], dtype=np.float32), sums[s]) for s in sums)
    # A database from before the table: the sums are filled once from the documents, lists unchanged.
    db.execute("DELETE FROM story_centroids")
    db.conn.commit()
    refresh(db, [sorted(changed)[0]])
    assert db["story_centroids"].count == len(sums) and related() == now


def test_a_document_a_published_digest_showed_stays_in_its_story():
    """Second thoughts would move b to the story it fits better (see the test above); once a
    published digest has shown b under its story, b stays there, so the story id a reader saw keeps
    naming what they read. Only b is held: the rest of the stream is unchanged."""
    items, vectors, cfg = _second_thoughts_stream()
    a, c = story_id_for(items[0]), story_id_for(items[2])
    hasty = cluster_stream(items, vectors, config={**cfg, "refine_passes": 0})["labels"]
    shown = [dict(it, story=label, pinned=k == 1) if k in (0, 1) else it
             for k, (it, label) in enumerate(zip(items, hasty))]
    out = cluster_stream(shown, vectors, config=cfg)["labels"]
    assert out[0] == out[1] == a and out[2] == out[3] == out[4] == c
    assert cluster_stream(items, vectors, config=cfg)["labels"][1] == c   # unshown, it moves


def test_process_keeps_the_documents_a_published_digest_showed(tmp_path):
    """`digest` records what a published week showed (digest_stories); `process` reads it back as pins."""
    from db.connection import open_db
    from pipeline.stories.assign import shown_documents
    db = open_db(tmp_path / "t.db")
    assert shown_documents(db) == set()
    doc = {"kind": "article", "fetched": "2025-05-22T00:00:00+00:00", "text": "x"}
    db["documents"].insert_all([{**doc, "id": 1, "url": "https://a.example/1", "story_id": "s-1"},
                                {**doc, "id": 2, "url": "https://a.example/2", "story_id": "s-1"},
                                {**doc, "id": 3, "url": "https://a.example/3", "story_id": "s-2"}])
    from pipeline.publish.digest import record_shown
    record_shown(db, "2025-W21", {"stories": [{"id": "s-1"}], "also": []})
    assert shown_documents(db) == {1, 2}
    record_shown(db, "2025-W21", {"stories": [{"id": "s-2"}], "also": []})   # the week rewritten
    assert shown_documents(db) == {3}


def test_an_undated_page_found_long_after_its_story_went_quiet_still_joins_it():
    """A crawl meets an undated page about a 2024 story after two years of other coverage: the
    story has left the live window, but a missing date is no evidence of being recent. A dated
    page as late opens a story of its own (the window still bounds what dated documents meet)."""
    import math
    deg = lambda d: [math.cos(math.radians(d)), math.sin(math.radians(d))]
    old = [{"id": f"o{k}", "url": f"https://news.example/o{k}", "title": "o", "text": "",
            "published": f"2024-03-0{k + 1}"} for k in range(2)]
    later = [{"id": f"l{k}", "url": f"https://news.example/l{k}", "title": "l", "text": "",
              "published": f"2026-0{k + 1}-10"} for k in range(2)]
    page = {"id": "p", "url": "https://blog.example/p", "title": "p", "text": "", "published": None}
    vectors = np.array([deg(0), deg(4), deg(90), deg(94), deg(2)], dtype=np.float32)
    cfg = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    cfg.update({"w_mx": 1.0, "join": 0.9, **AT_ARRIVAL})
    labels = cluster_stream(old + later + [page], vectors, config=cfg)["labels"]
    assert labels[4] == labels[0] == labels[1] != labels[2]
    dated = dict(page, published="2026-03-01")
    labels = cluster_stream(old + later + [dated], vectors, config=cfg)["labels"]
    assert labels[4] not in (labels[0], labels[2])
