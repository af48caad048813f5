"""The story bench: its --json contract, and that it places documents the way `process` does."""
import json

import pytest

from bench import stories as bench
from tests.support.stories import FIXTURE, sample


def write_set(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_json_output_has_the_documented_shape(tmp_path, capsys):
    rows = sample() + [{"id": "r-1", "story_id": "roundup", "title": "This week in AI: three stories",
                        "text": "", "url": "https://example.com/weekly", "source": "example.com", "published": None}]
    path = write_set(tmp_path / "small-set.jsonl", rows)
    assert bench.main([str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    result = out["sets"]["small-set"]
    assert result["items"] == len(rows)
    assert result["stories"] == 4  # three incidents, and the roundup scored as its own singleton
    assert result["docs_per_s"] > 0
    assert result["order_runs"] == bench.order_runs(bench.gold_labels(bench.load_set(path)))
    assert set(result["ours"]) == {"b3_p", "b3_r", "b3_f1", "pair_f1"}
    assert all(0 <= v <= 1 for v in result["ours"].values())
    assert set(result["baselines"]) == {"agglomerative_cosine", "tfidf_agglomerative", "hybrid_agglomerative",
                                        "community_detection", "single_pass_centroid"}
    for scores in result["baselines"].values():
        assert 0 <= scores["b3_f1"] <= 1 and scores["threshold"] in bench.THRESHOLDS


def test_a_bad_line_names_the_file_and_line(tmp_path):
    first = FIXTURE.read_text().splitlines()[0]
    for bad, message in [("{not json", "not a JSON line"), ("[1, 2]", "item has no story_id"),
                         ('{"story_id": "s", "text": ["a"]}', "text is not a string")]:
        path = tmp_path / "broken.jsonl"
        path.write_text(f"{first}\n{bad}\n")
        with pytest.raises(SystemExit) as stop:
            bench.main([str(path)])
        assert str(stop.value) == f"{path}:2: {message}"


def test_forum_threads_and_republished_copies_follow_what_they_point_at():
    """As in `process`: a thread that links an article joins its story whatever its words; a copy of
    an article on another site joins the original's story."""
    rows = sample()
    article = rows[0]
    thread = {"id": "hn-1", "story_id": article["story_id"], "title": "Ask HN: is anyone else seeing this?",
              "text": f"Saw this earlier today: {article['url']} What do people here make of it?",
              "url": "https://news.ycombinator.com/item?id=40000001", "source": "news.ycombinator.com",
              "published": article.get("published")}
    copy = {"id": "copy-1", "story_id": rows[1]["story_id"], "title": "Reprinted: the week's long read",
            "text": "This article first appeared elsewhere. " + rows[1]["text"],
            "url": "https://syndication.example.net/reprints/12345", "source": "syndication.example.net",
            "published": None}
    records = rows + [thread, copy]
    from pipeline.stories.records import items_from_records
    prepared = items_from_records(records)
    assert (prepared[-2]["kind"], prepared[-2]["link"]) == ("social", 0)
    assert (prepared[-1]["kind"], prepared[-1]["link"]) == ("article", 1)
    assert "link" not in prepared[0] and prepared[0]["publisher"] == rows[0]["source"]
    vectors, _ = bench.embed_items(records)
    labels, _ = bench.run_ours(records, vectors)
    assert labels[-2] == labels[0]
    assert labels[-1] == labels[1]
    # The thread's own words are far from the article's: without its link it would stand alone.
    alone, _ = bench.run_ours(rows + [{**thread, "text": "What do people here make of it?"}],
                              bench.embed_items(rows + [{**thread, "text": "What do people here make of it?"}])[0])
    assert alone[-1] not in set(alone[:-1])


def test_numbers_where_text_belongs_are_read_as_text(tmp_path, capsys):
    path = write_set(tmp_path / "numbers.jsonl", [{"id": 7, "story_id": "s", "title": 2025, "text": 84.0}])
    assert bench.load_set(path)[0]["title"] == "2025" and bench.load_set(path)[0]["text"] == "84.0"
    assert "2 numeric field(s) read as text" in capsys.readouterr().err


def test_demo_check_scores_the_aiid_reports_by_their_incidents_and_only_them(tmp_path):
    """The demo's re-hosted reports carry the report's URL as feed guid; other documents are not scored."""
    from db.connection import open_db
    aiid = [{"url": f"https://news.example/{k}", "story_id": inc} for k, inc in enumerate("AAABB")]
    db = open_db(tmp_path / "demo.db")
    rows = [("https://news.example/0", "s-1"), ("https://news.example/1", "s-1"), ("https://news.example/2", "s-1"),
            ("https://news.example/3", "s-1"), ("https://news.example/4", "s-2"),  # B's first report merged into A
            (None, "s-1"), (None, "s-3")]  # a lab post and a post: not AIID reports
    for k, (guid, story) in enumerate(rows, 1):
        db["documents"].insert({"id": k, "url": f"http://127.0.0.1:1/page/{k}", "kind": "article", "guid": guid,
                                "title": f"t{k}", "text": "", "content_hash": f"h{k}", "story_id": story})
    out = bench.demo_scores(db, aiid)
    assert (out["documents"], out["items"], out["stories"]) == (7, 5, 2)
    gold, pred = list("AAABB"), ["s-1", "s-1", "s-1", "s-1", "s-2"]
    assert out["ours"]["b3_f1"] == pytest.approx(bench.bcubed(pred, gold)[2], abs=1e-4)
    assert out["ours"]["b3_p"] < 1.0 and out["ours"]["b3_r"] < 1.0


def test_dates_in_the_forms_feeds_and_exports_use_are_read_as_dates():
    """A set whose dates are RFC 2822, written out or epoch seconds streams in the same order, with the
    same time evidence, as the same set in ISO form; a date that names no day is no date."""
    from pipeline.stories.features import parse_time
    from pipeline.stories.records import items_from_records, stream_order
    iso = [{"id": k, "story_id": "s", "title": f"Report {k}", "text": "", "published": day}
           for k, day in enumerate(["2025-05-24T09:30:00+00:00", "2025-05-22T00:00:00+00:00",
                                    "2025-05-23T08:00:00+00:00", None])]
    written = [dict(iso[0], published="Sat, 24 May 2025 11:30:00 +0200"), dict(iso[1], published="May 22, 2025"),
               dict(iso[2], published=1747987200), dict(iso[3], published="2025-05")]
    written[2]["published"] = str(written[2]["published"])  # as load_set reads a number
    a, b = items_from_records(iso), items_from_records(written)
    assert [parse_time(x["published"]) for x in b] == [parse_time(x["published"]) for x in a]
    assert stream_order(b) == stream_order(a)
    assert [i for i in stream_order(b) if i != 3] == [1, 2, 0]
    assert b[3]["published"] is None


def test_an_undated_record_takes_the_day_its_url_files_it_under():
    """As a crawl would: page date extractors read /2013/02/07/ and /2013/feb/05/ in news addresses."""
    from pipeline.dates import url_date
    from pipeline.stories.records import items_from_records
    records = [{"id": k, "story_id": "s", "title": "t", "text": "", "url": url, "published": published}
               for k, (url, published) in enumerate([
                   ("https://www.forbes.com/sites/x/2013/02/07/is-google-racist/#5e5e", None),
                   ("https://www.theguardian.com/commentisfree/2013/feb/05/can-googling-be-racist", None),
                   ("https://news.example/2013/02/ad-delivery", None),  # a month names no day
                   ("https://news.example/2013/02/31/no-such-day", None),
                   ("https://news.example/2013/02/07/dated", "2013-02-08T10:00:00+00:00")])]
    assert [it["published"] for it in items_from_records(records)] == [
        "2013-02-07", "2013-02-05", None, None, "2013-02-08T10:00:00+00:00"]
    assert url_date("https://news.example/story?from=/2013/02/07/") is None  # the path only


def test_orders_reports_ours_over_shuffled_file_orders(tmp_path, capsys):
    path = write_set(tmp_path / "small-set.jsonl", sample())
    assert bench.main([str(path), "--json", "--orders", "3"]) == 0
    orders = json.loads(capsys.readouterr().out)["sets"]["small-set"]["orders"]
    assert orders["n"] == 3 and 0 <= orders["b3_f1_min"] <= orders["b3_f1_mean"] <= 1
    assert bench.main([str(path)]) == 0
    assert "shuffled file orders" not in capsys.readouterr().out  # only when asked


def test_the_table_says_whether_each_set_meets_its_targets():
    # A set is asked to be ahead of every baseline; the two eval sets also have a goal.
    assert bench.target_lines("small-set", 0.90, 0.91) == ["target ahead of every baseline: NOT met"]
    assert bench.target_lines("ecbplus", 0.91, 0.88) == ["target ahead of every baseline: met",
                                                          "goal B3 F1 >= 0.9: met (0.910, +0.010)"]
    assert bench.target_lines("aiid-fixtures", 0.919, 0.917)[1] == "goal B3 F1 >= 0.93: NOT met (0.919, -0.011)"


def test_the_learned_scorer_is_fitted_on_some_sets_and_run_on_the_one_held_out(tmp_path, capsys):
    """bench.scorer_fit: the pairs the stream scores become a fitted configuration (similarity
    shares summing to one), run on each held-out set beside the fixed configuration's figures."""
    from bench import scorer_fit
    rows = sample()
    a = write_set(tmp_path / "set-a.jsonl", rows)
    b = write_set(tmp_path / "set-b.jsonl", [{**r, "id": f"b-{r['id']}", "url": r["url"] + "?b"} for r in rows])
    items = bench.load_set(a)
    x, y = scorer_fit.pairs(items, bench.embed_items(items)[0])
    assert x.shape == (len(y), len(scorer_fit.FEATURES)) and 0 < y.sum() < len(y)
    scorer_fit.main([str(a), str(b), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"fixed", "all", "without set-a", "without set-b"}
    fixed = bench.bcubed(bench.run_ours(items, bench.embed_items(items)[0])[0], bench.gold_labels(items))[2]
    assert out["fixed"]["b3_f1"]["set-a file"] == round(fixed, 3)
    cfg = out["without set-a"]["config"]
    assert sum(cfg[w] for w in ("w_c", "w_mx", "w_avg", "w_lexavg")) == pytest.approx(1, abs=1e-3)
    with pytest.raises(SystemExit, match="two sets"):
        scorer_fit.main([str(a)])


def test_a_baselines_cliff_is_what_moving_its_best_threshold_costs():
    gold = [0, 0, 1, 1]
    # Right only between 0.40 and 0.43; one story for everything below, singletons above.
    labels_for = lambda t: [0, 0, 1, 1] if 0.40 <= t <= 0.43 else ([0, 0, 0, 0] if t < 0.40 else [0, 1, 2, 3])
    out = bench.sweep(labels_for, gold)
    assert out["b3_f1"] == 1.0 and out["threshold"] == 0.40
    lumped, split = bench.bcubed([0, 0, 0, 0], gold)[2], bench.bcubed([0, 1, 2, 3], gold)[2]
    assert out["cliff"] == round(1.0 - min(lumped, split), 4)  # 0.36 lumps, 0.44 splits: the worse


def test_the_file_order_is_counted_in_runs_of_one_story():
    # A set that lists each story's items together hands a stream its easiest order.
    assert bench.order_runs(["a", "a", "b", "b", "b"]) == 2
    assert bench.order_runs(["a", "b", "a", "b"]) == 4
