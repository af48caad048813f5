"""`incidentwire watch`: run the pipeline on a schedule, one instance per database.

Each run is a child process (`incidentwire run`): memory cannot creep over months, the crawl
engine starts fresh, and a crashed run cannot take the scheduler down with it. A lock file
next to the database (fcntl.flock) keeps a second scheduler out; the child inherits the
locked descriptor, so an orphaned run still holds the lock until it ends.
"""
import datetime
import fcntl
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

from db.runs import finish_run, now, start_run

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
GRACE_SECONDS = 60  # how long a stopping run may take before it is killed


class WatchError(Exception):
    """A problem a person must fix; the message is one sentence."""


def lock_path(db_path):
    """The lock file that guards `db_path`: beside it, named after it."""
    return pathlib.Path(f"{db_path}.lock")


def parse_every(text):
    """'90s', '30m', '1h', '1d' or '1h30m' -> seconds."""
    compact = re.sub(r"\s", "", text.lower())
    if not re.fullmatch(r"(\d+(\.\d+)?[smhd])+", compact):
        raise WatchError(f"--every {text!r} is not a duration like 90s, 30m, 1h or 1d")
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", compact)
    seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise WatchError(f"--every {text!r} must be longer than zero")
    return seconds


def acquire_lock(db_path):
    """Lock the database for this scheduler; return the open lock file or raise WatchError."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise WatchError(f"{path} is locked by PID {holder}: another `incidentwire watch` is already "
                         f"running on {db_path}; stop it first (kill {holder}) or wait for it to exit")
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def release_lock(handle):
    """Drop the lock; the file stays (deleting it would race with a starting instance)."""
    handle.seek(0)
    handle.truncate()
    handle.flush()
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()


def source_health(db):
    """Per-source health for the run log: which sources are failing and since how many runs."""
    failing = {}
    total = 0
    for s in db.query("select name, consecutive_failures, last_error from sources where enabled"):
        total += 1
        if s["consecutive_failures"]:
            failing[s["name"]] = {"failures": s["consecutive_failures"],
                                  "last_error": (s["last_error"] or "")[:200]}
    return {"enabled": total, "ok": total - len(failing), "failing": failing}


def child_command(db_path, config_path, week=None):
    """The argv of one pipeline run: the same code path as `incidentwire run`."""
    # SIGTERM becomes SystemExit in the run: open transactions roll back on the way out.
    code = ("import signal, sys; signal.signal(signal.SIGTERM, lambda *a: sys.exit(143)); "
            "from pipeline.cli import cli; cli(prog_name='incidentwire')")
    argv = [sys.executable, "-c", code, "run", "--db", str(db_path), "--config", str(config_path)]
    if week:  # default: the child's own current week, so a months-long watch moves on
        argv += ["--week", week]
    return argv


def signal_group(child, signum):
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:  # already gone
        pass


def last_line(text, limit=None):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def run_once(db, db_path, config_path, lock_handle, stop, week=None, log=print):
    """One scheduled run in a child process, recorded as a `watch` row in `runs`; return the row."""
    run_id = start_run(db, "watch")
    started = time.monotonic()
    argv = child_command(db_path, config_path, week)
    errors, result, status = [], {}, None
    try:
        # Its own process group: a stop reaches the run and the crawl process it starts.
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 pass_fds=(lock_handle.fileno(),), start_new_session=True)
    except OSError as e:
        child, errors = None, [f"could not start a run: {e}"]
    if child is not None:
        outputs = {}
        readers = [threading.Thread(target=lambda k, f: outputs.__setitem__(k, f.read()),
                                    args=(k, f), daemon=True)
                   for k, f in (("out", child.stdout), ("err", child.stderr))]
        for t in readers:
            t.start()
        stopping_since = None
        while child.poll() is None:
            if stop.is_set() and stopping_since is None:
                stopping_since = time.monotonic()
                signal_group(child, signal.SIGTERM)  # Scrapy stops the crawl cleanly on SIGTERM
            if stopping_since and time.monotonic() - stopping_since > GRACE_SECONDS:
                signal_group(child, signal.SIGKILL)  # every stage is idempotent: nothing is lost
            time.sleep(0.2)
        for t in readers:
            t.join(timeout=5)
        stderr = outputs.get("err", "")
        if stderr:
            sys.stderr.write(stderr)
        try:
            result = json.loads(last_line(outputs.get("out", "")) or "{}")
        except ValueError:
            result = {}
        if child.returncode != 0:
            why = last_line(stderr, 500) or f"exit status {child.returncode}"
            errors.append(f"run exited with status {child.returncode}: {why}")
        if stop.is_set():
            status = "stopped"
    counts = dict(result) if isinstance(result, dict) else {"result": result}
    counts["seconds_total"] = round(time.monotonic() - started, 3)
    try:
        counts["sources"] = source_health(db)
    except Exception as e:  # health is a report; it must never fail the run log
        counts["sources"] = {"error": str(e)}
    finish_run(db, run_id, counts, errors, status=status)
    log(json.dumps({"run": run_id, "status": status or ("error" if errors else "ok"),
                    "seconds": counts["seconds_total"], "errors": errors}, sort_keys=True))
    return db["runs"].get(run_id)


def watch(db_path, config_path, every="1h", once=False, week=None, log=print, send=False):
    """Run the pipeline now and then every `every` until SIGTERM/SIGINT; return an exit status.

    With `send`, each run that did not fail is followed by pipeline.outbound.scheduled.mail_after_run."""
    from db.connection import open_db

    interval = parse_every(every)
    lock = acquire_lock(db_path)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    failures = 0
    try:
        db = open_db(db_path)
        while not stop.is_set():
            next_at = time.monotonic() + interval
            row = run_once(db, db_path, config_path, lock, stop, week=week, log=log)
            failures = failures + 1 if row["status"] == "error" else 0
            if send and row["status"] == "ok":
                from pipeline.outbound.scheduled import mail_after_run
                log(json.dumps({"mail": mail_after_run(db, config_path, week=week)}, sort_keys=True))
            if once or stop.is_set():
                break
            wake = datetime.datetime.now() + datetime.timedelta(seconds=max(0, next_at - time.monotonic()))
            print(f"next run at {wake:%Y-%m-%d %H:%M:%S}", file=sys.stderr)
            stop.wait(max(0.0, next_at - time.monotonic()))
        db.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        release_lock(lock)
    if stop.is_set():
        print(f"{now()} watch stopped by signal", file=sys.stderr)
        return 0
    return 1 if failures else 0
