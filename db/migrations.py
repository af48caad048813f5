"""Schema migrations, applied in order and recorded in `_migrations`.

Each migration is a plain function over a sqlite_utils.Database. Never edit one that
has shipped: add a new one. `migrate(db)` is idempotent.
"""
import datetime

MIGRATIONS = []


def migration(fn):
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db):
    db["sources"].create(
        {
            "id": int, "name": str, "kind": str, "url": str, "publisher": str,
            "enabled": int, "allow_private": int, "relevance_min": float,
            "config": str, "etag": str, "last_modified": str, "last_crawled": str,
            "last_error": str, "consecutive_failures": int, "n_skipped": int,
        },
        pk="id", not_null={"name", "kind", "url"}, defaults={"enabled": 1, "allow_private": 0,
        "consecutive_failures": 0, "n_skipped": 0},
    )
    db["sources"].create_index(["name"], unique=True)
    db["documents"].create(
        {
            "id": int, "url": str, "canonical_url": str, "source_id": int, "kind": str,
            "publisher": str, "site": str, "title": str, "author": str,
            "published": str, "published_week": str, "published_month": str,
            "fetched": str, "text": str, "lang": str, "content_hash": str,
            "simhash": str, "duplicate_of": int, "story_id": str, "word_count": int,
            "relevance": float, "guid": str, "extra": str,
        },
        pk="id", not_null={"url", "kind"},
        foreign_keys=[("source_id", "sources", "id")],
    )
    db["documents"].create_index(["canonical_url"], unique=True)
    db["documents"].create_index(["content_hash"])
    db["documents"].create_index(["story_id"])
    db["documents"].create_index(["published"])
    db["documents"].create_index(["duplicate_of"])
    db["documents"].enable_fts(["title", "text"], tokenize="porter", create_triggers=True)
    db["document_versions"].create(
        {"id": int, "document_id": int, "url": str, "content_hash": str, "fetched": str,
         "text": str, "diff": str},
        pk="id", foreign_keys=[("document_id", "documents", "id")],
    )
    db["document_versions"].create_index(["document_id", "content_hash"], unique=True)
    db["stories"].create(
        {
            "id": str, "headline": str, "summary": str, "first_seen": str, "last_seen": str,
            "first_week": str, "lead_document_id": int, "n_documents": int, "n_sources": int,
            "heat": float, "categories": str, "entities": str, "related": str,
            "merged_into": str, "updated": str,
        },
        pk="id", foreign_keys=[("lead_document_id", "documents", "id")],
    )
    db["stories"].create_index(["last_seen"])
    db["stories"].enable_fts(["headline", "summary"], tokenize="porter", create_triggers=True)
    db["entities"].create(
        {"id": str, "name": str, "kind": str, "aliases": str}, pk="id")
    db["document_entities"].create(
        {"document_id": int, "entity_id": str},
        pk=("document_id", "entity_id"),
        foreign_keys=[("document_id", "documents", "id"), ("entity_id", "entities", "id")],
    )
    db["quotes"].create(
        {"id": int, "document_id": int, "story_id": str, "speaker": str, "role": str,
         "text": str, "position": int},
        pk="id", foreign_keys=[("document_id", "documents", "id"), ("story_id", "stories", "id")],
    )
    db["quotes"].create_index(["document_id", "position"], unique=True)
    db["quotes"].create_index(["story_id"])
    db["digests"].create(
        {"week": str, "title": str, "markdown": str, "html": str, "generated_at": str,
         "n_stories": int},
        pk="week",
    )
    db["runs"].create(
        {"id": int, "command": str, "started": str, "finished": str, "status": str,
         "counts": str, "errors": str},
        pk="id",
    )
    db["skips"].create(
        {"id": int, "run_id": int, "source": str, "url": str, "reason": str, "at": str},
        pk="id",
    )
    # Vectors keyed by content and model: re-running never re-embeds; a new model does.
    db["embeddings"].create(
        {"content_hash": str, "model": str, "dim": int, "vector": bytes},
        pk=("content_hash", "model"),
    )
    # A merged story's old id keeps working: it redirects to the surviving one.
    db["story_redirects"].create({"old_id": str, "new_id": str}, pk="old_id")


def migrate(db):
    """Apply every migration not yet recorded; return the names applied."""
    if "_migrations" not in db.table_names():
        db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with db.conn:
            fn(db)
            db["_migrations"].insert({
                "name": fn.__name__,
                "applied_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            })
        applied.append(fn.__name__)
    return applied


@migration
def m101_collection_robots(db):
    """robots.txt per host with its validators: a repeat crawl asks for it conditionally."""
    db["robots"].create({"netloc": str, "etag": str, "last_modified": str, "body": str, "fetched": str},
                        pk="netloc")


@migration
def m106_digest_enriched(db):
    """Which text and story each document had when enrich last read it: reruns skip unchanged documents."""
    db["enriched"].create({"document_id": int, "content_hash": str, "story_id": str}, pk="document_id")


@migration
def m107_runs_owner(db):
    """The process that owns each run: a run left "running" by a killed process can be closed."""
    db["runs"].add_column("host", str)
    db["runs"].add_column("pid", int)
    db["runs"].add_column("pid_started", str)


@migration
def m108_story_centroids(db):
    """Each live story's embedding sum per model: related stories are found without reading every document.

    Written by `refresh_stories`; a story whose documents change (added, removed, moved, new text)
    loses its rows here through the triggers, and is read again from its documents.
    """
    db["story_centroids"].create({"story_id": str, "model": str, "n": int, "vector": bytes},
                                 pk=("story_id", "model"))
    db.execute("CREATE TRIGGER story_centroids_doc_insert AFTER INSERT ON documents "
               "WHEN new.story_id IS NOT NULL BEGIN "
               "DELETE FROM story_centroids WHERE story_id = new.story_id; END")
    db.execute("CREATE TRIGGER story_centroids_doc_delete AFTER DELETE ON documents "
               "WHEN old.story_id IS NOT NULL BEGIN "
               "DELETE FROM story_centroids WHERE story_id = old.story_id; END")
    db.execute("CREATE TRIGGER story_centroids_doc_update AFTER UPDATE OF story_id, content_hash, title, text "
               "ON documents WHEN old.story_id IS NOT new.story_id OR old.content_hash IS NOT new.content_hash "
               "OR old.title IS NOT new.title OR old.text IS NOT new.text BEGIN "
               "DELETE FROM story_centroids WHERE story_id IN (old.story_id, new.story_id); END")


@migration
def m123_process_scale(db):
    """What keeps an hourly `process` proportional to the new documents, not to the store.

    `entities_indexed` marks the documents entity indexing has read (one without a name too), so
    a run reads only the documents not marked; documents indexed before are marked here.
    `document_readings` keeps what the story stream read in each document (terms, names, years,
    language), keyed by a digest of what it was read from: the stories a run replays are not
    tokenised again. An index on `published_week` lets the digest find the week's stories
    without reading every document; one on `story_redirects.new_id` finds a story's old ids.
    """
    db["document_readings"].create({"document_id": int, "key": str, "reading": str}, pk="document_id")
    db["entities_indexed"].create({"document_id": int}, pk="document_id")
    db.execute("INSERT INTO entities_indexed (document_id) SELECT DISTINCT document_id FROM document_entities")
    db["documents"].create_index(["published_week"], if_not_exists=True)
    db["story_redirects"].create_index(["new_id"], if_not_exists=True)
