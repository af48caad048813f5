"""The run log: one `runs` row per command, with stage counts and errors.

Each run records the process that owns it (host, pid and that process's start marker). A run
whose process was killed outright (SIGKILL, OOM killer, power loss) never writes its end, so
the next run and `status` close it as "interrupted" once its process is gone.
"""
import datetime
import json
import os
import socket


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def start_run(db, command):
    """Record the start of a run; return its id. Runs left behind by dead processes are closed first."""
    close_dead_runs(db)
    pid = os.getpid()
    return db["runs"].insert({"command": command, "started": now(), "status": "running",
                              "counts": "{}", "errors": "[]", "host": socket.gethostname(),
                              "pid": pid, "pid_started": process_started(pid)}).last_pk


def finish_run(db, run_id, counts=None, errors=None, status=None):
    """Record the end of a run with its counts and errors."""
    errors = errors or []
    db["runs"].update(run_id, {
        "finished": now(),
        "status": status or ("error" if errors else "ok"),
        "counts": json.dumps(counts or {}, sort_keys=True),
        "errors": json.dumps(errors),
    })


def close_dead_runs(db):
    """Mark "interrupted" each run still "running" whose process on this host is gone; return their ids.

    Only this host's runs: a pid means nothing on another machine. Rows from before the owner
    was recorded (no pid) cannot be judged and are left alone.
    """
    host = socket.gethostname()
    rows = db.conn.execute("select id, pid, pid_started, errors from runs "
                           "where status = 'running' and host = ? and pid > 0", [host]).fetchall()
    dead = [row for row in rows if not process_alive(row[1], row[2])]
    with db.conn:
        for run_id, pid, _, errors in dead:
            errors = json.loads(errors or "[]") + [f"process {pid} on {host} ended before the run finished"]
            db.conn.execute("update runs set status = 'interrupted', finished = ?, errors = ? "
                            "where id = ? and status = 'running'", [now(), json.dumps(errors), run_id])
    return [row[0] for row in dead]


def process_alive(pid, started=None):
    """Whether `pid` on this host is still the process whose start marker was `started`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    stat = _proc_stat(pid)
    # Linux: a zombie has ended, and another start marker means the pid was reused.
    return stat is None or (stat[0] != "Z" and (started is None or stat[1] == started))


def process_started(pid):
    """A marker unique to this process across pid reuse and reboots (Linux); None elsewhere."""
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _proc_stat(pid):
    """(state, boot id + start time) from /proc, or None where there is no /proc entry."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the name before ")" may hold spaces
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except (OSError, IndexError):
        return None
    return fields[0], f"{boot}:{fields[19]}"


def record_skip(db, run_id, source, url, reason):
    """A counted, logged skip: bad input never crashes a run and never vanishes."""
    db["skips"].insert({"run_id": run_id, "source": source, "url": url,
                        "reason": reason[:500], "at": now()})
