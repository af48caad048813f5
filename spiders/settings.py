"""Scrapy settings for every crawl: polite by default, overridable per call (tests, benches)."""

from pipeline.config import DEFAULT_SETTINGS

BASE = {
    "BOT_NAME": "incidentwire",
    "USER_AGENT": DEFAULT_SETTINGS["user_agent"],  # names the project and a contact URL
    "ROBOTSTXT_OBEY": True,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_DELAY": 0.5,
    "RETRY_ENABLED": True,
    "RETRY_TIMES": 3,
    "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
    "RETRY_BACKOFF_BASE": 2.0,
    "RETRY_BACKOFF_MAX": 60.0,
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_MAXSIZE": 10 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "REDIRECT_MAX_TIMES": 5,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
    "HTTPCACHE_ENABLED": False,
    "DEPTH_LIMIT": 3,
    "DOWNLOADER_MIDDLEWARES": {
        # Before robots.txt (100): a refused host must not even be asked for its robots.txt.
        "spiders.middlewares.AddressGuardMiddleware": 50,
        "spiders.middlewares.RobotsCacheMiddleware": 60,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "spiders.middlewares.SharedRobotsTxtMiddleware": 100,
        "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
        "spiders.middlewares.BackoffRetryMiddleware": 550,
    },
}


def crawl_settings(config_settings=None, overrides=None):
    """Scrapy settings from the config's [settings] table plus explicit overrides."""
    cfg = config_settings or {}
    settings = dict(BASE)
    settings["DOWNLOADER_MIDDLEWARES"] = dict(BASE["DOWNLOADER_MIDDLEWARES"])
    if cfg.get("user_agent"):
        settings["USER_AGENT"] = cfg["user_agent"]
    if cfg.get("max_response_bytes"):
        settings["DOWNLOAD_MAXSIZE"] = int(cfg["max_response_bytes"])
        settings["DOWNLOAD_WARNSIZE"] = min(settings["DOWNLOAD_WARNSIZE"], settings["DOWNLOAD_MAXSIZE"])
    if cfg.get("download_timeout"):
        settings["DOWNLOAD_TIMEOUT"] = int(cfg["download_timeout"])
    if cfg.get("concurrent_per_domain"):
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = int(cfg["concurrent_per_domain"])
    settings.update(overrides or {})
    return settings
