"""Retrieval quality of the catalog's search: full text alone, vectors alone and hybrid (RRF).

    python -m bench.retrieval [FILE.jsonl ...] [--json]

For each labelled set (default: the shared eval sets and bench/sets/*.jsonl), every document goes
into a fresh incidentwire database (the real schema and FTS index) with its vector from the
bundled model. For each story with at least three documents, its earliest document's title is the
query; the figure is the share of the story's other documents in the top 20 (the query document
itself left out), averaged over those stories, for each mode of pipeline.find.documents.search.
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
    from bench.stories import default_sets
    return default_sets() + sorted((REPO / "bench" / "sets").glob("*.jsonl"))


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


def bench_set(path):
    from bench.stories import embed_items, load_set
    from pipeline.find.documents import search
    from pipeline.stories.embed import encode, resolve_model
    items = load_set(path)
    vectors, _ = embed_items(items)
    model = resolve_model()[0]
    asked = queries(items)
    qvecs = encode([title for _, title, _ in asked])
    with tempfile.TemporaryDirectory() as tmp:
        build_db(pathlib.Path(tmp) / "r.db", items, vectors, model)
        conn = sqlite3.connect(pathlib.Path(tmp) / "r.db")
        recall = {m: [] for m in MODES}
        for (doc, title, relevant), qvec in zip(asked, qvecs):
            for mode in MODES:
                found = [i for i, _, _ in search(conn, title, qvec, model, mode=mode, limit=TOP + 1) if i != doc][:TOP]
                recall[mode].append(len(relevant & set(found)) / len(relevant))
        conn.close()
    return {"set": pathlib.Path(path).name, "documents": len(items), "queries": len(asked),
            **{m: round(sum(v) / len(v), 3) if v else None for m, v in recall.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    results = []
    for path in args.files or set_paths():
        t0 = time.perf_counter()
        results.append(dict(bench_set(path), seconds=round(time.perf_counter() - t0, 1)))
    if args.json:
        print(json.dumps(results, indent=2))
        return results
    print(f"retrieval: share of a story's other documents in the top {TOP}, query = its earliest title")
    print(f"{'set':38} {'docs':>5} {'queries':>7} {'words':>6} {'meaning':>7} {'hybrid':>6}  hybrid beats both")
    for r in results:
        beats = r["hybrid"] is not None and r["hybrid"] > max(r["words"], r["meaning"])
        print(f"{r['set']:38} {r['documents']:5} {r['queries']:7} {r['words']:6.3f} {r['meaning']:7.3f} "
              f"{r['hybrid']:6.3f}  {'yes' if beats else 'NO'}")
    return results


if __name__ == "__main__":
    main()
