"""The whole pipeline in one call: crawl, process, digest."""
import time

from pipeline.config import sync_sources


def run_pipeline(db, config, weeks, out_dir="digests", model=None):
    """Crawl every enabled source, process new documents, write the digests for `weeks`."""
    from pipeline.digest import write_digest
    from pipeline.process import process_documents
    from pipeline.scaleout import crawl_configured  # local, or through Redis when configured

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
