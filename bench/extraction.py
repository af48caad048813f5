"""Article extraction quality on the Zyte article-extraction benchmark (../shared/extraction).

    python -m bench.extraction [--shared PATH] [--limit N]

Runs the spiders' own extractor (spiders.extract.extract_article: trafilatura, precision mode)
on every page and scores it with the benchmark's metric, re-implemented from its evaluate.py
(scrapinghub/article-extraction-benchmark, MIT): 4-word shingles over \\w+ tokens, per-page
TP/FP/FN normalised by their sum, precision and recall averaged over pages, F1 from the means.
Prints precision, recall, F1 and pages/s.
"""
import argparse
import gzip
import json
import os
import pathlib
import re
import statistics
import sys
import time
from collections import Counter

TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shingles(text, n=4):
    tokens = TOKEN_RE.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def tp_fp_fn(true, pred):
    """The benchmark's string_shingle_matching: shingle counts compared, normalised to sum 1."""
    t, p = shingles(true), shingles(pred)
    tp = fp = fn = 0.0
    for key in set(t) | set(p):
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (tp, fp, fn)


def precision(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(triples):
    p = statistics.mean(precision(*t) for t in triples if t[0] + t[1] > 0)
    r = statistics.mean(recall(*t) for t in triples if t[0] + t[2] > 0)
    return p, r, 2 * p * r / (p + r)


def shared_dir(arg=None):
    return pathlib.Path(arg or os.environ.get("INCIDENTWIRE_SHARED")
                        or pathlib.Path(__file__).resolve().parent.parent.parent / "shared")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="path of the shared folder (default ../shared or $INCIDENTWIRE_SHARED)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages")
    args = parser.parse_args(argv)
    root = shared_dir(args.shared) / "extraction"
    truth_file = root / "ground-truth.json"
    if not truth_file.exists():
        sys.exit(f"Error: {truth_file} not found; pass --shared PATH pointing at the shared folder")
    from spiders.extract import extract_article
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    keys = sorted(truth)[: args.limit]
    pages = [(k, gzip.decompress((root / "html" / f"{k}.html.gz").read_bytes())) for k in keys]
    triples = []
    empty = 0
    start = time.perf_counter()
    for key, html in pages:
        article = extract_article(html, truth[key].get("url"))
        text = article["text"] if article else ""
        empty += not text
        triples.append(tp_fp_fn(truth[key].get("articleBody", ""), text))
    elapsed = time.perf_counter() - start
    p, r, f1 = score(triples)
    print(f"pages          {len(pages)} (no text extracted: {empty})")
    print(f"precision      {p:.3f}")
    print(f"recall         {r:.3f}")
    print(f"F1             {f1:.3f}")
    print(f"pages/s        {len(pages) / elapsed:.1f}  (one process, {elapsed:.1f} s)")
    return 0 if f1 >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
