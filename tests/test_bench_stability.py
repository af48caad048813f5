"""The story-id stability bench (issue 19, item 7): a set fed day by day through the real `process`."""
import json

from bench import stories as bench
from bench.stability import day_batches
from tests.support.stories import sample


def test_undated_items_join_the_batch_of_the_dated_item_before_them():
    published = [None, "2025-05-23T10:00:00+00:00", None, "2025-05-22T00:00:00+00:00", None]
    assert day_batches(published) == [("2025-05-22", [3, 4]), ("2025-05-23", [0, 1, 2])]
    assert day_batches([None, None]) == [("undated", [0, 1])]


def test_daily_batches_report_scores_moves_and_digest_stability(tmp_path, capsys):
    rows = sample()
    for k, row in enumerate(rows):  # the sample's reports, dated over a few days of two weeks
        row["published"] = f"2025-05-{16 + k % 5:02d}T{8 + k:02d}:00:00+00:00"
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert bench.main([str(path), "--batches", "daily", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["stability"]["tiny"]
    assert out["items"] == len(rows) and out["batches"] == 5 and out["documents"] == len(rows)
    for key in ("vs_gold", "whole_vs_gold", "vs_whole"):
        assert set(out[key]) == {"b3_p", "b3_r", "b3_f1", "pair_f1"} and 0 <= out[key]["b3_f1"] <= 1
    assert 0 <= out["moved"] <= len(rows)
    # every story a week's digest showed is counted, and the share is of those
    assert out["digest_ids"] >= 1 and 0 <= out["digest_stable"] <= out["digest_ids"]
    assert out["digest_stable_share"] == round(out["digest_stable"] / out["digest_ids"], 4)
