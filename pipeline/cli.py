"""The `incidentwire` command line: data on stdout, chatter and progress on stderr."""
import datetime
import json
import os
import sys

import click

from db.connection import DEFAULT_DB, open_db
from pipeline.paths import ROOT

CONTEXT = {"help_option_names": ["-h", "--help"]}


def remember_db(ctx, param, value):
    ctx.meta["db_path"] = value  # for the one-line storage errors in IncidentwireGroup
    return value


db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, callback=remember_db,
                         type=click.Path(dir_okay=False), help="SQLite database file")


def default_config(ctx, param, value):
    """Left out, --config is ./sources.toml, or where there is none the sources.toml shipped with incidentwire."""
    if ctx.get_parameter_source(param.name) is click.core.ParameterSource.DEFAULT and not os.path.exists(value):
        return str(ROOT / "sources.toml")
    return value


config_option = click.option("--config", "config_path", default="sources.toml", show_default=True,
                             callback=default_config, type=click.Path(dir_okay=False), help="Sources config (TOML)")


def say(message):
    click.echo(message, err=True)


def fail(message):
    """Exit with a one-line error for people."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def current_week():
    year, week, _ = datetime.date.today().isocalendar()
    return f"{year}-W{week:02d}"


def validate_week(ctx, param, value):
    """An ISO week like 2025-W22 (any case), returned as 2025-W22."""
    if value is None:
        return value
    week = value.strip().upper()
    try:
        datetime.date.fromisoformat(f"{week}-1")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO week like 2025-W22")
    return week


def existing_db(db_path):
    """The database at `db_path`, which must exist: reading commands never create one."""
    if not os.path.isfile(db_path):
        fail(f"database {db_path} does not exist; build one with `incidentwire demo --db {db_path}` "
             f"or `incidentwire crawl --db {db_path}`")
    return open_db(db_path)


def new_or_existing_db(db_path):
    """The database at `db_path`, created when missing; a missing folder is created out loud."""
    folder = os.path.dirname(os.path.abspath(db_path))
    if not os.path.isdir(folder):
        say(f"Creating folder {folder} for the new database {db_path}")
    return open_db(db_path)


DB_HINTS = [  # (words in SQLite's message, what to do): SQLite rolled the failed transaction back
    ("readonly", "the file or its folder is read-only; make both writable or pass --db FILE"),
    ("full", "the disk is full; free some space and run again (nothing written so far is lost)"),
    ("disk i/o", "writing failed (disk full or failing?); free space, check the disk and run again"),
    ("unable to open", "the file or its folder cannot be opened for writing; check permissions"),
    ("malformed", "the file is damaged; restore the last `incidentwire backup`"),
    ("not a database", "this is not an incidentwire database; check --db"),
]


class IncidentwireGroup(click.Group):
    """Storage and model failures end in one line for people, not a traceback."""

    def invoke(self, ctx):
        import sqlite3
        try:
            return super().invoke(ctx)
        except sqlite3.Error as e:
            hint = next((h for words, h in DB_HINTS if words in str(e).lower()), "see the message above")
            fail(f"database {ctx.meta.get('db_path', DEFAULT_DB)}: {e}; {hint}")
        except Exception as e:
            if type(e).__name__ == "ModelError":  # pipeline.stories.embed: names the file and checksum
                fail(str(e))
            raise


@click.group(cls=IncidentwireGroup, context_settings=CONTEXT)
@click.version_option(package_name="incidentwire")
def cli():
    """incidentwire: track coverage of AI agent safety incidents."""


@cli.command()
@db_option
@config_option
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable)")
@click.option("--redis", "redis_url", default=None, metavar="URL",
              help="Scale out: share the crawl through Redis (also INCIDENTWIRE_REDIS_URL or [settings] redis_url)")
@click.option("--workers", type=int, default=None, help="With Redis: local crawl workers to start (default 2)")
@click.option("--worker", is_flag=True, help="With Redis: join the crawl in progress as a worker (never writes --db)")
def crawl(db_path, config_path, sources, redis_url, workers, worker):
    """Run the spiders for enabled sources and store what they find."""
    from pipeline.config import ConfigError, load_config
    try:
        config = load_config(config_path)
    except ConfigError as e:
        fail(str(e))
    from pipeline.crawl.scaleout import ScaleoutError, crawl_configured, redis_url_for, run_worker
    try:
        if worker:
            url = redis_url_for(config, redis_url) or fail("--worker needs --redis URL (or redis_url in the config)")
            counts = run_worker(db_path, config, url, only=list(sources))
        else:
            from pipeline.ops.progress import crawl_progress
            db = new_or_existing_db(db_path)
            names = [s["name"] for s in config["sources"]
                     if s.get("enabled", True) and (not sources or s["name"] in sources)]
            with crawl_progress(db_path, names, say):
                counts = crawl_configured(db, config, only=list(sources), redis_url=redis_url, workers=workers)
    except ScaleoutError as e:
        fail(str(e))
    click.echo(json.dumps(counts, sort_keys=True))


@cli.command()
@db_option
@click.option("--model", default=None, help="sentence-transformers model name or path (default: bundled all-MiniLM-L6-v2)")
def process(db_path, model):
    """Embed new documents and assign them to stories."""
    from pipeline.run import process_documents
    db = existing_db(db_path)
    stats = {}
    counts = process_documents(db, model=model, stats=stats)
    rates = [f"{what} {stats[key]:,.1f} docs/s" for what, key in (("embedding", "embed_docs_per_s"),
                                                                    ("assignment", "assign_docs_per_s")) if key in stats]
    if rates:
        click.echo("; ".join(rates), err=True)
    click.echo(json.dumps(counts, sort_keys=True))


@cli.command()
@db_option
@click.option("--week", callback=validate_week, default=None, help="ISO week, e.g. 2025-W22 (default: this week)")
@click.option("--out", "out_dir", default="digests", show_default=True, type=click.Path(file_okay=False))
def digest(db_path, week, out_dir):
    """Write the weekly MSP digest (Markdown, HTML, Atom) to digests/ and the DB."""
    from pipeline.publish.digest import write_digest
    db = existing_db(db_path)
    result = write_digest(db, week or current_week(), out_dir=out_dir)
    click.echo(json.dumps(result, sort_keys=True))


@cli.command()
@db_option
@click.argument("story_id")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
def brief(db_path, story_id, fmt):
    """Print a one-page story brief for podcast hosts."""
    from pipeline.publish.brief import BriefError, build_brief, render_brief_markdown
    db = existing_db(db_path)
    try:
        data = build_brief(db, story_id)
    except BriefError as e:
        fail(str(e))
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_brief_markdown(data))


@cli.command()
@db_option
@click.option("--week", callback=validate_week, default=None, help="Stories with coverage in this ISO week")
@click.option("--search", default=None, help='Words in the headline, summary or coverage ("quoted phrase" ok)')
@click.option("--entity", default=None, help="A lab, model or company, e.g. Anthropic")
@click.option("--limit", default=50, show_default=True)
def stories(db_path, week, search, entity, limit):
    """List story ids with their headlines (newest first), to pick one for `brief`."""
    from pipeline.publish.find import FindError, find_stories, suggest_terms
    db = existing_db(db_path)
    try:
        found = find_stories(db.conn, week=week, search=search, entity=entity, limit=limit)
    except FindError as e:
        fail(str(e))
    for s in found:
        n = s["n_sources"] or 0
        click.echo(f"{s['id']}\t{(s['last_seen'] or '')[:10]}\t{n} source{'' if n == 1 else 's'}\t{s['headline']}")
    if not found:
        close = suggest_terms(db.conn, search) if search else []
        say("No stories match." + (f" Did you mean: {', '.join(close)}?" if close else ""))


@cli.command()
@db_option
@click.option("--port", default=8001, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-sql", is_flag=True, help="Switch off arbitrary SQL (stored queries and pages keep working)")
def serve(db_path, port, host, no_sql):
    """Serve the catalog with Datasette (read-only)."""
    from pipeline.ops.serve import serve_datasette
    existing_db(db_path).close()
    serve_datasette(db_path, port=port, host=host, settings={"default_allow_sql": False} if no_sql else None)


@cli.command()
@db_option
@config_option
@click.option("--week", callback=validate_week, default=None, help="Digest week (default: this week)")
def run(db_path, config_path, week):
    """Crawl, process and write this week's digest."""
    from pipeline.config import ConfigError, load_config
    from pipeline.run import run_pipeline
    try:
        config = load_config(config_path)
    except ConfigError as e:
        fail(str(e))
    db = new_or_existing_db(db_path)
    result = run_pipeline(db, config, weeks=[week or current_week()])
    click.echo(json.dumps(result, sort_keys=True))


@cli.command()
@db_option
@click.option("--port", default=8001, show_default=True)
@click.option("--serve/--no-serve", default=True, help="Serve the catalog when the pipeline is done")
def demo(db_path, port, serve):
    """Run the whole pipeline on the offline demo snapshot, then serve it."""
    from pipeline.ops.demo import run_demo
    new_or_existing_db(db_path).close()
    result = run_demo(db_path, port=port, serve=serve)
    click.echo(json.dumps(result, sort_keys=True))


@cli.command()
@db_option
@click.option("--max-failures", default=3, show_default=True,
              help="Exit 1 when a source has failed this many runs in a row")
def status(db_path, max_failures):
    """Counts per table, the last run, and each source's health."""
    from pipeline.ops.status import print_status
    db = existing_db(db_path)
    sys.exit(print_status(db, max_failures=max_failures))


@cli.command()
@db_option
@config_option
@click.option("--every", default="1h", show_default=True, help="Time between runs: 90s, 30m, 1h, 1d")
@click.option("--once", is_flag=True, help="Run once (holding the lock) and exit: for cron")
@click.option("--week", callback=validate_week, default=None, help="Digest week (default: the week of each run)")
@click.option("--send", is_flag=True, help="After each run, mail last week's digest and the alerts (see `send`, `alerts`)")
def watch(db_path, config_path, every, once, week, send):
    """Run crawl, process and digest now and then on a schedule; one instance per database."""
    from pipeline.config import ConfigError, load_config
    from pipeline.ops.watch import WatchError, watch as watch_loop
    try:
        load_config(config_path)  # fail now, not at the first run
        sys.exit(watch_loop(db_path, config_path, every=every, once=once, week=week, log=click.echo, send=send))
    except (ConfigError, WatchError) as e:
        fail(str(e))


@cli.command()
@db_option
@click.argument("path", type=click.Path())
def backup(db_path, path):
    """Copy the database consistently to PATH (a file, or a folder for a timestamped file)."""
    from db.backup import BackupError, backup_database
    try:
        click.echo(json.dumps(backup_database(db_path, path), sort_keys=True))
    except BackupError as e:
        fail(str(e))


@cli.command()
@db_option
@click.argument("out_dir", metavar="DIR", type=click.Path())
@click.option("--base-url", default=None,
              help="Public catalog URL for story links and citations (default: $INCIDENTWIRE_CATALOG_URL; none: no URL)")
def export(db_path, out_dir, base_url):
    """Write an open data snapshot (CSV + JSON + datapackage.json) of stories, documents, quotes, entities."""
    from pipeline.outbound.export import ExportError, export as export_snapshot
    from pipeline.publish.story import catalog_url
    try:
        result = export_snapshot(existing_db(db_path), out_dir, catalog_url(base_url))
    except ExportError as e:
        fail(str(e))
    if not catalog_url(base_url):
        say("no public catalog URL (--base-url or INCIDENTWIRE_CATALOG_URL): stories are cited without a URL")
    click.echo(json.dumps(result, sort_keys=True))


def mail_result(result):
    """Print what a mail run did; a failed mail is a one-line error (exit 1), retried next run."""
    click.echo(json.dumps(dict(result, failed=len(result["failed"])), sort_keys=True))
    if result["in_doubt"]:
        say(f"{result['in_doubt']} mail(s) were being sent when an earlier run stopped; not sent again")
    if result["failed"]:
        more = f" (and {len(result['failed']) - 1} more)" if len(result["failed"]) > 1 else ""
        fail(f"{result['failed'][0]}{more}; the next run tries again")


@cli.command()
@db_option
@config_option
@click.option("--week", callback=validate_week, default=None, help="Digest week (default: this week)")
def send(db_path, config_path, week):
    """Mail the week's digest to digest_to over SMTP (each person once)."""
    from pipeline.config import ConfigError, load_config
    from pipeline.outbound.mail import MailError
    from pipeline.outbound.send import send_digest
    try:
        mail_result(send_digest(existing_db(db_path), load_config(config_path), week or current_week()))
    except (ConfigError, MailError) as e:
        fail(str(e))


@cli.command()
@db_option
@config_option
def alerts(db_path, config_path):
    """Mail each saved search's ([[alert]]) new matches to alerts_to over SMTP (each match once)."""
    from pipeline.config import ConfigError, load_config
    from pipeline.outbound.mail import MailError
    from pipeline.outbound.send import send_alerts
    try:
        mail_result(send_alerts(existing_db(db_path), load_config(config_path)))
    except (ConfigError, MailError) as e:
        fail(str(e))
