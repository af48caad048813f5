"""`incidentwire export DIR`: an open, versioned snapshot of the catalog as CSV + JSON + datapackage.json.

What is exported: live stories (merged ones left out; `story_redirects` maps their old ids),
documents' metadata and links (never the full text of third-party pages), verified quotes and
entities, and a generated incident record per story (`incidents`: event date, developer, deployer,
harmed parties, severity with its reasons). Each table is written twice, `<table>.csv` (JSON arrays as JSON text) and `<table>.json`
(a list of objects), and described in a Frictionless Data Package (`datapackage.json`,
https://specs.frictionlessdata.io/) whose field descriptions come from datasette_metadata.json.
The snapshot is read in one transaction, so every file is of the same moment.

Load it with `pandas.read_csv("DIR/stories.csv")` or `sqlite-utils insert new.db stories DIR/stories.json --pk id`.
"""
import csv
import datetime
import importlib.metadata
import json
import pathlib

from pipeline.paths import ROOT
from pipeline.publish.cite import citation

FORMAT_VERSION = "1.1.0"   # bump the major part when a column is removed or changes meaning (1.1: incidents)
JSON_ARRAYS = {"categories", "entities", "related", "aliases", "developer", "deployer", "harmed_parties",
               "similar_stories", "severity_reasons"}
OWN_FIELDS = {"url": "Stable URL of the story page in the catalog (also its citation URL)",
              "citation": "One-line citation: headline, id, dates, URL and the snapshot date"}
OWN_DESCRIPTIONS = {"incidents": ("A generated incident record per live story, drawn from its texts (pipeline.enrich."
                                  "incident): event date apart from report dates, developer, deployer, harmed "
                                  "parties, categories, similar stories, severity with its reasons")}
INCIDENT_FIELDS = {  # the incident record's columns (a generated record: every field drawn from the texts)
    "story_id": "The story the record describes",
    "event_date": "Date of the event, kept apart from the report dates (YYYY-MM-DD, or as a text states it)",
    "event_date_basis": ("Where the event date comes from: the earliest system card or post of a lab or company, "
                         "the earliest report, or a date the texts state"),
    "first_report": "Date of the story's earliest dated document", "last_report": "Date of its latest dated document",
    "developer": "Labs or companies whose model or product the texts name (empty when none is named)",
    "deployer": "Organisations a sentence says deployed or used the AI system (empty when no sentence says so)",
    "harmed_parties": "Groups a sentence names beside a harm, outside test scenarios (empty when none)",
    "categories": "The story's categories", "similar_stories": "Ids of related stories",
    "severity": "Generated estimate: low, medium or high",
    "severity_reasons": ("Generated: each reason (real-world harm, data exposed, money lost, people affected, legal "
                         "action, test scenario) with the words of the texts that triggered it and their document"),
}
# table: (columns, from/where/order clause, primary key, foreign keys)
TABLES = {
    "stories": (["id", "headline", "summary", "first_seen", "last_seen", "first_week", "lead_document_id",
                 "n_documents", "n_sources", "heat", "categories", "entities", "related", "updated"],
                "from stories where merged_into is null or merged_into = '' order by id", "id", []),
    "story_redirects": (["old_id", "new_id"], "from story_redirects order by old_id", "old_id",
                        [("new_id", "stories", "id")]),
    "documents": (["id", "url", "canonical_url", "kind", "publisher", "site", "title", "author", "published",
                   "published_week", "lang", "word_count", "story_id", "duplicate_of", "content_hash"],
                  "from documents order by id", "id", [("story_id", "stories", "id")]),
    "quotes": (["id", "document_id", "story_id", "speaker", "role", "text", "position"],
               ("from (select q.* from quotes q join documents d on d.id = q.document_id "
                "where instr(d.text, q.text) > 0) order by id"), "id", [("document_id", "documents", "id")]),
    "entities": (["id", "name", "kind", "aliases"], "from entities order by id", "id", []),
    "document_entities": (["document_id", "entity_id"], "from document_entities order by document_id, entity_id",
                          ["document_id", "entity_id"], [("document_id", "documents", "id"),
                                                         ("entity_id", "entities", "id")]),
    # computed per live story (pipeline.enrich.incident), not a table in the database
    "incidents": (["story_id", "event_date", "event_date_basis", "first_report", "last_report", "developer",
                   "deployer", "harmed_parties", "categories", "similar_stories", "severity", "severity_reasons"],
                  None, "story_id", [("story_id", "stories", "id")]),
}


class ExportError(Exception):
    """The export cannot be written; the message is one line naming the path."""


def field_type(declared, name):
    if name in JSON_ARRAYS:
        return "array"
    declared = (declared or "").upper()
    return "integer" if "INT" in declared else "number" if declared in ("FLOAT", "REAL", "NUMERIC") else "string"


def described_fields(db, table, columns, descriptions):
    if table == "incidents":
        return [{"name": c, "type": field_type(None, c), "description": INCIDENT_FIELDS[c]} for c in columns]
    declared = {c.name: c.type for c in db[table].columns}
    fields = [{"name": c, "type": field_type(declared.get(c), c),
               "description": descriptions.get(c) or OWN_FIELDS.get(c, "")} for c in columns]
    if table == "stories":
        fields += [{"name": n, "type": "string", "description": OWN_FIELDS[n]} for n in ("url", "citation")]
    return fields


def incident_rows(db):
    """One incident record per live story, flattened to the export's columns."""
    from pipeline.publish.story import read_story, story_incident

    out = []
    for (story_id,) in db.execute(f"select id {TABLES['stories'][1]}").fetchall():
        rec = story_incident(db, read_story(db, story_id))
        event = rec["event_date"] or {}
        out.append({
            "story_id": story_id, "event_date": event.get("date"), "event_date_basis": event.get("basis"),
            "first_report": rec["reports"]["first"], "last_report": rec["reports"]["last"],
            "developer": json.dumps([d["name"] for d in rec["developer"]]),
            "deployer": json.dumps([d["name"] for d in rec["deployer"]], ensure_ascii=False),
            "harmed_parties": json.dumps([d["party"] for d in rec["harmed_parties"]], ensure_ascii=False),
            "categories": json.dumps(rec["categories"]), "similar_stories": json.dumps(rec["similar_stories"]),
            "severity": rec["severity"]["level"],
            "severity_reasons": json.dumps([{k: r[k] for k in ("reason", "phrase", "quote", "document_id")}
                                            for r in rec["severity"]["reasons"]], ensure_ascii=False),
        })
    return out


def read_table(db, table, base_url, today):
    columns, clause, _, _ = TABLES[table]
    if clause is None:
        return incident_rows(db)
    cursor = db.execute(f"select {', '.join(columns)} {clause}")
    rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
    if table == "stories":
        for row in rows:
            cite = citation(row, base_url, today)
            row.update(url=cite["url"], citation=cite["text"])
    return rows


def json_value(name, value):
    if name in JSON_ARRAYS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return [value]
    return value


def write_table(out, table, fields, rows):
    names = [f["name"] for f in fields]
    with open(out / f"{table}.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([row.get(n) for n in names] for row in rows)
    data = [{n: json_value(n, row.get(n)) for n in names} for row in rows]
    (out / f"{table}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def resource(table, fields, n_rows, description):
    _, _, pk, fks = TABLES[table]
    schema = {"fields": fields, "primaryKey": pk}
    if fks:
        schema["foreignKeys"] = [{"fields": f, "reference": {"resource": t, "fields": c}} for f, t, c in fks]
    return {"name": table.replace("_", "-"), "path": f"{table}.csv", "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "profile": "tabular-data-resource", "description": description,
            "x-json-path": f"{table}.json", "x-rows": n_rows, "schema": schema}


def package(metadata, resources, created):
    try:
        software = importlib.metadata.version("incidentwire")
    except importlib.metadata.PackageNotFoundError:
        software = "unknown"
    return {"profile": "tabular-data-package", "name": "incidentwire", "title": "incidentwire: AI agent safety incidents",
            "description": ("Stories of AI agent safety incidents and the coverage grouped into them: document "
                            "metadata and links (not texts), verified quotes, entities."),
            "version": FORMAT_VERSION, "created": created, "x-incidentwire-version": software,
            "licenses": [{"name": "Apache-2.0", "path": metadata.get("license_url"),
                          "title": metadata.get("license")}],
            "sources": [{"title": metadata.get("source", "")}], "resources": resources}


def export(db, out_dir, base_url, now=None):
    """Write the snapshot to `out_dir` (created if missing); return {table: rows written}."""
    out = pathlib.Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder; pass a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create {out}: {e.strerror}")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    metadata = json.loads((ROOT / "datasette_metadata.json").read_text(encoding="utf-8"))
    described = metadata["databases"]["incidentwire"]["tables"]
    counts, resources = {}, []
    db.execute("begin")    # one read transaction: every file is of the same moment
    try:
        for table in TABLES:
            meta = described.get(table, {})
            fields = described_fields(db, table, TABLES[table][0], meta.get("columns", {}))
            rows = read_table(db, table, base_url, now.date().isoformat())
            write_table(out, table, fields, rows)
            counts[table] = len(rows)
            resources.append(resource(table, fields, len(rows), meta.get("description") or OWN_DESCRIPTIONS.get(table, "")))
    finally:
        db.execute("rollback")
    descriptor = package(metadata, resources, now.replace(microsecond=0).isoformat())
    (out / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False), encoding="utf-8")
    return counts
