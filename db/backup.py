"""`incidentwire backup PATH`: a consistent copy of the live database, checked before it is kept.

SQLite's online backup API copies every page inside one read transaction. In WAL mode that
transaction sees one committed snapshot and blocks neither the writer nor Datasette, so the
copy is consistent however busy the database is. The copy is written beside PATH, checked
with PRAGMA integrity_check and only then renamed into place: a failed backup never
replaces a good one.
"""
import datetime
import os
import pathlib
import sqlite3
import time


class BackupError(Exception):
    """One sentence naming the file and what went wrong."""


def backup_target(db_path, path):
    """PATH itself, or a timestamped file inside PATH when it is a folder."""
    path = pathlib.Path(path)
    if path.is_dir():
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = path / f"{pathlib.Path(db_path).stem}-{stamp}.db"
    return path


def backup_database(db_path, path):
    """Copy `db_path` to `path` consistently; return a summary dict or raise BackupError."""
    source_path = pathlib.Path(db_path)
    if not source_path.is_file():
        raise BackupError(f"{db_path}: no such database; pass --db FILE")
    target = backup_target(db_path, path)
    if target.resolve() == source_path.resolve():
        raise BackupError(f"{target} is the database itself; back up to another path")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder for the backup")
    partial = target.with_name(target.name + ".partial")
    started = time.monotonic()
    try:
        partial.unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: one step, one snapshot. Stepwise copies restart whenever the writer
            # commits and could chase a busy database forever.
            src.backup(dst, pages=-1)
            # A backup is one self-contained file: no -wal/-shm beside it.
            dst.execute("PRAGMA journal_mode = DELETE")
            check = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backing up {db_path} to {target} failed: {e}")
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"could not write the backup {target}: {e.strerror or e}")
    if check != ["ok"]:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy of {db_path} failed PRAGMA integrity_check ({check[0]}); "
                          f"{target} was not written")
    os.replace(partial, target)
    return {"path": str(target), "bytes": target.stat().st_size, "pages": pages,
            "integrity_check": "ok", "seconds": round(time.monotonic() - started, 3)}
