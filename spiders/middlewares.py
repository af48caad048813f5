"""Downloader middlewares: address guard, Retry-After retries, shared and conditional robots.txt."""
import asyncio
import email.utils
import logging
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from spiders.guard import check_url

log = logging.getLogger(__name__)


class AddressGuardMiddleware:
    """Refuse requests (redirects and robots.txt included) to loopback/private/metadata hosts."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        source = getattr(spider, "source", {}) or {}
        reason = check_url(request.url, allow_private=bool(source.get("allow_private")))
        if reason:
            self.crawler.stats.inc_value("incidentwire/refused")
            log.warning("%s: %s", source.get("name", "?"), reason)
            raise IgnoreRequest(reason)
        return None


def retry_after_seconds(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (now or time.time()))


class BackoffRetryMiddleware(RetryMiddleware):
    """Retry 429/5xx after Retry-After (capped), else after an exponential backoff."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base_delay = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.max_delay = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        header = response.headers.get("Retry-After")
        delay = retry_after_seconds(header.decode("latin-1") if header else None)
        if delay is not None and delay > self.max_delay:
            # The server asks us to stay away longer than a crawl should wait: give up politely.
            log.info("giving up on %s: Retry-After %.0fs exceeds %.0fs", request.url, delay, self.max_delay)
            return response
        if delay is None:
            delay = min(self.max_delay, self.base_delay * 2 ** request.meta.get("retry_times", 0))
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        await asyncio.sleep(delay)
        return retry


# robots.txt of every host seen, shared by all crawlers of this process and filled/saved by
# pipeline.crawl.local around the crawl: netloc -> {"etag", "last_modified", "body"}.
ROBOTS_CACHE = {}


class RobotsCacheMiddleware:
    """Fetch robots.txt conditionally; a 304 is answered from the copy saved on the last crawl."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def process_request(self, request, spider=None):
        if not request.url.endswith("/robots.txt"):
            return None
        cached = ROBOTS_CACHE.get(urlparse_cached(request).netloc)
        if cached and cached.get("body") is not None:
            if cached.get("etag"):
                request.headers.setdefault("If-None-Match", cached["etag"])
            if cached.get("last_modified"):
                request.headers.setdefault("If-Modified-Since", cached["last_modified"])
        return None

    def process_response(self, request, response, spider=None):
        if not request.url.endswith("/robots.txt"):
            return response
        netloc = urlparse_cached(request).netloc
        cached = ROBOTS_CACHE.get(netloc)
        if response.status == 304 and cached and cached.get("body") is not None:
            return response.replace(status=200, body=cached["body"].encode("utf-8"))
        if response.status == 200:
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
            ROBOTS_CACHE[netloc] = {
                "etag": etag.decode("latin-1") if etag else None,
                "last_modified": modified.decode("latin-1") if modified else None,
                "body": response.body.decode("utf-8", errors="replace"), "changed": True}
        return response


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with one parser per host for all crawlers of the process
    (each source is its own crawler; without this every source would fetch robots.txt again)."""

    _shared_parsers = {}

    def __init__(self, crawler):
        super().__init__(crawler)
        self._parsers = SharedRobotsTxtMiddleware._shared_parsers
