"""Run the spiders for the configured sources and store what they yield.

Scrapy runs in a child process: a Twisted reactor cannot be restarted, and the CLI, the demo
and the tests call `crawl_sources` more than once per Python process. In the child, the item
pipeline `pipeline.crawl.recorder.Recorder` saves each item through the store as it comes, so a
crawl that is killed keeps everything saved up to that moment.
"""
import collections
import ctypes
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

from db.runs import finish_run, now, start_run
from pipeline.crawl.plan import COUNT_KEYS, database_file, plan_jobs
from pipeline.paths import CODE_ROOT

log = logging.getLogger(__name__)


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
            result = _run_child(database_file(db), jobs, settings, run_id)
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
    from scrapy.crawler import CrawlerProcess

    from db.connection import open_db
    from pipeline.crawl.recorder import Recording, with_recorder

    db = open_db(db_path)
    process = CrawlerProcess({**with_recorder(settings), "LOG_INSTALL_ROOT_HANDLER": True})
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("twisted").addFilter(_drop_close_race)
    _log_failures_in_one_line()
    recording = Recording(db, db_path, run_id, [job["source"]["name"] for job in jobs], process.stop)
    hosts = collections.Counter(urllib.parse.urlsplit(job["source"]["url"]).hostname for job in jobs)
    _load_robots(db)
    for job in jobs:
        _add_crawler(process, job, hosts, settings, recording)
    process.start()
    _save_robots(db)
    db.conn.close()
    return {"counts": recording.counts, "errors": recording.errors}


def _add_crawler(process, job, hosts, settings, recording):
    """One crawler for the job's source, with its politeness settings, recording into `recording`."""
    from spiders import spider_class

    cls = spider_class(job["source"]["kind"])
    host = urllib.parse.urlsplit(job["source"]["url"]).hostname
    custom = _politeness(host, hosts[host], settings)
    if custom:
        cls = type(cls.__name__, (cls,), {"custom_settings": custom})
    crawler = process.create_crawler(cls)
    recording.attach(crawler)
    process.crawl(crawler, source=job["source"], state=job["state"], known=job["known"])


def _log_failures_in_one_line():
    """Every Scrapy record made in this (crawl-only) process goes through _one_line: a filter on
    the root handler would be lost, as Scrapy installs a new handler for each crawler."""
    make = logging.getLogRecordFactory()

    def one_line_factory(*args, **kwargs):
        record = make(*args, **kwargs)
        _one_line(record)
        return record

    logging.setLogRecordFactory(one_line_factory)


def _one_line(record):
    """A failed request is one line with its error, not Scrapy's traceback (the run names the source too)."""
    if record.exc_info and record.exc_info[1] is not None and record.name.startswith("scrapy"):
        exc = record.exc_info[1]
        msg = record.getMessage()
        record.msg = f"{msg} ({type(exc).__name__})" if str(exc) in msg else f"{msg}: {type(exc).__name__}: {exc}"
        record.args = ()
        record.exc_info, record.exc_text = None, None
    return True


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
