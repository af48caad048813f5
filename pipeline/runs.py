"""The run log: one `runs` row per command, with stage counts and errors."""
import datetime
import json


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def start_run(db, command):
    """Record the start of a run; return its id."""
    return db["runs"].insert({"command": command, "started": now(), "status": "running",
                              "counts": "{}", "errors": "[]"}).last_pk


def finish_run(db, run_id, counts=None, errors=None, status=None):
    """Record the end of a run with its counts and errors."""
    errors = errors or []
    db["runs"].update(run_id, {
        "finished": now(),
        "status": status or ("error" if errors else "ok"),
        "counts": json.dumps(counts or {}, sort_keys=True),
        "errors": json.dumps(errors),
    })


def record_skip(db, run_id, source, url, reason):
    """A counted, logged skip: bad input never crashes a run and never vanishes."""
    db["skips"].insert({"run_id": run_id, "source": source, "url": url,
                        "reason": reason[:500], "at": now()})
