"""The incident record (issue #22, part 4) on the demo's real texts: event date apart from report
dates, developer, empty fields where no sentence says them, a generated severity whose every reason
quotes its document, the story page block and the export."""
import asyncio
import csv
import json
import re

import pytest
import sqlite_utils

from pipeline.enrich import incident
from pipeline.publish.story import read_story, story_incident


@pytest.fixture(scope="module")
def db(demo_db):
    return sqlite_utils.Database(demo_db)


def claude_story(db):
    return db.execute("select story_id from documents where canonical_url like 'https://venturebeat.com/%'"
                      ).fetchone()[0]


def records(db):
    for (sid,) in db.execute("select id from stories where merged_into is null").fetchall():
        model = read_story(db, sid)
        yield model, story_incident(db, model)


def test_the_claude_story_record(db):
    model = read_story(db, claude_story(db))
    rec = story_incident(db, model)
    card = next(d for d in model["documents"] if d["kind"] == "system_card")
    assert rec["event_date"]["document_id"] == card["id"] and rec["event_date"]["date"] == card["published"][:10]
    assert rec["event_date"]["basis"] == "the earliest system card of Anthropic"
    assert rec["reports"]["last"] > rec["event_date"]["date"]          # report dates are kept apart
    assert [d["name"] for d in rec["developer"]] == ["Anthropic"] and rec["developer"][0]["model"] == "Claude Opus 4"
    assert rec["deployer"] == [] and rec["harmed_parties"] == []       # no sentence says them: left empty
    assert rec["severity"]["level"] == "low" and rec["severity"]["generated"] is True
    assert "test scenario" in [r["reason"] for r in rec["severity"]["reasons"]]


def test_every_field_and_reason_quotes_its_document(db):
    levels = set()
    for model, rec in records(db):
        texts = {d["id"]: d["text"] for d in model["documents"]}
        cues = {name: pattern for name, _, pattern, _ in incident.CUES}
        for r in rec["severity"]["reasons"]:
            assert r["quote"] in texts[r["document_id"]] and r["phrase"] in r["quote"]
            pattern = incident.TEST_RE if r["reason"] == "test scenario" else cues[r["reason"]]
            assert pattern.fullmatch(r["phrase"]) or pattern.search(r["phrase"])
        for field in ("developer", "deployer", "harmed_parties"):
            for e in rec[field]:
                assert e["quote"] in texts[e["document_id"]] and e["phrase"] in e["quote"]
        levels.add(rec["severity"]["level"])
        high = rec["severity"]["level"] == "high"
        assert not high or any(r["reason"] == "real-world harm" or r["weight"] >= 2 for r in rec["severity"]["reasons"])
    assert {"low", "high"} <= levels


def test_a_negated_cue_does_not_count(db):
    doc = {"id": 1, "text": "The company said no customer data was exposed. The model was tested in a simulated office."}
    sev = incident.severity([doc])
    assert [r["reason"] for r in sev["reasons"]] == ["test scenario"] and sev["level"] == "low"
    doc["text"] = "The breach exposed customer data of 20,000 customers."
    reasons = {r["reason"]: r["phrase"] for r in incident.severity([doc])["reasons"]}
    assert reasons == {"data exposed": "exposed customer data", "people affected": "20,000 customers"}


def test_story_page_shows_the_record_marked_generated(demo_db, db):
    from pipeline.ops.serve import make_datasette
    ds = make_datasette(str(demo_db))
    page = asyncio.run(ds.client.get(f"/stories/{claude_story(db)}")).text
    block = page[page.index('id="incident-record"'):]
    block = block[:block.index("</section>")]
    assert "generated" in block and "Date of the event" in block and "Severity" in block
    assert re.search(r"Deployer</dt>\s*<dd><span class=\"iw-meta\">not stated", block)


def test_export_has_an_incident_row_per_story(db, tmp_path):
    from pipeline.outbound.export import export
    counts = export(db, tmp_path, "https://catalog.example")
    stories = counts["stories"]
    with open(tmp_path / "incidents.csv", encoding="utf-8") as f:
        rows = {r["story_id"]: r for r in csv.DictReader(f)}
    assert counts["incidents"] == stories == len(rows)
    row = rows[claude_story(db)]
    assert json.loads(row["developer"]) == ["Anthropic"] and row["severity"] == "low"
    package = json.loads((tmp_path / "datapackage.json").read_text())
    fields = next(r for r in package["resources"] if r["name"] == "incidents")["schema"]["fields"]
    assert all(f["description"] for f in fields)
