"""Soak: `incidentwire watch` against a growing loopback mirror while readers hammer Datasette.

    python -m bench.soak --hours 0.5 [--every 2m] [--add-every 20] [--readers 4]

A copy of part of the demo snapshot is served on loopback, plus a feed that gains a new
on-topic post every --add-every seconds. `incidentwire watch` (the real command, a child
process) runs the pipeline on that mirror every --every; `incidentwire serve` serves the
same database and --readers threads query it without pause. At the end it prints runs
completed, documents stored, duplicates (must be 0), reader errors (must be 0), read latency
percentiles and memory over time, and exits 1 if either must-be-zero figure is not.
"""
import argparse
import datetime
import email.utils
import html
import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from pipeline.ops.loopback import LoopbackServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')"]
SOURCES = ["venturebeat-ai", "venturebeat-article", "violethoward", "business-of-tech",
           "anthropic-system-cards", "mastodon-claude", "hn-claude", "mistral-news"]
READ_PATHS = [
    "/incidentwire/stories?_size=20",
    "/incidentwire/documents.json?_size=10&_sort_desc=id",
    "/incidentwire/documents?_search=claude",
    "/incidentwire/runs.json?_sort_desc=id&_size=5",
    "/incidentwire.json?sql=select+count(*)+from+documents",
]
LEADS = ["An AI agent deleted a production database during a code freeze, then misreported what it did.",
         "Researchers found an autonomous coding agent tried to disable its own oversight during tests.",
         "A customer-service chatbot invented a refund policy and the airline was held to it.",
         "Red-team tests showed the model attempting blackmail when told it would be replaced.",
         "An AI assistant with email access leaked confidential files after a prompt injection."]


def paragraphs():
    """On-topic paragraphs from the demo snapshot's articles: the raw material of new posts."""
    found = []
    for page in sorted((ROOT / "demo" / "site").rglob("index.html")):
        for p in re.findall(r"<p>(.*?)</p>", page.read_text(encoding="utf-8", errors="replace"), re.S):
            text = html.unescape(re.sub(r"<[^>]+>", "", p)).strip()
            if len(text.split()) >= 30:
                found.append(text)
    return found or [" ".join(["AI agent safety incident report."] * 10)]


class GrowingFeed:
    """A feed at /soak/feed.xml that gains one post at a time; every post is its own page."""

    def __init__(self, root, seed=7):
        self.dir = root / "soak"
        self.dir.mkdir(parents=True)
        self.rng = random.Random(seed)
        self.pool = paragraphs()
        self.posts = []
        self.lock = threading.Lock()
        self.write_feed()

    def add(self):
        with self.lock:
            n = len(self.posts) + 1
            when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            lead = LEADS[n % len(LEADS)]
            title = f"Soak report {n}: {lead.split(',')[0].rstrip('.')}"
            body = [f"Report {n} filed {when:%Y-%m-%d %H:%M:%S} UTC. {lead}"]
            body += self.rng.sample(self.pool, k=min(4, len(self.pool)))
            page = self.dir / "posts" / str(n)
            page.mkdir(parents=True)
            (page / "index.html").write_text(
                "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title>"
                f"<meta property='article:published_time' content='{when.isoformat()}'></head><body><article>"
                f"<h1>{html.escape(title)}</h1>" + "".join(f"<p>{html.escape(p)}</p>" for p in body) +
                "</article></body></html>", encoding="utf-8")
            self.posts.append({"n": n, "title": title, "when": when, "path": f"/soak/posts/{n}/"})
            self.write_feed()

    def write_feed(self):
        items = "".join(
            f"<item><title>{html.escape(p['title'])}</title><link>{p['path']}</link>"
            f"<guid isPermaLink='false'>soak-{p['n']}</guid>"
            f"<pubDate>{email.utils.format_datetime(p['when'])}</pubDate></item>"
            for p in reversed(self.posts[-100:]))
        tmp = self.dir / "feed.xml.tmp"
        tmp.write_text("<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
                       f"<title>Soak wire</title><link>/soak/</link><description>soak</description>{items}"
                       "</channel></rss>", encoding="utf-8")
        os.replace(tmp, self.dir / "feed.xml")  # readers of the feed never see half a file


def write_config(path, base_url):
    import tomllib
    demo = tomllib.loads((ROOT / "demo" / "sources.toml").read_text(encoding="utf-8"))
    chosen = [s for s in demo["source"] if s["name"] in SOURCES]
    chosen.append({"name": "soak-wire", "kind": "feed", "url": "{base}/soak/feed.xml", "publisher": "Soak Wire",
                   "allow_private": True, "follow": "always", "relevance_min": 0.0})
    lines = ["[settings]", "allow_private = true"]
    for src in chosen:
        lines.append("\n[[source]]")
        for key, value in src.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, (int, float)):
                lines.append(f"{key} = {value!r}")
            else:
                lines.append(f"{key} = {json.dumps(str(value).replace('{base}', base_url))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def own_rss_mb(pid):
    try:
        m = re.search(r"VmRSS:\s+(\d+)", pathlib.Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0.0
    return int(m.group(1)) / 1024 if m else 0.0


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    children = {}
    for status in pathlib.Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            children.setdefault(int(fields["PPid"]), []).append(
                (int(fields["Pid"]), int(fields.get("VmRSS", "0 kB").split()[0])))
        except (OSError, ValueError, KeyError):
            continue
    total, todo = 0, [pid]
    own = pathlib.Path(f"/proc/{pid}/status")
    if own.exists():
        m = re.search(r"VmRSS:\s+(\d+)", own.read_text())
        total += int(m.group(1)) if m else 0
    while todo:
        for child, rss in children.get(todo.pop(), []):
            total += rss
            todo.append(child)
    return total / 1024


def reader(base, stop, latencies, errors):
    rng = random.Random(threading.get_ident())
    while not stop.is_set():
        path = rng.choice(READ_PATHS)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                response.read()
            latencies.append(time.monotonic() - started)
        except urllib.error.HTTPError as e:
            errors.append(f"{path}: HTTP {e.code}")
        except Exception as e:  # a reader error of any kind is what the soak counts
            errors.append(f"{path}: {type(e).__name__}: {e}")


def wait_http(url, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def run_in_progress(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return bool(conn.execute("select 1 from runs where command = 'watch' and status = 'running'").fetchone())
    finally:
        conn.close()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--every", default="2m", help="watch interval (default 2m)")
    parser.add_argument("--add-every", type=float, default=20.0, help="seconds between new posts")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--sample-every", type=float, default=15.0, help="seconds between memory samples")
    args = parser.parse_args(argv)

    work = pathlib.Path(tempfile.mkdtemp(prefix="incidentwire-soak-"))
    site = work / "site"
    site.mkdir()
    for name in ["robots.txt", "venturebeat", "violethoward", "businessoftech", "anthropic-system-cards",
                 "mastodon", "hn", "labs"]:
        src = ROOT / "demo" / "site" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, site / name)
    feed = GrowingFeed(site)
    for _ in range(3):
        feed.add()
    db = work / "soak.db"
    server = LoopbackServer(site).start()
    write_config(work / "sources.toml", server.url)
    subprocess.run(CLI + ["status", "--db", str(db)], cwd=work, capture_output=True, check=True)
    port = free_port()
    serve = subprocess.Popen(CLI + ["serve", "--db", str(db), "--port", str(port)], cwd=work,
                             stdout=subprocess.DEVNULL, stderr=open(work / "serve.log", "w"))
    watch_log = open(work / "watch.log", "w")
    watch = subprocess.Popen(CLI + ["watch", "--db", str(db), "--config", str(work / "sources.toml"),
                                    "--every", args.every], cwd=work, stdout=watch_log, stderr=watch_log)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    latencies, errors, memory = [], [], []
    started = time.monotonic()
    deadline = started + args.hours * 3600
    try:
        wait_http(base + "/incidentwire.json")
        readers = [threading.Thread(target=reader, args=(base, stop, latencies, errors), daemon=True)
                   for _ in range(args.readers)]
        for t in readers:
            t.start()
        next_post = time.monotonic() + args.add_every
        next_sample = time.monotonic()
        while time.monotonic() < deadline and watch.poll() is None:
            now = time.monotonic()
            if now >= next_post:
                feed.add()
                next_post += args.add_every
            if now >= next_sample:
                memory.append((now - started, own_rss_mb(watch.pid), tree_rss_mb(watch.pid), tree_rss_mb(serve.pid)))
                next_sample += args.sample_every
            time.sleep(0.2)
        # Let a run in progress finish, so the last figures are not half a run.
        finish_by = time.monotonic() + 900
        while watch.poll() is None and time.monotonic() < finish_by and run_in_progress(db):
            time.sleep(1)
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=900)
    finally:
        stop.set()
        for proc in (watch, serve):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        server.stop()
    elapsed = time.monotonic() - started

    conn = sqlite3.connect(db)
    runs = conn.execute("select status, count(*) from runs where command = 'watch' group by status").fetchall()
    n_docs = conn.execute("select count(*) from documents").fetchone()[0]
    dup_urls = conn.execute("select count(*) - count(distinct canonical_url) from documents").fetchone()[0]
    soak_rows = conn.execute("select url from documents where url like '%/soak/posts/%'").fetchall()
    soak_stored = collections_counter(row[0] for row in soak_rows)
    dup_posts = sum(n - 1 for n in soak_stored.values() if n > 1)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    seconds = [json.loads(c).get("seconds_total", 0) for (c,) in
               conn.execute("select counts from runs where command = 'watch' and status = 'ok'")]
    conn.close()
    duplicates = dup_urls + dup_posts
    print(f"soak: {elapsed / 60:.1f} min, watch --every {args.every}, a new post every {args.add_every:.0f}s, "
          f"{args.readers} readers")
    print(f"runs completed: {dict(runs)}  (run time median {statistics.median(seconds) if seconds else 0:.1f}s, "
          f"max {max(seconds) if seconds else 0:.1f}s)")
    print(f"documents stored: {n_docs}  (soak posts published {len(feed.posts)}, stored {len(soak_stored)})")
    print(f"duplicates: {duplicates}")
    print(f"reader requests: {len(latencies) + len(errors)}, reader errors: {len(errors)}")
    for e in errors[:5]:
        print(f"  {e}")
    print(f"read latency: p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms, "
          f"max {max(latencies, default=0) * 1000:.0f} ms")
    print(f"integrity_check: {integrity}")
    print("memory over time (MB RSS): t(min)  scheduler  scheduler+run  datasette")
    for t, w, tree, d in memory:
        print(f"  {t / 60:6.1f}  {w:9.0f}  {tree:13.0f}  {d:9.0f}")
    import resource
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of any one process (a run with the model loaded, usually): {peak:.0f} MB")
    print(f"work folder: {work}")
    return 1 if duplicates or errors or integrity != "ok" else 0


def collections_counter(items):
    import collections
    return collections.Counter(items)


if __name__ == "__main__":
    sys.exit(main())
