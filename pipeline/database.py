"""Open the SQLite database: WAL mode, migrations applied."""
import pathlib

import sqlite_utils

from db.migrations import migrate

DEFAULT_DB = "db/incidentwire.db"


def open_db(path=DEFAULT_DB, migrate_schema=True):
    """Return a sqlite_utils.Database at `path`, created and migrated if needed."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    db.conn.execute("PRAGMA foreign_keys = OFF")
    if migrate_schema:
        migrate(db)
    return db
