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


# --- reading commands need a database; stories lists ids for `brief` (issue 20, points 16-17)

import pytest  # noqa: E402


@pytest.mark.parametrize("command", [["status"], ["digest", "--week", "2025-W22"], ["brief", "s-x"], ["serve"],
                                     ["stories"], ["process"]])
def test_a_missing_database_is_a_one_line_error_and_is_not_created(tmp_path, command):
    path = tmp_path / "no-such-folder" / "iw.db"
    result = CliRunner().invoke(cli, command[:1] + ["--db", str(path)] + command[1:])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: database ") and str(path) in lines[0], lines
    assert not path.exists() and not path.parent.exists()


def test_creating_commands_say_when_they_create_a_folder(tmp_path):
    import contextlib
    import io

    from pipeline.cli import new_or_existing_db

    path = tmp_path / "new" / "iw.db"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        new_or_existing_db(str(path)).close()
    assert path.exists() and f"Creating folder {path.parent}" in err.getvalue()


@pytest.fixture(scope="module")
def story_db(tmp_path_factory):
    from tests.support.briefs import build_db
    path = tmp_path_factory.mktemp("stories") / "t.db"
    db = build_db(path)
    db["entities"].insert({"id": "anthropic", "name": "Anthropic", "kind": "lab", "aliases": '["Anthropic", "Anthropic PBC"]'},
                          replace=True)
    db.close()
    return str(path)


@pytest.mark.parametrize("args", [["--week", "2025-w22"], ["--week", "2025-W21"], ["--search", "blackmail"],
                                  ["--search", '"contacts authorities"'], ["--entity", "Anthropic’s"],
                                  ["--entity", "anthropic"]])
def test_stories_lists_ids_with_headlines_to_pick_one_for_brief(story_db, args):
    from tests.support.briefs import CLAUDE_STORY
    result = CliRunner().invoke(cli, ["stories", "--db", story_db] + args)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == [CLAUDE_STORY], rows
    assert rows[0][-1].startswith("Claude Opus 4 will contact authorities")


def test_stories_filters_combine_and_a_miss_suggests_close_words(story_db):
    result = CliRunner().invoke(cli, ["stories", "--db", story_db, "--search", "blakmail"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "Did you mean: blackmail" in result.stderr
    result = CliRunner().invoke(cli, ["stories", "--db", story_db, "--search", '"blackmail sensor"'])
    assert result.stdout == ""     # a quoted phrase is a phrase, not two words anywhere
    result = CliRunner().invoke(cli, ["stories", "--db", story_db, "--week", "2018-W45", "--search", "blackmail"])
    assert result.stdout == ""


def test_brief_error_points_at_the_stories_command(story_db):
    result = CliRunner().invoke(cli, ["brief", "--db", story_db, "s-nope"])
    assert result.exit_code == 1 and "incidentwire stories" in result.output


def test_crawl_shows_progress_and_one_line_for_a_dead_url(tmp_path):
    """Issue 20, point 18: sources done / documents stored on stderr; a dead source is one line."""
    import subprocess
    import sys

    from tests.support.serving import free_port
    port = free_port()      # nothing listens there
    config = tmp_path / "s.toml"
    config.write_text(f'[[source]]\nname = "dead"\nkind = "article"\nurl = "http://127.0.0.1:{port}/a.html"\n'
                      'allow_private = true\n')
    out = subprocess.run([sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')",
                          "crawl", "--db", str(tmp_path / "x.db"), "--config", str(config)],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stderr.splitlines()
    assert "crawl: 1/1 sources done, 0 documents stored" in lines
    dead = [line for line in lines if line.startswith("crawl: dead: ")]
    assert len(dead) == 1 and "refused" in dead[0].lower()


def test_a_dead_source_is_one_line_per_error_and_no_traceback(tmp_path):
    """Issue #20, point 18: a refused connection is reported in lines, never Scrapy's traceback."""
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:   # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "sources.toml"
    config.write_text(f'[settings]\n[[source]]\nname = "dead"\nkind = "feed"\n'
                      f'url = "http://127.0.0.1:{port}/feed.xml"\npublisher = "Dead"\nallow_private = true\n')
    code = "import sys; from pipeline.cli import cli; sys.argv[0] = 'incidentwire'; cli()"
    out = subprocess.run([sys.executable, "-c", code, "crawl", "--db", str(tmp_path / "t.db"), "--config", str(config)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "  File " not in out.stderr
    assert any(line.startswith("crawl: dead: ") and "refused" in line for line in out.stderr.splitlines())
