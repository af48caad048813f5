"""A learned join scorer, measured (issue 19, item 4): logistic regression over the stream's own
pair features, fitted on some sets and run on the others.

python -m bench.scorer_fit [FILE.jsonl ...] [--C 0.1] [--json]

Each set is streamed once with the fixed configuration; every document-story pair the stream
scores when a document arrives is kept with its features (`scoring.pair_features`) and whether the
story's most common gold story is the document's. A strongly regularised logistic regression
(each set weighing the same, whatever its size) is fitted on every set but one, its coefficients
become the configuration's weights (the similarity shares divided by their sum, the other
weights likewise, `join` where the odds are even, `fold` and `merge` moved with `join`), and the
stream runs on the held-out set with them. The line "all" fits on every set (in sample). Printed
beside the fixed configuration's figures, for every set in file order and undated.
"""
import argparse
import json
import pathlib
from collections import Counter

import numpy as np

from bench.stories import REPO, bcubed, default_sets, embed_items, gold_labels, load_set, run_ours
from bench.story_checks import view
from pipeline.stories import stream
from pipeline.stories.scoring import CONFIG, SIMILARITIES, WEIGHTS, pair_features

FEATURES = list(WEIGHTS)


def pairs(items, vectors):
    """(features, labels) of the pairs the stream scores as documents arrive (fixed configuration)."""
    rows, labels, score = [], [], stream.score

    def recorded(st, i, s, c, mx):
        gold = st.items[i].get("story_id")
        if s.members:
            top = Counter(st.items[j].get("story_id") for j in s.members).most_common(1)[0][0]
            f = pair_features(st, i, s, c, mx)
            rows.append([f[k] for k in FEATURES])
            labels.append(int(gold == top and gold != "roundup"))
        return score(st, i, s, c, mx)
    stream.score = recorded  # by_content's scores only: the refine and the fold import their own
    try:
        run_ours(items, vectors)
    finally:
        stream.score = score
    return np.array(rows, dtype=float), np.array(labels)


def fit(data, names, c):
    """The configuration a logistic regression fitted on these sets' pairs gives."""
    from sklearn.linear_model import LogisticRegression
    xs = [data[n][0] for n in names]
    ys = [data[n][1] for n in names]
    weights = np.concatenate([np.full(len(y), 1.0 / len(y)) for y in ys])
    model = LogisticRegression(C=c, max_iter=5000).fit(np.vstack(xs), np.concatenate(ys),
                                                       sample_weight=weights / weights.mean())
    coef = dict(zip(FEATURES, model.coef_[0]))
    total = sum(coef[k] for k in SIMILARITIES)
    if total <= 0:
        raise SystemExit("bench.scorer_fit: the fitted similarity weights sum to zero or less")
    cfg = {WEIGHTS[k]: coef[k] / total for k in FEATURES}
    cfg["join"] = -model.intercept_[0] / total
    shift = cfg["join"] - CONFIG["join"]
    cfg.update(fold=CONFIG["fold"] + shift, merge=CONFIG["merge"] + shift)
    return cfg


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.scorer_fit", description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="labelled JSONL sets (default: ../shared/eval and the multilingual set)")
    ap.add_argument("--C", type=float, default=0.1, help="inverse regularisation strength (smaller: stronger)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = ap.parse_args(argv)
    paths = ([pathlib.Path(f) for f in args.files]
             or [*default_sets(), REPO / "bench" / "sets" / "agent-safety-multilingual.jsonl"])
    for f in paths:
        if not f.exists():
            raise SystemExit(f"{f}: no such file")
    if len(paths) < 2:
        raise SystemExit("bench.scorer_fit: needs two sets at least (one to fit on, one to hold out)")
    sets = {}
    for p in paths:
        items = load_set(p)
        for v in ("file", "undated"):
            its = items if v == "file" else view(items, v)
            sets[(p.stem, v)] = (its, embed_items(its)[0])
    names = sorted({n for n, _ in sets})
    data = {}
    for n in names:  # a set's pairs: its file order and its undated view together
        got = [pairs(*sets[(n, v)]) for v in ("file", "undated")]
        data[n] = (np.vstack([g[0] for g in got]), np.concatenate([g[1] for g in got]))
    plans = {"fixed": CONFIG, "all": fit(data, names, args.C)}
    plans.update({f"without {n}": fit(data, [m for m in names if m != n], args.C) for n in names})
    result = {}
    for plan, cfg in plans.items():
        result[plan] = {"config": {k: round(float(v), 4) for k, v in cfg.items() if k in WEIGHTS.values()
                                   or k in ("join", "fold", "merge")},
                        "b3_f1": {f"{n} {v}": round(bcubed(run_ours(its, vec, cfg)[0], gold_labels(its))[2], 3)
                                  for (n, v), (its, vec) in sets.items()}}
    if args.json:
        print(json.dumps(result))
        return
    cols = list(result["fixed"]["b3_f1"])
    print("B3 F1 of ours with the fixed configuration and with fitted ones ('without X': X held out)")
    width = max(len(p) for p in result) + 2
    print(f"{'configuration':{width}}" + "  ".join(cols))
    for plan, r in result.items():
        print(f"{plan:{width}}" + "  ".join(f"{r['b3_f1'][c]:>{len(c)}.3f}" for c in cols))
    print("fitted weights (all sets):", json.dumps(result["all"]["config"]))


if __name__ == "__main__":
    main()
