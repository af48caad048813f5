"""system_cards spider: index page -> cards (PDF via pypdf, HTML via trafilatura); versions in the store."""
from tests.support.collect import (fixture, items, pdf_bytes, requests, response, run_callback, spider,
                                   store_db)
from pipeline.store.documents import save_item
from tests.support.collect import CARD_TEXT, INDEX

def test_index_yields_card_requests():
    s = spider("system_cards", url="https://lab.example/system-cards", publisher="Lab")
    reqs = requests(run_callback(s.parse, response(s.source["url"], INDEX)))
    assert [r.url for r in reqs] == ["https://lab.example/cards/claude-opus-4-system-card.pdf",
                                     "https://lab.example/cards/sonnet-model-card.html"]


def test_pdf_card_text_title_date():
    s = spider("system_cards", url="https://lab.example/system-cards", publisher="Anthropic")
    body = pdf_bytes(CARD_TEXT, title="Claude Opus 4 System Card")
    [doc] = items(run_callback(s.parse_card, response("https://lab.example/cards/opus4.pdf", body, "application/pdf",
                                                      headers={"ETag": '"v1"'})))
    assert doc["kind"] == "system_card" and doc["title"] == "Claude Opus 4 System Card"
    assert doc["published"] == "2025-05-22T16:00:00+00:00"
    assert "bulk-emailing media" in doc["text"]
    assert doc["extra"]["http_etag"] == '"v1"' and doc["extra"]["format"] == "pdf"


def test_html_card():
    s = spider("system_cards", url="https://lab.example/system-cards")
    [doc] = items(run_callback(s.parse_card, response("https://lab.example/cards/x.html", fixture("readability_theverge.html")),
                               link_text="Some card"))
    assert doc["kind"] == "system_card" and len(doc["text"]) > 1000


def test_known_cards_rechecked_conditionally_even_when_index_unchanged():
    s = spider("system_cards", url="https://lab.example/system-cards",
               known={"https://lab.example/cards/opus4.pdf": {"etag": '"v1"', "last_modified": None}})
    reqs = list(s.entry_requests())
    assert reqs[1].headers.get("If-None-Match") == b'"v1"'
    assert run_callback(s.parse, response(s.source["url"], b"", status=304)) == []


def test_silent_card_change_is_kept_as_a_version_with_diff(tmp_path):
    db = store_db(tmp_path, {"name": "cards", "kind": "system_cards", "url": "https://lab.example/system-cards"})
    s = spider("system_cards", name="cards", url="https://lab.example/system-cards", publisher="Anthropic")
    url = "https://lab.example/cards/opus4.pdf"
    v1 = items(run_callback(s.parse_card, response(url, pdf_bytes(CARD_TEXT), "application/pdf")))[0]
    changed = CARD_TEXT[:2] + [CARD_TEXT[2].replace("more readily", "somewhat more readily")]
    v2 = items(run_callback(s.parse_card, response(url, pdf_bytes(changed), "application/pdf")))[0]
    assert save_item(db, v1) == "inserted"
    assert save_item(db, v1) == "unchanged"
    assert save_item(db, v2) == "updated"
    versions = list(db.query("select * from document_versions order by id"))
    assert len(versions) == 2 and versions[0]["diff"] is None
    assert "-" in versions[1]["diff"] and "+" in versions[1]["diff"] and "somewhat more readily" in versions[1]["diff"]
    [doc] = db["documents"].rows
    assert "somewhat more readily" in doc["text"]


def _configured(name):
    import pathlib
    from pipeline.config import load_config
    config = load_config(pathlib.Path(__file__).resolve().parent.parent / "sources.toml")
    return next(s for s in config["sources"] if s["name"] == name)


def test_sources_toml_system_card_indexes_find_their_cards():
    """Issue #18, point 4, on minimal probes of the two index pages as the issue describes them."""
    anthropic = _configured("anthropic-system-cards")
    assert anthropic["url"] == "https://www.anthropic.com/system-cards"
    page = b"""<html><body><a href="/">Home</a><a href="/transparency">Transparency hub</a>
    <a href="/system-cards#opus">System cards</a><a href="/news">News</a>
    <a href="https://www-cdn.anthropic.com/abc/claude-opus-4-5-system-card.pdf">Claude Opus 4.5</a>
    <a href="/claude-sonnet-4-5-system-card">Claude Sonnet 4.5 System Card</a></body></html>"""
    s = spider("system_cards", **{k: v for k, v in anthropic.items() if k != "kind"})
    assert [r.url for r in requests(run_callback(s.parse, response(anthropic["url"], page)))] == [
        "https://www-cdn.anthropic.com/abc/claude-opus-4-5-system-card.pdf",
        "https://www.anthropic.com/claude-sonnet-4-5-system-card"]

    openai = _configured("openai-system-cards")
    assert openai["url"] == "https://deploymentsafety.openai.com/"
    page = b"""<html><body><a href="/">Deployment safety hub</a><a href="#main">Skip</a>
    <a href="https://openai.com/">OpenAI</a><a href="https://openai.com/safety/">Safety</a>
    <a href="/gpt-5-5">GPT-5.5</a><a href="/gpt-5-5/gpt-5-5-card.pdf">PDF</a><a href="/o3">o3</a></body></html>"""
    s = spider("system_cards", **{k: v for k, v in openai.items() if k != "kind"})
    assert [r.url for r in requests(run_callback(s.parse, response(openai["url"], page)))] == [
        "https://deploymentsafety.openai.com/gpt-5-5", "https://deploymentsafety.openai.com/gpt-5-5/gpt-5-5-card.pdf",
        "https://deploymentsafety.openai.com/o3"]
