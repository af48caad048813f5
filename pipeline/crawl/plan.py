"""What a crawl will do: one job per source (its config, cut-off, HTTP validators, known pages).

Read from the database before any spider starts; the job list is plain JSON so it can travel
to the crawl's child process.
"""
import json

from pipeline.config import relevance_cut, sync_sources
from pipeline.urls import canonical_url

# What a crawl counts, per source and in total.
# summary_only: entries kept as the feed gave them; pages_failed: entry pages that did not answer.
COUNT_KEYS = ("fetched", "not_modified", "inserted", "updated", "unchanged", "skipped", "offtopic", "refused",
              "summary_only", "pages_failed")


def database_file(db):
    """The database's file; ValueError for an in-memory database (a child process cannot share it)."""
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        raise ValueError("crawl_sources needs a database file, not an in-memory database")
    return path


def known_documents(db, source_id):
    """Canonical URL -> stored HTTP validators, for every document of a source.

    A document kept summary-only because its page failed (`extra.fetch_error`) is marked
    "summary_only" and carries its entry (title, author, date, GUID, summary) so the spider
    tries the page again even when the feed is unchanged. A document is also known by the feed
    link it was reached from (`extra.entry_link`, a redirecting link) and by "guid:" + its GUID,
    each mapping to {"alias_of": canonical URL}.
    """
    known, aliases = {}, {}
    rows = db.conn.execute("select canonical_url, guid, extra, url, title, author, published, lang, text "
                           "from documents where source_id = ?", [source_id])
    for url, guid, extra, *entry in rows:
        try:
            data = json.loads(extra or "{}")
        except ValueError:
            data = {}
        known[url] = {"etag": data.get("http_etag"), "last_modified": data.get("http_last_modified")}
        alias = {"alias_of": url}
        if data.get("summary_only") and data.get("fetch_error"):
            known[url]["summary_only"] = alias["summary_only"] = True
            known[url]["entry"] = dict(zip(("url", "title", "author", "published", "lang", "summary"), entry),
                                       guid=guid, extra={k: data[k] for k in ("feed_title", "tags", "enclosures")
                                                         if k in data})
        if data.get("entry_link"):
            aliases[canonical_url(data["entry_link"])] = alias
        if guid:
            aliases[f"guid:{guid}"] = alias
    return {**aliases, **known}


def plan_jobs(db, config, only=None):
    """(jobs, errors): one job per enabled (or named) source with its crawl state."""
    rows = sync_sources(db, config)
    by_name = {s["name"]: s for s in config["sources"]}
    errors = [f"unknown source {name!r} (not in {config.get('path', 'the config')})"
              for name in (only or []) if name not in by_name]
    jobs = []
    for name, src in by_name.items():
        if only and name not in only:
            continue
        if not only and not src.get("enabled", True):
            continue
        row = rows[name]
        source = {**src, "max_response_bytes": config["settings"].get("max_response_bytes"),
                  "relevance_min": relevance_cut(src, config["settings"])}
        jobs.append({
            "source": source,
            "state": {"etag": row.get("etag"), "last_modified": row.get("last_modified")},
            "known": known_documents(db, row["id"]),
        })
    return jobs, errors
