"""`incidentwire process`: embed new documents, assign them to stories, enrich the stories."""
from pipeline.runs import finish_run, start_run


def process_documents(db, model=None):
    """Embed, cluster and enrich whatever is new; return counts."""
    from pipeline.embed import embed_documents
    from pipeline.enrich import enrich_stories
    from pipeline.stories import assign_stories

    run_id = start_run(db, "process")
    counts = {}
    try:
        counts["embedded"] = embed_documents(db, model_name=model)
        counts.update(assign_stories(db, model_name=model))
        counts.update(enrich_stories(db))
    except Exception as e:
        finish_run(db, run_id, counts, [f"{type(e).__name__}: {e}"])
        raise
    finish_run(db, run_id, counts)
    return counts
