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

The Redis side (scheduler, item queue, keys) is `pipeline.crawl.redis_queue`.
"""
import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid

from pipeline.crawl.redis_queue import (CURRENT, ScaleoutError, connect, delete_crawl_keys, items_key,
                                        push_control, worker_settings)


def redis_url_for(config, override=None):
    """The Redis URL that switches scale-out on, or None: flag, then env, then sources.toml."""
    return (override or os.environ.get("INCIDENTWIRE_REDIS_URL")
            or (config.get("settings") or {}).get("redis_url") or None)


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


HEALTH = ("etag", "last_modified", "last_crawled", "consecutive_failures", "last_error", "pages_failed")


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
        row = {"last_crawled": max(s["last_crawled"] or "" for s in seen) or old["last_crawled"],
               "pages_failed": sum(s.get("pages_failed") or 0 for s in seen)}
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
    from db.runs import finish_run, start_run
    from pipeline.config import sync_sources

    client = connect(url)
    own_run = run_id is None
    if own_run:
        run_id = start_run(db, "crawl")
    rows = sync_sources(db, config)
    before = {name: {k: row.get(k) for k in HEALTH} for name, row in rows.items()}
    if workers is None:
        workers = int(config["settings"].get("redis_workers", 2))
    tag = new_crawl(client)
    watch = WorkerWatch([f"{os.uname().nodename}:local-{i + 1}" for i in range(workers)], remote_wait)
    job = {"db_path": db.conn.execute("PRAGMA database_list").fetchone()[2], "config": config, "url": url,
           "tag": tag, "only": list(only or []), "settings_overrides": settings_overrides}
    try:
        with local_workers(job, watch.local_ids) as procs:
            watch.procs = procs
            by_source, _, reports = drain_items(db, client, tag, run_id, watch.done, relevance_by_source(config))
    finally:
        delete_crawl_keys(client, tag)
    errors = watch.errors + [f"crawl worker exited with status {p.returncode}" for p in watch.procs if p.returncode]
    lost_worker = bool(errors) or any(r.get("errors") for r in reports)
    merge_health(db, before, [r.get("sources") or {} for r in reports], keep_validators=lost_worker)
    counts = tally(reports, by_source)
    errors += [e for r in reports for e in r.get("errors") or []]
    if own_run:
        finish_run(db, run_id, counts=counts, errors=errors)
    if errors:
        counts["errors"] = errors
    return counts


def new_crawl(client):
    """A fresh crawl's tag, published for workers that join.

    One writer per Redis database: whatever a killed writer left behind is stale. Its items
    are not lost: their pages were never marked seen here, so this crawl fetches them again.
    """
    delete_crawl_keys(client, "*")
    tag = uuid.uuid4().hex[:12]
    client.set(CURRENT, tag, ex=86400)
    return tag


@contextlib.contextmanager
def local_workers(job, worker_ids):
    """Start one local worker process per id on `job` (as a job file); yield the processes, and
    kill any still running on the way out."""
    procs = []
    with tempfile.TemporaryDirectory(prefix="incidentwire-writer-") as tmp:
        job_file = pathlib.Path(tmp, "worker.json")
        job_file.write_text(json.dumps(job, default=str), encoding="utf-8")
        try:
            for worker_id in worker_ids:
                procs.append(subprocess.Popen(worker_command(job_file, worker_id)))
            yield procs
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


class WorkerWatch:
    """When the writer may stop draining: `done(seen, idle)`, with the workers it gave up on in `errors`."""

    def __init__(self, local_ids, remote_wait):
        self.local_ids, self.remote_wait = local_ids, remote_wait
        self.procs, self.errors = [], []

    def done(self, seen, idle):
        """True when local workers have exited and every worker that joined has finished.

        Remote workers get `remote_wait` seconds of silence before they count as lost (and
        before the writer gives up waiting for any to join, with --workers 0).
        """
        if any(p.poll() is None for p in self.procs):
            return False
        if not seen and not self.procs:
            return idle > self.remote_wait  # --workers 0: the crawl is all remote workers
        # A local worker that died never says "finished": its exit status is reported instead.
        running = [w for w, event in seen.items() if event != "finished" and w not in self.local_ids]
        if running and idle <= self.remote_wait:
            return False
        if running:
            self.errors.append(f"crawl workers {', '.join(running)} sent nothing for {self.remote_wait}s: given up")
        return True


def tally(reports, by_source):
    """The crawl's counts: fetches from the workers' reports, store outcomes from the writer."""
    from pipeline.crawl.plan import COUNT_KEYS

    per_source = {}
    for report in reports:
        for name, c in (report.get("counts") or {}).items():
            row = per_source.setdefault(name, dict.fromkeys(COUNT_KEYS, 0))
            for key in ("fetched", "not_modified", "refused", "summary_only", "pages_failed"):
                row[key] += c.get(key, 0)
    for name, c in by_source.items():
        row = per_source.setdefault(name, dict.fromkeys(COUNT_KEYS, 0))
        for key, n in c.items():
            row[key] = row.get(key, 0) + n
    counts = {"sources": per_source, "workers": len(reports),
              "per_worker": [{"worker": r["worker"],
                              "fetched": sum(c.get("fetched", 0) for c in (r.get("counts") or {}).values())}
                             for r in reports]}
    for key in COUNT_KEYS:
        counts[key] = sum(c.get(key, 0) for c in per_source.values())
    return counts


def crawl_configured(db, config, only=None, redis_url=None, workers=None):
    """Crawl on this machine, or through Redis when a Redis URL is set (flag, env or sources.toml)."""
    url = redis_url_for(config, redis_url)
    if url:
        return crawl_with_redis(db, config, url, workers=workers, only=only)
    from pipeline.crawl.local import crawl_sources
    return crawl_sources(db, config, only=only)
