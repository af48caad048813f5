"""`incidentwire export DIR`: an open, versioned snapshot of the catalog as CSV + JSON + datapackage.json.

What is exported: live stories (merged ones left out; `story_redirects` maps their old ids),
documents' metadata and links (never the full text of third-party pages), verified quotes and
entities. Each table is written twice, `<table>.csv` (JSON arrays as JSON text) and `<table>.json`
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

FORMAT_VERSION = "1.0.0"   # bump the major part when a column is removed or changes meaning
JSON_ARRAYS = {"categories", "entities", "related", "aliases"}
OWN_FIELDS = {"url": "Stable URL of the story page in the catalog (also its citation URL)",
              "citation": "One-line citation: headline, id, dates, URL and the snapshot date"}
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
}


class ExportError(Exception):
    """The export cannot be written; the message is one line naming the path."""


def field_type(declared, name):
    if name in JSON_ARRAYS:
        return "array"
    declared = (declared or "").upper()
    return "integer" if "INT" in declared else "number" if declared in ("FLOAT", "REAL", "NUMERIC") else "string"


def described_fields(db, table, columns, descriptions):
    declared = {c.name: c.type for c in db[table].columns}
    fields = [{"name": c, "type": field_type(declared.get(c), c),
               "description": descriptions.get(c) or OWN_FIELDS.get(c, "")} for c in columns]
    if table == "stories":
        fields += [{"name": n, "type": "string", "description": OWN_FIELDS[n]} for n in ("url", "citation")]
    return fields


def read_table(db, table, base_url, today):
    columns, clause, _, _ = TABLES[table]
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
            resources.append(resource(table, fields, len(rows), meta.get("description", "")))
    finally:
        db.execute("rollback")
    descriptor = package(metadata, resources, now.replace(microsecond=0).isoformat())
    (out / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False), encoding="utf-8")
    return counts
