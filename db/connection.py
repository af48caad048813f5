"""Open the SQLite database: WAL mode, migrations applied."""
import contextlib
import fcntl
import pathlib

import sqlite_utils

from db.migrations import migrate, pending

DEFAULT_DB = "db/incidentwire.db"


def open_db(path=DEFAULT_DB, migrate_schema=True):
    """Return a sqlite_utils.Database at `path`, created and migrated if needed."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA busy_timeout = 30000")
    if migrate_schema and pending(db):
        # Two processes opening a new database at once must not both create the schema.
        with _exclusive(path):
            db.enable_wal()
            migrate(db)
    elif db.journal_mode != "wal":
        with _exclusive(path):
            db.enable_wal()
    db.conn.execute("PRAGMA foreign_keys = OFF")
    return db


@contextlib.contextmanager
def _exclusive(path):
    """An advisory lock beside the database, held while the schema changes."""
    try:
        f = open(f"{path}.migrate-lock", "a")
    except OSError:  # a read-only folder: no one can change the schema there, so no race
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
