"""Collection on real recordings: nothing a source sends is lost.

    python -m bench.collect [--json]

Serves every real recording in tests/fixtures/real/ (PROVENANCE.md) on the loopback server with
the Content-Type its real host sends, and crawls them through the real crawl
(pipeline.crawl.local.crawl_sources) twice: with entry pages reachable, and with every entry
page answering 403. Entry links keep their real addresses; a downloader middleware
(`MirrorMiddleware`) fetches each from the loopback mirror instead, where a stand-in article page
(the entry's title over a real text, declaring the entry link as its canonical URL) waits.
Per recording: entries in the response, documents stored (full / summary-only), fields right
(title, URL, date, author, link) against an independent reading of the file (ElementTree or
json, not feedparser), skips with reasons, and bodies downloaded by a second crawl (goal 0).
The 403 run then crawls once more with the pages answering: summary-only entries upgraded.
"""
import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import urllib.parse

from bench.collect_truth import expected_entries, field_checks

ROOT = pathlib.Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
BODY_TEXT = ROOT / "tests" / "fixtures" / "collect" / "002_ee4b015b54fba806.txt"
# file, spider kind, Content-Type of the real host
RECORDINGS = [
    ("outlets/verge_index.xml", "feed", "application/atom+xml; charset=utf-8"),
    ("reddit/reddit_front_2015.rss", "reddit", "application/rss+xml; charset=UTF-8"),
    ("feeds/olshansk_feed_anthropic_news.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/olshansk_feed_anthropic_red.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/olshansk_feed_meta_ai.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/olshansk_feed_mistral.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/olshansk_feed_openai_research.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/olshansk_feed_xainews.xml", "feed", "text/plain; charset=utf-8"),
    ("feeds/trafilatura_npr_technology_feed.json", "feed", "application/json"),
    ("mastodon/tag_timeline_hoot.json", "mastodon", "application/json; charset=utf-8"),
    ("mastodon/public_timeline_anonymous.json", "mastodon", "application/json; charset=utf-8"),
    ("bluesky/getFeed_foryou_items_2025-09.json", "bluesky", "application/json; charset=utf-8"),
]
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 10,
        "LOG_LEVEL": "ERROR"}


class MirrorMiddleware:
    """Downloader middleware: a request for a real host is fetched from the loopback mirror
    (INCIDENTWIRE_MIRROR/mirror/HOST/PATH) and its response carries the real address again."""

    def __init__(self, base):
        self.base = base

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("INCIDENTWIRE_MIRROR"))

    def process_request(self, request, spider=None):
        parts = urllib.parse.urlsplit(request.url)
        if not self.base or parts.hostname in ("127.0.0.1", "localhost") or "real_url" in request.meta:
            return None
        mirrored = f"{self.base}/mirror/{parts.hostname}{urllib.parse.quote(parts.path or '/')}"
        return request.replace(url=mirrored, dont_filter=True, meta={**request.meta, "real_url": request.url})

    def process_response(self, request, response, spider=None):
        real = request.meta.get("real_url")
        return response.replace(url=real) if real else response


def mirror_settings(base):
    return {**FAST, "INCIDENTWIRE_MIRROR": base,
            "DOWNLOADER_MIDDLEWARES": {"bench.collect.MirrorMiddleware": 50}}


def source_name(path):
    return pathlib.Path(path).stem.replace("_", "-").lower()[:40]


def build_site(root, server, recordings=RECORDINGS):
    """Recordings under /rec/ with their real Content-Types; a stand-in page for every entry link."""
    words = " ".join(BODY_TEXT.read_text(encoding="utf-8").split())
    paras = "".join(f"<p>{words[i:i + 600]}</p>" for i in range(0, min(len(words), 2400), 600))
    for path, kind, ctype in recordings:
        target = root / "rec" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL / path, target)
        server.types[f"/rec/{path}"] = ctype
        if kind != "feed":
            continue
        for entry in expected_entries(REAL / path, kind):
            _write_page(root, entry, paras)


def _write_page(root, entry, paras):
    import html
    link = entry.get("link")
    parts = urllib.parse.urlsplit(link or "")
    if not parts.hostname:
        return
    folder = root / "mirror" / parts.hostname / (parts.path or "/").strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    title = html.escape(entry.get("title") or "")
    (folder / "index.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="canonical" href="{html.escape(link)}"></head><body><article><h1>{title}</h1>'
        f"{paras}</article></body></html>", encoding="utf-8")


def crawl_config(base, recordings=RECORDINGS):
    sources = [{"name": source_name(p), "kind": kind, "url": f"{base}/rec/{p}", "publisher": source_name(p),
                "enabled": True, "allow_private": True, "relevance_min": 0.0, "max_entries": 1000,
                "max_pages": 1} for p, kind, _ in recordings]
    return {"path": "bench.collect", "settings": {"relevance_min": 0.0, "social_relevance_min": 0.0,
                                                  "max_response_bytes": 5_000_000}, "sources": sources}


def refuse_pages(server, on=True):
    """Every mirrored entry page answers 403 (as a bot-refusing site does), or answers again."""
    def forbidden(handler):
        body = b"<html><body>403 Forbidden</body></html>"
        handler.send_response(403)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    if on:
        server.hooks["/mirror/*"] = forbidden
    else:
        server.hooks.pop("/mirror/*", None)


def run(refuse, recordings=RECORDINGS, workdir=None):
    """One bench run: crawl, second crawl, (403 run) a third crawl with the pages back. Per-recording rows."""
    from db.connection import open_db
    from pipeline.crawl.local import crawl_sources
    from pipeline.ops.loopback import LoopbackServer

    with tempfile.TemporaryDirectory(prefix="bench-collect-", dir=workdir) as tmp:
        root = pathlib.Path(tmp, "site")
        root.mkdir()
        with LoopbackServer(root) as server:
            build_site(root, server, recordings)
            refuse_pages(server, refuse)
            db = open_db(pathlib.Path(tmp, "collect.db"))
            config, settings = crawl_config(server.url, recordings), mirror_settings(server.url)
            first = crawl_sources(db, config, settings_overrides=settings)
            rows = {p: measure(db, p, kind, first) for p, kind, _ in recordings}
            bodies = server.stats["bodies"]
            second = crawl_sources(db, config, settings_overrides=settings)
            for p, _, _ in recordings:
                rows[p]["second_crawl_bodies"] = server.stats["bodies"] - bodies  # all sources together
                rows[p]["second_inserted"] = second["sources"].get(source_name(p), {}).get("inserted", 0)
            if refuse:
                refuse_pages(server, False)
                crawl_sources(db, config, settings_overrides=settings)
                for p, kind, _ in recordings:
                    rows[p]["upgraded_later"] = rows[p]["summary_only"] - _stored(db, p)[1]
            db.conn.close()
    return rows


def _stored(db, path):
    """(documents, summary-only documents) of a recording's source."""
    return db.conn.execute(
        "select count(*), coalesce(sum(json_extract(d.extra, '$.summary_only') is not null), 0) "
        "from documents d join sources s on s.id = d.source_id where s.name = ?", [source_name(path)]).fetchone()


def measure(db, path, kind, counts):
    """One recording's row: entries, stored full / summary-only, fields right, skips."""
    name = source_name(path)
    expected = expected_entries(REAL / path, kind)
    docs = [dict(zip([c[0] for c in cur.description], r)) for cur in
            [db.conn.execute("select d.* from documents d join sources s on s.id = d.source_id where s.name = ?", [name])]
            for r in cur.fetchall()]
    n, summary = _stored(db, path)
    right, checked, missing = field_checks(expected, docs, kind)
    skips = [f"{r[0]}" for r in db.conn.execute(
        "select reason from skips where source = ? order by id", [name])]
    return {"recording": path, "kind": kind, "entries": len(expected),
            "with_address": sum(1 for e in expected if e.get("link") or e.get("guid")),
            "stored": n, "full": n - summary, "summary_only": summary, "missing": missing,
            "fields_right": right, "fields_checked": checked,
            "pages_failed": counts["sources"].get(name, {}).get("pages_failed", 0), "skips": skips}


def print_table(runs, out=sys.stdout):
    for label, rows in runs.items():
        print(f"\n{label}", file=out)
        print(f"{'recording':44} {'entries':>7} {'stored':>6} {'full':>5} {'summ':>5} {'fields':>11} "
              f"{'skips':>5} {'2nd':>4}" + (f" {'upgr':>5}" if label.startswith("pages 403") else ""), file=out)
        for r in rows.values():
            fields = f"{r['fields_right']}/{r['fields_checked']}"
            line = (f"{r['recording']:44} {r['entries']:>7} {r['stored']:>6} {r['full']:>5} {r['summary_only']:>5} "
                    f"{fields:>11} {len(r['skips']):>5} {r['second_crawl_bodies']:>4}")
            if "upgraded_later" in r:
                line += f" {r['upgraded_later']:>5}"
            print(line, file=out)
            for reason in sorted(set(r["skips"])):
                print(f"    skip x{r['skips'].count(reason)}: {reason[:110]}", file=out)
            for m in r["missing"][:5]:
                print(f"    not stored: {m}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    runs = {"pages reachable": run(refuse=False), "pages 403 (then reachable: upgr)": run(refuse=True)}
    if args.json:
        json.dump(runs, sys.stdout, indent=1)
        print()
    else:
        print_table(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
