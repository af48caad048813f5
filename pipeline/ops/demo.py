"""`incidentwire demo`: the whole pipeline over the offline snapshot in demo/, then the catalog."""
import hashlib
import json
import mimetypes
import sys
import time

from pipeline.config import load_config
from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer
from pipeline.paths import ROOT

DEMO_DIR = ROOT / "demo"
# Pages the demo serves in two versions (a silently edited system card): demo/earlier holds each as
# first served and versions.json the Last-Modified of both; demo/site holds the edited one.
EARLIER_DIR = DEMO_DIR / "earlier"
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


def edited_pages():
    """{path: {"earlier": HTTP date, "current": HTTP date}} of the pages the demo serves twice."""
    listing = EARLIER_DIR / "versions.json"
    return json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else {}


def serve_file(path, last_modified):
    """A loopback hook answering with the bytes of `path` and a fixed Last-Modified, as the page's
    real host would; a conditional GET for the same bytes gets 304."""
    def hook(handler):
        data = path.read_bytes()
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        handler._send(data, etag, last_modified, ctype, handler.command == "HEAD")
    return hook


def crawl_earlier_versions(db, config, server):
    """The demo's first pass: the sources of the edited pages crawled with each page as first
    served, so the store keeps both versions. Skipped for a page the database already holds (a
    second demo run over it adds nothing). Afterwards the server answers with the edited pages."""
    from pipeline.config import sync_sources
    from pipeline.crawl.scaleout import crawl_configured

    pages = edited_pages()
    new = [path for path in pages if not db.execute(
        "select 1 from documents where url like ? limit 1", ["%" + path]).fetchone()]
    sources = sorted({s["name"] for s in config["sources"] for path in new
                      if (server.url + path).startswith(s["url"])})
    if sources:
        for path in new:
            server.hooks[path] = serve_file(EARLIER_DIR / path.lstrip("/"), pages[path]["earlier"])
        say(f"First pass: {', '.join(sources)} as first published (the demo edits {len(new)} page(s) after it)")
        sync_sources(db, config)
        crawl_configured(db, config, only=sources)
    for path, dates in pages.items():
        server.hooks[path] = serve_file(DEMO_DIR / "site" / path.lstrip("/"), dates["current"])


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
        crawl_earlier_versions(db, config, server)
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
