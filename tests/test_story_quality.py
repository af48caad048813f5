"""Issue 19: the bench's honest measurement (views, sensitivity, leave-one-set-out)."""
from pipeline.dates import url_date
from bench import story_checks as checks


def test_the_undated_view_leaves_no_date_to_read():
    urls = ["https://news.example/2013/02/07/a-long-article-slug-here/", "https://x.example/2013-feb-07/story",
            "https://x.example/news/20130207/story.html", "https://x.example/2024/05/some-story"]
    items = [{"id": k, "story_id": "s", "url": u, "published": "2013-02-07"} for k, u in enumerate(urls)]
    shown = checks.view(items, "undated")
    assert all(it["published"] is None and url_date(it["url"]) is None for it in shown)
    assert all("2013" not in it["url"] and "2024/05" not in it["url"] for it in shown)
    assert shown[0]["url"].endswith("/a-long-article-slug-here/")  # slugs survive: copies are still found
    assert [it["story_id"] for it in shown] == ["s"] * 4 and items[0]["published"] == "2013-02-07"
    assert checks.view(items, "body")[0]["title"] == "" and checks.view(items, "title")[0]["text"] == ""


def test_the_partial_view_drops_three_dates_in_four_the_same_way_each_run():
    items = [{"id": f"d{k}", "story_id": "s", "url": f"https://x.example/2024/05/0{k % 9 + 1}/story-{k}",
              "published": "2024-05-01"} for k in range(400)]
    shown = checks.view(items, "partial")
    kept = [it for it in shown if it["published"]]
    assert 70 <= len(kept) <= 130  # about one in four keeps its date ...
    assert all(url_date(it["url"]) is None for it in shown if not it["published"])  # ... the rest have none
    assert kept == [it for it in checks.view(items, "partial") if it["published"]]  # the same draw each run
    assert [it["id"] for it in shown] == [it["id"] for it in items]


def test_sensitivity_and_leave_one_set_out_read_the_grid():
    base = {"a": 0.9, "b": 0.8, "c": 0.7}
    results = {("base", 0): base,
               ("join", -1): {"a": 0.95, "b": 0.85, "c": 0.6},   # the training sets of c like -1
               ("join", 1): {"a": 0.89, "b": 0.8, "c": 0.7}}
    sens = checks.sensitivity(results, list(base))
    assert sens["join"] == {"a": 0.01, "b": 0.0, "c": 0.1}
    loso = checks.leave_one_out(results, list(base), {"a": ["a"], "b": ["b"], "c": ["c"]})
    assert loso["join"]["c"] == {"step": -1, "delta": -0.1}  # chosen on a and b, it costs c
    assert loso["join"]["a"] == {"step": 0, "delta": 0.0}  # b and c together prefer the base
    grid = checks.probe_grid({"join": 0.69, "tau_days": 1.0}, ["join", "tau_days"])
    assert ("join", -1, {"join": 0.65}) in grid and ("tau_days", -1, {"tau_days": 0.1}) in grid


def test_an_undated_page_is_timed_by_the_date_it_opens_with_only():
    from pipeline.dates import dateline_date
    # ECB+'s texts open with their day; pages print "Published 22 May 2025" above the text.
    assert dateline_date("May 03, 2013 After skipping out on entering a Newport Beach facility") == "2013-05-03"
    assert dateline_date("Published 22 May 2025 by the desk. The model tried to") == "2025-05-22"
    assert dateline_date("Sept. 4, 2024 — Researchers said") == "2024-09-04"
    assert dateline_date("Updated 2025-05-22T10:00Z. Anthropic said") == "2025-05-22"
    # A year alone names no day; a date deep in the text is the history it recounts.
    assert dateline_date("In 2024 the lab said the model would") is None
    assert dateline_date("The lab said the model would. " * 12 + "On May 3, 2013 it did.") is None
    assert dateline_date(None) is None and dateline_date("") is None


def test_similarity_weights_are_shares_so_raising_one_keeps_the_scale():
    """The join score averages its similarities. Against a one-document story the centroid and
    the closest member are the same vector, so adding max-link's weight to the centroid's leaves
    the score where it was: a pair at cosine 0.8 stays apart under a bar of 0.9 (summed weights
    would score it 1.6 and join it), and joins under 0.75 either way."""
    import numpy as np
    from pipeline.stories import scoring
    from pipeline.stories.stream import cluster_stream
    v = np.array([[1.0, 0.0], [0.8, 0.6]], dtype=np.float32)  # cosine 0.8
    items = [{"id": k, "url": f"https://news{k}.example/a", "title": "", "text": "", "published": "2025-05-20"}
             for k in range(2)]
    off = {k: 0.0 for k in scoring.CONFIG if k.startswith("w_")}
    for extra in ({}, {"w_mx": 1.0}):
        cfg = {**off, "w_c": 1.0, "time_penalty": 0.0, **extra}
        assert len(set(cluster_stream(items, v, config={**cfg, "join": 0.9})["labels"])) == 2
        assert len(set(cluster_stream(items, v, config={**cfg, "join": 0.75})["labels"])) == 1


def test_leave_one_set_out_of_a_single_set_is_empty_not_a_crash():
    results = {("base", 0): {"a": 0.9}, ("join", -1): {"a": 0.8}, ("join", 1): {"a": 0.95}}
    assert checks.leave_one_out(results, ["a"], {"a": ["a"]}) == {}
