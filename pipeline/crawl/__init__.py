"""The crawl stage: plan (jobs from the config and the database), local (the Scrapy child process),
recorder (the item pipeline that hands items to the store), scaleout (the Redis writer and its
workers) and redis_queue (the shared scheduler and item queue)."""
