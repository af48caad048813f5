"""Feed bytes -> plain entry dicts: RSS 0.9x/1.0/2.0 and Atom (feedparser), JSON Feed.

Pure functions, no Scrapy. The parsers only ever see the response's bytes (feedparser opens a
string that looks like a path or a URL, so it is handed a BytesIO). Each entry keeps every
address it offers (`links`: link, an http(s) id/guid, enclosures) for the spider to join.
"""
import html
import io
import json
import re

import feedparser

from spiders.extract import html_to_text, wide_encoding

# Some feeds are ill-formed in harmless ways (declared charset differs from the real one);
# those are parsed normally and not reported.
HARMLESS_BOZO = (feedparser.CharacterEncodingOverride,)
XML_DECL_ENCODING = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding=[\"'][^\"']*[\"']")
TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
def as_utf8(body):
    """UTF-8 bytes for a UTF-16/32 body (BOM and XML encoding declaration dropped); others as they are."""
    encoding = wide_encoding(body)
    if not encoding:
        return body
    text = body.decode(encoding, errors="replace").lstrip("\ufeff")
    return XML_DECL_ENCODING.sub(r"\1", text).encode("utf-8")


def xml_content_type(content_type):
    """The Content-Type to tell feedparser: the real one for XML, else application/xml with its charset.

    Raw GitHub and many mirrors serve feeds as text/plain; feedparser would call every such feed
    ill-formed (NonXMLContentType) although its entries parse.
    """
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    if media.endswith(("xml", "+xml")) or media in ("application/rss", "application/atom"):
        return content_type
    return "application/xml" + (f";{params}" if "charset" in params.lower() else "")


def parse_feed(body, content_type=""):
    """(entries, feed metadata, problem or None) from RSS, Atom or JSON Feed bytes.

    An entry is a dict (id, links, title, summary, content, author, published, lang, enclosures,
    tags) or {"skip": reason} for an item that cannot be read (the spider counts it).
    """
    body = as_utf8(body or b"")
    if body.lstrip()[:1] in (b"{", b"["):
        return _parse_json_feed(body)
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-type": xml_content_type(content_type)})
    problem = None
    if isinstance(parsed.get("bozo_exception"), HARMLESS_BOZO):
        parsed, problem = _redetect(body, parsed)
    elif parsed.get("bozo"):
        problem = f"ill-formed feed ({type(parsed.bozo_exception).__name__}: {str(parsed.bozo_exception)[:120]})"
    atom = (parsed.get("version") or "").startswith("atom")
    entries = [_feed_entry(e, atom) for e in parsed.entries]
    meta = {"title": parsed.feed.get("title"), "lang": parsed.feed.get("language") or None,
            "version": parsed.get("version")}
    if not entries and parsed.get("bozo"):
        problem = problem or "not a feed"
    return entries, meta, problem


def _redetect(body, parsed):
    """The declared charset was wrong and feedparser fell back to a guess; a statistical detector
    does better (a KOI8-R feed otherwise comes out as windows-1252 mojibake)."""
    detected = _detect_encoding(body)
    if not detected or detected.replace("_", "-").lower() == (parsed.get("encoding") or "").lower():
        return parsed, None
    text = XML_DECL_ENCODING.sub(r"\1", body.decode(detected, errors="replace"))
    return feedparser.parse(io.BytesIO(text.encode("utf-8"))), f"wrong or missing encoding: decoded as {detected}"


def _detect_encoding(body):
    import charset_normalizer
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return best.encoding if best else None


def feed_text(value, detail=None, atom=False):
    """A title or name decoded exactly once.

    feedparser hands back the XML text. Atom says whether it is HTML (type="html"); in RSS only
    real tags make it HTML: an RSS title that merely holds an entity (`&amp;lt;script&amp;gt;`
    arrives as `&lt;script&gt;`) is already the title's text. JSON Feed titles are plain text.
    """
    if not value or not isinstance(value, str):
        return None
    kind = (detail or {}).get("type") or "text/plain"
    if ("html" in kind) if atom else bool(TAG_RE.search(value)):
        value = html_to_text(value)
    return " ".join(value.split())[:500] or None


def _feed_entry(e, atom):
    content = max((c.get("value") or "" for c in e.get("content") or []), key=len, default="")
    guid = e.get("id") or e.get("guid")
    enclosures = [x.get("href") for x in e.get("enclosures", []) if isinstance(x.get("href"), str)]
    link = e.get("link")
    if e.get("guidislink") and link == guid and not _absolute(link):
        link = None  # feedparser took a bare GUID ("1") for the link: it is no address
    return {
        "id": str(guid) if guid else None,
        "links": [u for u in (link, _absolute(guid), *enclosures) if u],
        "title": feed_text(e.get("title"), e.get("title_detail"), atom),
        "summary": e.get("summary") or "",
        "content": content,
        "author": feed_text(e.get("author"), e.get("author_detail"), atom),
        "published": e.get("published_parsed") or e.get("updated_parsed") or e.get("published"),
        "lang": (e.get("content", [{}])[0].get("language") if e.get("content") else None),
        "enclosures": enclosures,
        "tags": [t.get("term") for t in e.get("tags", []) if t.get("term")],
    }


def _absolute(value):
    """`value` when it is an absolute http(s) address (an id or guid that is a URL), else None."""
    return value if isinstance(value, str) and re.match(r"(?i)https?://[^\s/]", value.strip()) else None


def _parse_json_feed(body):
    try:
        data, _ = json.JSONDecoder().raw_decode(body.decode("utf-8-sig", errors="replace").lstrip())
    except ValueError as e:
        return [], {}, f"JSON Feed is not valid JSON ({e})"
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], {}, "JSON document is not a JSON Feed (no items list)"
    entries = [_json_entry(it) if isinstance(it, dict) else {"skip": f"JSON Feed item is not an object ({type(it).__name__})"}
               for it in data["items"]]
    title = data.get("title") if isinstance(data.get("title"), str) else None
    lang = data.get("language") if isinstance(data.get("language"), str) else None
    return entries, {"title": title, "lang": lang, "version": "json"}, None


def _json_entry(it):
    def text(key):
        return it.get(key) if isinstance(it.get(key), str) else None

    authors = it.get("authors")
    author = it.get("author") or (authors[0] if isinstance(authors, list) and authors else authors)
    attachments = it.get("attachments") if isinstance(it.get("attachments"), list) else []
    enclosures = [a["url"] for a in attachments if isinstance(a, dict) and isinstance(a.get("url"), str)]
    guid = it.get("id")
    tags = it.get("tags") if isinstance(it.get("tags"), list) else []
    return {
        "id": str(guid) if guid is not None else None,
        "links": [u for u in (it.get("url"), it.get("external_url"), _absolute(guid), *enclosures) if u],
        "title": feed_text(text("title")),
        "summary": text("summary") or "",
        # content_text is plain text: escaped so that reading it as HTML gives it back unchanged
        "content": text("content_html") or html.escape(text("content_text") or "", quote=False),
        "author": feed_text(author.get("name")) if isinstance(author, dict) else None,
        "published": text("date_published") or text("date_modified"),
        "lang": text("language"),
        "enclosures": enclosures,
        "tags": [t for t in tags if isinstance(t, str)],
    }
