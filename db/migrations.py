"""Schema migrations: one sqlite-utils `Migrations` set, recorded in `_sqlite_migrations`.

Each migration is a plain function over a sqlite_utils.Database, applied in the order written
here, each in its own transaction with its record. Never edit one that has shipped: add a new one.
`migrate(db)` is idempotent. `sqlite-utils migrate DB db/migrations.py --list` shows the state.

Databases made before this set existed recorded the same names in a table `_migrations`
(name, applied_at); applying the set copies those records into it first, once, and leaves the
old table as it was, so such a database opens and upgrades with nothing re-run (through
`open_db` or `sqlite-utils migrate` alike).
"""
from sqlite_utils import Migrations

LEGACY_TABLE = "_migrations"


class AdoptingMigrations(Migrations):
    """A Migrations set that adopts the old runner's records before it applies anything."""

    def apply(self, db, **kwargs):
        with db.atomic():
            adopt_legacy_records(db, self)
        super().apply(db, **kwargs)


migrations = AdoptingMigrations("incidentwire")


@migrations()
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


@migrations()
def m101_collection_robots(db):
    """robots.txt per host with its validators: a repeat crawl asks for it conditionally."""
    db["robots"].create({"netloc": str, "etag": str, "last_modified": str, "body": str, "fetched": str},
                        pk="netloc")


@migrations()
def m106_digest_enriched(db):
    """Which text and story each document had when enrich last read it: reruns skip unchanged documents."""
    db["enriched"].create({"document_id": int, "content_hash": str, "story_id": str}, pk="document_id")


@migrations()
def m107_runs_owner(db):
    """The process that owns each run: a run left "running" by a killed process can be closed."""
    db["runs"].add_column("host", str)
    db["runs"].add_column("pid", int)
    db["runs"].add_column("pid_started", str)


@migrations()
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


@migrations()
def m118_sources_pages_failed(db):
    """Entry pages of a source that failed in its last crawl (their entries were kept summary-only)."""
    db["sources"].add_column("pages_failed", int)


@migrations()
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


@migrations()
def m121_deliveries(db):
    """Every digest and alert mail to every recipient, by its Message-ID: `send` and `alerts` never mail twice.

    status is "sending" from just before the SMTP transaction until its outcome is recorded: a run
    killed in between leaves "sending", which later runs treat as delivered (never resent) and report.
    "failed" (server down, recipient refused) is retried by the next run. For alerts, `items` lists
    the document ids the mail holds and `watermark` the highest: the next alert starts after it.
    Addresses are kept only as a hash (the catalog serves this file): the config names the people.
    """
    db["deliveries"].create(
        {"message_id": str, "kind": str, "key": str, "recipient_hash": str, "subject": str, "status": str,
         "items": str, "watermark": int, "attempts": int, "first_try": str, "last_try": str,
         "sent_at": str, "error": str},
        pk="message_id", not_null={"kind", "key", "recipient_hash", "status"}, defaults={"attempts": 0},
    )
    db["deliveries"].create_index(["kind", "key", "recipient_hash"])


@migrations()
def m227_primary_sources(db):
    """Each story's primary sources, the passages its coverage draws on, and claim checks (issue 22).

    Written by `process` (pipeline.enrich.primary_table): `primary_sources` says which documents
    and why, `source_passages` the stretches of them the coverage shares, `claim_flags` every
    number and quote a document attributes to a primary source, found (1) or not (0).
    `primary_checked` keeps a digest of each story's documents: unchanged stories are not re-read.
    """
    db["primary_sources"].create({"story_id": str, "document_id": int, "why": str, "comparable": int,
                                  "partial": int},
                                 pk=("story_id", "document_id"))
    db["source_passages"].create(
        {"id": int, "story_id": str, "source_document_id": int, "position": int, "passage": str, "start": int,
         "end": int, "anchor": str, "matched_by": str, "covered_by": str, "covered_by_count": int},
        pk="id", foreign_keys=[("source_document_id", "documents", "id")])
    db["source_passages"].create_index(["story_id"])
    db["claim_flags"].create(
        {"id": str, "document_id": int, "story_id": str, "sentence": str, "claim": str, "kind": str, "found": int,
         "source_document_id": int, "position": int, "first_seen": str},
        pk="id", foreign_keys=[("document_id", "documents", "id")])
    db["claim_flags"].create_index(["story_id"])
    db["claim_flags"].create_index(["found", "first_seen"])
    db["primary_checked"].create({"story_id": str, "key": str}, pk="story_id")


@migrations()
def m221_card_changes(db):
    """What changed in each system card version, as readers compare them (pipeline.enrich.card_versions).

    `card_versions`: one row per stored version of a card (its `document_versions` id): the date it
    counts from (`seen`, and where that date came from), the version and date strings the text
    states, whether it is a silent edit (the text changed, no new version or date), a readable
    summary. `card_changes`: its sentences added, removed and reworded (section, before, after, the
    numbers that changed). `card_version_stories`: the stories with coverage in the 14 days after
    a version, naming the card's model or linking to it (rewritten by every `process`).
    """
    db["card_versions"].create(
        {"version_id": int, "document_id": int, "previous_version_id": int, "seen": str, "seen_basis": str,
         "markers": str, "new_markers": str, "silent_edit": int, "n_reworded": int, "n_added": int,
         "n_removed": int, "numbers": str, "summary": str},
        pk="version_id", foreign_keys=[("version_id", "document_versions", "id"), ("document_id", "documents", "id")])
    db["card_versions"].create_index(["document_id"])
    db["card_changes"].create(
        {"id": int, "version_id": int, "document_id": int, "position": int, "section": str, "change": str,
         "before": str, "after": str, "similarity": float, "numbers": str},
        pk="id", foreign_keys=[("version_id", "card_versions", "version_id")])
    db["card_changes"].create_index(["version_id", "position"], unique=True)
    db["card_version_stories"].create(
        {"version_id": int, "story_id": str, "document_id": int, "published": str, "days_after": float,
         "reason": str},
        pk=("version_id", "story_id"))
    db["card_version_stories"].create_index(["story_id"])


@migrations()
def m236_roundup_links(db):
    """Roundups (issue 19): pages that cover several events belong to none of them.

    Written by `process` (pipeline.stories.roundups): `roundup_checks` records each document
    checked once and whether it is a roundup (why: its title, or its sections); `roundup_links`
    lists each story a roundup covers, with the section that matched it and the score.
    """
    db["roundup_checks"].create({"document_id": int, "roundup": int, "why": str, "story_id": str},
                                pk="document_id")
    db["roundup_checks"].create_index(["roundup"])
    db["roundup_links"].create({"document_id": int, "story_id": str, "section": str, "score": float},
                               pk=("document_id", "story_id"),
                               foreign_keys=[("document_id", "documents", "id")])
    db["roundup_links"].create_index(["story_id"])



@migrations()
def m241_digest_stories(db):
    """What each published weekly digest showed (issue 19, story-id stability): every story it
    listed and the documents under it then. `process` keeps those documents where a reader saw
    them: second thoughts never move them out of their story (merges and folds take them along)."""
    db["digest_stories"].create({"week": str, "story_id": str, "document_id": int}, pk=("week", "document_id"))
    db["digest_stories"].create_index(["document_id"])

def migrate(db):
    """Apply every migration not yet recorded; return the names applied."""
    with db.atomic():
        adopt_legacy_records(db, migrations)  # first, so that adopted names do not count as applied here
    before = set(pending(db))
    migrations.apply(db)
    return [m.name for m in migrations.applied(db) if m.name in before]


def adopt_legacy_records(db, migration_set):
    """Record in the set what the old runner recorded in `_migrations`, once; the old table stays."""
    if LEGACY_TABLE not in db.table_names():
        return
    migration_set.ensure_migrations_table(db)
    recorded = {m.name for m in migration_set.applied(db)}
    db[migration_set.migrations_table].insert_all(
        {"migration_set": migration_set.name, "name": row["name"], "applied_at": row["applied_at"]}
        for row in db.query(f"select name, applied_at from [{LEGACY_TABLE}] order by rowid")
        if row["name"] not in recorded
    )


def pending(db):
    """Names of the migrations `migrate` would apply (or adopt); reads only."""
    return [m.name for m in migrations.pending(db)]
