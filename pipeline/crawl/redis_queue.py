"""Redis side of the scale-out: the shared scheduler, the item queue, the crawl's keys.

Workers run the usual spiders with `SharedScheduler` (scrapy-redis's scheduler and dupefilter,
shared through Redis, so each page is fetched by exactly one worker) and `RedisItemQueue` (each
item pushed as JSON onto one list, which the writer in `pipeline.crawl.scaleout` drains into the
store). Keys live under `incidentwire:<tag>:`, the tag naming one crawl.

A worker whose queue runs dry does not end while a peer still has requests out: their answers
may list more pages. Each worker holds a lease on its spider's queue while it has requests in
flight, renewed by a heartbeat; a killed worker's lease lapses after `redis_lease_seconds`.
"""
import json
import os

PREFIX = "incidentwire"
CURRENT = f"{PREFIX}:current"  # the tag of the crawl in progress, for workers that join late
LEASE_SECONDS = 5.0  # how long a worker that stopped renewing (killed) still counts as busy


class ScaleoutError(Exception):
    """One sentence naming the Redis URL or worker and what went wrong."""


def shown(url):
    """The URL without its password, for messages and the run log."""
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    return urllib.parse.urlunsplit(parts)


def connect(url):
    """A Redis client, checked with PING; ScaleoutError if Redis cannot be reached."""
    import redis
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=60)
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise ScaleoutError(f"cannot reach Redis at {shown(url)} ({str(e).replace(url, shown(url))}); "
                            "start redis-server or fix redis_url")
    return client


def items_key(tag):
    return f"{PREFIX}:{tag}:items"


def worker_settings(url, tag, lease_seconds=None):
    """Scrapy settings that make a crawl one worker of the shared crawl `tag`."""
    return {
        "SCHEDULER": "pipeline.crawl.redis_queue.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": url,
        "SCHEDULER_QUEUE_KEY": f"{PREFIX}:{tag}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{PREFIX}:{tag}:%(spider)s:dupefilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue",
        # Persist: a worker that runs dry must not flush the queue its peers still use.
        # The writer deletes the crawl's keys when every worker is done.
        "SCHEDULER_PERSIST": True,
        # Never a blocking pop (it would stall the reactor): a dry worker waits on leases instead.
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "INCIDENTWIRE_LEASES_KEY": f"{PREFIX}:{tag}:%(spider)s:leases",
        "INCIDENTWIRE_LEASE_SECONDS": float(lease_seconds or LEASE_SECONDS),
        "INCIDENTWIRE_ITEMS_KEY": items_key(tag),
        "ITEM_PIPELINES": {"pipeline.crawl.redis_queue.RedisItemQueue": 100},
    }


# Lua, so that taking a request and leasing it are one step: a peer never sees the queue empty
# while a popped request is in nobody's lease. Deadlines are in Redis's clock (ms), not a worker's.
RENEW_LEASE = ("local t = redis.call('TIME') "
               "redis.call('HSET', KEYS[2], ARGV[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]))")
POP_AND_LEASE = f"local data = redis.call('RPOP', KEYS[1]) if data then {RENEW_LEASE} end return data"


def _shared_scheduler():
    from scrapy import signals
    from scrapy.exceptions import DontCloseSpider
    from scrapy_redis.scheduler import Scheduler
    from twisted.internet import task

    class SharedScheduler(Scheduler):
        """scrapy-redis's scheduler, deduplicating entry requests too, and ending with the crawl.

        Entry requests are `dont_filter` (a conditional GET must never be filtered within one
        crawl), but with several workers each one would fetch every entry URL. The shared
        dupefilter lets exactly one worker enqueue it; only retries keep bypassing the filter.

        A worker leases its spider's queue from popping a request until it is idle again. An
        idle worker closes only when the queue is empty and no peer holds a live lease: a peer's
        answers may still list pages (FifoQueue only: the pop is RPOP).
        """

        @classmethod
        def from_crawler(cls, crawler):
            instance = super().from_crawler(crawler)
            instance.crawler = crawler
            instance.lease_ms = int(crawler.settings.getfloat("INCIDENTWIRE_LEASE_SECONDS", LEASE_SECONDS) * 1000)
            instance.leases_key_template = crawler.settings["INCIDENTWIRE_LEASES_KEY"]
            crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
            return instance

        def open(self, spider):
            super().open(spider)
            self.leases_key = self.leases_key_template % {"spider": spider.name}
            self.worker = f"{os.uname().nodename}:{os.getpid()}"
            self.leased = False
            self.pop_script = self.server.register_script(POP_AND_LEASE)
            self.renew_script = self.server.register_script(RENEW_LEASE)
            # A fifth of the lease: a renewal may be late a few times before peers give up on us.
            self.heartbeat = task.LoopingCall(self.beat)
            self.heartbeat.start(self.lease_ms / 5000, now=False)

        def close(self, reason):
            if self.heartbeat.running:
                self.heartbeat.stop()
            self.server.hdel(self.leases_key, self.worker)  # closed early (stopped): not busy either
            super().close(reason)

        def enqueue_request(self, request):
            retry = request.meta.get("retry_times")
            if not (request.dont_filter and retry) and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            self.queue.push(request)
            return True

        def next_request(self):
            data = self.pop_script(keys=[self.queue.key, self.leases_key], args=[self.worker, self.lease_ms])
            if not data:
                return None
            self.leased = True
            if self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            return self.queue._decode_request(data)  # as scrapy-redis's own pop does

        def beat(self):
            """Renew the lease while requests are out; while idle, let the engine look again soon
            (its own heartbeat is 5 s): a peer may have pushed pages, or finished."""
            if self.leased:
                self.renew_script(keys=[self.queue.key, self.leases_key], args=[self.worker, self.lease_ms])
            else:
                slot = getattr(self.crawler.engine, "_slot", None)  # Scrapy internals; else 5 s
                if slot is not None:
                    slot.nextcall.schedule()

        def spider_idle(self, spider):
            """Scrapy found nothing in flight here and the queue empty: give the lease back, and
            stay if the crawl as a whole is still busy."""
            self.leased = False
            if self.crawl_busy():
                raise DontCloseSpider

        def crawl_busy(self):
            """Requests queued or held by a live lease; one transaction, so never between the two."""
            pipe = self.server.pipeline()
            pipe.hdel(self.leases_key, self.worker)
            pipe.time()
            pipe.llen(self.queue.key)
            pipe.hvals(self.leases_key)
            _, (seconds, micros), queued, deadlines = pipe.execute()
            now = seconds * 1000 + micros // 1000
            return queued > 0 or any(int(float(d)) > now for d in deadlines)

    return SharedScheduler


def __getattr__(name):
    # Built on first use: importing this module (every `incidentwire run`) must not load Scrapy.
    if name == "SharedScheduler":
        globals()[name] = _shared_scheduler()
        return globals()[name]
    raise AttributeError(name)


class RedisItemQueue:
    """Item pipeline: push each item as JSON onto the crawl's Redis list; the writer stores it."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(connect(settings["REDIS_URL"]), settings["INCIDENTWIRE_ITEMS_KEY"])

    def process_item(self, item, spider=None):
        self.client.rpush(self.key, json.dumps(dict(item), default=str))
        return item


def push_control(client, tag, message):
    """A control message on the item list (worker start/finish), read in order with the items."""
    client.rpush(items_key(tag), json.dumps({"type": "_control", **message}))


def delete_crawl_keys(client, tag):
    """Delete one crawl's keys (tag "*": every crawl's)."""
    keys = list(client.scan_iter(match=f"{PREFIX}:{tag}:*", count=1000))
    if keys:
        client.delete(*keys)
    if tag == "*" or (client.get(CURRENT) or b"").decode() == tag:
        client.delete(CURRENT)
