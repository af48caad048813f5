"""The whole pipeline in one call: crawl, process, digest."""
from pipeline.config import sync_sources


def run_pipeline(db, config, weeks, out_dir="digests", model=None):
    """Crawl every enabled source, process new documents, write the digests for `weeks`."""
    from pipeline.crawl import crawl_sources
    from pipeline.digest import write_digest
    from pipeline.process import process_documents

    sync_sources(db, config)
    result = {"crawl": crawl_sources(db, config)}
    result["process"] = process_documents(db, model=model)
    result["digests"] = [write_digest(db, week, out_dir=out_dir) for week in weeks]
    return result
