"""Pure helpers shared by the spiders: HTML to text, article extraction, dates, PDF text."""
import datetime
import html as html_lib
import io
import re
import time

import lxml.html
import trafilatura

from pipeline.dates import parse_date

BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
              "blockquote", "pre", "section", "article", "figure", "figcaption", "table", "hr"}
DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
             "form", "button", "head")
BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
                b"\x7fELF", b"MZ", b"ID3", b"OggS", b"RIFF", b"\x00\x00\x00")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text):
    """Plain text without control characters; paragraphs kept, runs of blank lines squeezed."""
    text = CONTROL_RE.sub("", text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(fragment):
    """Text of an HTML fragment (feed summary, API content); scripts and styles dropped."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return clean_text(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types on junk; unescaping is the safe fallback
        return clean_text(html_lib.unescape(re.sub(r"<[^>]*>", " ", fragment)))
    for el in root.iter(*DROP_TAGS):
        el.drop_tree()
    parts = []

    def walk(el):
        if not isinstance(el.tag, str):  # comments, processing instructions
            if el.tail:
                parts.append(el.tail)
            return
        block = el.tag in BLOCK_TAGS
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return clean_text("".join(parts))


def plain_title(value):
    """A title as text: entities decoded, markup removed, one line."""
    if not value:
        return None
    text = html_to_text(value) if ("<" in value or "&" in value) else value
    return " ".join(text.split())[:500] or None


def iso_utc(value):
    """ISO 8601 UTC string for a date in any common form (None when unknown or absurd)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, time.struct_time):
            dt = datetime.datetime(*value[:6], tzinfo=datetime.timezone.utc)
        elif isinstance(value, (int, float)):
            dt = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        elif isinstance(value, datetime.datetime):
            dt = value
        else:
            s = str(value).strip()
            if s.startswith("D:"):  # PDF dates: D:20250522120000Z or with +hh'mm'
                s = s[2:].replace("'", "")
                dt = datetime.datetime.strptime(s[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
                tail = s[14:]
                if tail[:1] in "+-" and len(tail) >= 5:
                    sign = 1 if tail[0] == "+" else -1
                    dt = dt.replace(tzinfo=datetime.timezone(sign * datetime.timedelta(
                        hours=int(tail[1:3]), minutes=int(tail[3:5]))))
            else:
                dt = parse_date(s)
                if dt is None:
                    return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        dt = dt.astimezone(datetime.timezone.utc).replace(microsecond=0)
    except (ValueError, OverflowError, TypeError, OSError):
        return None
    if not 1990 <= dt.year <= 2100:
        return None
    return dt.isoformat()


# Null-byte patterns of the first four bytes of a UTF-16/32 document starting with an ASCII
# character (XML 1.0 appendix F), after any BOM.
BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))


def wide_encoding(body):
    """"utf-16-le" etc. when `body` is UTF-16 or UTF-32 text (by BOM or null pattern), else None."""
    for bom, name in BOMS:
        if body.startswith(bom):
            return name
    head = body[:4]
    if len(head) < 4:
        return None
    nulls = tuple(b == 0 for b in head)
    return {(True, True, True, False): "utf-32-be", (False, True, True, True): "utf-32-le",
            (True, False, True, False): "utf-16-be", (False, True, False, True): "utf-16-le"}.get(nulls)


def looks_binary(body, content_type=""):
    """True when bytes promised as HTML/XML/JSON are really an image, archive, PDF or other binary."""
    head = body[:1024]
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.startswith(("image/", "audio/", "video/", "font/")) or ctype in (
            "application/zip", "application/pdf", "application/gzip"):
        return True
    if ctype == "application/octet-stream" and not head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"<", b"{", b"["):
        return True  # a generic type: only markup or JSON in it is taken for text
    encoding = wide_encoding(head)
    if encoding:  # UTF-16/32 text (XML 1.0 appendix F): text if its first bytes decode
        try:
            head[:len(head) // 4 * 4].decode(encoding)
            return False
        except UnicodeDecodeError:
            return True
    if head.lstrip().startswith(BINARY_MAGIC):
        return True
    return b"\x00" in head


# How a feed marks an entry that is only the start of its article.
TEASER_RE = re.compile(
    r"(?is)(?:read (?:the )?(?:full|whole|rest of the) (?:story|article|post)[^\n]{0,80}"
    r"|continue reading[^\n]{0,80}|keep reading[^\n]{0,80}|read more[^\n]{0,20}"
    r"|\[\s*(?:…|\.\.\.|&hellip;)\s*\]|…|\.\.\.|the post .{1,300}? appeared first on .{1,200}?)\s*$")


def is_teaser(text):
    """True when a feed entry's text ends with a truncation mark ("Read the full story at …",
    "Continue reading", "[…]", a trailing ellipsis, "The post … appeared first on …")."""
    return bool(text) and bool(TEASER_RE.search(text.strip()[-600:]))


CHALLENGE_MARKS = (b"challenge-platform", b"cf-browser-verification", b"<title>Just a moment...</title>",
                   b"cf_chl_opt", b"Attention Required! | Cloudflare")


def challenge_page(response):
    """A one-line reason when `response` is a bot challenge (Cloudflare) instead of the page, else None."""
    head = (response.body or b"")[:20000]
    mitigated = response.headers.get("cf-mitigated")
    if mitigated or any(mark in head for mark in CHALLENGE_MARKS):
        return f"Cloudflare challenge (HTTP {response.status}) instead of the page"
    return None


def page_canonical(html, url=None):
    """The absolute canonical URL a page declares (link rel=canonical, og:url), or None."""
    if isinstance(html, bytes):
        html = trafilatura.utils.decode_file(html)
    try:
        found = _canonical_link(lxml.html.fromstring(html))
    except Exception:  # lxml raises several types on junk
        return None
    if found and url:
        from urllib.parse import urljoin
        found = urljoin(url, found)
    return found if found and found.startswith(("http://", "https://")) else None


def _canonical_link(tree):
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content',
                  '//meta[@name="og:url"]/@content'):
        found = tree.xpath(xpath)
        if found and found[0].strip():
            return found[0].strip()
    return None


MIN_ARTICLE_WORDS = 25  # fewer words than this is a menu or an error page, not an article


def extract_article(html, url=None):
    """Main text and metadata of an article page (trafilatura); None when no article text is found."""
    if isinstance(html, bytes):
        html = trafilatura.utils.decode_file(html)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, favor_precision=True,
                                      include_comments=False, include_tables=True)
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = clean_text(data.get("text") or "")
    if len(text.split()) < MIN_ARTICLE_WORDS:
        return None
    canonical = None
    try:
        tree = lxml.html.fromstring(html)
        canonical = _canonical_link(tree)
        lang = (tree.get("lang") or tree.get("xml:lang") or "").split("-")[0].lower() or None
    except Exception:  # a page lxml cannot parse still has trafilatura's text
        lang = None
    if canonical and url:
        from urllib.parse import urljoin
        canonical = urljoin(url, canonical)
    return {
        "title": plain_title(data.get("title")),
        "author": plain_title(data.get("author")),
        "published": iso_utc(data.get("date")),
        "text": text,
        "lang": data.get("language") or lang,
        "canonical_url": canonical,
        "sitename": data.get("sitename"),
        "description": data.get("description"),
    }


class PdfError(Exception):
    """A PDF that cannot be read: broken, encrypted, or without text."""


def pdf_text(body, max_pages=300):
    """Text and metadata of a PDF (pypdf); raises PdfError with a one-line reason."""
    import pypdf
    from pypdf.errors import PyPdfError
    try:
        reader = pypdf.PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise PdfError("encrypted PDF (needs a password)")
            except (NotImplementedError, PyPdfError) as e:
                raise PdfError(f"encrypted PDF ({e})")
        pages = []
        for page in reader.pages[:max_pages]:
            pages.append(page.extract_text() or "")
        meta = reader.metadata or {}
        title = meta.get("/Title") if meta else None
        created = meta.get("/CreationDate") if meta else None
        modified = meta.get("/ModDate") if meta else None
    except PdfError:
        raise
    except Exception as e:  # pypdf raises many types on malformed input
        raise PdfError(f"unreadable PDF ({type(e).__name__}: {str(e)[:120]})")
    text = clean_text("\n\n".join(pages))
    if not text:
        raise PdfError("PDF has no extractable text")
    return {"text": text, "title": plain_title(str(title)) if title else None,
            "published": iso_utc(str(created)) if created else None,
            "modified": iso_utc(str(modified)) if modified else None}
