"""`incidentwire backup`: a consistent, checked copy while a writer and readers run."""
import json
import sqlite3
import subprocess
import sys
import threading
import time

from db.backup import BackupError, backup_database
from db.connection import open_db

CLI = [sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')"]


def make_db(path, n=200):
    db = open_db(path)
    db["runs"].insert_all({"command": "seed", "started": "2025-05-22T00:00:00+00:00", "status": "ok",
                           "counts": json.dumps({"i": i}), "errors": "[]"} for i in range(n))
    db.close()


def writer(path, stop, batches):
    """Commit batches of 20 `runs` rows plus one `skips` row that counts them: an invariant."""
    conn = sqlite3.connect(path, timeout=30)
    while not stop.is_set():
        with conn:
            for i in range(20):
                conn.execute("insert into runs (command, started, status, counts, errors) "
                             "values ('w', '2025-05-22', 'ok', ?, '[]')", (json.dumps({"pad": "x" * 500}),))
            conn.execute("insert into skips (run_id, source, url, reason, at) values (0, 'w', '', 'batch', '')")
        batches.append(1)
    conn.close()


def reader(path, stop, errors, reads):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    while not stop.is_set():
        try:
            conn.execute("select count(*) from runs").fetchone()
            reads.append(1)
        except sqlite3.Error as e:
            errors.append(str(e))
    conn.close()


def test_backup_is_consistent_while_writer_and_readers_run(tmp_path):
    db_path = tmp_path / "live.db"
    make_db(db_path)
    stop, batches, errors, reads = threading.Event(), [], [], []
    threads = [threading.Thread(target=writer, args=(db_path, stop, batches))]
    threads += [threading.Thread(target=reader, args=(db_path, stop, errors, reads)) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        while len(batches) < 5:
            time.sleep(0.01)
        results = []
        for i in range(3):
            out = subprocess.run(CLI + ["backup", "--db", str(db_path), str(tmp_path / f"copy{i}.db")],
                                 capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
            results.append(json.loads(out.stdout))
        batches_during = len(batches)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert batches_during > 5, "the writer kept committing during the backups"
    for result in results:
        assert result["integrity_check"] == "ok"
        copy = sqlite3.connect(result["path"])
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        writes = copy.execute("select count(*) from runs where command = 'w'").fetchone()[0]
        batch_rows = copy.execute("select count(*) from skips").fetchone()[0]
        assert writes == 20 * batch_rows, "a backup caught a half-committed batch"
        assert copy.execute("select count(*) from runs where command = 'seed'").fetchone()[0] == 200
        assert copy.execute("select count(*) from _sqlite_migrations").fetchone()[0] >= 1
        copy.close()
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_folder_names_a_timestamped_file(tmp_path):
    make_db(tmp_path / "live.db", n=3)
    (tmp_path / "backups").mkdir()
    result = backup_database(tmp_path / "live.db", tmp_path / "backups")
    assert result["path"].startswith(str(tmp_path / "backups" / "live-"))
    assert sqlite3.connect(result["path"]).execute("select count(*) from runs").fetchone()[0] == 3


def test_backup_errors_are_one_line_and_name_the_input(tmp_path):
    out = subprocess.run(CLI + ["backup", "--db", str(tmp_path / "missing.db"), str(tmp_path / "x.db")],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "missing.db" in out.stderr
    make_db(tmp_path / "live.db", n=1)
    out = subprocess.run(CLI + ["backup", "--db", str(tmp_path / "live.db"), str(tmp_path / "no" / "x.db")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and str(tmp_path / "no") in out.stderr and "Traceback" not in out.stderr
    try:
        backup_database(tmp_path / "live.db", tmp_path / "live.db")
    except BackupError as e:
        assert "database itself" in str(e)
    else:
        raise AssertionError("backing up onto the database itself must fail")
