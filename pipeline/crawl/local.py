"""Run the spiders for the configured sources and store what they yield.

Scrapy runs in a child process: a Twisted reactor cannot be restarted, and the CLI, the demo
and the tests call `crawl_sources` more than once per Python process. The child saves each
item through `pipeline.store.documents.save_item` as the item_scraped signal delivers it, so a crawl
that is killed keeps everything saved up to that moment.
"""
import collections
import ctypes
import json
import logging
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

from pipeline.config import sync_sources
from db.runs import finish_run, now, start_run
from pipeline.paths import CODE_ROOT

log = logging.getLogger(__name__)

COUNT_KEYS = ("fetched", "not_modified", "inserted", "updated", "unchanged", "skipped", "offtopic", "refused")


def _db_path(db):
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        raise ValueError("crawl_sources needs a database file, not an in-memory database")
    return path


def _known_documents(db, source_id):
    """Canonical URL -> stored HTTP validators, for every document of a source."""
    known = {}
    for url, extra in db.conn.execute("select canonical_url, extra from documents where source_id = ?", [source_id]):
        try:
            data = json.loads(extra or "{}")
        except ValueError:
            data = {}
        known[url] = {"etag": data.get("http_etag"), "last_modified": data.get("http_last_modified")}
    return known


SOCIAL_KINDS = {"mastodon", "bluesky", "hn", "reddit", "lobsters"}


def default_relevance_min(kind, settings):
    """The cut-off for a source that sets none. Social sources are searches or tags, so the query
    already chose the topic, and a post is too short to score well: they get a lower default."""
    if kind in SOCIAL_KINDS:
        return settings.get("social_relevance_min", 0.1)
    return settings.get("relevance_min")


def plan_jobs(db, config, only=None):
    """(jobs, errors): one job per enabled (or named) source with its crawl state."""
    rows = sync_sources(db, config)
    by_name = {s["name"]: s for s in config["sources"]}
    errors = [f"unknown source {name!r} (not in {config.get('path', 'the config')})"
              for name in (only or []) if name not in by_name]
    jobs = []
    for name, src in by_name.items():
        if only and name not in only:
            continue
        if not only and not src.get("enabled", True):
            continue
        row = rows[name]
        source = {**src, "max_response_bytes": config["settings"].get("max_response_bytes")}
        if source.get("relevance_min") is None:
            source["relevance_min"] = default_relevance_min(source["kind"], config["settings"])
        jobs.append({
            "source": source,
            "state": {"etag": row.get("etag"), "last_modified": row.get("last_modified")},
            "known": _known_documents(db, row["id"]),
        })
    return jobs, errors


def crawl_sources(db, config, only=None, run_id=None, settings_overrides=None):
    """Crawl enabled sources (or those named in `only`); return counts (totals and per source)."""
    own_run = run_id is None
    if own_run:
        run_id = start_run(db, "crawl")
    jobs, errors = plan_jobs(db, config, only)
    counts = {"sources": {}}
    if jobs:
        from spiders.settings import crawl_settings
        settings = crawl_settings(config["settings"], settings_overrides)
        try:
            result = _run_child(_db_path(db), jobs, settings, run_id)
        except BaseException as e:  # interrupted: what was saved stays; the run says so
            if own_run:
                finish_run(db, run_id, errors=errors + [f"crawl interrupted ({type(e).__name__})"],
                           status="interrupted")
            raise
        counts["sources"] = result.get("counts", {})
        errors.extend(result.get("errors", []))
    for key in COUNT_KEYS:
        counts[key] = sum(c.get(key, 0) for c in counts["sources"].values())
    if own_run:
        finish_run(db, run_id, counts=counts, errors=errors)
    if errors:
        counts["errors"] = errors
    return counts


def _run_child(db_path, jobs, settings, run_id):
    """Run the spiders in a fresh interpreter (a spawned `python -c`, so no __main__ guard is needed)."""
    root = str(CODE_ROOT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="incidentwire-crawl-") as tmp:
        job_file, result_file = pathlib.Path(tmp, "job.json"), pathlib.Path(tmp, "result.json")
        job_file.write_text(json.dumps({"db_path": db_path, "jobs": jobs, "settings": settings,
                                        "run_id": run_id, "parent_pid": os.getpid()}, default=str))
        proc = subprocess.run([sys.executable, "-c", "from pipeline.crawl.local import child_main; child_main()",
                               str(job_file), str(result_file)], env=env)
        if result_file.exists():
            return json.loads(result_file.read_text())
    return {"counts": {}, "errors": [f"crawl process ended without a report (exit code {proc.returncode})"]}


def child_main():
    """Entry point of the crawl process: argv = job file, result file."""
    job_file, result_file = sys.argv[1], sys.argv[2]
    job = json.loads(pathlib.Path(job_file).read_text())
    die_with_parent(job["parent_pid"])
    try:
        result = run_spiders(job["db_path"], job["jobs"], job["settings"], job["run_id"])
    except Exception as e:  # report the failure to the parent rather than dying silently
        traceback.print_exc(file=sys.stderr)
        result = {"counts": {}, "errors": [f"crawl failed: {type(e).__name__}: {e}"]}
    pathlib.Path(result_file).write_text(json.dumps(result))


def die_with_parent(parent_pid):
    """End this process when `parent_pid` dies: a crawl whose parent was killed has no one to report to.

    Linux: the kernel sends SIGKILL (PR_SET_PDEATHSIG). Elsewhere a thread watches for the
    re-parenting. Items already saved stay saved; the next run closes the parent's run.
    """
    if not _set_pdeathsig(signal.SIGKILL):
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)


def _set_pdeathsig(sig):
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(sig), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid, interval=0.5):
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)


def run_spiders(db_path, jobs, settings, run_id):
    """Run the jobs' spiders to completion in this process (once: the reactor cannot restart)."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from db.connection import open_db
    from pipeline.store.documents import save_item
    from spiders import spider_class

    db = open_db(db_path)
    counts = {job["source"]["name"]: dict.fromkeys(COUNT_KEYS, 0) for job in jobs}
    failed = {name: False for name in counts}
    errors = []
    storage_errors = []
    keep_alive = []
    process = CrawlerProcess({**settings, "LOG_INSTALL_ROOT_HANDLER": True})
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("twisted").addFilter(_drop_close_race)

    def attach(crawler, job):
        name = job["source"]["name"]
        cut = job["source"].get("relevance_min")

        def on_item(item, response, spider):
            if storage_errors:
                return
            if item.get("type") == "skip":
                if item.get("refused"):
                    counts[name]["refused"] += 1
                if item.get("fatal"):
                    failed[name] = True
            try:
                status = save_item(db, item, run_id=run_id, relevance_min=cut)
            except sqlite3.DatabaseError as e:
                # Disk full or read-only: every further item would fail the same way. Stop.
                storage_errors.append(f"database {db_path}: {e}")
                errors.append(storage_errors[0])
                process.stop()
                return
            if status in counts[name]:
                counts[name][status] += 1

        def on_response(response, request, spider):
            if response.status == 304:
                counts[name]["not_modified"] += 1
            elif response.status < 400 and not request.url.endswith("/robots.txt"):
                counts[name]["fetched"] += 1

        def on_error(failure, response, spider):
            failed[name] = failed[name] or bool(response.meta.get("entry"))
            counts[name]["skipped"] += 1
            save_item(db, {"type": "skip", "source": name, "url": response.url,
                           "reason": f"spider error: {type(failure.value).__name__}: {str(failure.value)[:200]}"},
                      run_id=run_id)

        def on_closed(spider, reason):
            if storage_errors:
                return  # the database cannot be written: nothing more to record
            if reason == "finished" and spider.new_state and not failed[name]:
                # Validators are saved last: a crawl killed half-way fetches the feed again next time.
                save_item(db, {"type": "source_state", "source": name, **spider.new_state}, run_id=run_id)
            problem = failed[name] or reason != "finished"
            failures = _failures(db, name) + 1 if problem else 0
            # Skips already wrote their reason to last_error; a clean run clears it.
            if reason != "finished":
                last_error = f"crawl ended early ({reason})"
            elif counts[name]["skipped"]:
                last_error = _last_error(db, name)
            else:
                last_error = None
            with db.conn:
                db.conn.execute("update sources set last_crawled = ?, consecutive_failures = ?, last_error = ? "
                                "where name = ?", [now(), failures, last_error, name])
            if reason != "finished":
                errors.append(f"{name}: crawl ended ({reason})")

        # Signal receivers are held weakly by Scrapy: keep these closures alive.
        keep_alive.extend([on_item, on_response, on_error, on_closed])
        crawler.signals.connect(on_item, signal=signals.item_scraped)
        crawler.signals.connect(on_response, signal=signals.response_received)
        crawler.signals.connect(on_error, signal=signals.spider_error)
        crawler.signals.connect(on_closed, signal=signals.spider_closed)

    hosts = collections.Counter(urllib.parse.urlsplit(job["source"]["url"]).hostname for job in jobs)
    _load_robots(db)
    for job in jobs:
        cls = spider_class(job["source"]["kind"])
        host = urllib.parse.urlsplit(job["source"]["url"]).hostname
        custom = _politeness(host, hosts[host], settings)
        if custom:
            cls = type(cls.__name__, (cls,), {"custom_settings": custom})
        crawler = process.create_crawler(cls)
        attach(crawler, job)
        process.crawl(crawler, source=job["source"], state=job["state"], known=job["known"])
    process.start()
    _save_robots(db)
    db.conn.close()
    return {"counts": counts, "errors": errors}


def _drop_close_race(record):
    """Hide Scrapy's known shutdown race (AlreadyCalledError while closing idle keep-alive
    connections, scrapy/scrapy#2653): harmless, but logged as CRITICAL."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (type(exc).__name__ == "AlreadyCalledError" or "AlreadyCalledError" in record.getMessage())


DEFAULT_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                   "Accept-Language": "en"}


def _politeness(host, sharing, settings):
    """Per-source Scrapy settings that differ from the shared ones (None when none do).

    Each source runs in its own crawler, so Scrapy's per-domain limits are per source: sources
    sharing a host split that host's budget. A loopback host is our own mirror (demo, tests,
    benches): no politeness delays there.
    """
    if host in ("localhost", "::1") or (host or "").startswith("127."):
        # "Connection: close" leaves no idle keep-alive sockets for Scrapy to reset at shutdown
        # (the reset shows up as tracebacks from the mirror's server).
        headers = {**settings.get("DEFAULT_REQUEST_HEADERS", DEFAULT_HEADERS), "Connection": "close"}
        return {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DEFAULT_REQUEST_HEADERS": headers}
    if sharing > 1:
        return {"CONCURRENT_REQUESTS_PER_DOMAIN": max(1, int(settings.get("CONCURRENT_REQUESTS_PER_DOMAIN", 2)) // sharing),
                "DOWNLOAD_DELAY": float(settings.get("DOWNLOAD_DELAY", 0)) * sharing}
    return None


def _load_robots(db):
    from spiders.middlewares import ROBOTS_CACHE
    ROBOTS_CACHE.clear()
    for netloc, etag, modified, body in db.conn.execute("select netloc, etag, last_modified, body from robots"):
        ROBOTS_CACHE[netloc] = {"etag": etag, "last_modified": modified, "body": body}


def _save_robots(db):
    from spiders.middlewares import ROBOTS_CACHE
    with db.conn:
        for netloc, entry in ROBOTS_CACHE.items():
            if entry.get("changed"):
                db.conn.execute("insert or replace into robots (netloc, etag, last_modified, body, fetched) "
                                "values (?, ?, ?, ?, ?)",
                                [netloc, entry["etag"], entry["last_modified"], entry["body"], now()])


def _last_error(db, name):
    row = db.conn.execute("select last_error from sources where name = ?", [name]).fetchone()
    return row[0] if row else None


def _failures(db, name):
    row = db.conn.execute("select consecutive_failures from sources where name = ?", [name]).fetchone()
    return (row[0] or 0) if row else 0
