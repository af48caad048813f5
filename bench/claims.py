"""Precision and recall of claim flags (pipeline.enrich.claims): a flag says a claim was not found
in the primary source, so precision is the share of flags that are right (the source does not
state the claim) and recall the share of unsupported claims flagged.

Run: `.venv/bin/python -m bench.claims`. Reads bench/sets/claims.jsonl: real claims (numbers and
quotes, with the sentence they stand in) from the AI Incident Database reports in
../shared/eval/aiid-fixtures.jsonl and the demo seeds, each labelled by reading its source text
(see bench/sets/README.md). Sources: an AIID report ("aiid:ID") or the demo's system card
excerpt ("demo:card", the PDF's extracted text). Shared inputs: $INCIDENTWIRE_SHARED, else
tests/fixtures/shared. Prints one JSON object; the goal is precision >= 0.9, recall >= 0.6.
"""
import json
import os
import pathlib

from pipeline.enrich.claims import check_claims
from pipeline.enrich.source_match import Source

ROOT = pathlib.Path(__file__).resolve().parent.parent
SET = ROOT / "bench" / "sets" / "claims.jsonl"
CARD = ROOT / "demo" / "site" / "anthropic-system-cards" / "claude-opus-4-system-card-demo-excerpt.pdf"


def source_texts(refs):
    """{ref: text} for the sources the set names."""
    from spiders.extract import pdf_text
    shared = pathlib.Path(os.environ.get("INCIDENTWIRE_SHARED") or ROOT / "tests" / "fixtures" / "shared")
    reports = {}
    with open(shared / "eval" / "aiid-fixtures.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            reports[f"aiid:{r['id']}"] = r.get("text") or ""
    reports["demo:card"] = pdf_text(CARD.read_bytes())["text"]
    return {ref: reports[ref] for ref in refs}


def measure(path=SET):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = source_texts({r["source"] for r in rows})
    tp = fp = fn = 0
    wrong = []
    for r in rows:
        found = check_claims([r], [Source(r["source"], texts[r["source"]])])[0]["found"]
        flagged = not found
        if flagged and not r["supported"]:
            tp += 1
        elif flagged:
            fp += 1
            wrong.append({"id": r["id"], "claim": r["claim"][:80], "error": "flagged, but the source states it"})
        elif not r["supported"]:
            fn += 1
            wrong.append({"id": r["id"], "claim": r["claim"][:80], "error": "not flagged, but the source lacks it"})
    return {"claims": len(rows), "supported": sum(1 for r in rows if r["supported"]), "flags": tp + fp,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None, "errors": wrong}


def main():
    print(json.dumps(measure(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
