"""The stages in order: `process` (embed, assign, enrich) and the whole pipeline (crawl, process, digest)."""
import time

from db.runs import finish_run, start_run
from pipeline.config import sync_sources


def run_pipeline(db, config, weeks, out_dir="digests", model=None):
    """Crawl every enabled source, process new documents, write the digests for `weeks`."""
    from pipeline.publish.digest import write_digest
    from pipeline.crawl.scaleout import crawl_configured  # local, or through Redis when configured

    sync_sources(db, config)
    seconds, t = {}, time.monotonic()
    result = {"crawl": crawl_configured(db, config)}
    seconds["crawl"], t = round(time.monotonic() - t, 3), time.monotonic()
    result["process"] = process_documents(db, model=model)
    seconds["process"], t = round(time.monotonic() - t, 3), time.monotonic()
    result["digests"] = [write_digest(db, week, out_dir=out_dir) for week in weeks]
    seconds["digest"] = round(time.monotonic() - t, 3)
    result["seconds"] = seconds  # per-stage durations for the run log (`incidentwire watch`)
    return result


def process_documents(db, model=None, stats=None):
    """Embed, cluster and enrich whatever is new; return counts. With `stats` (a dict), the
    documents/s of embedding and of assignment are recorded in it (see assign_stories)."""
    from pipeline.stories.embed import embed_documents
    from pipeline.enrich.quotes_table import enrich_stories
    from pipeline.enrich.primary_table import check_stories
    from pipeline.stories.assign import assign_stories
    from pipeline.enrich.card_versions import record_card_changes
    from pipeline.stories.roundups import link_roundups

    run_id = start_run(db, "process")
    counts = {}
    try:
        counts["embedded"] = embed_documents(db, model_name=model, stats=stats)
        counts.update(assign_stories(db, model_name=model, stats=stats))
        counts.update(link_roundups(db, model_name=model))  # roundups belong to none of the stories they cover
        counts.update(enrich_stories(db))
        counts.update(check_stories(db))     # primary sources, passages, claim checks (issue 22)
        counts.update(record_card_changes(db))   # after assign: links versions to the stories that followed
    except Exception as e:
        finish_run(db, run_id, counts, [f"{type(e).__name__}: {e}"])
        raise
    finish_run(db, run_id, counts)
    return counts
