"""Crawl throughput: a loopback mirror of N pages behind RSS feeds, crawled end to end.

    python -m bench.crawl [--pages 2000] [--per-feed 50] [--shared PATH]

Builds the mirror in a temp dir from real text: the 181 pages of the article-extraction
benchmark as they are, and ECB+ / AIID articles from ../shared/eval wrapped in a plain article
template; pages beyond that pool repeat it under other URLs (syndicated copies, linked by the
store). Each feed lists `per-feed` entries with a one-line summary, so every page is followed
and extracted. Runs pipeline.crawl.local.crawl_sources (robots.txt, address guard, store, dedup;
AutoThrottle off, relevance cut-off 0 so every page is stored), then a second crawl that should
download no bodies. Prints documents/s and the crawl process's peak memory.
"""
import argparse
import datetime
import gzip
import html
import json
import pathlib
import resource
import sys
import tempfile
import time

from bench.extraction import shared_dir


def text_pool(shared):
    """[(kind, payload)]: real HTML pages, then (title, text, date) articles."""
    pool = []
    extraction = shared / "extraction"
    truth = json.loads((extraction / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        pool.append(("html", gzip.decompress((extraction / "html" / f"{key}.html.gz").read_bytes())))
    for name in ("ecbplus.jsonl", "aiid-fixtures.jsonl"):
        for line in (shared / "eval" / name).read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if len((rec.get("text") or "").split()) >= 30:
                pool.append(("text", (rec.get("title") or "Untitled", rec["text"], rec.get("published"))))
    return pool


def render(title, text, published):
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    date = html.escape(str(published or "2025-05-22"))
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f'<meta property="article:published_time" content="{date}"></head><body>'
            f"<nav><a href=/>Home</a> <a href=/about>About</a></nav><article><h1>{html.escape(title)}</h1>"
            f"{paras}</article><footer>Mirror for benchmarking</footer></body></html>").encode("utf-8")


def build_mirror(root, base, n_pages, per_feed, shared):
    pool = text_pool(shared)
    n_feeds = -(-n_pages // per_feed)
    day = datetime.datetime(2025, 5, 1, tzinfo=datetime.timezone.utc)
    for f in range(n_feeds):
        site = root / f"site{f:03d}"
        site.mkdir()
        items = []
        for j in range(per_feed):
            i = f * per_feed + j
            if i >= n_pages:
                break
            kind, payload = pool[i % len(pool)]
            body = payload if kind == "html" else render(*payload)
            (site / f"p{i:05d}.html").write_bytes(body)
            date = (day + datetime.timedelta(hours=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            items.append(f"<item><title>Story {i}</title><link>{base}/site{f:03d}/p{i:05d}.html</link>"
                         f"<guid>s{i}</guid><pubDate>{date}</pubDate><description>Story {i}.</description></item>")
        (site / "feed.xml").write_text('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                                       f"<title>Site {f}</title>{''.join(items)}</channel></rss>", encoding="utf-8")
    return n_feeds, len(pool)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument("--shared", help="path of the shared folder (default ../shared or $INCIDENTWIRE_SHARED)")
    args = parser.parse_args(argv)
    shared = shared_dir(args.shared)
    if not (shared / "extraction").exists():
        sys.exit(f"Error: {shared}/extraction not found; pass --shared PATH")
    from pipeline.crawl.local import crawl_sources
    from db.connection import open_db
    from pipeline.ops.loopback import LoopbackServer

    with tempfile.TemporaryDirectory(prefix="incidentwire-bench-") as tmp:
        root = pathlib.Path(tmp, "site")
        root.mkdir()
        with LoopbackServer(root) as server:
            n_feeds, pool = build_mirror(root, server.url, args.pages, args.per_feed, shared)
            print(f"mirror         {args.pages} pages ({pool} distinct texts) behind {n_feeds} feeds")
            config = {"path": "bench", "settings": {"relevance_min": 0.0, "max_response_bytes": 10_000_000},
                      "sources": [{"name": f"site{f:03d}", "kind": "feed", "url": f"{server.url}/site{f:03d}/feed.xml",
                                   "publisher": f"Site {f}", "enabled": True, "allow_private": True,
                                   "max_entries": args.per_feed} for f in range(n_feeds)]}
            db = open_db(pathlib.Path(tmp, "bench.db"))
            overrides = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 32,
                         "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "LOG_LEVEL": "ERROR"}
            start = time.perf_counter()
            counts = crawl_sources(db, config, settings_overrides=overrides)
            elapsed = time.perf_counter() - start
            bodies = server.stats["bodies"]
            start2 = time.perf_counter()
            again = crawl_sources(db, config, settings_overrides=overrides)
            elapsed2 = time.perf_counter() - start2
            second_bodies = server.stats["bodies"] - bodies
        peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n_docs = db["documents"].count
        n_dups = db.execute("select count(*) from documents where duplicate_of is not null").fetchone()[0]
    handled = counts["inserted"] + counts["updated"] + counts["unchanged"] + counts["offtopic"]
    print(f"first crawl    {elapsed:.1f} s: {counts['fetched']} responses, {counts['inserted']} inserted, "
          f"{counts['skipped']} skipped; {n_docs} documents, {n_dups} linked as duplicates")
    print(f"documents/s    {handled / elapsed:.1f}")
    print(f"second crawl   {elapsed2:.1f} s: {again['not_modified']} not modified, {second_bodies} bodies downloaded, "
          f"{again['inserted']} inserted")
    print(f"peak memory    crawl process {peak_child:.0f} MiB, driver {peak_self:.0f} MiB (max RSS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
