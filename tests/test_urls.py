from pipeline.urls import canonical_url, same_site, site_of


def test_tracking_parameters_fragments_and_trailing_slash_go():
    assert canonical_url("https://VentureBeat.com/ai/story/?utm_source=x&utm_medium=rss&fbclid=1#top") == \
        "https://venturebeat.com/ai/story"


def test_meaningful_query_kept_and_sorted():
    assert canonical_url("https://news.ycombinator.com/item?id=44063703&ref=hn") == \
        "https://news.ycombinator.com/item?id=44063703"
    assert canonical_url("https://x.com/s?b=2&a=1") == "https://x.com/s?a=1&b=2"


def test_amp_and_mobile_copies_collapse():
    original = canonical_url("https://www.example.com/2025/05/story")
    assert canonical_url("https://www.example.com/2025/05/story/amp/") == original
    assert canonical_url("https://www.example.com/amp/2025/05/story") == original
    assert canonical_url("https://m.example.com/2025/05/story") == "https://example.com/2025/05/story"
    assert canonical_url("https://mobile.example.com/a.amp.html") == "https://example.com/a.html"


def test_default_port_and_dot_segments():
    assert canonical_url("HTTPS://Example.com:443/a/./b/../c") == "https://example.com/a/c"
    assert canonical_url("http://127.0.0.1:8123/feed/") == "http://127.0.0.1:8123/feed"


def test_site_helpers():
    assert site_of("https://www.anthropic.com/news") == "anthropic.com"
    assert same_site("https://m.venturebeat.com/a", "https://venturebeat.com/b")
    assert not same_site("https://violethoward.com/new/x", "https://venturebeat.com/x")


def test_forum_threads_and_posts_are_social_by_their_address():
    from pipeline.urls import kind_of_url
    social = ["https://news.ycombinator.com/item?id=44076564", "https://www.reddit.com/r/singularity/comments/1kt/x/",
              "https://old.reddit.com/r/ClaudeAI/comments/1kt/", "https://lobste.rs/s/abc123/claude_4",
              "https://bsky.app/profile/someone.bsky.social/post/3lpx", "https://x.com/sleepinyourhat/status/1925",
              "https://mastodon.example/@alice/114556", "https://fedi.example/@bob@elsewhere.example/1"]
    articles = ["https://venturebeat.com/ai/anthropic-faces-backlash/", "https://www.anthropic.com/news/claude-4",
                "https://example.com/@media/style.css", "not a url", None]
    assert [kind_of_url(u) for u in social] == ["social"] * len(social)
    assert [kind_of_url(u) for u in articles] == ["article"] * len(articles)
