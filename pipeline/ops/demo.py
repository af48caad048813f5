"""`incidentwire demo`: the whole pipeline over the offline snapshot in demo/, then the catalog."""
import sys
import time

from pipeline.config import load_config
from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer
from pipeline.paths import ROOT

DEMO_DIR = ROOT / "demo"
# The snapshot is served on this port when it is free: documents fetched from it keep the same
# URLs on the next run, so running the demo twice over one database adds nothing.
SITE_PORT = 8765


def say(message):
    print(message, file=sys.stderr, flush=True)


def start_site_server():
    """Serve demo/site on SITE_PORT, or on any free port when that one is taken."""
    try:
        return LoopbackServer(DEMO_DIR / "site", port=SITE_PORT).start()
    except OSError:
        say(f"Port {SITE_PORT} is taken; serving the snapshot on a free port (its URLs will differ from earlier runs)")
        return LoopbackServer(DEMO_DIR / "site").start()


def story_weeks(db):
    """Every ISO week in which some document of a story was published."""
    return [row[0] for row in db.execute(
        "select distinct published_week from documents "
        "where story_id is not null and published_week is not null order by 1")]


def summarise(db):
    """Counts a person checks after the demo: documents by kind, stories, digests."""
    by_kind = dict(db.execute("select kind, count(*) from documents group by kind").fetchall())
    return {
        "documents": db["documents"].count,
        "documents_by_kind": by_kind,
        "stories": db.execute("select count(*) from stories where merged_into is null").fetchone()[0],
        "digest_rows": db["digests"].count,
    }


def run_demo(db_path, port=8001, serve=True, out_dir="digests", model=None):
    """Serve demo/site on loopback, run crawl + process, write a digest per story week, then serve."""
    from pipeline.publish.digest import write_digest
    from pipeline.run import run_pipeline

    started = time.monotonic()
    server = start_site_server()
    try:
        say(f"Demo snapshot on {server.url}/ (sources: {DEMO_DIR / 'sources.toml'})")
        config = load_config(DEMO_DIR / "sources.toml", base_url=server.url)
        db = open_db(db_path)
        say(f"Crawling {len(config['sources'])} demo sources and processing into {db_path} ...")
        # Digest weeks are only known once stories exist, so the pipeline writes none here.
        result = run_pipeline(db, config, weeks=[], out_dir=out_dir, model=model)
        weeks = story_weeks(db)
        say(f"Writing digests for {len(weeks)} weeks: {', '.join(weeks)}")
        t = time.monotonic()
        result["digests"] = [write_digest(db, week, out_dir=out_dir) for week in weeks]
        result.setdefault("seconds", {})["digest"] = round(time.monotonic() - t, 3)
        result["requests"] = server.stats["requests"]
    finally:
        server.stop()
    result.update(summarise(db))
    result["seconds"]["total"] = round(time.monotonic() - started, 3)
    say(f"Demo built: {result['documents']} documents {result['documents_by_kind']}, "
        f"{result['stories']} stories, {len(result['digests'])} digests written")
    if serve:
        from pipeline.ops.serve import serve_datasette
        say(f"Serving the catalog on http://127.0.0.1:{port}/")
        serve_datasette(db_path, port=port)
    return result
