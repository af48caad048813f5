"""Scrapy spiders, one module per source kind. Spiders only fetch and yield plain dict items
(built by spiders.items); spiders.guard and spiders.middlewares keep them off private addresses."""


def spider_class(kind):
    """The spider class for a source kind (imports lazily: Scrapy is heavy)."""
    from spiders.article import ArticleSpider
    from spiders.bluesky import BlueskySpider
    from spiders.feed import FeedSpider
    from spiders.hn import HackerNewsSpider
    from spiders.lobsters import LobstersSpider
    from spiders.mastodon import MastodonSpider
    from spiders.reddit import RedditSpider
    from spiders.system_cards import SystemCardsSpider
    from spiders.wordpress import WordpressSpider
    return {
        "feed": FeedSpider, "article": ArticleSpider, "wordpress": WordpressSpider,
        "system_cards": SystemCardsSpider, "mastodon": MastodonSpider, "bluesky": BlueskySpider,
        "hn": HackerNewsSpider, "reddit": RedditSpider, "lobsters": LobstersSpider,
    }[kind]
