"""Downloader middlewares: the address guard and retries that honour Retry-After."""
import asyncio
import email.utils
import logging
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest

from pipeline.guard import check_url

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
