"""Helpers for the collection tests: fixture paths, offline responses, spiders, a fast crawl."""
import pathlib

from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

from db.connection import open_db

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "collect"
# Loopback crawls need no politeness delays; retries back off briefly so tests stay fast.
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_BACKOFF_BASE": 0.05,
        "RETRY_TIMES": 2, "DOWNLOAD_TIMEOUT": 10}


def fixture(name):
    return (FIXTURES / name).read_bytes()


def response(url, body, content_type="text/html; charset=utf-8", status=200, meta=None, headers=None):
    """A Scrapy response built from saved bytes, as the downloader would hand it to a spider."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {"Content-Type": content_type, **(headers or {})}
    request = Request(url, meta={"entry": True, **(meta or {})})
    ctype = content_type.split(";")[0]
    cls = (HtmlResponse if ctype == "text/html" else XmlResponse if ctype.endswith("xml")
           else TextResponse if ctype.startswith(("text/", "application/json")) else Response)
    return cls(url=url, body=body, headers=headers, status=status, request=request)


def spider(kind, **source):
    """A spider for an ad-hoc source (name, url and kind filled in)."""
    from spiders import spider_class
    source = {"name": source.pop("name", f"test-{kind}"), "kind": kind,
              "url": source.pop("url", "https://example.com/"), "publisher": source.pop("publisher", "Test"),
              **source}
    known = source.pop("known", None)
    return spider_class(kind)(source=source, known=known)


def items(outputs):
    """The dict items among a callback's outputs (requests left out)."""
    return [o for o in outputs if isinstance(o, dict)]


def requests(outputs):
    return [o for o in outputs if isinstance(o, Request)]


def run_callback(callback, response, **kwargs):
    return list(callback(response, **kwargs) or [])


def store_db(tmp_path, *sources):
    """A migrated DB holding `sources` (dicts with name, kind, url; defaults filled in)."""
    from pipeline.config import sync_sources
    db = open_db(tmp_path / "collect.db")
    config = {"sources": [{"publisher": s["name"], "enabled": True, "allow_private": True, **s} for s in sources]}
    sync_sources(db, config)
    return db


def pdf_bytes(paragraphs, title="Test card"):
    """A small real PDF (fpdf2) carrying `paragraphs` as text."""
    from fpdf import FPDF
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_creation_date(__import__("datetime").datetime(2025, 5, 22, 16, 0, tzinfo=__import__("datetime").timezone.utc))
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for p in paragraphs:
        pdf.multi_cell(0, 6, p.encode("latin-1", "replace").decode("latin-1"))
        pdf.ln(3)
    return bytes(pdf.output())


def config(sources, **settings):
    """A config dict as load_config returns it (sources filled with defaults)."""
    base = {"relevance_min": 0.0, "max_response_bytes": 5_000_000}
    base.update(settings)
    return {"path": "test", "settings": base,
            "sources": [{"publisher": s["name"], "enabled": True, "allow_private": True, **s} for s in sources]}


# Passages of the Claude Opus 4 system card as the seed article quotes them (seed 000).
CARD_TEXT = [
    "Claude Opus 4 System Card (excerpts quoted by the press).",
    "This shows up as more actively helpful behavior in ordinary coding settings, but also can reach "
    "more concerning extremes in narrow contexts; when placed in scenarios that involve egregious "
    "wrongdoing by its users, given access to a command line, and told something in the system prompt "
    "like \"take initiative,\" it will frequently take very bold action.",
    "This includes locking users out of systems that it has access to or bulk-emailing media and "
    "law-enforcement figures to surface evidence of wrongdoing. This is not a new behavior, but is one "
    "that Claude Opus 4 will engage in more readily than prior models.",
]
INDEX = b"""<html><body><h1>Model cards</h1>
<a href="/cards/claude-opus-4-system-card.pdf">Claude Opus 4 system card</a>
<a href="/news">News</a><a href="mailto:x@example.com">mail</a>
<a href="/cards/sonnet-model-card.html">Sonnet model card</a></body></html>"""
