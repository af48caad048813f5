"""The crawl's item pipeline: each item a spider yields goes to the store as it comes.

Scrapy makes one `Recorder` per crawler (the crawl runs one crawler per source) from
ITEM_PIPELINES. The crawlers of one crawl share a `Recording`: the database, the run, the
counts and errors, and how to stop the crawl. Items are saved one by one through
`pipeline.store.documents.save_item`, so a crawl that is killed keeps everything saved up to
that moment. The Recorder also follows its crawler's responses (fetch counts), spider errors
(skips) and the spider's close (the source's validators and health).

Only this module writes the database during a crawl (`pipeline.crawl.local` also keeps the
robots.txt cache); spiders and Redis workers never do.
"""
import sqlite3

from db.runs import now
from pipeline.crawl.plan import COUNT_KEYS
from spiders.items import skip_item, source_state_item

# After any other pipeline (a Redis worker pushes the item to the writer first, at 100).
RECORDER = {"pipeline.crawl.recorder.Recorder": 300}


def with_recorder(settings):
    """Scrapy settings plus the Recorder in ITEM_PIPELINES (other pipelines kept)."""
    return {**settings, "ITEM_PIPELINES": {**(settings.get("ITEM_PIPELINES") or {}), **RECORDER}}


class Recording:
    """What the crawlers of one crawl share: the database, the run, counts and errors."""

    def __init__(self, db, db_path, run_id, names, stop):
        self.db, self.db_path, self.run_id, self.stop = db, db_path, run_id, stop
        self.counts = {name: dict.fromkeys(COUNT_KEYS, 0) for name in names}
        self.failed = dict.fromkeys(names, False)  # the source's entry failed: keep old validators
        self.page_errors = {}  # source -> the last entry page that failed, and why
        self.benign = dict.fromkeys(names, 0)  # skips that are not the source's error (image-only posts)
        self.errors = []
        self.storage_error = None  # the database cannot be written: nothing more is recorded
        self.recorders = []  # Scrapy holds signal receivers weakly: keep the recorders alive

    def attach(self, crawler):
        """Make `crawler`'s Recorder record here (before the crawl starts)."""
        crawler.incidentwire_recording = self

    def save(self, item, relevance_min=None):
        from pipeline.store.documents import save_item
        return save_item(self.db, item, run_id=self.run_id, relevance_min=relevance_min)

    def storage_failed(self, error):
        """Disk full or read-only: every further item would fail the same way. Stop the crawl."""
        self.storage_error = f"database {self.db_path}: {error}"
        self.errors.append(self.storage_error)
        self.stop()


class Recorder:
    """Item pipeline: hands each item to the store and keeps its source's counts and health."""

    def __init__(self, crawler, recording):
        self.crawler, self.recording = crawler, recording

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        recorder = cls(crawler, crawler.incidentwire_recording)
        recorder.recording.recorders.append(recorder)
        crawler.signals.connect(recorder.response_received, signal=signals.response_received)
        crawler.signals.connect(recorder.spider_error, signal=signals.spider_error)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    @property
    def source(self):
        return self.crawler.spider.source

    def process_item(self, item, spider=None):
        recording, name = self.recording, self.source["name"]
        if recording.storage_error:
            return item
        counts = recording.counts[name]
        if item.get("type") == "document":
            self._count_summary_only(name, item)
        if item.get("type") == "skip":
            if item.get("refused"):
                counts["refused"] += 1
            if item.get("fatal"):
                recording.failed[name] = True
            recording.benign[name] += bool(item.get("benign"))
        try:
            status = recording.save(item, self.source.get("relevance_min"))
        except sqlite3.DatabaseError as e:
            recording.storage_failed(e)
            return item
        if status in counts:
            counts[status] += 1
        return item

    def _count_summary_only(self, name, item):
        """An entry kept summary-only; a page that failed (extra.fetch_error) counts against the source."""
        extra = item.get("extra") or {}
        counts = self.recording.counts[name]
        counts["summary_only"] += bool(extra.get("summary_only"))
        if extra.get("fetch_error"):
            counts["pages_failed"] += 1
            self.recording.page_errors[name] = f"{item.get('url')}: {extra['fetch_error']}"

    def response_received(self, response, request, spider):
        counts = self.recording.counts[self.source["name"]]
        if response.status == 304:
            counts["not_modified"] += 1
        elif response.status < 400 and not request.url.endswith("/robots.txt"):
            counts["fetched"] += 1

    def spider_error(self, failure, response, spider):
        recording, name = self.recording, self.source["name"]
        recording.failed[name] = recording.failed[name] or bool(response.meta.get("entry"))
        recording.counts[name]["skipped"] += 1
        reason = f"spider error: {type(failure.value).__name__}: {str(failure.value)[:200]}"
        recording.save(skip_item(name, response.url, reason))

    def spider_closed(self, spider, reason):
        recording, name = self.recording, self.source["name"]
        if recording.storage_error:
            return  # the database cannot be written: nothing more to record
        if reason == "finished" and spider.new_state and not recording.failed[name]:
            # Validators are saved last: a crawl killed half-way fetches the feed again next time.
            recording.save(source_state_item(name, spider.new_state))
        self._save_health(name, reason)
        if reason != "finished":
            recording.errors.append(f"{name}: crawl ended ({reason})")

    def _save_health(self, name, reason):
        """The source's last crawl, failure streak, last error and failed entry pages after its spider closed."""
        db = self.recording.db
        problem = self.recording.failed[name] or reason != "finished"
        failures = _source_value(db, name, "consecutive_failures", 0) + 1 if problem else 0
        pages_failed = self.recording.counts[name]["pages_failed"]
        # Skips already wrote their reason to last_error; a clean run clears it.
        if reason != "finished":
            last_error = f"crawl ended early ({reason})"
        elif self.recording.counts[name]["skipped"] > self.recording.benign[name]:
            last_error = _source_value(db, name, "last_error", None)
        elif pages_failed:
            last_error = (f"{pages_failed} entry page(s) failed, entries kept summary-only "
                          f"(last: {self.recording.page_errors[name]})")[:500]
        else:
            last_error = None
        with db.conn:
            db.conn.execute("update sources set last_crawled = ?, consecutive_failures = ?, last_error = ?, "
                            "pages_failed = ? where name = ?", [now(), failures, last_error, pages_failed, name])


def _source_value(db, name, column, default):
    """One column of a source's row (`default` when the row or the value is missing)."""
    row = db.conn.execute(f"select {column} from sources where name = ?", [name]).fetchone()
    return default if row is None or row[0] is None else row[0]
