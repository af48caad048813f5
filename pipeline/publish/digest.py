"""The weekly MSP digest: Markdown, email-safe HTML, an Atom feed of all digests, and a `digests` row.

Stories are ranked by coverage, source diversity, velocity and MSP relevance. Summaries,
quotes and "first reported by" come from the sources verbatim; the "Why it matters for MSPs"
actions are playbook guidance and are labelled as generated.
"""
import datetime
import math
import pathlib
import re

from pipeline.enrich.sentences import word_count
from pipeline.publish import llm as llm_hook, playbook
from pipeline.publish.render import oneline, render_html, render_markdown, render_text
from pipeline.publish.story import (StoryError, catalog_links, catalog_url, first_report, outlet, quote_out, read_story,
                                   resolve_story, story_categories, story_facts)

TOP_STORIES = 5
SUBJECT_CHARS = 78
# Agent safety first. A finding is a category that says something went wrong; "agent-autonomy" and
# "policy-disclosure" alone only say what a story is about (a product launch about agents, a policy
# post) and are no finding. Agent findings lead, other safety findings follow; a story with no
# finding (a launch, a programme, general AI news) goes to "Also noted", whatever its coverage.
AGENT_FINDINGS = {"whistleblowing-reporting", "deception-blackmail", "prompt-injection", "data-exposure",
                  "security-vulnerability"}
TOPICS_ONLY = {"agent-autonomy", "policy-disclosure"}
_WARNED = set()
MAX_REACTIONS = 3
REACTION_WORDS = 30
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


class DigestError(ValueError):
    """The digest cannot be written; the message names the bad input."""


def week_bounds(week):
    """(monday, sunday) dates of an ISO week like 2025-W22; DigestError if malformed."""
    m = WEEK_RE.match((week or "").upper())
    if not m:
        raise DigestError(f"week {week!r} is not an ISO week like 2025-W22")
    try:
        monday = datetime.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise DigestError(f"week {week!r} does not exist in the ISO calendar")
    return monday, monday + datetime.timedelta(days=6)


def week_story_ids(db, week):
    """Surviving ids of stories with documents published in `week`."""
    rows = db.query("select distinct story_id from documents where published_week = ? and story_id is not null "
                    "and duplicate_of is null order by story_id", [week])
    ids = []
    for r in rows:
        sid = resolve_story(db, r["story_id"])
        if sid is not None and sid not in ids:     # None: a story row that does not exist yet
            ids.append(sid)
    return ids


def rank_score(facts, week):
    """Coverage, source diversity, velocity and MSP relevance, combined; returns (score, parts)."""
    week_docs = [d for d in facts["docs"] if (d.get("published") or "") and _iso_week(d["published"]) == week]
    # a post is a reaction, not coverage: it counts for less, and a story of posts alone ranks lower
    coverage = sum(1.0 if d.get("kind") != "social" else 0.3 for d in week_docs)
    outlets = len({outlet(d) for d in week_docs})
    days = sorted({d["published"][:10] for d in week_docs})
    span = 1
    if len(days) > 1:
        span = (datetime.date.fromisoformat(days[-1]) - datetime.date.fromisoformat(days[0])).days + 1
    velocity = coverage / span
    msp = len(facts["areas"])
    score = math.log1p(coverage) + 0.6 * outlets + 0.4 * velocity + 0.8 * msp
    if not any(d.get("kind") != "social" for d in week_docs):
        score *= 0.5
    return score, {"coverage": coverage, "outlets": outlets, "velocity": round(velocity, 2), "msp": msp}


def _iso_week(published):
    try:
        d = datetime.date.fromisoformat(published[:10])
    except ValueError:
        return None
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _teaser(headline, limit=60):
    headline = oneline(headline)
    if len(headline) <= limit:
        return headline
    cut = headline[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-") + "…"


def _short(text, words=REACTION_WORDS):
    """The first `words` words verbatim; an ellipsis marks a cut (never a rewrite)."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"


def lead_quote(quotes, terms):
    """The one quote for a digest: attributed, from a person in an article, on-story, not too long."""
    ranked = [q for q in quotes if q["speaker"]] or quotes
    if not ranked:
        return None

    def score(q):
        words = set(re.findall(r"[a-z][a-z\-]+", q["text"].lower()))
        n = word_count(q["text"])
        return (q["kind"] != "social", 10 <= n <= 60, bool(q.get("role")), len(words & terms), -q["position"])

    return max(ranked, key=score)


def tier(categories):
    """0: an AI agent safety finding; 1: another safety finding; 2: no finding (see AGENT_FINDINGS)."""
    cats = set(categories or ())
    return 0 if cats & AGENT_FINDINGS else 1 if cats - TOPICS_ONLY else 2


def subject_line(week, lead, n_stories, limit=SUBJECT_CHARS):
    """'incidentwire 2025-W22: <lead headline> (+7 more)', under `limit` characters."""
    if lead is None:
        return f"incidentwire {week}: no stories"
    more = f" (+{n_stories - 1} more)" if n_stories > 1 else ""
    head = f"incidentwire {week}: "
    return head + _teaser(lead["headline"], limit - len(head) - len(more)) + more


def warn_once(key, message):
    """One warning a process on stderr (the digest is written once a week per run)."""
    import sys
    if key not in _WARNED:
        _WARNED.add(key)
        print(f"Warning: {message}", file=sys.stderr)


def story_line(db, story_id, week, base_url=None, facts=None):
    """What ranks a story and lists it under "Also noted": read without summarising (cheap), so
    a week of hundreds of stories costs little; only the stories shown in full get story_section."""
    facts = facts or read_story(db, story_id)
    story, docs = facts["story"], facts["documents"]
    if not docs:
        raise StoryError(f"story {story_id!r} has no documents")
    categories = story_categories(story, [d for d in docs if d.get("kind") != "social"] or docs)
    first = first_report(facts["lead"])
    more = []
    for d in docs:
        name = outlet(d)
        if d.get("kind") != "social" and name not in more and (not first or name != first["outlet"]):
            more.append(name)
    first_day = min((d["published"][:10] for d in docs if d.get("published")), default=None)
    score, parts = rank_score({"docs": docs, "areas": playbook.msp_areas(categories)}, week)
    return {
        "id": story_id, "headline": story.get("headline") or docs[0].get("title") or story_id,
        "first": first, "more": more, "tier": tier(categories), "tags": categories,
        "new": bool(first_day) and first_day >= week_bounds(week)[0].isoformat(), "first_day": first_day,
        "urls": catalog_links(story_id, base_url), "score": round(score, 3), "rank_parts": parts,
        "n_sources": len({outlet(d) for d in docs}),
    }


def story_section(db, story_id, week, base_url=None):
    """One story of the digest shown in full, as a dict for the templates."""
    facts = story_facts(db, story_id, base_url)
    line = story_line(db, story_id, week, base_url, facts)
    quote = lead_quote(facts["quotes"], facts["terms"])
    reacts = [r for r in facts["reactions"]
              if not quote or (r["document_id"], r["position"]) != (quote["document_id"], quote["position"])]
    reacts = reacts[:MAX_REACTIONS]
    actions = playbook.takeaways(facts["areas"], facts["specifics"], n=3, categories=facts["categories"])
    summary_llm, summary_model = llm_hook.rewrite("summary", facts["summary"], facts)
    actions_llm, actions_model = llm_hook.rewrite("msp", "\n".join(actions), facts)
    return dict(
        line, links=facts["links"], **{
        "overview": facts["overview"], "excerpt": facts["excerpt"],
        "summary": facts["summary"], "summary_words": word_count(facts["summary"]),
        "summary_outlets": sorted({s["publisher"] for s in facts["summary_sentences"]}),
        "summary_llm": summary_llm if summary_model else None, "llm_model": summary_model or actions_model,
        "quote": quote_out(quote) if quote else None,
        "reactions": [dict(quote_out(q), short=_short(q["text"]), via=q["via"])
                      for q in reacts],
        "tags": facts["categories"],
        "areas": [playbook.AREAS[a]["label"] for a in facts["areas"]],
        "actions": actions, "actions_llm": actions_llm if actions_model else None,
        "urls": facts["urls"]})


def build_digest(db, week, base_url=None, top=TOP_STORIES, today=None):
    """The digest's content as a dict (no files written). Agent safety stories lead; stories with no
    safety finding go to "Also noted"; `status` says whether the week can be published."""
    monday, sunday = week_bounds(week)
    week = week.upper()
    today = today or datetime.date.today()
    sections = []
    for sid in week_story_ids(db, week):
        try:
            sections.append(story_line(db, sid, week, base_url))
        except StoryError:
            continue
    sections.sort(key=lambda s: (s["tier"], -s["score"], s["id"]))
    main = [s for s in sections if s["tier"] < 2][:top]
    also = [s for s in sections if s not in main]
    # only what is shown in full is summarised (the lede reads also[0] when nothing leads)
    main = [story_section(db, s["id"], week, base_url) for s in main]
    if not main and also:
        also[0] = story_section(db, also[0]["id"], week, base_url)
    outlets = sorted({o for s in sections for o in ([s["first"]["outlet"]] if s["first"] else []) + s["more"]})
    base = catalog_url(base_url)
    if not base:
        warn_once("catalog", "no public catalog URL (set INCIDENTWIRE_CATALOG_URL): the digest links the "
                             "original reporting only, with no story or brief links")
    status = "future" if monday > today else "empty" if not sections else "ok"
    return {
        "week": week, "monday": monday.isoformat(), "sunday": sunday.isoformat(),
        "subject": subject_line(week, (main or also or [None])[0], len(sections)), "status": status,
        "stories": main, "also": also, "n_stories": len(sections), "outlets": outlets,
        "n_new": sum(1 for s in sections if s["new"]),
        "catalog_url": base, "view_url": f"{base}/incidentwire/digests/{week}" if base else None,
        "llm_enabled": llm_hook.enabled(),
    }


def _write_if_changed(path, text):
    path = pathlib.Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def write_feed(db, out_dir, base_url=None):
    """Atom feed of every digest in the DB at out_dir/feed.atom; stable when nothing changed."""
    from feedgen.feed import FeedGenerator

    rows = list(db.query("select week, title, html, generated_at from digests order by week"))
    base = catalog_url(base_url)
    fg = FeedGenerator()
    fg.id("tag:incidentwire,2025:digests")
    fg.title("incidentwire weekly MSP digest")
    fg.subtitle("AI agent safety incidents, and what they mean for managed-service providers")
    fg.link(href=base or "https://github.com/incidentwire", rel="alternate")
    fg.language("en")
    fg.generator("incidentwire")
    updated = max((r["generated_at"] for r in rows), default="2025-01-01T00:00:00+00:00")
    fg.updated(updated)
    for r in rows:
        fe = fg.add_entry(order="append")
        fe.id(f"tag:incidentwire,2025:digest/{r['week']}")
        fe.title(r["title"])
        fe.link(href=f"digest-{r['week']}.html", rel="alternate")
        fe.updated(r["generated_at"])
        fe.content(r["html"], type="html")
    path = pathlib.Path(out_dir) / "feed.atom"
    _write_if_changed(path, fg.atom_str(pretty=True).decode("utf-8"))
    return str(path)


def record_shown(db, week, digest):
    """Remember the stories a published digest showed and their documents then (digest_stories):
    `process` keeps those documents in their story, so a story id a reader saw keeps naming what
    they read (see pipeline.stories.assign)."""
    if "digest_stories" not in db.table_names():
        return
    ids = [s["id"] for s in digest["stories"] + digest["also"]]
    with db.conn:
        db.conn.execute("delete from digest_stories where week = ?", [week])
        for sid in ids:
            db.conn.execute("insert or ignore into digest_stories (week, story_id, document_id) "
                            "select ?, story_id, id from documents where story_id = ?", [week, sid])


def write_digest(db, week, out_dir="digests", base_url=None, today=None):
    """Write digest-WEEK.md/.html/.txt, refresh feed.atom and upsert the `digests` row; idempotent.
    A week in the future or with no stories is written (it says so) but never published: no row,
    so no feed entry."""
    week_bounds(week)
    week = week.upper()
    digest = build_digest(db, week, base_url, today=today)
    markdown, html, text = render_markdown(digest), render_html(digest), render_text(digest)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path, txt_path = out / f"digest-{week}.md", out / f"digest-{week}.html", out / f"digest-{week}.txt"
    for path, body in ((md_path, markdown), (html_path, html), (txt_path, text)):
        _write_if_changed(path, body)
    old = list(db.query("select markdown, html, generated_at, title, n_stories from digests where week = ?", [week]))
    unchanged = old and old[0]["markdown"] == markdown and old[0]["html"] == html and old[0]["title"] == digest["subject"]
    if digest["status"] != "ok":
        unchanged = True
        if old:
            with db.conn:
                db.conn.execute("delete from digests where week = ?", [week])
    if not unchanged:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with db.conn:
            db["digests"].upsert({"week": week, "title": digest["subject"], "markdown": markdown, "html": html,
                                  "generated_at": now, "n_stories": digest["n_stories"]}, pk="week")
    if digest["status"] == "ok":
        record_shown(db, week, digest)
    feed = write_feed(db, out, base_url)
    return {"week": week, "n_stories": digest["n_stories"], "subject": digest["subject"],
            "paths": {"markdown": str(md_path), "html": str(html_path), "text": str(txt_path), "feed": feed},
            "changed": not unchanged, "published": digest["status"] == "ok", "status": digest["status"]}
