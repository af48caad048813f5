"""`python -m bench.briefs`: truthfulness and speed of briefs and digests.

Over every story of the demo (built with pipeline.ops.demo.run_demo into a temp dir) and of the
../shared/eval sets (loaded as documents, grouped by their story_id): share of quotes verified
verbatim (must be 100%), share attributed, numbers verified, distinct outlets per summary,
summaries inside 60-80 words, and seconds per digest and per brief.
"""
import argparse
import collections
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

from pipeline import enrich
from pipeline.publish.brief import BriefError, build_brief
from db.connection import open_db
from pipeline.publish.digest import write_digest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("INCIDENTWIRE_SHARED") or (
    ROOT.parent / "shared" if (ROOT.parent / "shared" / "eval").is_dir() else ROOT / "tests" / "fixtures" / "shared"))


def iso_week(published):
    import datetime
    try:
        y, w, _ = datetime.date.fromisoformat(published[:10]).isocalendar()
    except (TypeError, ValueError):
        return None
    return f"{y}-W{w:02d}"


def load_eval(path, db_path):
    """An eval JSONL as documents + one story row per story_id."""
    db = open_db(db_path)
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    seen, docs, stories = set(), [], collections.OrderedDict()
    for r in rows:
        url = r.get("url") or f"eval://{r['id']}"
        if url in seen:
            url = f"{url}#eval-{r['id']}"
        seen.add(url)
        published = f"{r['published'][:10]}T00:00:00+00:00" if r.get("published") else None
        docs.append({"url": url, "canonical_url": url, "kind": "article",
                     "publisher": r.get("source") or "unknown", "site": r.get("source") or None,
                     "title": r.get("title"), "published": published, "published_week": iso_week(published),
                     "published_month": published[:7] if published else None, "text": r.get("text") or "",
                     "story_id": r["story_id"], "lang": r.get("language") or "en", "extra": "{}"})
        stories.setdefault(r["story_id"], r.get("story_title") or r.get("title"))
    db["documents"].insert_all(docs)
    db["stories"].insert_all([{"id": sid, "headline": headline, "categories": "[]"} for sid, headline in stories.items()])
    return db


def measure(db, out_dir, max_digests=20):
    """Metrics over every story's brief and over digests for the busiest weeks."""
    counts = enrich.enrich_stories(db)
    texts = {r["id"]: r["text"] or "" for r in db.query("select id, text from documents")}
    table_quotes = list(db.query("select document_id, text, speaker from quotes"))
    m = collections.Counter()
    m["quotes_table"] = len(table_quotes)
    m["quotes_table_verified"] = sum(q["text"] in texts[q["document_id"]] for q in table_quotes)
    m["quotes_table_attributed"] = sum(q["speaker"] is not None for q in table_quotes)
    outlets_per_summary, brief_seconds = [], []
    story_ids = [r["id"] for r in db.query("select id from stories where merged_into is null order by id")]
    for sid in story_ids:
        t = time.perf_counter()
        try:
            b = build_brief(db, sid)
        except BriefError:
            m["stories_without_documents"] += 1
            continue
        brief_seconds.append(time.perf_counter() - t)
        m["briefs"] += 1
        for q in b["key_quotes"] + b["reactions"]:
            m["quotes_shown"] += 1
            m["quotes_verified"] += q["text"] in texts[q["document_id"]]
            m["quotes_attributed"] += q["speaker"] is not None
        for n in b["numbers"]:
            m["numbers"] += 1
            m["numbers_verified"] += n["value"] in n["sentence"] and n["sentence"] in texts[n["document_id"]]
        for s in b["summary_sentences"] + b["cold_open"] + b["open_questions"]:
            m["sentences"] += 1
            m["sentences_verified"] += s["text"] in texts[s["document_id"]]
        if b["summary_sentences"]:
            outlets_per_summary.append(len({s["outlet"] for s in b["summary_sentences"]}))
            m["summaries"] += 1
            m["summaries_60_80"] += 60 <= enrich.word_count(b["summary"]) <= 80
            m["multi_outlet_stories"] += len({s["outlet"] for s in b["sources"]}) > 1
    weeks = [r["published_week"] for r in db.query(
        "select published_week, count(distinct story_id) n from documents where story_id is not null and "
        "published_week is not null group by published_week order by n desc, published_week limit ?", [max_digests])]
    digest_seconds = []
    for week in weeks:
        t = time.perf_counter()
        write_digest(db, week, out_dir=out_dir)
        digest_seconds.append(time.perf_counter() - t)
    return m, counts, outlets_per_summary, brief_seconds, digest_seconds


def pct(a, b):
    return f"{100.0 * a / b:.1f}% ({a}/{b})" if b else "n/a (0)"


def report(name, result):
    m, _counts, outlets, brief_s, digest_s = result
    print(f"== {name}: {m['briefs']} stories briefed")
    print(f"  quotes shown verified verbatim : {pct(m['quotes_verified'], m['quotes_shown'])}")
    print(f"  quotes shown attributed        : {pct(m['quotes_attributed'], m['quotes_shown'])}")
    print(f"  quotes table verified verbatim : {pct(m['quotes_table_verified'], m['quotes_table'])}")
    print(f"  quotes table attributed        : {pct(m['quotes_table_attributed'], m['quotes_table'])}")
    print(f"  numbers verified               : {pct(m['numbers_verified'], m['numbers'])}")
    print(f"  summary/cold-open/question sentences verified: {pct(m['sentences_verified'], m['sentences'])}")
    if outlets:
        print(f"  distinct outlets per summary   : mean {statistics.mean(outlets):.2f}, "
              f"stories with 2+ outlets: {m['multi_outlet_stories']}/{m['summaries']}")
        print(f"  summaries within 60-80 words   : {pct(m['summaries_60_80'], m['summaries'])}")
    if brief_s:
        print(f"  seconds per brief              : mean {statistics.mean(brief_s):.3f}, max {max(brief_s):.3f}")
    if digest_s:
        print(f"  seconds per digest             : mean {statistics.mean(digest_s):.3f}, max {max(digest_s):.3f} "
              f"({len(digest_s)} busiest weeks)")
    ok = m["quotes_verified"] == m["quotes_shown"] and m["numbers_verified"] == m["numbers"] \
        and m["quotes_table_verified"] == m["quotes_table"] and m["sentences_verified"] == m["sentences"]
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-demo", action="store_true", help="skip building the demo")
    parser.add_argument("--demo-db", help="measure a copy of this already-built demo DB instead of building one")
    parser.add_argument("--max-digests", type=int, default=20, help="digests timed per data set")
    args = parser.parse_args(argv)
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        if args.demo_db:
            import sqlite3
            src = sqlite3.connect(args.demo_db)
            src.backup(sqlite3.connect(tmp / "demo.db"))     # a copy: the digests written here stay here
            src.close()
            db = open_db(tmp / "demo.db")
            all_ok &= report(f"demo ({args.demo_db})", measure(db, str(tmp / "demo-digests"), args.max_digests))
        elif not args.no_demo:
            try:
                from pipeline.ops.demo import run_demo
                t = time.perf_counter()
                run_demo(str(tmp / "demo.db"), serve=False, out_dir=str(tmp / "demo-digests"))
                print(f"(demo built in {time.perf_counter() - t:.1f}s)", file=sys.stderr)
                db = open_db(tmp / "demo.db")
                all_ok &= report("demo", measure(db, str(tmp / "demo-digests"), args.max_digests))
            except Exception as e:    # the demo belongs to another stage: say so and go on
                print(f"== demo: not available ({type(e).__name__}: {str(e).splitlines()[0][:160]})")
        for name in ("aiid-fixtures.jsonl", "ecbplus.jsonl"):
            path = SHARED / "eval" / name
            if not path.exists():
                print(f"== {name}: missing at {path}")
                continue
            db = load_eval(path, tmp / f"{name}.db")
            all_ok &= report(f"eval/{name}", measure(db, str(tmp / f"{name}-digests"), args.max_digests))
    print("truthfulness: " + ("OK, every quote, number and sentence verified verbatim" if all_ok else "FAILED"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
