"""Scale the crawl out over Redis: several workers, one shared scheduler, one writer.

One setting turns it on: `[settings] redis_url = "redis://host:6379/0"` in sources.toml or
INCIDENTWIRE_REDIS_URL. Then `incidentwire crawl` becomes the writer: it starts crawl
workers (the same spiders, with scrapy-redis's scheduler and dupefilter shared through
Redis, so each page is fetched by exactly one worker), and drains the items they push onto
one Redis list into the store. Only the writer touches the database's documents, so the
store stays single-writer; more workers can join from other machines with
`incidentwire crawl --worker --redis URL`.

Redis keys live under `incidentwire:<tag>:` where the tag names one crawl, so a fresh crawl
fetches feeds again (the dupefilter is per crawl, not forever) and nothing leaks between crawls.

A worker whose queue runs dry does not end while a peer still has requests out: their answers
may list more pages. Each worker holds a lease on its spider's queue while it has requests in
flight, renewed by a heartbeat; a killed worker's lease lapses after `redis_lease_seconds`.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid


PREFIX = "incidentwire"
CURRENT = f"{PREFIX}:current"  # the tag of the crawl in progress, for workers that join late
LEASE_SECONDS = 5.0  # how long a worker that stopped renewing (killed) still counts as busy


class ScaleoutError(Exception):
    """One sentence naming the Redis URL or worker and what went wrong."""


def redis_url_for(config, override=None):
    """The Redis URL that switches scale-out on, or None: flag, then env, then sources.toml."""
    return (override or os.environ.get("INCIDENTWIRE_REDIS_URL")
            or (config.get("settings") or {}).get("redis_url") or None)


def shown(url):
    """The URL without its password, for messages and the run log."""
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    return urllib.parse.urlunsplit(parts)


def connect(url):
    """A Redis client, checked with PING; ScaleoutError if Redis cannot be reached."""
    import redis
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=60)
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise ScaleoutError(f"cannot reach Redis at {shown(url)} ({str(e).replace(url, shown(url))}); "
                            "start redis-server or fix redis_url")
    return client


def items_key(tag):
    return f"{PREFIX}:{tag}:items"


def worker_settings(url, tag, lease_seconds=None):
    """Scrapy settings that make a crawl one worker of the shared crawl `tag`."""
    return {
        "SCHEDULER": "pipeline.crawl.scaleout.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": url,
        "SCHEDULER_QUEUE_KEY": f"{PREFIX}:{tag}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{PREFIX}:{tag}:%(spider)s:dupefilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue",
        # Persist: a worker that runs dry must not flush the queue its peers still use.
        # The writer deletes the crawl's keys when every worker is done.
        "SCHEDULER_PERSIST": True,
        # Never a blocking pop (it would stall the reactor): a dry worker waits on leases instead.
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "INCIDENTWIRE_LEASES_KEY": f"{PREFIX}:{tag}:%(spider)s:leases",
        "INCIDENTWIRE_LEASE_SECONDS": float(lease_seconds or LEASE_SECONDS),
        "INCIDENTWIRE_ITEMS_KEY": items_key(tag),
        "ITEM_PIPELINES": {"pipeline.crawl.scaleout.RedisItemQueue": 100},
    }


# Lua, so that taking a request and leasing it are one step: a peer never sees the queue empty
# while a popped request is in nobody's lease. Deadlines are in Redis's clock (ms), not a worker's.
RENEW_LEASE = ("local t = redis.call('TIME') "
               "redis.call('HSET', KEYS[2], ARGV[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]))")
POP_AND_LEASE = f"local data = redis.call('RPOP', KEYS[1]) if data then {RENEW_LEASE} end return data"


def _shared_scheduler():
    from scrapy import signals
    from scrapy.exceptions import DontCloseSpider
    from scrapy_redis.scheduler import Scheduler
    from twisted.internet import task

    class SharedScheduler(Scheduler):
        """scrapy-redis's scheduler, deduplicating entry requests too, and ending with the crawl.

        Entry requests are `dont_filter` (a conditional GET must never be filtered within one
        crawl), but with several workers each one would fetch every entry URL. The shared
        dupefilter lets exactly one worker enqueue it; only retries keep bypassing the filter.

        A worker leases its spider's queue from popping a request until it is idle again. An
        idle worker closes only when the queue is empty and no peer holds a live lease: a peer's
        answers may still list pages (FifoQueue only: the pop is RPOP).
        """

        @classmethod
        def from_crawler(cls, crawler):
            instance = super().from_crawler(crawler)
            instance.crawler = crawler
            instance.lease_ms = int(crawler.settings.getfloat("INCIDENTWIRE_LEASE_SECONDS", LEASE_SECONDS) * 1000)
            instance.leases_key_template = crawler.settings["INCIDENTWIRE_LEASES_KEY"]
            crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
            return instance

        def open(self, spider):
            super().open(spider)
            self.leases_key = self.leases_key_template % {"spider": spider.name}
            self.worker = f"{os.uname().nodename}:{os.getpid()}"
            self.leased = False
            self.pop_script = self.server.register_script(POP_AND_LEASE)
            self.renew_script = self.server.register_script(RENEW_LEASE)
            # A fifth of the lease: a renewal may be late a few times before peers give up on us.
            self.heartbeat = task.LoopingCall(self.beat)
            self.heartbeat.start(self.lease_ms / 5000, now=False)

        def close(self, reason):
            if self.heartbeat.running:
                self.heartbeat.stop()
            self.server.hdel(self.leases_key, self.worker)  # closed early (stopped): not busy either
            super().close(reason)

        def enqueue_request(self, request):
            retry = request.meta.get("retry_times")
            if not (request.dont_filter and retry) and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            self.queue.push(request)
            return True

        def next_request(self):
            data = self.pop_script(keys=[self.queue.key, self.leases_key], args=[self.worker, self.lease_ms])
            if not data:
                return None
            self.leased = True
            if self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            return self.queue._decode_request(data)  # as scrapy-redis's own pop does

        def beat(self):
            """Renew the lease while requests are out; while idle, let the engine look again soon
            (its own heartbeat is 5 s): a peer may have pushed pages, or finished."""
            if self.leased:
                self.renew_script(keys=[self.queue.key, self.leases_key], args=[self.worker, self.lease_ms])
            else:
                slot = getattr(self.crawler.engine, "_slot", None)  # Scrapy internals; else 5 s
                if slot is not None:
                    slot.nextcall.schedule()

        def spider_idle(self, spider):
            """Scrapy found nothing in flight here and the queue empty: give the lease back, and
            stay if the crawl as a whole is still busy."""
            self.leased = False
            if self.crawl_busy():
                raise DontCloseSpider

        def crawl_busy(self):
            """Requests queued or held by a live lease; one transaction, so never between the two."""
            pipe = self.server.pipeline()
            pipe.hdel(self.leases_key, self.worker)
            pipe.time()
            pipe.llen(self.queue.key)
            pipe.hvals(self.leases_key)
            _, (seconds, micros), queued, deadlines = pipe.execute()
            now = seconds * 1000 + micros // 1000
            return queued > 0 or any(int(float(d)) > now for d in deadlines)

    return SharedScheduler


def __getattr__(name):
    # Built on first use: importing this module (every `incidentwire run`) must not load Scrapy.
    if name == "SharedScheduler":
        globals()[name] = _shared_scheduler()
        return globals()[name]
    raise AttributeError(name)


class RedisItemQueue:
    """Item pipeline: push each item as JSON onto the crawl's Redis list; the writer stores it."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(connect(settings["REDIS_URL"]), settings["INCIDENTWIRE_ITEMS_KEY"])

    def process_item(self, item, spider=None):
        self.client.rpush(self.key, json.dumps(dict(item), default=str))
        return item


def push_control(client, tag, message):
    """A control message on the item list (worker start/finish), read in order with the items."""
    client.rpush(items_key(tag), json.dumps({"type": "_control", **message}))


def worker_command(job_file, worker_id):
    """A local worker: the resolved config travels in a job file (URLs already filled in)."""
    return [sys.executable, "-c", "from pipeline.crawl.scaleout import worker_main; worker_main()",
            str(job_file), worker_id]


def worker_main():
    """Entry point of a local worker process: argv = job file."""
    job = json.loads(open(sys.argv[1], encoding="utf-8").read())
    try:
        run_worker(job["db_path"], job["config"], job["url"], tag=job["tag"], only=job["only"],
                   worker_id=sys.argv[2], settings_overrides=job.get("settings_overrides"))
    except ScaleoutError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)


def relevance_by_source(config):
    """The relevance cut-off per source: the one rule, as the single-machine crawl applies it."""
    from pipeline.config import relevance_cut
    return {s["name"]: relevance_cut(s, config["settings"]) for s in config["sources"]}


def drain_items(db, client, tag, run_id, done, relevance=None, idle_timeout=1.0):
    """Store items from the crawl's list until `done(workers, idle seconds)` says no more will come.

    Returns (counts by source, {worker: last event}, the workers' final reports).
    """
    from pipeline.store.documents import save_item

    key = items_key(tag)
    relevance = relevance or {}
    by_source, workers, reports = {}, {}, []
    last = time.monotonic()
    while True:
        popped = client.blpop([key], timeout=idle_timeout)
        if popped is None:
            if done(workers, time.monotonic() - last) and client.llen(key) == 0:
                return by_source, workers, reports
            continue
        last = time.monotonic()
        item = json.loads(popped[1])
        if item.get("type") == "_control":
            workers[item["worker"]] = item["event"]
            if item["event"] == "finished":
                reports.append(item)
            continue
        name = item.get("source") or "?"
        outcome = save_item(db, item, run_id=run_id, relevance_min=relevance.get(name))
        source_counts = by_source.setdefault(name, {})
        source_counts[outcome] = source_counts.get(outcome, 0) + 1


def delete_crawl_keys(client, tag):
    """Delete one crawl's keys (tag "*": every crawl's)."""
    keys = list(client.scan_iter(match=f"{PREFIX}:{tag}:*", count=1000))
    if keys:
        client.delete(*keys)
    if tag == "*" or (client.get(CURRENT) or b"").decode() == tag:
        client.delete(CURRENT)


HEALTH = ("etag", "last_modified", "last_crawled", "consecutive_failures", "last_error")


def run_worker(db_path, config, url, tag=None, only=None, worker_id=None, settings_overrides=None):
    """One crawl worker: the usual spiders on the shared Redis scheduler; never writes `db_path`.

    The spiders read crawl state (validators, known pages) from a private snapshot of the
    database, and their own bookkeeping lands there too; items go to Redis for the writer,
    and the sources' health is reported to it at the end.
    """
    from db.backup import backup_database
    from pipeline.crawl.local import crawl_sources
    from db.connection import open_db

    client = connect(url)
    tag = tag or (client.get(CURRENT) or b"").decode()
    if not tag:
        raise ScaleoutError(f"no crawl is in progress on {url}; start the writer with `incidentwire crawl` first")
    worker_id = worker_id or f"{os.uname().nodename}:{os.getpid()}"
    push_control(client, tag, {"worker": worker_id, "event": "started"})
    counts, report = {}, {}
    try:
        with tempfile.TemporaryDirectory(prefix="incidentwire-worker-") as tmp:
            snapshot = pathlib.Path(tmp, "snapshot.db")
            if pathlib.Path(db_path).is_file():
                backup_database(db_path, snapshot)
            db = open_db(snapshot)
            lease = config["settings"].get("redis_lease_seconds")
            counts = crawl_sources(db, config, only=only, settings_overrides={**(settings_overrides or {}),
                                                                              **worker_settings(url, tag, lease)})
            report = {row["name"]: {k: row[k] for k in HEALTH}
                      for row in db.query("select * from sources")}
            db.close()
    finally:
        push_control(client, tag, {"worker": worker_id, "event": "finished", "sources": report,
                                   "counts": counts.get("sources", {}), "errors": counts.get("errors", [])})
    return counts


def merge_health(db, before, reports, keep_validators=False):
    """Write each source's health from the workers' reports: a failure seen by any worker counts.

    keep_validators: a worker died, so requests it had taken were never fetched; keeping the old
    ETags makes the next crawl read the feeds again and fetch those pages.
    """
    merged = {}
    for name, old in before.items():
        seen = [r[name] for r in reports if name in r]
        if not seen:
            continue
        failed = [s for s in seen if (s["consecutive_failures"] or 0) > (old["consecutive_failures"] or 0)]
        changed = [s for s in seen if (s["etag"], s["last_modified"]) != (old["etag"], old["last_modified"])]
        row = {"last_crawled": max(s["last_crawled"] or "" for s in seen) or old["last_crawled"]}
        if failed:
            row["consecutive_failures"] = (old["consecutive_failures"] or 0) + 1
            row["last_error"] = next((s["last_error"] for s in failed if s["last_error"]), old["last_error"])
        else:
            row["consecutive_failures"] = 0
            row["last_error"] = next((s["last_error"] for s in seen if s["last_error"]), None)
            if changed and not keep_validators:  # from the worker that fetched the entry page
                row["etag"], row["last_modified"] = changed[0]["etag"], changed[0]["last_modified"]
        merged[name] = row
    with db.conn:
        for name, row in merged.items():
            sets = ", ".join(f"{k} = ?" for k in row)
            db.conn.execute(f"update sources set {sets} where name = ?", [*row.values(), name])
    return merged


def crawl_with_redis(db, config, url, workers=None, only=None, run_id=None, remote_wait=600,
                     settings_overrides=None):
    """The writer: start `workers` local crawl workers, store what every worker pushes; return counts."""
    from pipeline.config import sync_sources
    from pipeline.crawl.plan import COUNT_KEYS
    from db.runs import finish_run, start_run

    client = connect(url)
    own_run = run_id is None
    if own_run:
        run_id = start_run(db, "crawl")
    rows = sync_sources(db, config)
    before = {name: {k: row.get(k) for k in HEALTH} for name, row in rows.items()}
    db_path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if workers is None:
        workers = int(config["settings"].get("redis_workers", 2))
    # One writer per Redis database: whatever a killed writer left behind is stale. Its items
    # are not lost: their pages were never marked seen here, so this crawl fetches them again.
    delete_crawl_keys(client, "*")
    tag = uuid.uuid4().hex[:12]
    client.set(CURRENT, tag, ex=86400)
    errors, procs = [], []
    local_ids = [f"{os.uname().nodename}:local-{i + 1}" for i in range(workers)]

    def done(seen, idle):
        """True when local workers have exited and every worker that joined has finished.

        Remote workers get `remote_wait` seconds of silence before they count as lost (and
        before the writer gives up waiting for any to join, with --workers 0).
        """
        if any(p.poll() is None for p in procs):
            return False
        if not seen and not procs:
            return idle > remote_wait  # --workers 0: the crawl is all remote workers
        # A local worker that died never says "finished": its exit status is reported instead.
        running = [w for w, event in seen.items() if event != "finished" and w not in local_ids]
        if running and idle <= remote_wait:
            return False
        if running:
            errors.append(f"crawl workers {', '.join(running)} sent nothing for {remote_wait}s: given up")
        return True

    tmp = tempfile.TemporaryDirectory(prefix="incidentwire-writer-")
    job_file = pathlib.Path(tmp.name, "worker.json")
    job_file.write_text(json.dumps({"db_path": db_path, "config": config, "url": url, "tag": tag,
                                    "only": list(only or []),
                                    "settings_overrides": settings_overrides}, default=str), encoding="utf-8")
    try:
        for worker_id in local_ids:
            procs.append(subprocess.Popen(worker_command(job_file, worker_id)))
        by_source, seen, reports = drain_items(db, client, tag, run_id, done, relevance_by_source(config))
    finally:
        tmp.cleanup()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        delete_crawl_keys(client, tag)
    for p in procs:
        if p.returncode:
            errors.append(f"crawl worker exited with status {p.returncode}")
    lost_worker = bool(errors) or any(r.get("errors") for r in reports)
    merge_health(db, before, [r.get("sources") or {} for r in reports], keep_validators=lost_worker)
    per_source = {}
    for report in reports:
        errors.extend(report.get("errors") or [])
        for name, c in (report.get("counts") or {}).items():
            row = per_source.setdefault(name, dict.fromkeys(COUNT_KEYS, 0))
            for key in ("fetched", "not_modified", "refused"):
                row[key] += c.get(key, 0)
    for name, c in by_source.items():
        row = per_source.setdefault(name, dict.fromkeys(COUNT_KEYS, 0))
        for key, n in c.items():
            row[key] = row.get(key, 0) + n
    counts = {"sources": per_source, "workers": len(reports),
              "per_worker": [{"worker": r["worker"], "fetched": sum(c.get("fetched", 0) for c in (r.get("counts") or {}).values())}
                             for r in reports]}
    for key in COUNT_KEYS:
        counts[key] = sum(c.get(key, 0) for c in per_source.values())
    if own_run:
        finish_run(db, run_id, counts=counts, errors=errors)
    if errors:
        counts["errors"] = errors
    return counts


def crawl_configured(db, config, only=None, redis_url=None, workers=None):
    """Crawl on this machine, or through Redis when a Redis URL is set (flag, env or sources.toml)."""
    url = redis_url_for(config, redis_url)
    if url:
        return crawl_with_redis(db, config, url, workers=workers, only=only)
    from pipeline.crawl.local import crawl_sources
    return crawl_sources(db, config, only=only)
