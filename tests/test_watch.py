"""`incidentwire watch`: the schedule, the lock, graceful SIGTERM and the run log."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.ops.watch import WatchError, acquire_lock, lock_path, parse_every, release_lock

CLI = [sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')"]

# watch() with the pipeline run replaced by a tiny child: the scheduler is tested on its own.
FAKE_WATCH = textwrap.dedent("""
    import sys, pipeline.ops.watch as w
    child = sys.argv[4]
    w.child_command = lambda db, config, week=None: [sys.executable, "-c", child]
    sys.exit(w.watch(sys.argv[1], sys.argv[2], every=sys.argv[3], once=sys.argv[5] == "once"))
""")


def fake_watch(db_path, every, child, once=False):
    return subprocess.Popen([sys.executable, "-c", FAKE_WATCH, str(db_path), "sources.toml", every,
                             child, "once" if once else "loop"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def watch_rows(db_path):
    # Plain read-only sqlite: the test must not race the scheduler's first migration.
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from runs where command = 'watch' order by id")]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


def test_parse_every():
    assert parse_every("1h") == 3600
    assert parse_every("90s") == 90
    assert parse_every("1h30m") == 5400
    assert parse_every("1d") == 86400
    for bad in ["", "h", "1x", "-1h", "0m", "soon"]:
        with pytest.raises(WatchError):
            parse_every(bad)


def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    db_path = tmp_path / "iw.db"
    handle = acquire_lock(db_path)
    try:
        with pytest.raises(WatchError) as e:
            acquire_lock(db_path)
        assert str(lock_path(db_path)) in str(e.value) and f"PID {os.getpid()}" in str(e.value)
    finally:
        release_lock(handle)
    release_lock(acquire_lock(db_path))  # released: it can be taken again


def test_second_watch_refuses_to_start(tmp_path):
    db_path = tmp_path / "iw.db"
    first = fake_watch(db_path, "1h", "import time; print('{}'); time.sleep(30)")
    try:
        assert wait_for(lambda: lock_path(db_path).exists() and lock_path(db_path).read_text().strip())
        (tmp_path / "sources.toml").write_text("")
        out = subprocess.run(CLI + ["watch", "--once", "--db", str(db_path),
                                    "--config", str(tmp_path / "sources.toml")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1
        message = out.stderr.strip()
        assert "\n" not in message
        assert str(lock_path(db_path)) in message and f"PID {first.pid}" in message
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)


def test_sigterm_while_sleeping_exits_cleanly_and_frees_the_lock(tmp_path):
    db_path = tmp_path / "iw.db"
    proc = fake_watch(db_path, "1h", "print(json.dumps({'crawl': {'inserted': 3}, 'seconds': {'crawl': 0.1}}))"
                      .replace("print(", "import json; print("))
    assert wait_for(lambda: len(watch_rows(db_path)) == 1 and watch_rows(db_path)[0]["finished"])
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped by signal" in err
    row = watch_rows(db_path)[0]
    assert row["status"] == "ok"
    counts = json.loads(row["counts"])
    assert counts["crawl"] == {"inserted": 3} and counts["seconds"] == {"crawl": 0.1}
    assert "seconds_total" in counts and counts["sources"]["enabled"] == 0
    release_lock(acquire_lock(db_path))


def test_sigterm_during_a_run_stops_the_run_and_logs_it(tmp_path):
    db_path = tmp_path / "iw.db"
    marker = tmp_path / "child-started"
    child = (f"import pathlib, signal, sys, time; pathlib.Path({str(marker)!r}).touch(); "
             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(3)); time.sleep(60)")
    proc = fake_watch(db_path, "1h", child)
    assert wait_for(marker.exists)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    [row] = watch_rows(db_path)
    assert row["status"] == "stopped" and "status 3" in row["errors"]


def test_every_schedules_repeated_runs_and_failures_are_logged(tmp_path):
    db_path = tmp_path / "iw.db"
    proc = fake_watch(db_path, "1s", "import sys; print('boom: bad thing', file=sys.stderr); sys.exit(2)")
    try:
        assert wait_for(lambda: len([r for r in watch_rows(db_path) if r["finished"]]) >= 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    rows = [r for r in watch_rows(db_path) if r["finished"]]
    assert all(r["status"] == "error" for r in rows)
    assert "boom: bad thing" in rows[0]["errors"]


def test_once_exit_status_follows_the_run(tmp_path):
    db_path = tmp_path / "iw.db"
    ok = fake_watch(db_path, "1h", "print('{}')", once=True)
    assert ok.wait(timeout=60) == 0
    bad = fake_watch(db_path, "1h", "raise SystemExit(1)", once=True)
    assert bad.wait(timeout=60) == 1
    assert [r["status"] for r in watch_rows(db_path)] == ["ok", "error"]


def test_the_run_inherits_the_lock(tmp_path):
    """A run orphaned by a killed scheduler still holds the lock: no second writer sneaks in."""
    db_path = tmp_path / "iw.db"
    marker = tmp_path / "child-started"
    child = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(4)"
    proc = fake_watch(db_path, "1h", child)
    assert wait_for(marker.exists)
    proc.kill()
    proc.wait()
    with pytest.raises(WatchError):
        acquire_lock(db_path)
    assert wait_for(lambda: _try_lock(db_path), timeout=30)


def _try_lock(db_path):
    try:
        release_lock(acquire_lock(db_path))
        return True
    except WatchError:
        return False


def test_watch_once_runs_the_real_pipeline_and_logs_stages(tmp_path):
    """The real thing over the loopback demo mirror: per-stage counts, seconds and source health."""
    import pathlib
    import tomllib

    from pipeline.ops.loopback import LoopbackServer

    root = pathlib.Path(__file__).resolve().parent.parent
    demo = tomllib.loads((root / "demo" / "sources.toml").read_text(encoding="utf-8"))
    keep = [s for s in demo["source"] if s["name"] in ("venturebeat-ai", "business-of-tech", "mistral-news")]
    with LoopbackServer(root / "demo" / "site") as server:
        lines = ["[settings]", "allow_private = true"]
        for src in keep:
            lines.append("[[source]]")
            lines += [f"{k} = {json.dumps(v.replace('{base}', server.url) if isinstance(v, str) else v)}"
                      for k, v in src.items()]
        (tmp_path / "sources.toml").write_text("\n".join(lines) + "\n")
        db_path = tmp_path / "iw.db"
        out = subprocess.run(CLI + ["watch", "--once", "--db", str(db_path), "--config", str(tmp_path / "sources.toml"),
                                    "--week", "2025-W21"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    [row] = watch_rows(db_path)
    assert row["status"] == "ok" and json.loads(row["errors"]) == []
    counts = json.loads(row["counts"])
    assert counts["crawl"]["inserted"] > 0 and set(counts["crawl"]["sources"]) == {s["name"] for s in keep}
    assert counts["process"]["embedded"] > 0
    assert counts["digests"][0]["week"] == "2025-W21"
    assert set(counts["seconds"]) == {"crawl", "process", "digest"} and counts["seconds_total"] > 0
    assert counts["sources"] == {"enabled": 3, "ok": 3, "failing": {}}
    assert not lock_path(db_path).read_text().strip(), "the lock file is emptied on exit"
    status = subprocess.run(CLI + ["status", "--db", str(db_path)], capture_output=True, text=True)
    assert status.returncode == 0 and "last run" in status.stdout
