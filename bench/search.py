"""Search and story-page latency through Datasette's HTTP interface on loopback.

    python -m bench.search [--docs 200000] [--queries 1000] [--db PATH] [--keep] [--retrieval]

Builds a DB of N documents from real texts (the seed article and podcast segment, the
catalog fixture, AIID reports and ECB+ articles from ../shared, varied by recombining
their paragraphs and titles), serves it with pipeline.ops.serve.serve_datasette in a child
process, then times the `search` stored query and the /stories/{id} page over HTTP
keep-alive from one client (words mode: mode=words). Prints p50/p95/p99 and requests per second.
Its default mode, hybrid (words and meaning), is timed too, over random document vectors (bench.hybrid_latency);
--retrieval adds the retrieval quality of words, meaning and hybrid on the eval sets (bench.retrieval).
"""
import argparse
import http.client
import json
import pathlib
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
STOPWORDS = set("""a an the and or of to in on for with by at from as is are was were be been it its this that
these those he she they we you i his her their our not but if then than so such into over about after before
up down out new said says say will would can could has have had do does did more most very also just one two
who whom which what when where why how all any some no nor only own same too s t don now""".split())


def corpus(shared):
    """Real (title, paragraphs) pairs from the shared inputs and the catalog fixture."""
    sys.path.insert(0, str(ROOT))
    from bench.catalog_db import podcast_text, wordpress_text
    items = []
    title, text, _ = wordpress_text(shared / "seeds" / "000_8692a8530e1160a9.txt")
    items.append((title, text))
    items.append(("Anthropic\u2019s Claude 4 Opus Faces Backlash Over \u201cRatting\u201d Mode and Blackmail Tests",
                  podcast_text(shared / "seeds" / "002_ee4b015b54fba806.txt")))
    for name in ("aiid-fixtures.jsonl", "ecbplus.jsonl"):
        for line in (shared / "eval" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("title"):
                items.append((row["title"], row.get("text") or row["title"]))
    pairs = []
    for title, text in items:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n|(?<=[.!?])\s{2,}", text) if len(p.strip()) > 40]
        if not paragraphs:
            paragraphs = [text]
        # Long articles become several paragraphs of ~4 sentences so recombination varies more.
        split = []
        for p in paragraphs:
            sentences = re.split(r"(?<=[.!?])\s+", p)
            split.extend(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4))
        pairs.append((title, [p for p in split if p]))
    return pairs


def build_bench_db(path, n_docs, shared, seed=7):
    """Write an incidentwire DB with n_docs documents: bulk insert, FTS built once."""
    from bench.catalog_db import build_catalog_db
    rng = random.Random(seed)
    db = build_catalog_db(path, shared)  # the real Claude Opus 4 story and friends, ids < 1000
    conn = db.conn
    triggers = [r[0] for r in conn.execute(
        "select sql from sqlite_master where type = 'trigger' and tbl_name = 'documents'")]
    for (name,) in conn.execute("select name from sqlite_master where type = 'trigger' "
                                "and tbl_name = 'documents'").fetchall():
        conn.execute(f"drop trigger [{name}]")
    pairs = corpus(shared)
    paragraphs = [p for _, ps in pairs for p in ps]
    publishers = sorted({"VentureBeat", "The Register", "Ars Technica", "The Verge", "Wired", "BBC",
                         "The Guardian", "Reuters", "TechCrunch", "Business Insider", "MSSP Alert",
                         "The Business of Tech", "CRN", "ZDNet", "Mastodon", "Hacker News"})
    kinds = ["article"] * 7 + ["social"] * 2 + ["blog", "podcast"]
    n_stories = max(1, n_docs // 10)
    start = 1_735_689_600  # 2025-01-01
    doc_id = 1000
    batch = []
    stories = {}

    def flush():
        conn.executemany(
            "insert into documents (id, url, canonical_url, source_id, kind, publisher, site, title, "
            "published, published_week, published_month, fetched, text, lang, content_hash, story_id, "
            "word_count, duplicate_of, extra) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        batch.clear()

    import datetime
    with conn:
        for i in range(n_docs):
            title, own = pairs[rng.randrange(len(pairs))]
            body = own[: rng.randint(1, 3)] + rng.sample(paragraphs, rng.randint(1, 3))
            text = "\n\n".join(body)
            story = f"bench-{rng.randrange(n_stories):06d}"
            ts = start + rng.randrange(0, 330 * 86400)
            when = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
            y, w, _ = when.isocalendar()
            publisher = rng.choice(publishers)
            url = f"https://{publisher.lower().replace(' ', '')}.example/{doc_id}"
            dup = doc_id - 1 if i and rng.random() < 0.03 else None
            batch.append((doc_id, url, url, 8, rng.choice(kinds), publisher, url.split("/")[2],
                          title if rng.random() < 0.5 else f"{title} ({publisher})",
                          when.isoformat(timespec="seconds"), f"{y}-W{w:02d}", when.strftime("%Y-%m"),
                          when.isoformat(timespec="seconds"), text, "en", f"b{doc_id}", story,
                          len(text.split()), dup, "{}"))
            s = stories.setdefault(story, [ts, ts, doc_id, title, 0, set()])
            s[0], s[1] = min(s[0], ts), max(s[1], ts)
            s[4] += 1
            s[5].add(publisher)
            doc_id += 1
            if len(batch) >= 5000:
                flush()
        if batch:
            flush()

        def iso(ts):
            return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")

        conn.executemany(
            "insert into stories (id, headline, summary, first_seen, last_seen, first_week, "
            "lead_document_id, n_documents, n_sources, heat, categories, entities, related, updated) "
            "values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(sid, s[3], s[3], iso(s[0]), iso(s[1]), "{}-W{:02d}".format(*datetime.datetime.fromtimestamp(
                s[0], datetime.timezone.utc).isocalendar()[:2]), s[2], s[4], len(s[5]),
              round(rng.random() * 10, 2), '["incident"]', '["anthropic"]', "[]", iso(s[1]))
             for sid, s in stories.items()])
        conn.execute("insert into documents_fts(documents_fts) values('rebuild')")
        for sql in triggers:
            conn.execute(sql)
    conn.execute("insert into documents_fts(documents_fts) values('optimize')")
    conn.execute("analyze")
    conn.commit()
    conn.close()  # the last connection to close checkpoints the WAL into the file
    return pairs


def query_terms(pairs, n, seed=11):
    """n searches an analyst might type: 1-2 content words from real titles, plus fixed ones."""
    rng = random.Random(seed)
    fixed = ["blackmail", "claude opus", "whistleblowing", "system card", "facial recognition",
             "autopilot crash", "algorithm bias", "alexa dollhouse", "ratting", "anthropic"]
    words = [w for t, _ in pairs for w in re.findall(r"[a-z][a-z0-9]{3,}", t.lower()) if w not in STOPWORDS]
    out = []
    for i in range(n):
        if i % 10 == 0:
            out.append(fixed[(i // 10) % len(fixed)])
        else:
            out.append(" ".join(rng.sample(words, rng.choice([1, 1, 2]))))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path):
    port = free_port()
    code = ("import sys; from pipeline.ops.serve import serve_datasette; "
            "serve_datasette(sys.argv[1], port=int(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db_path), str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/-/versions.json")
            c.getresponse().read()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("bench: the catalog server did not start")


def timed(port, paths):
    """GET each path over one keep-alive connection; latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            raise SystemExit(f"bench: {path} answered {response.status}: {body[:200]!r}")
    conn.close()
    return latencies


def report(name, latencies, wall):
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"{name:<14} n={len(latencies):>5}  p50={q[49]:7.1f} ms  p95={q[94]:7.1f} ms  "
          f"p99={q[98]:7.1f} ms  max={max(latencies):7.1f} ms  {len(latencies) / wall:7.1f} req/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--db", default=None, help="reuse or keep the bench DB at this path")
    parser.add_argument("--retrieval", action="store_true", help="also print retrieval quality (bench.retrieval)")
    parser.add_argument("--shared", default=None, help="shared inputs folder (default: $INCIDENTWIRE_SHARED, else tests/fixtures/shared)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.catalog_db import find_shared
    shared = find_shared(args.shared)
    tmp = None
    if args.db:
        db_path = pathlib.Path(args.db)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="iw-bench-")
        db_path = pathlib.Path(tmp.name) / "bench.db"
    if db_path.exists():
        print(f"reusing {db_path}", file=sys.stderr)
        pairs = corpus(shared)
    else:
        t0 = time.perf_counter()
        pairs = build_bench_db(db_path, args.docs, shared)
        print(f"built {args.docs:,} documents in {time.perf_counter() - t0:.1f} s "
              f"({db_path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    import sqlite3
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    n_docs = conn.execute("select count(*) from documents").fetchone()[0]
    story_ids = [r[0] for r in conn.execute("select id from stories order by random() limit ?",
                                            [args.queries - 1])]
    conn.close()
    story_ids.append("s-2025-w21-claude-opus-4")
    searches = [f"/incidentwire/search.json?q={urllib.parse.quote(q)}&mode=words" for q in query_terms(pairs, args.queries)]
    from bench.hybrid_latency import add_random_vectors, hybrid_paths, warm
    added = add_random_vectors(db_path)
    if added:
        print(f"gave {added:,} documents random vectors (latency only: see bench.hybrid_latency)", file=sys.stderr)
    hybrids = hybrid_paths(query_terms(pairs, args.queries))
    story_pages = [f"/stories/{urllib.parse.quote(s)}" for s in story_ids]
    proc, port = start_server(db_path)
    try:
        timed(port, searches[:20] + story_pages[:20])  # warm the page cache
        print(f"hybrid search ready after {warm(port):.1f} s (model and vectors loaded)", file=sys.stderr)
        print(f"incidentwire bench.search: {n_docs:,} documents, Datasette over HTTP on 127.0.0.1, "
              f"one client, keep-alive")
        for name, paths in (("words (JSON)", searches),
                            ("words (HTML)", [p.replace("search.json", "search") for p in searches]),
                            ("story page", story_pages), ("hybrid (JSON)", hybrids),
                            ("hybrid (HTML)", [p.replace("search.json", "search") for p in hybrids])):
            t0 = time.perf_counter()
            latencies = timed(port, paths)
            report(name, latencies, time.perf_counter() - t0)
        if args.retrieval:
            from bench.retrieval import main as retrieval
            retrieval([])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    main()
