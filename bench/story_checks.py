"""Honest measurement for the story bench: views of a set closer to real coverage, sensitivity of
every tuned value, and leave-one-set-out choice of each (see `python -m bench.stories --robust`).

Views change what the engine is given, never the labels: "undated" drops every date (the
`published` field and the day or month an address files a page under, which a crawl would read),
"body" drops the titles (real pages' titles are often SEO rewrites), "title" drops the text, "late"
reads the pages without a date (none given, none in the address) after every dated one, as a crawl
meets a page about an old event once the coverage has moved on (each item keeps its label);
"partial" drops the dates of three items in four (a fixed draw by id), as on real coverage, where
most pages say nothing of when they were written.
"""
import hashlib
import re

from pipeline.dates import url_date

# The values CONFIG's weights and thresholds were tuned to, each with the range it is read in
# (sensitivity moves a value by 10% of its range; leave-one-set-out picks among base, -10%, +10%).
TUNED = {
    "join": (0.3, 0.7), "fold": (0.2, 0.5), "merge": (0.4, 0.8), "w_c": (0.0, 1.0), "w_mx": (0.0, 1.0),
    "w_avg": (0.0, 1.0), "w_lexavg": (0.0, 1.0), "w_key": (0.0, 0.2), "w_short": (0.0, 0.8),
    "w_miss": (-0.2, 0.0), "w_figures": (-0.2, 0.0), "w_year_clash": (-0.2, 0.0), "time_penalty": (0.0, 0.15), "tau_days": (1.0, 30.0),
    "w_xlang": (0.0, 1.0), "refine_margin": (0.0, 0.08), "fold_margin": (0.0, 0.08),
}
STEP = 0.1  # of a value's range
CLIFF = 0.01  # the most a ±STEP move may cost on any set

_MONTH = r"(?:0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_URL_DATE = re.compile(r"(?<=/)(?:19|20)\d\d[/_-]" + _MONTH + r"(?:[/_-]\d{1,2}(?=[/_.-]|$))?|"
                       r"(?<![\d])(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:[0-3]\d)?(?![\d])", re.I)


def undated_url(url):
    """The address without the day or month it files a page under (the host and slug stay, so
    copies that keep a slug are still found)."""
    if not url:
        return url
    out = _URL_DATE.sub("d", url)
    return out if url_date(out) is None else re.sub(r"^(https?://[^/]+).*$", r"\1/page", out)


def view(items, name):
    """A view of a set's items (labels untouched): file, undated, partial, body, title or late."""
    if name == "file":
        return items
    if name == "undated":
        return [{**it, "published": None, "url": undated_url(it.get("url"))} for it in items]
    if name == "body":
        return [{**it, "title": ""} for it in items]
    if name == "title":
        return [{**it, "text": ""} for it in items]
    if name == "partial":
        # Three in four undated, as on the real web: a fixed draw by each item's id, the same each run.
        gone = lambda it: int(hashlib.sha1(str(it.get("id")).encode()).hexdigest(), 16) % 4 != 0
        return [{**it, "published": None, "url": undated_url(it.get("url"))} if gone(it) else it for it in items]
    if name == "late":
        from pipeline.stories.records import iso_published
        dated = lambda it: bool(iso_published(it.get("published")) or url_date(it.get("url")))
        return [it for it in items if dated(it)] + [it for it in items if not dated(it)]
    raise ValueError(f"unknown view {name}")


def moved(base, key, k):
    """CONFIG value `key` moved by k steps of its range (a count of days stays positive)."""
    lo, hi = TUNED[key]
    value = base[key] + k * STEP * (hi - lo)
    return round(max(value, 0.1) if key == "tau_days" else value, 4)


def probe_grid(base, keys=None):
    """Every configuration the checks run: the base and each tuned value at -1 and +1 step."""
    grid = [("base", 0, {})]
    for key in keys or TUNED:
        for k in (-1, 1):
            grid.append((key, k, {key: moved(base, key, k)}))
    return grid


def sensitivity(results, sets):
    """Per tuned value and set: the most a ±1-step move costs (results: (key, k) -> {set: F1})."""
    base = results[("base", 0)]
    table = {}
    for key in sorted({k for k, _ in results if k != "base"}):
        table[key] = {s: round(max(0.0, max(base[s] - results[(key, k)][s] for k in (-1, 1)
                                            if (key, k) in results)), 4) for s in sets}
    return table


def leave_one_out(results, sets, groups):
    """Per tuned value and held-out set group: the step (-1, 0, +1) that the other groups' mean F1
    picks (ties: the smaller move), and the held-out group's F1 there minus at the base.

    groups: {group name: [set names]} (a set and its views are one group: they share documents).
    """
    base = results[("base", 0)]
    table = {}
    if len(groups) < 2:
        return table  # one set has no other to choose on
    for key in sorted({k for k, _ in results if k != "base"}):
        row = {}
        for held, members in groups.items():
            train = [s for g, ms in groups.items() if g != held for s in ms]
            at = lambda k: base if k == 0 else results[(key, k)]
            pick = max((0, -1, 1), key=lambda k: (round(sum(at(k)[s] for s in train) / len(train), 4), -abs(k)))
            held_delta = sum(at(pick)[s] - base[s] for s in members) / len(members)
            row[held] = {"step": pick, "delta": round(held_delta, 4)}
        table[key] = row
    return table


_CASES = {}  # case name -> (items, vectors, gold, run): read by forked workers


def _score(job):
    case, over = job
    items, vectors, gold, run, f1 = _CASES[case]
    return f1(run(items, vectors, over)[0], gold)


def run_grid(cases, grid, jobs=1):
    """F1 of every case (name -> (items, vectors, gold, run(items, vectors, config), f1(pred, gold)))
    under every
    configuration of the grid: {(key, k): {case: F1}}. jobs > 1 forks that many workers."""
    _CASES.clear()
    _CASES.update(cases)
    work = [(case, over) for _, _, over in grid for case in cases]
    if jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            scores = pool.map(_score, work, chunksize=1)
    else:
        scores = [_score(job) for job in work]
    out, it = {}, iter(scores)
    for key, k, _ in grid:
        out[(key, k)] = {case: next(it) for case in cases}
    return out


# ---- the report --------------------------------------------------------------------------------

VIEWS = ("file", "undated", "partial", "body", "title", "late")
GRID_VIEWS = ("file", "undated")  # sensitivity and leave-one-out run on these (same vectors)


def robust_report(paths, bench, jobs=2, orders=8, keys=None):
    """Views, orders, sensitivity and leave-one-set-out for the sets at `paths`; `bench` is the
    bench.stories module (its loaders, runner and metrics). Returns a JSON-ready dict."""
    from pipeline.stories.scoring import CONFIG
    f1 = lambda pred, gold: round(bench.bcubed(pred, gold)[2], 4)
    out = {"views": {}, "orders": {}, "peer_step": bench.PEER_STEP, "peer_cliff": {}}
    cases, groups = {}, {}
    for path in paths:
        items = bench.load_set(path)
        row = out["views"][path.stem] = {}
        for name in VIEWS:
            shown = view(items, name)
            gold = bench.gold_labels(shown)  # a view may read the items in another order
            vectors = bench.embed_items(shown)[0]
            pred = bench.run_ours(shown, vectors)[0]
            peers = bench.run_baselines(shown, vectors, gold)
            best = max(peers, key=lambda b: peers[b]["b3_f1"])
            row[name] = {"ours": f1(pred, gold), "peer": best, "peer_b3_f1": peers[best]["b3_f1"]}
            if name in GRID_VIEWS:
                out["peer_cliff"][f"{path.stem}/{name}"] = peers[best]["cliff"]
                cases[f"{path.stem}/{name}"] = (shown, vectors, gold, bench.run_ours, f1)
                groups.setdefault(path.stem, []).append(f"{path.stem}/{name}")
            if name in GRID_VIEWS and orders:
                r = bench.order_sensitivity(shown, vectors, gold, orders)
                out["orders"].setdefault(path.stem, {})[name] = {"given": row[name]["ours"], **r}
    results = run_grid(cases, probe_grid(CONFIG, keys), jobs)
    out["sensitivity"] = sensitivity(results, list(cases))
    out["loso"] = leave_one_out(results, list(cases), groups)
    out["base"] = results[("base", 0)]
    out["steps"] = {key: {k: moved(CONFIG, key, k) for k in (-1, 1)} for key in keys or TUNED}
    return out


def print_robust(out):
    print("\nviews (labels unchanged; ours with the fixed config, peer = best baseline in hindsight):")
    print(f"  {'set':<28}" + "".join(f"{v:>18}" for v in VIEWS))
    for name, row in out["views"].items():
        print(f"  {name:<28}" + "".join(f"{row[v]['ours']:>7.3f} / {row[v]['peer_b3_f1']:.3f}  " for v in VIEWS))
    if out["orders"]:
        print("\norders: ours in the file's order vs over shuffled orders (goal: mean within 0.02):")
        for name, per in out["orders"].items():
            for v, r in per.items():
                print(f"  {name + '/' + v:<36} file order {r['given']:.3f}; {r['n']} shuffled orders mean "
                      f"{r['b3_f1_mean']:.3f} ({r['b3_f1_mean'] - r['given']:+.3f}), min {r['b3_f1_min']:.3f}")
    cases = list(out["base"])
    print(f"\nsensitivity: the most a ±{STEP:.0%}-of-range move of each tuned value costs (goal < {CLIFF}):")
    print(f"  {'value':<14} {'-/+ step':>14}" + "".join(f"{c[:22]:>24}" for c in cases))
    for key, row in out["sensitivity"].items():
        steps = out["steps"][key]
        worst = max(row.values())
        mark = "  CLIFF" if worst >= CLIFF else ""
        print(f"  {key:<14} {steps[-1]:>6g}/{steps[1]:<7g}" + "".join(f"{row[c]:>24.4f}" for c in cases) + mark)
    # The same move of a threshold, for the best peer of each case at its hindsight optimum: how
    # steep the sets themselves are.
    peer = out["peer_cliff"]
    if peer:
        print(f"  {'best peer':<14} {'threshold ±' + format(out['peer_step'], 'g'):>14}"
              + "".join(f"{peer[c]:>24.4f}" if peer.get(c) is not None else f"{'-':>24}" for c in cases))
    print("\nleave-one-set-out: each value's step (-1, 0, +1) picked by the other sets' mean F1; "
          "held-out F1 change vs the fixed config:")
    if not out["loso"]:
        print("  (needs two or more sets)")
        return
    held = list(next(iter(out["loso"].values())))
    print(f"  {'value':<14}" + "".join(f"{h[:22]:>24}" for h in held))
    for key, row in out["loso"].items():
        print(f"  {key:<14}" + "".join(f"{row[h]['step']:>+14d} {row[h]['delta']:>+9.4f}" for h in held))
    total = {h: sum(r[h]["delta"] for r in out["loso"].values()) for h in held}
    print(f"  {'sum':<14}" + "".join(f"{'':>14} {total[h]:>+9.4f}" for h in held))
