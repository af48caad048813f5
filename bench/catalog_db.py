"""Build a small, realistic incidentwire DB for bench.search and the catalog tests from real seed and AIID texts.

Used when the demo DB is not available; also the base of bench.search. Every text here comes
from ../shared (seeds, eval/aiid-fixtures.jsonl, fixtures/feeds) except the one hostile document,
which is made up on purpose to prove that scraped markup is shown as text.
"""
import datetime
import os
import html
import json
import pathlib
import re

from db.connection import open_db

CLAUDE_STORY = "s-2025-w21-claude-opus-4"
MERGED_STORY = "s-2025-w21-claude-4-old"
HOSTILE_TITLE = ('<script>alert("xss-title")</script><img src=x onerror=alert(1)> '
                 'Claude Opus 4 blackmail mirror')
HOSTILE_TEXT = ('Mirror of the blackmail story. <a href="javascript:alert(2)">click me</a> '
                '<div onmouseover="alert(3)">hover</div> <script>alert("xss-text")</script> '
                'Claude Opus 4 attempts to blackmail engineers 84% of the time.')
HOSTILE_URL = "https://mirror.example/claude?<script>alert(5)</script>"
HOSTILE_MARKERS = ("<script>alert", "onerror=alert", "onmouseover=\"alert", "href=\"javascript:")

VB_TITLE = ("Anthropic faces backlash to Claude 4 Opus behavior that contacts authorities, "
            "press if it thinks you\u2019re doing something \u2018egregiously immoral\u2019")
BOT_TITLE = "Anthropic\u2019s Claude 4 Opus Faces Backlash Over \u201cRatting\u201d Mode and Blackmail Tests"


def find_shared(shared=None):
    """The shared inputs folder: the argument, else the tests' own (see conftest.shared_dir)."""
    if shared:
        return pathlib.Path(shared)
    env = os.environ.get("INCIDENTWIRE_SHARED")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "shared"


def wordpress_text(path):
    """Title and plain text of the WordPress API response in seed 000 (JSON followed by a comment)."""
    raw = path.read_text(encoding="utf-8")
    post, _ = json.JSONDecoder().raw_decode(raw)
    body = re.sub(r"<[^>]+>", "\n", post["content"]["rendered"])
    body = html.unescape(body)
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    # Drop the newsletter boilerplate that trafilatura would drop too.
    paragraphs = [p for p in paragraphs if not p.startswith(("Join our daily", "Daily insights",
                  "If you want to impress", "Read our Privacy", "Thanks for subscribing",
                  "An error occured", "Source link"))]
    return html.unescape(post["title"]["rendered"]), "\n\n".join(paragraphs), post


def podcast_text(path):
    """The Business of Tech segment without the subscription boilerplate."""
    text = path.read_text(encoding="utf-8")
    return text.split("Choose your upgrade:")[0].strip()


def week_of(iso):
    d = datetime.datetime.fromisoformat(iso)
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}", d.strftime("%Y-%m")


def doc(id, source_id, kind, publisher, site, url, title, published, text, story_id,
        duplicate_of=None, author=None, extra=None):
    week, month = week_of(published)
    return {
        "id": id, "url": url, "canonical_url": url, "source_id": source_id, "kind": kind,
        "publisher": publisher, "site": site, "title": title, "author": author,
        "published": published, "published_week": week, "published_month": month,
        "fetched": "2025-05-30T08:00:00+00:00", "text": text, "lang": "en",
        "content_hash": f"h{id:06d}", "simhash": None, "duplicate_of": duplicate_of,
        "story_id": story_id, "word_count": len(text.split()), "relevance": 0.9,
        "guid": url, "extra": json.dumps(extra or {}),
    }


def aiid_rows(shared):
    """AIID reports that carry text, grouped by incident."""
    by_story = {}
    for line in (shared / "eval" / "aiid-fixtures.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["text"] and len(row["text"]) > 400 and row.get("source"):
            by_story.setdefault(row["story_id"], []).append(row)
    return by_story


def build_catalog_db(path, shared=None):
    """Write a small incidentwire DB at `path` and return it (sqlite_utils.Database)."""
    shared = find_shared(shared)
    db = open_db(path)
    sources = [
        (1, "anthropic-news", "feed", "https://www.anthropic.com/rss.xml", "Anthropic"),
        (2, "venturebeat", "article", "https://venturebeat.com/feed/", "VentureBeat"),
        (3, "violethoward", "wordpress", "https://violethoward.com/wp-json/wp/v2/posts", "violethoward.com"),
        (4, "business-of-tech", "feed", "https://www.businessof.tech/feed/", "The Business of Tech"),
        (5, "anthropic-system-cards", "system_cards", "https://www.anthropic.com/system-cards", "Anthropic"),
        (6, "mastodon-ai-safety", "mastodon", "https://mastodon.social/api/v1/timelines/tag/aisafety", "Mastodon"),
        (7, "hn", "hn", "https://hn.algolia.com/api/v1/search_by_date", "Hacker News"),
        (8, "aiid-news", "feed", "https://incidentdatabase.ai/rss.xml", "AIID reports"),
        (9, "mirror", "article", "https://mirror.example/feed", "Mirror <b>Example</b>"),
    ]
    db["sources"].insert_all([
        {"id": i, "name": n, "kind": k, "url": u, "publisher": p, "enabled": 1}
        for i, n, k, u, p in sources], replace=True)

    vb_title, vb_text, post = wordpress_text(shared / "seeds" / "000_8692a8530e1160a9.txt")
    bot_text = podcast_text(shared / "seeds" / "002_ee4b015b54fba806.txt")
    card_passage = vb_text.split("system card for the new model:")[1].split("Apparently,")[0].strip()
    vb_url = ("https://venturebeat.com/ai/anthropic-faces-backlash-to-claude-4-opus-behavior-that-"
              "contacts-authorities-press-if-it-thinks-youre-doing-something-egregiously-immoral/")
    docs = [
        doc(1, 1, "blog", "Anthropic", "www.anthropic.com", "https://www.anthropic.com/news/claude-4",
            "Introducing Claude 4", "2025-05-22T00:00:00+00:00", "Introducing Claude 4", CLAUDE_STORY),
        doc(2, 1, "blog", "Anthropic", "www.anthropic.com",
            "https://www.anthropic.com/news/activating-asl3-protections",
            "Activating AI Safety Level 3 protections", "2025-05-22T00:00:00+00:00",
            "Activating AI Safety Level 3 protections", CLAUDE_STORY),
        doc(3, 5, "system_card", "Anthropic", "www.anthropic.com",
            "https://www.anthropic.com/claude-4-system-card", "System Card: Claude Opus 4 & Claude Sonnet 4",
            "2025-05-22T12:00:00+00:00", card_passage, CLAUDE_STORY),
        doc(4, 2, "article", "VentureBeat", "venturebeat.com", vb_url, VB_TITLE,
            "2025-05-22T16:43:00+00:00", vb_text, CLAUDE_STORY, author="Carl Franzen"),
        doc(5, 3, "article", "violethoward.com", "violethoward.com", post["link"], vb_title,
            "2025-05-23T05:34:12+00:00", vb_text, CLAUDE_STORY, duplicate_of=4),
        doc(6, 4, "podcast", "The Business of Tech", "www.businessof.tech",
            "https://www.businessof.tech/2025/05/26/anthropic-claude-4-opus-backlash/", BOT_TITLE,
            "2025-05-26T10:00:00+00:00", bot_text, CLAUDE_STORY, author="Dave Sobel"),
        doc(7, 7, "social", "Hacker News", "news.ycombinator.com",
            "https://news.ycombinator.com/item?id=44062000", "@Teknium1 on Claude 4 Opus",
            "2025-05-22T18:00:00+00:00",
            "Why would people use these tools if a common error in llms is thinking recipes for "
            "spicy mayo are dangerous?? What kind of surveillance state world are we trying to build here?",
            CLAUDE_STORY, author="@Teknium1", extra={"handle": "@Teknium1"}),
        doc(8, 6, "social", "Mastodon", "mastodon.social",
            "https://mastodon.social/@ScottDavidKeefe/114550000000000001", "@ScottDavidKeefe on Claude 4 Opus",
            "2025-05-22T19:00:00+00:00",
            "Nobody likes a rat. Why would anyone want one built in, even if they are doing nothing wrong?",
            CLAUDE_STORY, author="@ScottDavidKeefe", extra={"handle": "@ScottDavidKeefe"}),
        doc(9, 9, "article", "Mirror <b>Example</b>", "mirror.example", HOSTILE_URL, HOSTILE_TITLE,
            "2025-05-24T09:00:00+00:00", HOSTILE_TEXT, CLAUDE_STORY),
    ]
    # Other stories from real AIID reports, dates moved into the same weeks.
    other = []
    next_id = 100
    base = datetime.datetime(2025, 5, 19, 9, tzinfo=datetime.timezone.utc)
    reports = aiid_rows(shared)
    for n, (incident, rows) in enumerate(sorted(reports.items())[:5]):
        sid = f"s-aiid-{incident}"
        for k, row in enumerate(rows[:6]):
            published = (base + datetime.timedelta(days=n * 4 + k, hours=k)).isoformat()
            docs.append(doc(next_id, 8, "article", row["source"], row["source"], row["url"] or
                            f"https://{row['source']}/{row['id']}", row["title"], published,
                            row["text"], sid))
            next_id += 1
        other.append((sid, rows[0]["story_title"], n))
    db["documents"].insert_all(docs, pk="id", replace=True)

    db["document_versions"].insert_all([
        {"id": 1, "document_id": 3, "url": docs[2]["url"], "content_hash": "h-card-v1",
         "fetched": "2025-05-22T13:00:00+00:00", "text": card_passage.split("  Whereas")[0], "diff": None},
        {"id": 2, "document_id": 3, "url": docs[2]["url"], "content_hash": "h-card-v2",
         "fetched": "2025-05-29T13:00:00+00:00", "text": card_passage,
         "diff": "--- v1\n+++ v2\n@@ -1 +1,2 @@\n+Whereas this kind of ethical intervention and "
                 "whistleblowing is perhaps appropriate in principle, it has a risk of misfiring\n"
                 "+<script>alert('diff')</script>"},
    ], pk="id", replace=True)

    stories = [{
        "id": CLAUDE_STORY, "headline": "Anthropic faces backlash over Claude Opus 4 blackmail and whistleblowing behaviour",
        "summary": "Anthropic's Claude Opus 4 system card reports blackmail attempts in tests; a "
                   "researcher's post about 'ratting' users out drew a backlash.",
        "first_seen": "2025-05-22T00:00:00+00:00", "last_seen": "2025-05-26T10:00:00+00:00",
        "first_week": "2025-W21", "lead_document_id": 4, "n_documents": 9, "n_sources": 8,
        "heat": 9.5, "categories": json.dumps(["deception", "whistleblowing", "system-card"]),
        "entities": json.dumps(["anthropic", "claude-opus-4"]),
        "related": json.dumps([other[0][0]]), "merged_into": None, "updated": "2025-05-30T08:00:00+00:00",
    }]
    for sid, title, n in other:
        ds = [d for d in docs if d["story_id"] == sid]
        stories.append({
            "id": sid, "headline": title, "summary": ds[0]["text"][:200],
            "first_seen": ds[0]["published"], "last_seen": ds[-1]["published"],
            "first_week": ds[0]["published_week"], "lead_document_id": ds[0]["id"],
            "n_documents": len(ds), "n_sources": len({d["publisher"] for d in ds}),
            "heat": round(5.0 - n * 0.7, 2), "categories": json.dumps(["incident"]),
            "entities": json.dumps([]), "related": json.dumps([CLAUDE_STORY] if n == 0 else []),
            "merged_into": None, "updated": "2025-05-30T08:00:00+00:00",
        })
    db["stories"].insert_all(stories, pk="id", replace=True)
    db["story_redirects"].insert({"old_id": MERGED_STORY, "new_id": CLAUDE_STORY}, replace=True)
    db["entities"].insert_all([
        {"id": "anthropic", "name": "Anthropic", "kind": "lab", "aliases": json.dumps([])},
        {"id": "claude-opus-4", "name": "Claude Opus 4", "kind": "model",
         "aliases": json.dumps(["Claude 4 Opus"])},
        {"id": "sam-bowman", "name": "Sam Bowman", "kind": "person", "aliases": json.dumps([])},
    ], pk="id", replace=True)
    db["document_entities"].insert_all(
        [{"document_id": i, "entity_id": "anthropic"} for i in (1, 2, 3, 4, 5, 6)]
        + [{"document_id": i, "entity_id": "claude-opus-4"} for i in (1, 3, 4, 5, 6, 7, 8, 9)]
        + [{"document_id": 4, "entity_id": "sam-bowman"}], pk=("document_id", "entity_id"), replace=True)
    db["quotes"].insert_all([
        {"id": 1, "document_id": 4, "story_id": CLAUDE_STORY, "speaker": "Sam Bowman",
         "role": "Anthropic AI alignment researcher", "position": 1,
         "text": "If it thinks you\u2019re doing something egregiously immoral, for example, like faking "
                 "data in a pharmaceutical trial, it will use command-line tools to contact the press, "
                 "contact regulators, try to lock you out of the relevant systems, or all of the above."},
        {"id": 2, "document_id": 4, "story_id": CLAUDE_STORY, "speaker": "Austin Allred",
         "role": "co-founder of Gauntlet AI", "position": 2,
         "text": "Honest question for the Anthropic team: HAVE YOU LOST YOUR MINDS?"},
        {"id": 3, "document_id": 9, "story_id": CLAUDE_STORY, "speaker": "<script>alert('speaker')</script>",
         "role": None, "position": 1, "text": "<img src=x onerror=alert('quote')>"},
    ], pk="id", replace=True)
    md = ("# Week 2025-W21\n\n## Anthropic faces backlash over Claude Opus 4\n\n"
          "> Honest question for the Anthropic team: HAVE YOU LOST YOUR MINDS?\n\n"
          "Also seen: <script>alert('digest')</script> [bad](javascript:alert(6)) "
          "<img src=x onerror=alert(7)>\n\n**Why it matters for MSPs:** review agent permissions.\n")
    db["digests"].insert({"week": "2025-W21", "title": "incidentwire weekly: 2025-W21", "markdown": md,
                          "html": "<p>generated</p>", "generated_at": "2025-05-26T08:00:00+00:00",
                          "n_stories": 3}, pk="week", replace=True)
    db["runs"].insert({"id": 1, "command": "crawl", "started": "2025-05-30T08:00:00+00:00",
                       "finished": "2025-05-30T08:01:00+00:00", "status": "ok",
                       "counts": json.dumps({"inserted": len(docs)}), "errors": "[]"}, pk="id", replace=True)
    db["skips"].insert({"id": 1, "run_id": 1, "source": "mirror", "url": "https://mirror.example/x",
                        "reason": "page over 5 MB", "at": "2025-05-30T08:00:30+00:00"}, pk="id", replace=True)
    # Everything into the main file, so a plain file copy carries all of it.
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


if __name__ == "__main__":
    import sys
    build_catalog_db(sys.argv[1] if len(sys.argv) > 1 else "/tmp/catalog.db")
