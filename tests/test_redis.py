"""Scale-out: two crawl workers share one Redis scheduler; one writer stores every item once."""
import collections
import pathlib
import shutil
import socket
import subprocess
import time

import pytest

from pipeline.config import load_config
from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
SITE = ROOT / "demo" / "site"
FAST = {"DOWNLOAD_DELAY": 0.05, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)")
    import redis
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def page_counts(server):
    """Requests per path, robots.txt aside (each crawler asks for it: it is not a page)."""
    return collections.Counter(p.split("?")[0] for p in server.stats["paths"] if not p.endswith("/robots.txt"))


def stored(db_path):
    db = open_db(db_path)
    urls = [r["canonical_url"] for r in db.query("select canonical_url from documents")]
    skips = db["skips"].count
    db.close()
    return urls, skips


def start_writer(tmp_path, config, redis_url, names, remote_wait):
    """The writer of a crawl with remote workers only, in a thread (its DB connection is its own);
    returns once the crawl's tag is published. The thread fills `result` when the crawl ends."""
    import threading

    import redis

    from pipeline.crawl.redis_queue import CURRENT
    from pipeline.crawl.scaleout import crawl_with_redis

    client, result = redis.Redis.from_url(redis_url), {}

    def write():
        wdb = open_db(tmp_path / "redis.db")
        result.update(crawl_with_redis(wdb, config, redis_url, workers=0, only=names, remote_wait=remote_wait))
        wdb.close()

    writer = threading.Thread(target=write)
    writer.start()
    while not client.get(CURRENT):
        assert writer.is_alive()
        time.sleep(0.05)
    return writer, result


def test_two_workers_fetch_each_page_once_and_store_each_document_once(tmp_path, redis_url):
    from pipeline.crawl.local import crawl_sources
    from pipeline.crawl.scaleout import crawl_with_redis
    import redis

    with LoopbackServer(SITE) as server:
        config = load_config(ROOT / "demo" / "sources.toml", base_url=server.url)
        # The demo site crawled on one machine: the reference.
        db = open_db(tmp_path / "local.db")
        local = crawl_sources(db, config, settings_overrides=FAST)
        db.close()
        local_pages = page_counts(server)
        server.stats["paths"].clear()
        # The same site crawled by two workers through Redis into a fresh database.
        db = open_db(tmp_path / "redis.db")
        counts = crawl_with_redis(db, config, redis_url, workers=2, settings_overrides=FAST)
        pages = page_counts(server)
        before = dict(server.stats, paths=None)
        second = crawl_with_redis(db, config, redis_url, workers=2, settings_overrides=FAST)
        second_stats = {k: server.stats[k] - before[k] for k in ("bodies", "not_modified")}
        health = list(db.query("select name, etag, consecutive_failures, last_crawled from sources"))
        db.close()
    local_urls, _ = stored(tmp_path / "local.db")
    assert counts.get("errors") is None, counts.get("errors")
    assert counts["workers"] == 2
    # Two sources may name the same page (a feed entry and an article source): each source
    # fetches it once, exactly as on one machine. Two workers add no fetch at all.
    assert pages == local_pages, {p: (n, local_pages.get(p)) for p, n in pages.items() if n != local_pages.get(p)}
    per_worker = [w["fetched"] for w in counts["per_worker"]]
    assert len(per_worker) == 2 and sum(per_worker) == local["fetched"]
    # How the pages split between the workers depends on which one starts first; not asserted.
    print("pages fetched per worker:", per_worker)

    urls, _ = stored(tmp_path / "redis.db")
    assert len(urls) == len(set(urls)) and len(urls) > 50
    assert sorted(urls) == sorted(local_urls)
    assert counts["inserted"] == len(urls)

    # Nothing is left behind in Redis for the next crawl to trip over.
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(match="incidentwire:*")) == []

    # A second crawl through Redis sends the validators the writer saved and adds nothing.
    assert second["inserted"] == 0 and second["updated"] == 0
    assert second_stats["not_modified"] > 0
    assert second_stats["bodies"] < sum(local_pages.values()) / 2
    assert all(row["last_crawled"] for row in health)
    assert sum(1 for row in health if row["etag"]) > 5


def test_worker_without_redis_gives_one_line_error(tmp_path):
    import sys
    port = free_port()  # nothing listens there
    (tmp_path / "sources.toml").write_text('[[source]]\nname = "x"\nkind = "feed"\nurl = "http://127.0.0.1:1/feed.xml"\n')
    out = subprocess.run([sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')",
                          "crawl", "--db", str(tmp_path / "x.db"), "--config", str(tmp_path / "sources.toml"),
                          "--redis", f"redis://127.0.0.1:{port}/0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert f"127.0.0.1:{port}" in out.stderr and out.stderr.strip().count("\n") == 0


def test_one_setting_switches_the_cli_crawl_to_redis(tmp_path, redis_url):
    """`redis_url` in sources.toml: `incidentwire crawl` becomes the writer with two local workers."""
    import json
    import sys
    import tomllib

    import redis

    demo = tomllib.loads((ROOT / "demo" / "sources.toml").read_text(encoding="utf-8"))
    keep = [s for s in demo["source"] if s["name"] in ("venturebeat-ai", "business-of-tech", "mistral-news")]
    with LoopbackServer(SITE) as server:
        lines = ["[settings]", "allow_private = true", f'redis_url = "{redis_url}"', "redis_workers = 2"]
        for src in keep + [{"name": "gone", "kind": "feed", "url": "{base}/no/such/feed.xml", "allow_private": True}]:
            lines.append("[[source]]")
            lines += [f"{k} = {json.dumps(v.replace('{base}', server.url) if isinstance(v, str) else v)}"
                      for k, v in src.items()]
        (tmp_path / "sources.toml").write_text("\n".join(lines) + "\n")
        out = subprocess.run([sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')",
                              "crawl", "--db", str(tmp_path / "iw.db"), "--config", str(tmp_path / "sources.toml")],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
        pages = page_counts(server)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = json.loads(out.stdout)
    assert counts["workers"] == 2 and counts["inserted"] > 0
    assert all(n == 1 for n in pages.values()), pages
    db = open_db(tmp_path / "iw.db")
    health = {r["name"]: r for r in db.query("select * from sources")}
    [run] = list(db.query("select * from runs where command = 'crawl'"))
    db.close()
    # Source health merged from the workers: the missing feed failed once, the rest are fine.
    assert health["gone"]["consecutive_failures"] == 1 and "404" in health["gone"]["last_error"]
    assert all(health[s["name"]]["consecutive_failures"] == 0 for s in keep)
    assert all(health[s["name"]]["etag"] for s in keep)
    assert run["status"] == "ok" and json.loads(run["counts"])["workers"] == 2
    assert list(redis.Redis.from_url(redis_url).scan_iter(match="incidentwire:*")) == []


def test_killed_worker_loses_nothing(tmp_path, redis_url):
    """Two workers join from outside (`crawl --worker`); one is SIGKILLed mid-crawl. The writer
    gives it up, keeps the old validators, and the next crawl stores exactly what one machine does."""
    import json
    import os
    import signal
    import sys

    from pipeline.crawl.local import crawl_sources
    from pipeline.crawl.scaleout import crawl_with_redis
    import redis

    names = ["anthropic-news", "incident-ledger", "glitch-gazette", "failure-modes-daily", "automation-desk"]
    client = redis.Redis.from_url(redis_url)
    with LoopbackServer(SITE) as server:
        config = load_config(ROOT / "demo" / "sources.toml", base_url=server.url)
        db = open_db(tmp_path / "local.db")
        crawl_sources(db, config, only=names)
        db.close()
        lines = ["[settings]", "allow_private = true"]
        for src in config["sources"]:
            if src["name"] in names:
                lines.append("[[source]]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in src.items() if isinstance(v, (str, bool, int, float))]
        (tmp_path / "sources.toml").write_text("\n".join(lines) + "\n")

        writer, result = start_writer(tmp_path, config, redis_url, names, remote_wait=15)
        worker = [sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')", "crawl",
                  "--worker", "--redis", redis_url, "--config", str(tmp_path / "sources.toml"),
                  "--db", str(tmp_path / "redis.db")] + [a for n in names for a in ("--source", n)]
        # Answers come late while the doomed worker runs: requests are counted on arrival, so once
        # a few have arrived it still has them outstanding and cannot have finished. The survivor
        # starts after the kill and ends once the dead worker's lease lapses (redis_lease_seconds).
        start = lambda: subprocess.Popen(worker, cwd=tmp_path, start_new_session=True,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server.delay = 0.5
        seen = len(server.stats["paths"])
        doomed = start()
        while len(server.stats["paths"]) < seen + 8:
            assert doomed.poll() is None, "the worker ended before it could be killed mid-crawl"
            time.sleep(0.02)
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its crawl process
        doomed.wait()
        server.delay = 0.0
        survivor = start()
        assert survivor.wait(timeout=300) == 0
        writer.join(timeout=300)
        assert any("given up" in e for e in result.get("errors", [])), result.get("errors")
        # The next crawl through Redis completes the set: nothing lost, nothing twice.
        db = open_db(tmp_path / "redis.db")
        again = crawl_with_redis(db, config, redis_url, workers=2, only=names)
        urls = sorted(r["canonical_url"] for r in db.query("select canonical_url from documents"))
        db.close()
    local_urls, _ = stored(tmp_path / "local.db")
    assert again.get("errors") is None, again.get("errors")
    assert urls == sorted(local_urls)
    assert list(client.scan_iter(match="incidentwire:*")) == []


def test_worker_that_finds_the_queue_empty_waits_for_its_peers_requests(tmp_path, redis_url):
    """A worker that joins while the shared queue is empty but a peer still has a request out
    stays: the answer lists more pages, and it fetches a share of them. Every page once."""
    import json
    import threading

    from pipeline.crawl.redis_queue import CURRENT
    from pipeline.crawl.scaleout import worker_command
    import redis

    names = ["anthropic-news"]  # one feed that links 14 pages
    feed = SITE / "labs" / "anthropic-news" / "feed.xml"
    arrived, release = threading.Event(), threading.Event()

    def held(handler):  # the first worker's only request: answered once the second has started
        arrived.set()
        release.wait(60)
        body = feed.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    client = redis.Redis.from_url(redis_url)
    with LoopbackServer(SITE) as server:
        config = load_config(ROOT / "demo" / "sources.toml", base_url=server.url)
        config["settings"]["redis_lease_seconds"] = 2
        server.hooks["/labs/anthropic-news/feed.xml"] = held
        server.delay = 0.2  # pages answer slowly: both workers are still at it when the feed lands
        writer, result = start_writer(tmp_path, config, redis_url, names, remote_wait=60)
        job = tmp_path / "worker.json"
        # Two requests at a time per worker: the first cannot take every page before the second looks.
        job.write_text(json.dumps({"db_path": str(tmp_path / "redis.db"), "config": config, "url": redis_url,
                                   "tag": client.get(CURRENT).decode(), "only": names,
                                   "settings_overrides": {**FAST, "CONCURRENT_REQUESTS": 2}}))
        start = lambda worker_id: subprocess.Popen(worker_command(job, worker_id), stdout=subprocess.DEVNULL)
        first = start("first")
        assert arrived.wait(120), "the first worker never asked for the feed"
        second = start("second")  # the queue is empty now: the first worker holds the feed
        try:  # a second worker that ends while the feed is held has quit for good
            second.wait(timeout=8)
        except subprocess.TimeoutExpired:
            pass
        release.set()
        assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
        writer.join(timeout=120)
        pages = page_counts(server)
    assert result.get("errors") is None, result.get("errors")
    fetched = {w["worker"]: w["fetched"] for w in result["per_worker"]}
    print("pages fetched per worker:", fetched)
    assert fetched["second"] > 0, fetched
    assert fetched["first"] + fetched["second"] == sum(pages.values()) == 15
    assert all(n == 1 for n in pages.values()), pages
    urls, _ = stored(tmp_path / "redis.db")
    assert len(urls) == len(set(urls)) == result["inserted"]
    assert result["inserted"] + result["offtopic"] == 14  # one document per page, none twice
    assert list(client.scan_iter(match="incidentwire:*")) == []


def test_social_source_through_redis_keeps_what_one_machine_keeps(tmp_path, redis_url):
    """One relevance rule: a Mastodon post scoring about 0.2 is kept by a social source (its tag
    already chose the topic) whether the crawl runs on one machine or through Redis."""
    import json

    from pipeline.crawl.local import crawl_sources
    from pipeline.crawl.scaleout import crawl_with_redis

    text = ("Lunch on the terrace today with the whole team, sunny and warm, and everyone brought something "
            "to share with the others. The robot vacuum and its sensor clean the kitchen.")
    site = tmp_path / "site"
    timeline = site / "api/v1/timelines/tag/aisafety"
    timeline.mkdir(parents=True)
    (tmp_path / "sources.toml").write_text(
        '[settings]\nrelevance_min = 0.35\nallow_private = true\n'
        '[[source]]\nname = "masto"\nkind = "mastodon"\nurl = "{base}/api/v1/timelines/tag/aisafety"\n')
    with LoopbackServer(site) as server:
        status = {"id": "1", "created_at": "2025-05-23T10:00:00Z", "url": f"{server.url}/@tester/1",
                  "content": f"<p>{text}</p>", "account": {"acct": "tester", "display_name": "Tester"}}
        (timeline / "index.json").write_text(json.dumps([status]))
        config = load_config(tmp_path / "sources.toml", base_url=server.url)
        db = open_db(tmp_path / "local.db")
        local = crawl_sources(db, config, settings_overrides=FAST)
        db.close()
        db = open_db(tmp_path / "redis.db")
        counts = crawl_with_redis(db, config, redis_url, workers=1, settings_overrides=FAST)
        scores = [r["relevance"] for r in db.query("select relevance from documents")]
        db.close()
    assert counts.get("errors") is None, counts.get("errors")
    assert len(scores) == 1 and 0.1 < scores[0] < 0.35, scores  # below the general cut, above the social one
    assert local["inserted"] == counts["inserted"] == 1 and counts["offtopic"] == 0
