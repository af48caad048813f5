"""Build a small real-data DB for the enrich/digest/brief tests (see tests/fixtures/briefs/NOTE.md)."""
import datetime
import hashlib
import json
import pathlib

from db.connection import open_db

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "briefs"
CLAUDE_STORY = "s-claude-opus-4-ratting"
LION_AIR_STORY = "s-lion-air-737-max"
VB_URL = ("https://venturebeat.com/ai/anthropic-faces-backlash-to-claude-4-opus-behavior-that-contacts-"
          "authorities-press-if-it-thinks-youre-doing-something-egregiously-immoral/")
BOT_URL = "https://businessof.tech/fixture/anthropic-claude-4-opus-backlash"   # placeholder: the seed has no URL
BOWMAN_POST = ("If it thinks you’re doing something egregiously immoral, for example, like faking data in a "
               "pharmaceutical trial, it will use command-line tools to contact the press, contact regulators, "
               "try to lock you out of the relevant systems, or all of the above.")


def fixture_text(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def iso_week(published):
    y, w, _ = datetime.date.fromisoformat(published[:10]).isocalendar()
    return f"{y}-W{w:02d}"


def doc_row(url, kind, publisher, title, published, text, story_id, author=None, extra=None):
    return {
        "url": url, "canonical_url": url, "kind": kind, "publisher": publisher,
        "site": url.split("/")[2], "title": title, "author": author, "published": published,
        "published_week": iso_week(published), "published_month": published[:7],
        "fetched": "2026-11-01T00:00:00+00:00", "text": text, "lang": "en",
        "content_hash": hashlib.sha256(text.encode()).hexdigest(), "story_id": story_id,
        "word_count": len(text.split()), "extra": json.dumps(extra or {}),
    }


def build_db(path):
    """Two stories: Claude Opus 4 'ratting' (2025-W21/W22) and Lion Air (2018-W45)."""
    db = open_db(path)
    docs = [
        doc_row(VB_URL, "article", "VentureBeat",
                "Anthropic faces backlash to Claude 4 Opus behavior that contacts authorities, press if it "
                "thinks you’re doing something ‘egregiously immoral’",
                "2025-05-22T21:30:00+00:00", fixture_text("venturebeat_claude4_opus_backlash.txt"),
                CLAUDE_STORY, author="Carl Franzen"),
        doc_row("https://x.com/sleepinyourhat/status/fixture-1", "social", "X", "Post by Sam Bowman",
                "2025-05-22T16:43:00+00:00", BOWMAN_POST, CLAUDE_STORY, author="Sam Bowman",
                extra={"handle": "sleepinyourhat", "display_name": "Sam Bowman"}),
        doc_row(BOT_URL, "podcast", "Business of Tech",
                "Anthropic’s Claude 4 Opus faces backlash over ‘ratting’ mode and blackmail behavior",
                "2025-05-26T12:00:00+00:00", fixture_text("businessoftech_claude4_opus.txt"), CLAUDE_STORY),
    ]
    for line in (FIXTURES / "aiid_lion_air_2018w45.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        docs.append(doc_row(r["url"], "article", r["source"], r["title"], r["published"] + "T00:00:00+00:00",
                            r["text"], LION_AIR_STORY))
    for d in docs:
        db["documents"].insert(d)
    ids = {r["url"]: r["id"] for r in db.query("select id, url from documents")}
    db["stories"].insert_all([
        {"id": CLAUDE_STORY, "headline": "Claude Opus 4 will contact authorities and blackmail engineers in tests, Anthropic discloses",
         "first_seen": "2025-05-22T16:43:00+00:00", "last_seen": "2025-05-26T12:00:00+00:00", "first_week": "2025-W21",
         "lead_document_id": ids[VB_URL], "n_documents": 3, "n_sources": 3, "heat": 1.0,
         "categories": json.dumps(["whistleblowing-reporting", "deception-blackmail", "agent-autonomy", "policy-disclosure"]),
         "entities": json.dumps(["anthropic", "claude-opus-4", "sam-bowman"]), "related": "[]"},
        {"id": LION_AIR_STORY, "headline": "Lion Air 737 MAX crash linked to faulty sensor and automated control system",
         "first_seen": "2018-11-07T00:00:00+00:00", "last_seen": "2018-11-10T00:00:00+00:00", "first_week": "2018-W45",
         "n_documents": 8, "n_sources": 8, "heat": 0.5, "categories": json.dumps(["physical-harm", "agent-autonomy"]),
         "entities": "[]", "related": "[]"},
        {"id": "s-old-merged", "headline": "old copy", "merged_into": CLAUDE_STORY, "categories": "[]"},
    ])
    db["story_redirects"].insert({"old_id": "s-old-id", "new_id": CLAUDE_STORY})
    return db
