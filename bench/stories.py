"""Story clustering bench: ours vs peer baselines on labelled JSONL sets; throughput; scale.

python -m bench.stories [FILE.jsonl ...] [--json] [--model NAME] [--stream-idf] [--orders N] [--robust]
                        [--scale N] [--demo] [--batches daily]
"""
import argparse
import hashlib
import json
import os
import pathlib
import random
import sys
import time

import numpy as np

from bench import story_checks

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(__file__).resolve().parent / ".cache"


def shared_dir():
    """$INCIDENTWIRE_SHARED, else ../shared beside the repo, else the tests' copy of its eval sets."""
    env = os.environ.get("INCIDENTWIRE_SHARED")
    if env:
        return pathlib.Path(env)
    beside = REPO.parent / "shared"
    return beside if (beside / "eval").is_dir() else REPO / "tests" / "fixtures" / "shared"


def default_sets():
    return sorted((shared_dir() / "eval").glob("*.jsonl"))


def load_set(path):
    """Items of a JSONL set; a line that is not JSON or lacks an id is a one-line error."""
    items, coerced = [], 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise SystemExit(f"{path}:{n}: not a JSON line")
            if not isinstance(row, dict) or "story_id" not in row:
                raise SystemExit(f"{path}:{n}: item has no story_id")
            for key in ("title", "text", "url", "source", "published", "lang", "kind"):
                value = row.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    row[key] = str(value)  # a number where text belongs: read as its digits
                    coerced += 1
                elif value is not None and not isinstance(value, str):
                    raise SystemExit(f"{path}:{n}: {key} is not a string")
            row.setdefault("id", f"{path}:{n}")
            items.append(row)
    if coerced:
        print(f"{path}: {coerced} numeric field(s) read as text", file=sys.stderr)
    return items


def gold_labels(items):
    """Gold story per item; "roundup" items are each their own singleton."""
    return [f"roundup#{i}" if it["story_id"] == "roundup" else it["story_id"] for i, it in enumerate(items)]


# ---- metrics -------------------------------------------------------------------------------

def bcubed(pred, gold):
    """BCubed precision, recall, F1."""
    from collections import Counter
    pairs = Counter(zip(pred, gold))
    pc, gc = Counter(pred), Counter(gold)
    p = sum(pairs[(a, b)] / pc[a] for a, b in zip(pred, gold)) / len(pred)
    r = sum(pairs[(a, b)] / gc[b] for a, b in zip(pred, gold)) / len(pred)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pairwise_f1(pred, gold):
    """F1 over same-story pairs."""
    from collections import Counter
    c2 = lambda n: n * (n - 1) / 2
    tp = sum(c2(n) for n in Counter(zip(pred, gold)).values())
    pp = sum(c2(n) for n in Counter(pred).values())
    gp = sum(c2(n) for n in Counter(gold).values())
    if tp == 0:
        return 0.0
    p, r = tp / pp, tp / gp
    return 2 * p * r / (p + r)


# ---- baselines (each swept over thresholds; the best, in hindsight, is reported) -------------

THRESHOLDS = [round(x, 2) for x in np.arange(0.05, 0.96, 0.01)]
# The floors issue 19 sets for the development sets (BCubed F1 with the one fixed configuration,
# which must hold on real coverage too: see --robust); every set must also be ahead of every baseline.
GOALS = {"aiid-fixtures": 0.93, "ecbplus": 0.90}


# How far a baseline's threshold moves for its "cliff" (what that move costs it): the step the
# --robust sensitivity check moves our join threshold by, so the two can be read side by side.
PEER_STEP = round(story_checks.STEP * (story_checks.TUNED["join"][1] - story_checks.TUNED["join"][0]), 2)


def sweep(labels_for, gold):
    """Best (b3_f1, pair_f1, threshold) over THRESHOLDS, and `cliff`: the most moving that
    threshold by ±PEER_STEP costs (the baseline's own sensitivity, tuned with hindsight)."""
    best, curve = (-1.0, 0.0, None), {}
    for t in THRESHOLDS:
        pred = labels_for(t)
        f = curve[t] = bcubed(pred, gold)[2]
        if f > best[0]:
            best = (f, pairwise_f1(pred, gold), t)
    near = [curve[u] for u in (round(best[2] - PEER_STEP, 2), round(best[2] + PEER_STEP, 2)) if u in curve]
    return {"b3_f1": round(best[0], 4), "pair_f1": round(best[1], 4), "threshold": best[2],
            "cliff": round(max(0.0, max(best[0] - f for f in near)), 4) if near else None}


def agglomerative_labels(matrix, metric="cosine"):
    """labels_for(threshold) of average-link clustering; threshold is a similarity."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist
    dist = pdist(matrix, metric=metric)
    dist = np.nan_to_num(dist, nan=1.0)
    tree = linkage(dist, method="average")
    return lambda t: list(fcluster(tree, 1.0 - t, criterion="distance"))


def community_labels(vectors):
    import torch
    from sentence_transformers import util
    emb = torch.from_numpy(vectors)

    def labels_for(t):
        comms = util.community_detection(emb, threshold=float(t), min_community_size=1, batch_size=1024)
        labels = [-1] * len(vectors)
        for c, members in enumerate(comms):
            for m in members:
                if labels[m] == -1:
                    labels[m] = c
        nxt = len(comms)
        for i, lab in enumerate(labels):
            if lab == -1:
                labels[i], nxt = nxt, nxt + 1
        return labels
    return labels_for


def single_pass_labels(vectors):
    """Single-pass centroid-threshold streaming in input order."""
    def labels_for(t):
        sums, labels = [], []
        for v in vectors:
            if sums:
                cents = np.array(sums)
                cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
                sims = cents @ v
                j = int(np.argmax(sims))
                if sims[j] >= t:
                    sums[j] = sums[j] + v
                    labels.append(j)
                    continue
            sums.append(v.copy())
            labels.append(len(sums) - 1)
        return labels
    return labels_for


def tfidf_matrix(items):
    from sklearn.feature_extraction.text import TfidfVectorizer
    docs = [f"{it.get('title') or ''}\n{it.get('text') or ''}" for it in items]
    return TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1).fit_transform(docs).toarray()


def hybrid_labels(vectors, tfidf, dense_share=0.5):
    """labels_for(threshold) of average-link over dense_share * dense cosine + the rest * TF-IDF
    cosine: what the strongest peer does."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    lex = tfidf / (np.linalg.norm(tfidf, axis=1, keepdims=True) + 1e-9)
    sim = dense_share * (vectors @ vectors.T) + (1 - dense_share) * (lex @ lex.T)
    np.fill_diagonal(sim, 1.0)
    tree = linkage(squareform(np.clip(1.0 - sim, 0.0, 2.0), checks=False), method="average")
    return lambda t: list(fcluster(tree, 1.0 - t, criterion="distance"))


def run_baselines(items, vectors, gold):
    out = {}
    tfidf = tfidf_matrix(items)
    out["agglomerative_cosine"] = sweep(agglomerative_labels(vectors), gold)
    out["tfidf_agglomerative"] = sweep(agglomerative_labels(tfidf), gold)
    out["hybrid_agglomerative"] = sweep(hybrid_labels(vectors, tfidf), gold)
    out["community_detection"] = sweep(community_labels(vectors), gold)
    out["single_pass_centroid"] = sweep(single_pass_labels(vectors), gold)
    return out


# ---- embeddings, cached under bench/.cache ---------------------------------------------------

def embed_items(items, model_name=None):
    """Vectors for items, cached in a file keyed by model and embedded text; returns (vectors, seconds)."""
    from pipeline.stories.embed import document_text, encode_with_progress, load_model, resolve_model
    key, _, _ = resolve_model(model_name)
    texts = [document_text(it.get("title"), it.get("text")) for it in items]
    digest = hashlib.sha256(("\x00".join([key, *texts])).encode()).hexdigest()[:20]
    path = CACHE / f"emb-{digest}.npy"
    meta = CACHE / f"emb-{digest}.json"
    if path.exists() and meta.exists():
        return np.load(path), json.loads(meta.read_text())["seconds"]
    load_model(model_name)  # loading the model once per process is not per-document cost
    t0 = time.perf_counter()
    vectors = encode_with_progress(texts, model_name)
    seconds = time.perf_counter() - t0
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    meta.write_text(json.dumps({"seconds": seconds, "n": len(items), "model": key}))
    return vectors, seconds


def run_ours(items, vectors, config=None):
    """The same path as `process`: what the store and spiders would know of each item (kind, copies,
    links), gazetteer entities, then cluster_stream with the fixed CONFIG."""
    from pipeline.stories.entities import extract_entities
    from pipeline.stories.records import items_from_records
    from pipeline.stories.stream import cluster_stream
    t0 = time.perf_counter()
    items = [{**it, "entities": extract_entities(f"{it.get('title') or ''}\n{it.get('text') or ''}")}
             for it in items_from_records(items)]
    result = cluster_stream(items, vectors, config=config)
    return result["labels"], time.perf_counter() - t0


def bench_set(path, model_name=None, config=None, orders=0):
    items = load_set(path)
    gold = gold_labels(items)
    vectors, embed_s = embed_items(items, model_name)
    pred, assign_s = run_ours(items, vectors, config)
    extra = {"orders": order_sensitivity(items, vectors, gold, orders, config)} if orders else {}
    return {
        "items": len(items),
        "stories": len(set(gold)),
        "order_runs": order_runs(gold),
        "docs_per_s": round(len(items) / (embed_s + assign_s), 1),
        "ours": scores(pred, gold),
        "baselines": run_baselines(items, vectors, gold),
        **extra,
    }


def order_runs(gold):
    """How many runs of one story the file's order reads: as many as there are stories when each
    story's items come together, the easiest order a stream can meet (a crawl never meets it)."""
    return sum(1 for k, g in enumerate(gold) if k == 0 or g != gold[k - 1])


def order_sensitivity(items, vectors, gold, n, config=None, seed=0):
    """Ours over n shuffled file orders of the same items: dates do not move, so what moves is the
    order of same-time and undated items, which a stream takes as it comes."""
    rng, f1s = random.Random(seed), []
    for _ in range(n):
        perm = list(range(len(items)))
        rng.shuffle(perm)
        pred, _ = run_ours([items[i] for i in perm], vectors[perm], config)
        f1s.append(bcubed(pred, [gold[i] for i in perm])[2])
    return {"n": n, "b3_f1_mean": round(sum(f1s) / n, 4), "b3_f1_min": round(min(f1s), 4)}


def scores(pred, gold):
    """BCubed P/R/F1 and pairwise F1, rounded as the bench prints them."""
    p, r, f = bcubed(pred, gold)
    return {"b3_p": round(p, 4), "b3_r": round(r, 4), "b3_f1": round(f, 4),
            "pair_f1": round(pairwise_f1(pred, gold), 4)}


def target_lines(name, ours, best_baseline):
    """Whether a set meets what is asked of it: ahead of every baseline, and its goal where it has one."""
    met = lambda ok: "met" if ok else "NOT met"
    lines = [f"target ahead of every baseline: {met(ours > best_baseline)}"]
    if name in GOALS:
        goal = GOALS[name]
        lines.append(f"goal B3 F1 >= {goal}: {met(ours >= goal)} ({ours:.3f}, {ours - goal:+.3f})")
    return lines


def print_table(result):
    for name, s in result["sets"].items():
        o = s["ours"]
        print(f"\n{name}: {s['items']} items, {s['stories']} stories, embed+assign {s['docs_per_s']} docs/s")
        grouped = " (each story's items together: a stream's best case; see --orders)" \
            if s["order_runs"] == s["stories"] else ""
        print(f"  file order: {s['order_runs']} runs of one story{grouped}")
        print(f"  {'method':<24} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pairF1':>6}  threshold (cost of ±{PEER_STEP})")
        print(f"  {'ours (fixed config)':<24} {o['b3_p']:>6.3f} {o['b3_r']:>6.3f} {o['b3_f1']:>6.3f} {o['pair_f1']:>6.3f}  -")
        for b, m in s["baselines"].items():
            cliff = "" if m["cliff"] is None else f" ({m['cliff']:.3f})"
            print(f"  {b:<24} {'':>6} {'':>6} {m['b3_f1']:>6.3f} {m['pair_f1']:>6.3f}  {m['threshold']}{cliff} (best in hindsight)")
        best = max(m["b3_f1"] for m in s["baselines"].values())
        print(f"  ours - best baseline: {o['b3_f1'] - best:+.3f} B3 F1")
        for line in target_lines(name, o["b3_f1"], best):
            print(f"  {line}")
        if "orders" in s:
            r = s["orders"]
            print(f"  ours over {r['n']} shuffled file orders (same dates): B3 F1 mean {r['b3_f1_mean']:.3f}, "
                  f"min {r['b3_f1_min']:.3f}")


# ---- demo snapshot: a check held out from tuning ---------------------------------------------

def demo_scores(db, aiid_items):
    """BCubed of the stories `process` gave the demo's re-hosted AIID reports, against their incidents.

    The demo re-hosts AIID reports (feed guid = the report's URL) among lab posts, news of the
    Claude Opus 4 backlash and social posts, with dates shifted into one span: the same incidents as
    aiid-fixtures, met through the real crawl and process, in company the eval sets do not have.
    Only the AIID reports are scored; the other documents count through the stories they share.
    """
    incident = {it["url"]: it["story_id"] for it in aiid_items if it.get("url")}
    rehosted = demo_originals()
    rows = list(db.query("SELECT guid, canonical_url, story_id FROM documents"))
    pairs = []
    for r in rows:
        # The feed entry's guid is the report's own URL; a page that declares it canonical may too;
        # a report re-hosted under a demo address (its date shifted) links its original.
        key = next((k for k in (r["guid"], r["canonical_url"], rehosted.get(r["canonical_url"]),
                                rehosted.get(r["guid"])) if k in incident), None)
        if key in incident:
            pairs.append((incident[key], r["story_id"]))
    gold, pred = [g for g, _ in pairs], [p for _, p in pairs]
    return {"documents": len(rows), "items": len(pairs), "stories": len(set(gold)),
            "ours": scores(pred, gold) if pairs else None}


def demo_originals():
    """Demo page address -> the original report it re-hosts (its "original report" link)."""
    import re
    from pipeline.paths import ROOT
    out = {}
    for page in (ROOT / "demo" / "site").glob("**/index.html"):
        html = page.read_text(encoding="utf-8")
        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html)
        original = re.search(r'<a href="([^"]+)">original report</a>', html)
        if canonical and original:
            out[canonical.group(1)] = original.group(1).replace("&amp;", "&")
    return out


def run_demo_check(model_name=None):
    """Build the demo snapshot in a temporary folder (crawl + process, no server) and score it."""
    import tempfile
    from db.connection import open_db
    from pipeline.ops.demo import run_demo
    aiid = [p for p in default_sets() if p.stem == "aiid-fixtures"]
    if not aiid:
        raise SystemExit(f"aiid-fixtures.jsonl not found under {shared_dir() / 'eval'}")
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "demo.db"
        run_demo(path, serve=False, out_dir=pathlib.Path(tmp) / "digests", model=model_name)
        return demo_scores(open_db(path), load_set(aiid[0]))


# ---- scale -----------------------------------------------------------------------------------

def synthetic_stream(n, dim=384, days=730, seed=0):
    """n synthetic documents over `days`: stories of 1-40 documents, each living a few days."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(1, 41)))
    sizes[-1] -= sum(sizes) - n
    starts = rng.uniform(0, days, size=len(sizes))
    story, times = [], []
    for s, (size, start) in enumerate(zip(sizes, starts)):
        story += [s] * size
        times += list(start + rng.exponential(1.5, size=size))  # coverage decays over days
    order = np.argsort(times)
    centers = rng.normal(size=(len(sizes), dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    topics = rng.integers(0, 20000, size=(len(sizes), 8))
    epoch = np.datetime64("2024-01-01T00:00")
    items, vectors = [], np.empty((n, dim), dtype=np.float32)
    for k, j in enumerate(order):
        s = story[j]
        v = centers[s] + rng.normal(size=dim).astype(np.float32) * 0.04
        vectors[k] = v / np.linalg.norm(v)
        words = [f"w{t}" for t in topics[s][rng.integers(0, 8, 6)]] + [f"w{t}" for t in rng.integers(0, 20000, 10)]
        when = str(epoch + np.timedelta64(int(times[j] * 1440), "m"))
        items.append({"id": f"syn-{k}", "url": f"https://synthetic.example/{k}", "title": " ".join(words[:6]),
                      "text": " ".join(words), "published": when + ":00+00:00", "source": f"pub{k % 50}",
                      "story_id": f"syn-s{s}"})
    return items, vectors


def run_scale(n, model_name=None):
    from pipeline.stories.stream import cluster_stream
    items, vectors = synthetic_stream(n)
    from threadpoolctl import threadpool_limits
    marks = []
    # Matrix-vector products this small gain nothing from BLAS threads, whose spinning would
    # count as CPU time on a busy machine.
    with threadpool_limits(1):
        result = cluster_stream(items, vectors, timings=marks)
    t = np.array(marks)
    block = min(10000, n // 2)
    first, last = t[:block].mean() * 1e3, t[-block:].mean() * 1e3
    gold = [it["story_id"] for it in items]
    out = {"documents": n, "stories": len(set(result["labels"])), "gold_stories": len(set(gold)),
           "b3_f1": round(bcubed(result["labels"], gold)[2], 4), "first_ms_per_doc": round(first, 3),
           "last_ms_per_doc": round(last, 3), "ratio": round(last / first, 2),
           "assign_docs_per_s": round(n / t.sum(), 1)}
    # Embedding throughput on this machine (CPU, and GPU when present).
    from pipeline.stories.embed import device, document_text, encode
    sample = [document_text(it["title"], it["text"]) for it in items[:512]]
    t0 = time.perf_counter()
    encode(sample, model_name)
    out["embed_docs_per_s"] = round(len(sample) / (time.perf_counter() - t0), 1)
    out["device"] = device()
    out["embed_assign_docs_per_s"] = round(1 / (1 / out["embed_docs_per_s"] + 1 / out["assign_docs_per_s"]), 1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.stories", description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="JSONL sets of {id, story_id, title, text, url, source, published}")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--model", default=None, help="sentence-transformers model name or path")
    ap.add_argument("--stream-idf", action="store_true",
                    help="count IDF only from the documents already seen, not from the whole run")
    ap.add_argument("--orders", type=int, default=0, metavar="N",
                    help="also run ours over N shuffled file orders of each set (order sensitivity)")
    ap.add_argument("--robust", action="store_true",
                    help="views (undated, body, title), orders, sensitivity and leave-one-set-out tables")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for --robust")
    ap.add_argument("--scale", type=int, default=None, metavar="N", help="assign N synthetic documents and report per-document time")
    ap.add_argument("--demo", action="store_true",
                    help="build the demo snapshot (crawl + process) and score its AIID reports' stories")
    ap.add_argument("--batches", choices=["daily"], default=None,
                    help="feed each set day by day through `process` and report story-id stability (bench.stability)")
    args = ap.parse_args(argv)
    if args.demo:
        out = run_demo_check(args.model)
        if args.json:
            print(json.dumps({"demo": out}))
        elif out["ours"] is None:
            print(f"demo snapshot: {out['documents']} documents, none of them an AIID report")
        else:
            o = out["ours"]
            print(f"demo snapshot (held out from tuning; the real crawl + process): {out['items']} AIID reports of "
                  f"{out['stories']} incidents among {out['documents']} documents")
            print(f"  ours B3 P {o['b3_p']:.3f}  R {o['b3_r']:.3f}  F1 {o['b3_f1']:.3f}  pair F1 {o['pair_f1']:.3f}")
        return 0
    if args.scale:
        out = run_scale(args.scale, args.model)
        if args.json:
            print(json.dumps({"scale": out}))
        else:
            print(f"scale: {out['documents']} synthetic documents over two years -> {out['stories']} stories "
                  f"({out['gold_stories']} planted, BCubed F1 {out['b3_f1']})")
            print(f"  per-document assign CPU time: first 10,000 {out['first_ms_per_doc']} ms, last 10,000 "
                  f"{out['last_ms_per_doc']} ms (ratio {out['ratio']}, must be <= 1.5)")
            print(f"  assign {out['assign_docs_per_s']} docs/s; embed {out['embed_docs_per_s']} docs/s on {out['device']}; "
                  f"embed+assign {out['embed_assign_docs_per_s']} docs/s")
        return 0
    files = [pathlib.Path(f) for f in args.files] or default_sets()
    if not files:
        raise SystemExit(f"no JSONL sets given and none in {shared_dir() / 'eval'}; pass FILE.jsonl")
    for f in files:
        if not f.exists():
            raise SystemExit(f"{f}: no such file")
    if args.batches:
        from bench import stability
        return stability.main(files, sys.modules[__name__], args.model, args.json)
    if args.robust:
        out = story_checks.robust_report(files, sys.modules[__name__], args.jobs, args.orders or 8)
        if args.json:
            print(json.dumps({"robust": {k: v for k, v in out.items() if k != "steps"}}))
        else:
            story_checks.print_robust(out)
        return 0
    config = {"idf_batch": False} if args.stream_idf else None
    result = {"sets": {f.stem: bench_set(f, args.model, config, args.orders) for f in files}}
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
