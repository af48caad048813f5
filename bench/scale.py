"""What an hourly `process` costs as the store grows: stores of N documents built cheaply, then the
real `incidentwire process` on a few new documents, the week's digest and a brief, each timed.

python -m bench.scale [--sizes 2000,20000,200000] [--new 50] [--undated] [--runs 3] [--json] [--keep DIR]

A store is written straight into SQLite (no crawl, no model): the texts of the eval sets varied
(one unique sentence each, so every document has its own content hash), two years of stories of
a few documents each, vectors placed near their story's centroid (stories of one topic near each
other), the story rows, sums, entities, enrichment and roundup-check marks and (for the newest READ_STORIES
stories, those a run can replay) readings `process` would have left. The new
documents are the eval texts again, dated in the last hours: half continue recent stories, half
are news. With --undated they carry no date, as most pages a crawl meets: `process` then also
replays, for each, the stories whose kept centroids are closest to it, however old. Each command
runs in its own process on a fresh copy of the store; peak memory is the child's maximum resident
set.
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench.stories import default_sets, load_set

REPO = pathlib.Path(__file__).resolve().parent.parent
DIM = 384
DAYS = 730           # the store spans two years
MEAN_STORY = 7.5     # documents per story (the 200,000-document store had 26,746 stories)
TOPIC_STORIES = 40   # stories per topic: their centroids are close (related stories exist)
READ_STORIES = 4000  # the newest stories, whose readings a run may replay, are read at build time
PUBLISHERS = [f"outlet-{k:02d}" for k in range(40)]


def unit_rows(m):
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def base_records():
    """Texts to vary: every record of the eval sets (and the multilingual set) with a title or text."""
    # Only the story sets: bench/sets also holds claim and stance sets, whose records have no story.
    paths = list(default_sets()) + [REPO / "bench" / "sets" / "agent-safety-multilingual.jsonl"]
    recs = [r for p in paths for r in load_set(p) if (r.get("title") or r.get("text"))]
    if not recs:
        raise SystemExit("bench.scale: no eval sets found (see bench.stories.shared_dir)")
    return recs


def plan_stories(n, rng, now):
    """[(first day, [document days])] of stories of geometric size, spread over DAYS before now."""
    stories, total = [], 0
    while total < n:
        size = min(int(rng.geometric(1 / MEAN_STORY)), n - total)
        first = now - rng.uniform(0, DAYS)
        days = sorted(first + rng.exponential(2.0, size=size).clip(0, 20))
        stories.append([min(d, now - 0.05) for d in days])
        total += size
    return sorted(stories, key=lambda days: days[0])


def iso(day):
    return datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc).isoformat(timespec="seconds")


def week_month(day):
    dt = datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc)
    y, w, _ = dt.isocalendar()
    return f"{y}-W{w:02d}", dt.strftime("%Y-%m")


def doc_row(doc_id, rec, day, story_id, serial):
    """A document row: a base record varied by one sentence of its own."""
    text = f"{rec.get('text') or ''}\n\nUpdate {serial}: reported by desk {serial % 97} on item {serial}."
    title = (rec.get("title") or "").strip() or None
    week, month = week_month(day)
    return {"id": doc_id, "url": f"https://scale.example/{doc_id}", "canonical_url": f"https://scale.example/{doc_id}",
            "kind": "article", "publisher": PUBLISHERS[serial % len(PUBLISHERS)], "site": "scale.example",
            "title": title, "text": text, "published": iso(day), "published_week": week, "published_month": month,
            "fetched": iso(day), "lang": rec.get("lang") or rec.get("language") or "en", "content_hash": hashlib.sha1(text.encode()).hexdigest(),
            "story_id": story_id, "word_count": len(text.split()), "relevance": 1.0, "extra": "{}"}


def story_fields(sid, docs, heat_of):
    """The `stories` row refresh_stories would write, in short (headline: the first title)."""
    first, last = docs[0]["published"], docs[-1]["published"]
    return {"id": sid, "headline": docs[0]["title"], "first_seen": first, "last_seen": last,
            "first_week": docs[0]["published_week"], "lead_document_id": docs[0]["id"],
            "n_documents": len(docs), "n_sources": len({d["publisher"] for d in docs}),
            "heat": heat_of(len(docs)), "categories": "[]", "entities": "[]", "related": "[]",
            "merged_into": None, "updated": last}


def build_store(path, n, n_new, seed=0, undated=False):
    """Write a store of n documents in stories plus n_new unassigned ones (without a date when
    undated); returns counts."""
    from db.connection import open_db
    from pipeline.stories.embed import DEFAULT_MODEL
    from pipeline.stories.entities import entity_rows, extract_entities
    import math
    rng = np.random.default_rng(seed)
    recs, now = base_records(), time.time() / 86400
    ents = {}
    db = open_db(path)
    db.conn.execute("PRAGMA synchronous = OFF")
    db["entities"].upsert_all(entity_rows(), pk="id")
    plan = plan_stories(n, rng, now)
    topics = unit_rows(rng.normal(size=(len(plan) // TOPIC_STORIES + 1, DIM)))
    cents = unit_rows(topics[np.arange(len(plan)) // TOPIC_STORIES] + 0.9 * unit_rows(rng.normal(size=(len(plan), DIM))))
    doc_id, sums, story_rows = 0, {}, []
    with db.conn:
        for s, days in enumerate(plan):
            sid, docs = f"s-{s:07d}", []
            for day in days:
                doc_id += 1
                k = (s * 7 + len(docs)) % len(recs)
                docs.append(doc_row(doc_id, recs[k], day, sid, doc_id))
                if k not in ents:  # the varied sentence names no one: a record's names are its variants'
                    ents[k] = extract_entities(f"{recs[k].get('title') or ''}\n{recs[k].get('text') or ''}")
                _write_document(db, docs[-1], ents[k], unit_rows(cents[s] + 0.5 * unit_rows(rng.normal(size=DIM))),
                                DEFAULT_MODEL, sums)
            story_rows.append(story_fields(sid, docs, lambda k: round(math.log1p(k) * 2.5, 3)))
        related = _related(sums)
        db["stories"].insert_all(({**r, "related": json.dumps(related[r["id"]])} for r in story_rows), batch_size=2000)
        db["story_centroids"].insert_all(({"story_id": sid, "model": DEFAULT_MODEL, "n": cnt, "vector": v.tobytes()}
                                          for sid, (v, cnt) in sums.items()), batch_size=2000)
    _readings(db, story_rows[-READ_STORIES:])
    for k in range(n_new):
        rec_k = (k * 13) % len(recs)
        row = doc_row(doc_id + 1 + k, recs[rec_k], now - 0.02 * (n_new - k) / n_new, None, doc_id + 1 + k)
        if undated:
            row.update(published=None, published_week=None, published_month=None)
        db["documents"].insert(row)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"documents": doc_id + n_new, "stories": len(plan)}


def _write_document(db, row, entity_ids, vector, model, sums):
    """One assigned document with its vector, entities, enrichment mark and roundup check; its story's
    sum grows."""
    db.conn.execute(f"INSERT INTO documents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    db.conn.execute("INSERT OR IGNORE INTO embeddings (content_hash, model, dim, vector) VALUES (?, ?, ?, ?)",
                    [row["content_hash"], model, DIM, vector.tobytes()])
    db.conn.executemany("INSERT OR IGNORE INTO document_entities (document_id, entity_id) VALUES (?, ?)",
                        [[row["id"], e] for e in entity_ids])
    db.conn.execute("INSERT INTO entities_indexed (document_id) VALUES (?)", [row["id"]])
    db.conn.execute("INSERT INTO enriched (document_id, content_hash, story_id) VALUES (?, ?, ?)",
                    [row["id"], row["content_hash"], row["story_id"]])
    # Checked for being a roundup when it was assigned, as `process` does once per document.
    db.conn.execute("INSERT INTO roundup_checks (document_id, roundup, why, story_id) VALUES (?, 0, NULL, ?)",
                    [row["id"], row["story_id"]])
    total, cnt = sums.get(row["story_id"], (None, 0))
    sums[row["story_id"]] = (vector.copy() if total is None else total + vector, cnt + 1)


def _readings(db, story_rows):
    """What the stream read in the documents of these stories, kept as `process` keeps it."""
    from pipeline.stories.assign import stream_items
    from pipeline.stories.readings import attach_readings
    from pipeline.stories.records import DOC_COLUMNS
    ids = [r["id"] for r in story_rows]
    for k in range(0, len(ids), 200):
        chunk = ids[k:k + 200]
        rows = list(db.query(f"SELECT {DOC_COLUMNS} FROM documents WHERE story_id IN ({','.join('?' * len(chunk))})",
                             chunk))
        attach_readings(db, stream_items(db, rows, {}, {})[0])


def _related(sums, top=3, min_sim=0.5):
    """{story: related stories} as refresh_stories ranks them (in blocks: no n x n matrix)."""
    ids = sorted(sums)
    mat = unit_rows(np.array([sums[s][0] for s in ids]))
    out = {}
    for k in range(0, len(ids), 1000):
        sims = mat[k:k + 1000] @ mat.T
        for r in range(sims.shape[0]):
            above = [i for i in np.nonzero(sims[r] >= min_sim)[0] if i != k + r]
            out[ids[k + r]] = [ids[i] for i in sorted(above, key=lambda i: (-sims[r, i], i))][:top]
    return out


def timed(args):
    """Wall seconds and peak resident memory (GB) of one command in a process of its own."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"bench.scale: {' '.join(map(str, args))} failed:\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 2**20  # KiB -> GiB


def cli(*args):
    """The `incidentwire` command line (as the installed script runs it)."""
    return [sys.executable, "-c", "import sys; from pipeline.cli import cli; sys.argv[0] = 'incidentwire'; cli()",
            *map(str, args)]


def measure(store, n_new, runs, work):
    """process (on a fresh copy each run), this week's digest and a brief: min/median seconds, peak GB."""
    from db.connection import open_db
    proc, peak, digest, brief = [], 0.0, [], []
    for _ in range(runs):
        copy = work / "run.db"
        shutil.copy(store, copy)
        wall, gb = timed(cli("process", "--db", copy))
        proc.append(wall)
        peak = max(peak, gb)
    db = open_db(copy)
    assert db.execute("SELECT count(*) FROM documents WHERE story_id IS NULL").fetchone()[0] == 0
    week = db.execute("SELECT published_week FROM documents ORDER BY published DESC LIMIT 1").fetchone()[0]
    story = db.execute("SELECT story_id FROM documents ORDER BY id DESC LIMIT 1").fetchone()[0]
    db.conn.close()
    for _ in range(runs):
        digest.append(timed(cli("digest", "--db", copy, "--week", week, "--out", work / "digests"))[0])
        brief.append(timed(cli("brief", "--db", copy, story))[0])
    pair = lambda xs: [round(min(xs), 2), round(statistics.median(xs), 2)]
    return {"process_s": pair(proc), "peak_gb": round(peak, 2), "digest_s": pair(digest), "brief_s": pair(brief)}


def table(results):
    lines = ["| documents in the store | process wall time | peak memory | digest (this week) | brief |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['documents']:,} | {r['process_s'][0]} / {r['process_s'][1]} s | {r['peak_gb']} GB | "
                     f"{r['digest_s'][0]} / {r['digest_s'][1]} s | {r['brief_s'][0]} / {r['brief_s'][1]} s |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,20000,200000", help="store sizes, comma-separated")
    ap.add_argument("--new", type=int, default=50, help="new documents each process run takes")
    ap.add_argument("--undated", action="store_true", help="the new documents carry no date")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (min / median shown)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    ap.add_argument("--keep", default=None, help="build the stores in this folder and keep them")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    base = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="bench-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            store, t0 = base / f"store-{n}{'-undated' if args.undated else ''}.db", time.monotonic()
            if not store.exists():
                built = build_store(store, n - args.new, args.new, undated=args.undated)
                print(f"built {n:,} documents ({built['stories']:,} stories) in {time.monotonic() - t0:.0f} s",
                      file=sys.stderr)
            work = base / f"work-{n}"
            work.mkdir(exist_ok=True)
            results.append({"documents": n, "new": args.new, "undated": args.undated,
                            **measure(store, args.new, args.runs, work)})
            print(f"{n:,}: {results[-1]}", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    small, large = results[0], results[-1]
    summary = {"sizes": results, "ratio": round(large["process_s"][0] / small["process_s"][0], 2),
               "peak_gb": max(r["peak_gb"] for r in results)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(table(results))
        print(f"process time {large['documents']:,} / {small['documents']:,} documents: {summary['ratio']}x "
              f"(min over min); peak memory {summary['peak_gb']} GB")
    return summary


if __name__ == "__main__":
    main()
