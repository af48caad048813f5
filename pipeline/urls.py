"""Canonical URLs: one spelling per article, so copies of a link collapse to one row."""
import posixpath
import re
import urllib.parse

# Query parameters that only say how a reader arrived; they never change the page.
TRACKING_PARAMS = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "yclid",
    "igshid", "_hsenc", "_hsmi", "mkt_tok", "ref", "ref_src", "ref_url", "cmpid", "ncid",
    "ocid", "sr_share", "smid", "guccounter", "guce_referrer", "guce_referrer_sig", "s_cid",
    "amp", "__twitter_impression", "spm",
}
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "at_", "itm_", "oly_")
MOBILE_PREFIXES = ("m.", "mobile.", "amp.")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name):
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _strip_amp_path(path):
    # AMP copies live at /amp, /amp/, /amp.html or /foo.amp.html on most publishers.
    path = re.sub(r"/amp/?$", "/", path)
    path = re.sub(r"\.amp(\.html?)$", r"\1", path)
    path = re.sub(r"^/amp/(?=.)", "/", path)
    return path


def canonical_url(url):
    """Normalise `url`: scheme/host case, tracking params, AMP, mobile hosts, slashes, fragments."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    scheme = (parts.scheme or "http").lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in MOBILE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = parts.path or "/"
    path = urllib.parse.quote(urllib.parse.unquote(path), safe="/:@!$&'()*+,;=-._~%")
    path = posixpath.normpath(path) if path not in ("", "/") else "/"
    if not path.startswith("/"):
        path = "/" + path
    path = _strip_amp_path(path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    query.sort()
    return urllib.parse.urlunsplit((scheme, netloc, path, urllib.parse.urlencode(query), ""))


def site_of(url):
    """The host people recognise: lower-case, without `www.`."""
    host = (urllib.parse.urlsplit(url or "").hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def same_site(a, b):
    """True when two URLs belong to the same site (ignoring www./m. prefixes)."""
    return site_of(canonical_url(a)) == site_of(canonical_url(b))


# Forums and social networks: what the social spiders store as kind "social".
SOCIAL_HOSTS = {"news.ycombinator.com", "reddit.com", "lobste.rs", "bsky.app", "twitter.com", "x.com",
                "threads.net", "mastodon.social", "mastodon.online", "hachyderm.io", "infosec.exchange",
                "fosstodon.org", "masto.ai", "lemmy.world", "tildes.net"}
_FEDIVERSE_POST = re.compile(r"^/@[\w.-]+(@[\w.-]+)?/\d+/?$")


def kind_of_url(url):
    """"social" for a forum thread or a post (by its host, or a Mastodon-style /@user/123 path), else "article".

    For documents that come without a spider to say what they are (bench sets, imports).
    """
    parts = urllib.parse.urlsplit(url or "")
    host = site_of(url)
    if host in SOCIAL_HOSTS or any(host.endswith("." + h) for h in SOCIAL_HOSTS):
        return "social"
    return "social" if _FEDIVERSE_POST.match(parts.path or "") else "article"
