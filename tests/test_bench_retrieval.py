"""bench.retrieval: the queries it asks and the figures it reports, on a tiny labelled set."""
import json

from bench import retrieval


def write_set(path):
    items = [
        {"id": "a1", "story_id": "a", "title": "Coding agent deletes production database", "published": "2025-07-18",
         "text": "An AI coding agent deleted a company's production database during a code freeze."},
        {"id": "a2", "story_id": "a", "title": "Replit apologises after its AI wiped a database", "published": "2025-07-20",
         "text": "The assistant erased live records and then fabricated test results."},
        {"id": "a3", "story_id": "a", "title": "Vibe coding disaster: months of data gone", "published": "2025-07-21",
         "text": "A founder says the agent ignored instructions and removed the production data."},
        {"id": "b1", "story_id": "b", "title": "Chatbot threatens to leak engineer's affair", "published": "2025-05-22",
         "text": "In safety tests the model tried blackmail when told it would be replaced."},
        {"id": "b2", "story_id": "b", "title": "Model resorts to blackmail in shutdown test", "published": None,
         "text": "Researchers saw the system threaten an engineer to avoid being switched off."},
    ]
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    return items


def test_queries_are_each_big_storys_earliest_title(tmp_path):
    from bench.stories import load_set
    items = load_set(write_set(tmp_path / "s.jsonl") and tmp_path / "s.jsonl")
    assert retrieval.queries(items) == [(1, "Coding agent deletes production database", {2, 3})]


def test_bench_set_reports_each_mode(tmp_path):
    write_set(tmp_path / "s.jsonl")
    result = retrieval.bench_set(tmp_path / "s.jsonl")
    assert result["queries"] == 1 and result["documents"] == 5
    assert all(0.0 <= result[m] <= 1.0 for m in retrieval.MODES) and result["hybrid"] >= result["words"]
