"""Retrieval quality of the catalog's search: full text alone, vectors alone and hybrid.

    python -m bench.retrieval [FILE.jsonl ...] [--json] [--variants]

For each labelled set (default: the shared eval sets and bench/sets/*.jsonl), every document goes
into a fresh incidentwire database (the real schema and FTS index) with its vector from the
bundled model. For each story with at least three documents, its earliest document's title is the
query; the figure is the share of the story's other documents in the top 20 (the query document
itself left out), averaged over those stories, for each mode of pipeline.find.documents.search.

--variants also scores every fusion in pipeline.find.fusion.variants() and chooses one by leaving
one set out. The goal is hybrid ahead of both words and meaning on every set, so a variant is
judged by its worst margin over the better of the two (then its mean margin): for each set, the
variant that judges best on the other sets, and what it scores on the set it did not see. No
setting is chosen per set; the catalog ships the variant that judges best over all sets (the same
rule), pipeline.find.fusion.FUSION. "own doc out" repeats the shipped hybrid with the query's own
document kept out of the feedback (the bench's queries are titles of indexed documents, which a
real query need not be).
"""
import argparse
import hashlib
import json
import pathlib
import sqlite3
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
TOP = 20
MODES = ("words", "meaning", "hybrid")


def set_paths():
    """The eval sets and the labelled sets in bench/sets that have stories (the stance set has none)."""
    from bench.stories import default_sets
    own = [p for p in sorted((REPO / "bench" / "sets").glob("*.jsonl"))
           if '"story_id"' in p.read_text(encoding="utf-8").split("\n", 1)[0]]
    return default_sets() + own


def build_db(path, items, vectors, model):
    from db.connection import open_db
    db = open_db(path)
    with db.conn:
        for i, (item, vector) in enumerate(zip(items, vectors), 1):
            key = hashlib.sha256(f"{i}:{item.get('title')}".encode()).hexdigest()
            db["documents"].insert({"id": i, "url": item.get("url") or f"https://bench.example/{i}", "kind": "article",
                                    "title": item.get("title"), "text": item.get("text"), "content_hash": key,
                                    "published": item.get("published")})
            db["embeddings"].insert({"content_hash": key, "model": model, "dim": len(vector),
                                     "vector": vector.astype("float32").tobytes()})
    db.close()


def queries(items):
    """[(query document id, title, {the story's other document ids})] for stories of 3 or more."""
    from bench.stories import gold_labels
    stories = {}
    for i, label in enumerate(gold_labels(items), 1):
        stories.setdefault(label, []).append(i)
    out = []
    for ids in stories.values():
        if len(ids) < 3:
            continue
        first = min(ids, key=lambda i: (items[i - 1].get("published") or "9999", i))
        if items[first - 1].get("title"):
            out.append((first, items[first - 1]["title"], set(ids) - {first}))
    return out


def recall_of(conn, asked, qvecs, model, mode, fusion=None, own_doc_out=False):
    from pipeline.find.documents import search
    from pipeline.find.fusion import FUSION
    shares = []
    for (doc, title, relevant), qvec in zip(asked, qvecs):
        how = dict(fusion or FUSION, skip={doc}) if own_doc_out else fusion or FUSION
        found = [i for i, _, _ in search(conn, title, qvec, model, mode=mode, limit=TOP + 1, fusion=how)
                 if i != doc][:TOP]
        shares.append(len(relevant & set(found)) / len(relevant))
    return round(sum(shares) / len(shares), 3) if shares else None


def bench_set(path, variants=None):
    from bench.stories import embed_items, load_set
    from pipeline.stories.embed import encode, resolve_model
    items = load_set(path)
    vectors, _ = embed_items(items)
    model = resolve_model()[0]
    asked = queries(items)
    qvecs = encode([title for _, title, _ in asked])
    with tempfile.TemporaryDirectory() as tmp:
        build_db(pathlib.Path(tmp) / "r.db", items, vectors, model)
        conn = sqlite3.connect(pathlib.Path(tmp) / "r.db")
        result = {"set": pathlib.Path(path).name, "documents": len(items), "queries": len(asked),
                  **{m: recall_of(conn, asked, qvecs, model, m) for m in MODES},
                  "own doc out": recall_of(conn, asked, qvecs, model, "hybrid", own_doc_out=True)}
        if variants:
            result["variants"] = {name: recall_of(conn, asked, qvecs, model, "hybrid", f) for name, f in variants.items()}
        conn.close()
    return result


def judge(variant, rows):
    """(worst margin, mean margin) of a variant over the better of words and meaning, on these sets."""
    margins = [r["variants"][variant] - max(r["words"], r["meaning"]) for r in rows]
    return round(min(margins), 4), round(sum(margins) / len(margins), 4)


def leave_one_set_out(results):
    """[(held-out set, variant chosen on the others, its score there)] and the variant judged best over all sets."""
    def best(rows):
        return max(rows[0]["variants"], key=lambda v: (judge(v, rows), v))
    held = []
    for r in results:
        others = [o for o in results if o is not r]
        if others:
            chosen = best(others)
            held.append((r["set"], chosen, r["variants"][chosen]))
    return held, best(results)


def print_variants(results):
    names = list(results[0]["variants"])
    print(f"\nfusion variants (hybrid, share in the top {TOP}):")
    print(f"{'variant':22}" + "".join(f" {r['set'][:14]:>14}" for r in results) + f" {'mean':>6} {'min':>6}")
    for v in names:
        scores = [r["variants"][v] for r in results]
        print(f"{v:22}" + "".join(f" {x:14.3f}" for x in scores) + f" {sum(scores) / len(scores):6.3f} {min(scores):6.3f}")
    held, overall = leave_one_set_out(results)
    print("\nleave one set out: the variant judged best on the other sets (worst margin over the better alone), scored on the held-out set")
    for (name, chosen, score), r in zip(held, results):
        alone = max(r["words"], r["meaning"])
        print(f"  {name:38} {chosen:22} {score:.3f}  (best alone {alone:.3f}: {'beats' if score > alone else 'DOES NOT beat'})")
    from pipeline.find.fusion import FUSION, variants
    shipped = [name for name, f in variants().items() if f == FUSION]
    print(f"judged best over all sets: {overall} (worst margin, mean margin {judge(overall, results)}); "
          f"the catalog ships {shipped[0] if shipped else FUSION}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--variants", action="store_true", help="score every fusion variant, leave-one-set-out")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from pipeline.find.fusion import FUSION, variants
    results = []
    for path in args.files or set_paths():
        t0 = time.perf_counter()
        results.append(dict(bench_set(path, variants() if args.variants else None),
                            seconds=round(time.perf_counter() - t0, 1)))
    if args.json:
        print(json.dumps(results, indent=2))
        return results
    print(f"retrieval: share of a story's other documents in the top {TOP}, query = its earliest title; "
          f"hybrid = {FUSION}")
    print(f"{'set':38} {'docs':>5} {'queries':>7} {'words':>6} {'meaning':>7} {'hybrid':>6} {'own doc out':>11}  hybrid beats both")
    for r in results:
        beats = r["hybrid"] is not None and r["hybrid"] > max(r["words"], r["meaning"])
        print(f"{r['set']:38} {r['documents']:5} {r['queries']:7} {r['words']:6.3f} {r['meaning']:7.3f} "
              f"{r['hybrid']:6.3f} {r['own doc out']:11.3f}  {'yes' if beats else 'NO'}")
    if args.variants:
        print_variants(results)
    return results


if __name__ == "__main__":
    main()
