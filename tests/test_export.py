"""`incidentwire export DIR`: CSV + JSON + a Frictionless datapackage.json that loads in one line."""
import csv
import json
import sqlite3
import subprocess
import sys

import pytest

from db.connection import open_db
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.enrich import enrich_stories
from tests.support.briefs import CLAUDE_STORY, build_db

TABLES = ["stories", "story_redirects", "documents", "quotes", "entities", "document_entities", "incidents"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    db = build_db(tmp / "t.db")
    enrich_stories(db)
    db["entities"].insert({"id": "anthropic", "name": "Anthropic", "kind": "lab", "aliases": '["Anthropic PBC"]'})
    result = CliRunner().invoke(cli, ["export", str(tmp / "out"), "--db", str(tmp / "t.db"),
                                      "--base-url", "https://catalog.example/"])
    assert result.exit_code == 0, result.output
    return tmp / "out", json.loads(result.stdout), tmp / "t.db"


def test_every_table_is_written_as_csv_and_json_and_described(exported):
    out, counts, _ = exported
    package = json.loads((out / "datapackage.json").read_text())
    assert package["profile"] == "tabular-data-package" and package["version"] == "1.1.0" and package["created"]
    assert [r["path"] for r in package["resources"]] == [f"{t}.csv" for t in TABLES]
    for res in package["resources"]:
        table = res["path"][:-4]
        with open(out / res["path"], newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        names = [field["name"] for field in res["schema"]["fields"]]
        assert rows[0] == names and len(rows) - 1 == counts[table] == res["x-rows"]
        assert all(field["description"] for field in res["schema"]["fields"]), table
        assert res["description"]
        assert len(json.loads((out / res["x-json-path"]).read_text())) == counts[table]
    assert counts["quotes"] > 0 and counts["entities"] == 1


def test_documents_carry_links_not_texts_and_merged_stories_are_redirects(exported):
    out, _, _ = exported
    docs = json.loads((out / "documents.json").read_text())
    assert docs and "text" not in docs[0] and all(d["url"].startswith("https://") for d in docs)
    stories = {s["id"]: s for s in json.loads((out / "stories.json").read_text())}
    assert "s-old-merged" not in stories
    claude = stories[CLAUDE_STORY]
    assert claude["url"] == f"https://catalog.example/stories/{CLAUDE_STORY}"
    assert claude["categories"][0] == "whistleblowing-reporting"    # a JSON array in JSON, JSON text in CSV
    assert f"incidentwire story {CLAUDE_STORY}, 2025-05-22 to 2025-05-26" in claude["citation"]
    redirects = json.loads((out / "story_redirects.json").read_text())
    assert {"old_id": "s-old-id", "new_id": CLAUDE_STORY} in redirects


def test_quotes_are_verbatim_in_their_documents(exported):
    out, _, db_path = exported
    texts = dict(sqlite3.connect(db_path).execute("select id, text from documents").fetchall())
    for q in json.loads((out / "quotes.json").read_text()):
        assert q["text"] in texts[q["document_id"]]


def test_loads_in_one_line_of_sqlite_utils(exported, tmp_path):
    out, counts, _ = exported
    target = tmp_path / "copy.db"
    for cmd in (["insert", str(target), "stories", str(out / "stories.json"), "--pk", "id"],
                ["insert", str(target), "documents", str(out / "documents.csv"), "--csv"]):
        subprocess.run([sys.executable, "-m", "sqlite_utils", *cmd], check=True, capture_output=True)
    copy = sqlite3.connect(target)
    assert copy.execute("select count(*) from stories").fetchone()[0] == counts["stories"]
    assert copy.execute("select typeof(id) from documents limit 1").fetchone()[0] == "integer"


def test_a_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    open_db(tmp_path / "t.db").close()
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "taken"), "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "not a folder" in result.stderr


def test_without_a_public_catalog_stories_are_cited_without_a_url(tmp_path, monkeypatch):
    """No --base-url and no $INCIDENTWIRE_CATALOG_URL: the export still writes every story, says so in
    one line, and cites no address (never the exporter's own machine)."""
    monkeypatch.delenv("INCIDENTWIRE_CATALOG_URL", raising=False)
    build_db(tmp_path / "t.db")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 0, result.output
    assert "no public catalog URL" in result.stderr and result.stderr.strip().count("\n") == 0
    stories = json.loads((tmp_path / "out" / "stories.json").read_text())
    stories = stories if isinstance(stories, list) else stories["rows"]
    assert stories and all(not s["url"] for s in stories)
    assert all(s["citation"].endswith(")." ) and "None" not in s["citation"] and "http" not in s["citation"]
               for s in stories)
