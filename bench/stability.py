"""Story-id stability (issue 19, item 7): a labelled set fed day by day through the real `process`.

python -m bench.stories --batches daily [FILE.jsonl ...] [--json]

Each item becomes a documents row in a temporary SQLite file, filled as the store fills it
(pipeline.store.documents: canonical URL, site, ISO UTC date and its week, content hash, SimHash,
republished copies linked by dedup.link_duplicates). An item without a URL gets a placeholder
address of its own; a title-only item keeps an empty text and no content hash (the store never
sees one: it would make every title-only item a copy of the others).

Batches: items grouped by published day (the record's date, else the day its URL files it under).
An undated item joins the batch of the dated item before it in the file (those before any dated
item join the first batch): a crawl meets undated pages among the dated ones it fetches with them,
and an undated day would say nothing true. After each batch `process` runs (embed, assign,
enrich: pipeline.run.process_documents); after the last batch of a week the stories that week's
digest shows (pipeline.publish.digest.build_digest: stories in full and "also noted") are recorded
with the documents they hold.

Printed per set: B3 of the batch-fed stories against the gold labels and against the whole-stream
run (bench.stories.run_ours, every item at once); documents moved after their first assignment (the
story a document first got, merged ids followed, is not the one it ends in); and the share of
digest story ids that at the end resolve (merged ids followed) to a live story holding most of the
documents the digest showed under that id.
"""
import json
import pathlib
import tempfile
import time

UNDATED = "undated"


def day_batches(published):
    """[(day, [item index])] in day order, from each item's ISO date or None (see the module doc)."""
    days, last = [], None
    for p in published:
        last = p[:10] if p else last
        days.append(last)
    first = next((d for d in days if d), UNDATED)
    batches = {}
    for i, d in enumerate(days):
        batches.setdefault(d or first, []).append(i)
    return sorted(batches.items())


def item_row(rec, k, set_name):
    """A documents row for a bench record, with the fields the store computes."""
    from pipeline.dates import url_date
    from pipeline.store import dedup
    from pipeline.store.documents import week_and_month
    from pipeline.stories.records import iso_published
    from pipeline.urls import canonical_url, kind_of_url, site_of
    from spiders.extract import iso_utc
    url = rec.get("url") if str(rec.get("url") or "").startswith(("http://", "https://")) else None
    url = url or f"https://bench.invalid/{set_name}/{k}"
    published = iso_utc(iso_published(rec.get("published")) or url_date(url))
    week, month = week_and_month(published)
    text = (rec.get("text") or "").strip()
    return {"url": url, "canonical_url": canonical_url(url), "kind": rec.get("kind") or kind_of_url(url),
            "publisher": rec.get("publisher") or rec.get("source"), "site": site_of(canonical_url(url)),
            "title": (rec.get("title") or "").strip() or None, "published": published if week else None,
            "published_week": week, "published_month": month, "text": text, "lang": rec.get("lang"),
            "content_hash": dedup.content_hash(text) if text else None, "simhash": dedup.simhash(text) if text else None,
            "word_count": len(text.split()), "extra": "{}", "fetched": published}


def insert_items(db, rows):
    """Insert rows as new documents (the same URL twice is one document, as in the store); their ids."""
    from pipeline.store import dedup
    ids = []
    with db.conn:
        for row in rows:
            found = db.conn.execute("select id from documents where canonical_url = ?", [row["canonical_url"]]).fetchone()
            if found:
                ids.append(found[0])
                continue
            cur = db.conn.execute(f"insert into documents ({', '.join(row)}) values ({', '.join('?' * len(row))})",
                                  list(row.values()))
            ids.append(cur.lastrowid)
            if row["text"]:
                dedup.link_duplicates(db, cur.lastrowid, row)
    return ids


def current_story(db, doc_id):
    from pipeline.publish.story import resolve_story
    sid = db.execute("select story_id from documents where id = ?", [doc_id]).fetchone()[0]
    return resolve_story(db.conn, sid) if sid else None


def digest_shown(db, week):
    """{story id: [its document ids]} for the stories the week's digest shows."""
    from pipeline.publish.digest import build_digest, record_shown
    digest = build_digest(db, week)
    if digest["status"] == "ok":
        record_shown(db, week, digest)  # as `digest` records a published week
    shown = [s["id"] for s in digest["stories"] + digest["also"]]
    return {sid: [r[0] for r in db.execute("select id from documents where story_id = ?", [sid])] for sid in shown}


def feed_daily(records, set_name, model=None, workdir=None):
    """Feed records day by day through `process`; return per-item final story ids and the record of
    first assignments and digests."""
    from db.connection import open_db
    from pipeline.run import process_documents
    from pipeline.store.documents import week_and_month
    rows = [item_row(rec, k, set_name) for k, rec in enumerate(records)]
    batches = day_batches([r["published"] for r in rows])
    weeks = [week_and_month(day)[0] if day != UNDATED else None for day, _ in batches]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        db = open_db(pathlib.Path(tmp) / "stability.db")
        doc_of, first, shown = [None] * len(rows), {}, []
        for n, (day, idx) in enumerate(batches):
            for i, doc_id in zip(idx, insert_items(db, [rows[i] for i in idx])):
                doc_of[i] = doc_id
            process_documents(db, model=model)
            for i in idx:
                first.setdefault(doc_of[i], db.execute("select story_id from documents where id = ?",
                                                       [doc_of[i]]).fetchone()[0])
            if weeks[n] and weeks[n] not in weeks[n + 1:]:  # the week's last batch is in: its digest
                shown += [(weeks[n], sid, docs) for sid, docs in digest_shown(db, weeks[n]).items()]
        return _outcome(db, doc_of, first, shown, len(batches))


def _outcome(db, doc_of, first, shown, n_batches):
    from pipeline.publish.story import resolve_story
    final = {d: current_story(db, d) for d in set(doc_of)}
    moved = sum(1 for d, s in first.items() if s and resolve_story(db.conn, s) != final[d])
    stable = 0
    for _, sid, docs in shown:
        end = resolve_story(db.conn, sid)
        stable += bool(end) and sum(1 for d in docs if final.get(d) == end) * 2 > len(docs)
    labels = [final[d] or f"none#{k}" for k, d in enumerate(doc_of)]
    return {"labels": labels, "batches": n_batches, "documents": len(final), "moved": moved,
            "digest_ids": len(shown), "digest_stable": stable}


def bench_stability(path, bench, model=None):
    """The stability figures of one set (see the module doc); `bench` is bench.stories (passed in:
    it calls this module)."""
    items = bench.load_set(path)
    gold = bench.gold_labels(items)
    t0 = time.perf_counter()
    out = feed_daily(items, pathlib.Path(path).stem, model)
    seconds = time.perf_counter() - t0
    vectors, _ = bench.embed_items(items, model)
    whole, _ = bench.run_ours(items, vectors)
    labels = out.pop("labels")
    return {"items": len(items), **out, "seconds": round(seconds, 1),
            "vs_gold": bench.scores(labels, gold), "whole_vs_gold": bench.scores(whole, gold),
            "vs_whole": bench.scores(labels, [str(x) for x in whole]),
            "digest_stable_share": round(out["digest_stable"] / out["digest_ids"], 4) if out["digest_ids"] else None}


def print_stability(results):
    print("story-id stability, day-by-day batches through `process` (goal: >= 99% of digest story ids stable)")
    for name, r in results.items():
        share = "n/a" if r["digest_stable_share"] is None else f"{100 * r['digest_stable_share']:.1f}%"
        print(f"{name}: {r['items']} items in {r['batches']} daily batches ({r['seconds']} s)")
        print(f"  B3 F1 vs gold {r['vs_gold']['b3_f1']:.3f} (whole stream {r['whole_vs_gold']['b3_f1']:.3f}); "
              f"vs whole stream {r['vs_whole']['b3_f1']:.3f}")
        print(f"  documents moved after first assignment: {r['moved']} of {r['documents']}")
        print(f"  digest story ids stable: {share} ({r['digest_stable']} of {r['digest_ids']})")


def main(files, bench, model=None, as_json=False):
    results = {pathlib.Path(f).stem: bench_stability(f, bench, model) for f in files}
    print(json.dumps({"stability": results}) if as_json else "", end="\n" if as_json else "")
    if not as_json:
        print_stability(results)
    return 0
