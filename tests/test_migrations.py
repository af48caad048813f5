"""db.migrations: one sqlite-utils Migrations set; a database made by older code opens unchanged."""
import pathlib
import shutil
import sqlite3

import sqlite_utils

from db.connection import open_db
from db.migrations import LEGACY_TABLE, migrate, migrations, pending
from db.runs import finish_run, start_run
from pipeline.store.documents import save_item

# Made by the code at commit 6ae4f46 (before the stage folders), whose runner recorded `_migrations`.
OLD_DB = pathlib.Path(__file__).parent / "fixtures" / "db" / "incidentwire-6ae4f46.db"
KEPT_TABLES = ["documents", "stories", "quotes", "embeddings", "story_redirects", "sources",
               "document_versions", "entities", "document_entities", "runs", "skips", "story_centroids"]
NAMES = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
OLD_NAMES = NAMES[:NAMES.index("m108_story_centroids") + 1]  # what the fixture's old code had applied
NEWER_TABLES = {"deliveries"}  # made by the migrations added since (m121_deliveries)


def added_since(after_schema, schema):
    """The tables the newer migrations added, with their indexes: the one change an old database sees."""
    return {next((t for t in NEWER_TABLES if t in row[1]), row[1]) for row in after_schema - schema}


def snapshot(path):
    """Row counts and the schema, read with a plain connection that writes nothing."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0] for t in KEPT_TABLES}
        schema = {row for row in conn.execute("select type, name, sql from sqlite_master")
                  if migrations.migrations_table not in row[1]}  # the set's own table is the one addition
        legacy = list(conn.execute(f"select name, applied_at from [{LEGACY_TABLE}] order by rowid"))
    finally:
        conn.close()
    return counts, schema, legacy


def test_a_database_made_by_the_old_runner_opens_and_upgrades_unchanged(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(OLD_DB, path)
    counts, schema, legacy = snapshot(path)
    assert counts["documents"] and counts["stories"] and counts["quotes"] and counts["embeddings"]
    assert counts["story_redirects"]
    assert [name for name, _ in legacy] == OLD_NAMES  # the fixture was fully migrated by the old code

    db = open_db(path)
    assert pending(db) == []
    # the old records are adopted with their own times; nothing was re-run; newer ones ran
    applied = [(m.name, m.applied_at) for m in migrations.applied(db)]
    assert applied[:len(legacy)] == legacy and [n for n, _ in applied[len(legacy):]] == NAMES[len(OLD_NAMES):]
    db.close()
    after_counts, after_schema, after_legacy = snapshot(path)
    assert after_counts == counts
    assert after_schema >= schema and added_since(after_schema, schema) <= NEWER_TABLES  # nothing old changed
    assert after_legacy == legacy

    again = open_db(path)
    assert pending(again) == [] and migrate(again) == []
    assert again[migrations.migrations_table].count == len(NAMES)

    # the schema is the one the app writes and reads
    again["sources"].insert({"name": "lab", "kind": "feed", "url": "https://lab.example/feed"})
    run_id = start_run(again, "crawl")
    item = {"type": "document", "source": "lab", "url": "https://lab.example/2025/06/agent-deletes-db",
            "kind": "article", "title": "Coding agent deletes a production database",
            "published": "2025-06-02T09:00:00+00:00", "lang": "en", "guid": "lab-1",
            "text": "An AI coding agent deleted a production database during a code freeze, "
                    "then fabricated test results. The AI agent safety incident was reported by the company."}
    assert save_item(again, item, run_id=run_id, relevance_min=0) == "inserted"
    finish_run(again, run_id, counts={"inserted": 1})
    hits = again.execute("select rowid from documents_fts where documents_fts match 'fabricated'").fetchall()
    assert len(hits) == 1
    assert again.execute("select new_id from story_redirects where old_id = 's-old-id'").fetchone()[0] \
        == "s-claude-opus-4-ratting"
    assert again["documents"].count == counts["documents"] + 1


def test_a_new_database_records_every_migration_once_in_the_set(tmp_path):
    db = open_db(tmp_path / "new.db")
    assert LEGACY_TABLE not in db.table_names()
    rows = list(db[migrations.migrations_table].rows)
    assert [r["name"] for r in rows] == NAMES
    assert {r["migration_set"] for r in rows} == {"incidentwire"}
    assert migrate(db) == [] and pending(db) == []


def test_a_partly_migrated_old_database_gets_only_what_it_lacks(tmp_path):
    """The old runner stopped at m106: adoption keeps its three records, the set applies the rest."""
    path = tmp_path / "partial.db"
    shutil.copy(OLD_DB, path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("drop trigger story_centroids_doc_insert")
        conn.execute("drop trigger story_centroids_doc_delete")
        conn.execute("drop trigger story_centroids_doc_update")
        conn.execute("drop table story_centroids")
        conn.execute("alter table runs drop column pid_started")
        conn.execute("alter table runs drop column pid")
        conn.execute("alter table runs drop column host")
        conn.execute(f"delete from [{LEGACY_TABLE}] where name in ('m107_runs_owner', 'm108_story_centroids')")
    conn.close()
    db = open_db(path, migrate_schema=False)
    assert pending(db) == NAMES
    newer = NAMES[NAMES.index("m108_story_centroids") + 1:]  # added since the old database was made
    assert migrate(db) == ["m107_runs_owner", "m108_story_centroids", *newer]
    assert {"host", "pid", "pid_started"} <= set(db["runs"].columns_dict)
    assert "story_centroids" in db.table_names()
    assert [m.name for m in migrations.applied(db)] == NAMES


def test_sqlite_utils_migrate_on_an_old_database_adopts_and_reruns_nothing(tmp_path):
    from click.testing import CliRunner
    from sqlite_utils.cli import cli as sqlite_utils_cli

    path = tmp_path / "old.db"
    shutil.copy(OLD_DB, path)
    counts, schema, legacy = snapshot(path)
    migrations_file = pathlib.Path(__file__).parent.parent / "db" / "migrations.py"
    out = CliRunner().invoke(sqlite_utils_cli, ["migrate", str(path), str(migrations_file)])
    assert out.exit_code == 0, out.output
    after_counts, after_schema, after_legacy = snapshot(path)
    assert (after_counts, after_legacy) == (counts, legacy)
    assert after_schema >= schema and added_since(after_schema, schema) <= NEWER_TABLES
    db = sqlite_utils.Database(path)
    assert [(m.name, m.applied_at) for m in migrations.applied(db)][:len(legacy)] == legacy


def test_processes_opening_an_old_database_together_all_succeed(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "old.db"
    shutil.copy(OLD_DB, path)
    code = "import sys; from db.connection import open_db; open_db(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE) for _ in range(4)]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    db = open_db(path)
    assert [m.name for m in migrations.applied(db)] == NAMES
