"""`incidentwire status`: what is in the DB and how the sources are doing."""
import sqlite3

import click

from db.runs import close_dead_runs

TABLES = ["sources", "documents", "document_versions", "stories", "entities", "quotes",
          "digests", "runs", "skips", "embeddings"]


def _summary_only_counts(db):
    """Source id -> documents still kept summary-only (their entry page could not be read)."""
    try:
        return dict(db.execute("select source_id, count(*) from documents "
                               "where json_extract(extra, '$.summary_only') group by source_id").fetchall())
    except sqlite3.OperationalError:  # no documents table or no JSON functions
        return {}


def print_status(db, max_failures=3):
    """Print counts, last run and source health; return 1 if a source keeps failing."""
    existing = set(db.table_names())
    click.echo("table\trows")
    for table in TABLES:
        if table in existing:
            click.echo(f"{table}\t{db[table].count}")
    try:
        close_dead_runs(db)  # a run whose process was killed must not read "running" forever
    except sqlite3.OperationalError:  # a read-only or busy catalog: report it as it stands
        pass
    last = list(db.query("select * from runs order by id desc limit 1"))
    if last:
        r = last[0]
        click.echo(f"\nlast run: #{r['id']} {r['command']} {r['started']} -> {r['finished'] or 'unfinished'} "
                   f"[{r['status']}] {r['counts']}")
    unhealthy = 0
    summary_only = _summary_only_counts(db)
    click.echo("\nsource\tkind\tlast_crawled\tfailures\tsummary_only\tpages_failed\tlast_error")
    for s in db.query("select * from sources order by name"):
        fails = s.get("consecutive_failures") or 0
        if fails >= max_failures:
            unhealthy += 1
        click.echo(f"{s['name']}\t{s['kind']}\t{s['last_crawled'] or '-'}\t{fails}\t{summary_only.get(s['id'], 0)}\t"
                   f"{s.get('pages_failed') or 0}\t{s['last_error'] or ''}")
    if unhealthy:
        click.echo(f"\n{unhealthy} source(s) failed {max_failures}+ runs in a row", err=True)
        return 1
    return 0
