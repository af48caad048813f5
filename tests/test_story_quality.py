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
    assert ("join", -1, {"join": 0.64}) in grid and ("tau_days", -1, {"tau_days": 0.1}) in grid
