"""The run log: a run whose process was killed outright is closed as "interrupted" by the next run
and by `status`; runs of live processes, of other hosts and from before owners were recorded stay."""
import json
import os
import signal
import socket
import subprocess
import sys

from click.testing import CliRunner

from pipeline.cli import cli
from db.connection import open_db
from db.runs import close_dead_runs, process_started, start_run

# Starts a run, prints its id, then waits to be killed.
STARTER = ("import sys, time; from db.connection import open_db; from db.runs import start_run; "
           "print(start_run(open_db(sys.argv[1]), 'crawl'), flush=True); time.sleep(60)")


def killed_run(db_path):
    """The id of a run whose process was SIGKILLed after starting it."""
    proc = subprocess.Popen([sys.executable, "-c", STARTER, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return run_id


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_next_run_closes_a_run_whose_process_was_killed(tmp_path):
    db = open_db(tmp_path / "iw.db")
    old = killed_run(tmp_path / "iw.db")
    assert db["runs"].get(old)["status"] == "running"
    new = start_run(db, "process")
    row = db["runs"].get(old)
    assert row["status"] == "interrupted" and row["finished"]
    assert "ended before the run finished" in json.loads(row["errors"])[0]
    row = db["runs"].get(new)
    assert (row["status"], row["pid"], row["host"]) == ("running", os.getpid(), socket.gethostname())


def test_status_closes_a_run_whose_process_was_killed(tmp_path):
    old = killed_run(tmp_path / "iw.db")
    result = CliRunner().invoke(cli, ["status", "--db", str(tmp_path / "iw.db")])
    assert result.exit_code == 0, result.output
    assert f"last run: #{old} crawl" in result.output and "[interrupted]" in result.output


def test_only_this_hosts_dead_or_replaced_processes_are_closed(tmp_path):
    db = open_db(tmp_path / "iw.db")
    me, host = os.getpid(), socket.gethostname()
    rows = {
        "alive": {"host": host, "pid": me, "pid_started": process_started(me)},
        "other host": {"host": "elsewhere.example", "pid": dead_pid()},  # a pid means nothing there
        "no owner": {},  # written before owners were recorded: cannot be judged
        "dead": {"host": host, "pid": dead_pid()},
    }
    if process_started(me):  # Linux: a live pid that now belongs to another process
        rows["pid reused"] = {"host": host, "pid": me, "pid_started": "another-boot:1"}
    ids = {name: db["runs"].insert({"command": name, "status": "running", **row}).last_pk
           for name, row in rows.items()}
    assert sorted(close_dead_runs(db)) == sorted(ids[n] for n in ("dead", "pid reused") if n in ids)
    status = {name: db["runs"].get(i)["status"] for name, i in ids.items()}
    assert status.pop("alive") == status.pop("other host") == status.pop("no owner") == "running"
    assert set(status.values()) == {"interrupted"}
