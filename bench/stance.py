"""How often the word-list stance (pipeline.enrich.reactions.reaction_stance) is right on real posts.

Run: `.venv/bin/python -m bench.stance`. Reads bench/sets/stance-real-posts.jsonl (see its README);
'mixed' from the word list counts as 'neutral'. Prints accuracy and each miss; the product prints a
stance only when accuracy >= STANCE_MIN_ACCURACY (pipeline.enrich.reactions.SHOW_STANCE follows it,
and tests/test_brief.py checks that it does).
"""
import json
import pathlib

from pipeline.enrich.reactions import STANCE_MIN_ACCURACY, reaction_stance

SET = pathlib.Path(__file__).resolve().parent / "sets" / "stance-real-posts.jsonl"


def measure(path=SET):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    misses = []
    for r in rows:
        got = reaction_stance(r["text"])
        got = "neutral" if got == "mixed" else got
        if got != r["stance"]:
            misses.append({"text": r["text"][:80], "label": r["stance"], "word_list": got})
    accuracy = (len(rows) - len(misses)) / len(rows) if rows else 0.0
    return {"n": len(rows), "accuracy": round(accuracy, 3), "misses": misses,
            "show_stance": accuracy >= STANCE_MIN_ACCURACY}


def main():
    result = measure()
    print(f"stance on {result['n']} labelled real posts: {result['accuracy']:.0%} right "
          f"(needed {STANCE_MIN_ACCURACY:.0%}); show stance: {result['show_stance']}")
    for m in result["misses"]:
        print(f"  miss: label {m['label']}, word list {m['word_list']}: {m['text']}")


if __name__ == "__main__":
    main()
