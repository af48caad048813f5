import json

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import ConfigError, load_config, sync_sources
from db.connection import open_db


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    for command in ["crawl", "process", "digest", "brief", "serve", "run", "demo", "status"]:
        assert command in result.output


def test_bad_week_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["digest", "--db", str(tmp_path / "x.db"), "--week", "2025-22"])
    assert result.exit_code != 0
    assert "2025-22" in result.output and "ISO week" in result.output


def test_missing_config_names_the_file(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "--db", str(tmp_path / "x.db"),
                                      "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "nope.toml" in result.output


def test_config_rejects_unknown_kind(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nname = "x"\nkind = "gopher"\nurl = "http://x"\n')
    try:
        load_config(path)
    except ConfigError as e:
        assert "gopher" in str(e) and "s.toml" in str(e)
    else:
        raise AssertionError("unknown kind accepted")


def test_sync_sources_is_idempotent_and_keeps_crawl_state(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nname = "lab"\nkind = "feed"\nurl = "{base}/feed.xml"\n')
    db = open_db(tmp_path / "x.db")
    config = load_config(path, base_url="http://127.0.0.1:9")
    sync_sources(db, config)
    db["sources"].update(1, {"etag": '"abc"'})
    rows = sync_sources(db, config)
    assert list(rows) == ["lab"]
    assert rows["lab"]["url"] == "http://127.0.0.1:9/feed.xml"
    assert rows["lab"]["etag"] == '"abc"'
    assert db["sources"].count == 1


def test_schema_migrates_once_with_wal_and_fts(tmp_path):
    db = open_db(tmp_path / "x.db")
    again = open_db(tmp_path / "x.db")
    assert again.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "documents_fts" in again.table_names()
    assert again["_sqlite_migrations"].count == db["_sqlite_migrations"].count
    db["documents"].insert({"url": "http://a/1", "canonical_url": "http://a/1", "kind": "article",
                            "title": "Claude Opus 4 blackmail test", "text": "engineers"})
    hits = list(db.query("select rowid from documents_fts where documents_fts match 'blackmail'"))
    assert len(hits) == 1


def test_status_prints_counts(tmp_path):
    db_path = tmp_path / "x.db"
    open_db(db_path)
    result = CliRunner().invoke(cli, ["status", "--db", str(db_path)])
    assert result.exit_code == 0
    assert "documents\t0" in result.output


def test_processes_opening_a_new_database_together_all_succeed(tmp_path):
    import subprocess
    import sys

    db_path = tmp_path / "race.db"
    code = "import sys; from db.connection import open_db; open_db(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db_path)], stderr=subprocess.PIPE)
             for _ in range(4)]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    db = open_db(db_path)
    assert db["_sqlite_migrations"].count == len(set(r["name"] for r in db["_sqlite_migrations"].rows))


def test_config_left_out_is_the_local_sources_toml_else_the_shipped_one(tmp_path, monkeypatch):
    import click

    from pipeline.cli import config_option
    from pipeline.paths import ROOT

    @click.command()
    @config_option
    def show(config_path):
        click.echo(config_path)

    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(show, []).output.strip() == str(ROOT / "sources.toml")
    assert CliRunner().invoke(show, ["--config", "mine.toml"]).output.strip() == "mine.toml"
    (tmp_path / "sources.toml").write_text("")
    assert CliRunner().invoke(show, []).output.strip() == "sources.toml"


def test_help_for_the_group_and_every_command():
    out = CliRunner().invoke(cli, ["--help"])
    assert out.exit_code == 0 and "Commands:" in out.output
    assert set(cli.commands) >= {"crawl", "process", "digest", "brief", "serve", "run", "demo", "status", "watch",
                                 "backup"}
    for name in cli.commands:
        out = CliRunner().invoke(cli, [name, "--help"])
        assert out.exit_code == 0 and out.output.startswith(f"Usage: cli {name}"), (name, out.output)
    assert "--no-serve" in CliRunner().invoke(cli, ["demo", "--help"]).output
