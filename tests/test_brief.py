"""Story briefs: show-prep order, truthfulness (verbatim quotes, numbers from sources), redirects."""
import json

import pytest

from pipeline.enrich import enrich_stories
from pipeline.publish.brief import BriefError, build_brief, render_brief_markdown
from tests.support.briefs import CLAUDE_STORY, LION_AIR_STORY, build_db

SECTIONS = ["## Cold open", "## Timeline", "## Key quotes", "## Numbers to say aloud", "## Reactions",
            "## Takeaways", "## Open questions", "## Sources"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = build_db(tmp_path_factory.mktemp("brief") / "t.db")
    enrich_stories(db)      # quotes are read from the quotes table, as after `incidentwire process`
    return db


@pytest.fixture(scope="module")
def brief(db):
    return build_brief(db, CLAUDE_STORY)


def doc_texts(db):
    return {r["id"]: r["text"] for r in db.query("select id, text from documents")}


def assert_truthful(db, b):
    """Every quote, number, sentence and question in the brief is verbatim in its source document."""
    texts = doc_texts(db)
    for q in b["key_quotes"] + b["reactions"]:
        assert q["text"] in texts[q["document_id"]], q["text"][:60]
        assert texts[q["document_id"]][q["position"]:q["position"] + len(q["text"])] == q["text"]
    for n in b["numbers"]:
        assert n["value"] in n["sentence"] and n["sentence"] in texts[n["document_id"]]
    for s in b["cold_open"] + b["open_questions"] + b["summary_sentences"]:
        assert s["text"] in texts[s["document_id"]]
    assert b["summary"] == " ".join(s["text"] for s in b["summary_sentences"])


def test_claude_brief_names_bowman_84_and_both_outlets(db, brief):
    bowman = [q for q in brief["key_quotes"] if q["text"].startswith("If it thinks you’re doing something egregiously immoral")]
    assert bowman and bowman[0]["speaker"] == "Sam Bowman"
    assert bowman[0]["outlet"] == "VentureBeat" and bowman[0]["url"].startswith("https://venturebeat.com/")
    assert "84%" in [n["value"] for n in brief["numbers"]]
    assert not [n for n in brief["numbers"] if "/month" in n["value"]]
    outlets = {s["outlet"] for s in brief["sources"]}
    assert {"VentureBeat", "Business of Tech"} <= outlets
    md = render_brief_markdown(brief)
    assert "Sam Bowman" in md and "84%" in md and "VentureBeat" in md and "Business of Tech" in md
    assert_truthful(db, brief)


def test_show_prep_order_and_content(brief):
    md = render_brief_markdown(brief)
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert md.startswith(f"# {brief['headline']}\n")     # the headline, not a cut slug
    assert len(brief["cold_open"]) == 2
    assert [e["date"] for e in brief["timeline"]] == sorted(e["date"] for e in brief["timeline"])
    assert len(brief["msp_takeaways"]) == 3
    assert any("Claude Opus 4" in t for t in brief["msp_takeaways"])
    assert "generated guidance" in brief["msp_takeaways_note"]
    assert "without a for/against stance" in brief["reactions_method"] and "without a for/against stance" in md
    assert any(q["text"].startswith("Will it share private business or user data with authorities autonomously")
               for q in brief["open_questions"])
    assert all(s["url"] for s in brief["sources"])
    json.dumps(brief)       # --format json works


def test_reactions_are_social_posts_listed_without_a_stance(brief):
    assert brief["reactions"]
    r = brief["reactions"][0]
    assert r["speaker"] == "Sam Bowman" and r["role"] == "@sleepinyourhat on X"
    assert not any("stance" in r for r in brief["reactions"])
    md = render_brief_markdown(brief)
    assert "**For**" not in md and "**Against**" not in md and "**Mixed" not in md


def test_unattributed_quotes_say_so(db):
    b = build_brief(db, LION_AIR_STORY)
    assert_truthful(db, b)
    md = render_brief_markdown(b)
    if any(q["speaker"] is None for q in b["key_quotes"]):
        assert "Unattributed (speaker not named in the source)" in md


def test_merged_ids_redirect(db):
    assert build_brief(db, "s-old-id")["id"] == CLAUDE_STORY
    assert build_brief(db, "s-old-merged")["id"] == CLAUDE_STORY
    assert build_brief(db, "s-old-id")["requested_id"] == "s-old-id"


def test_unknown_story_is_a_one_line_error(db):
    with pytest.raises(BriefError) as e:
        build_brief(db, "no-such-story")
    assert "no-such-story" in str(e.value) and "\n" not in str(e.value)


def test_catalog_base_url_configurable(db, monkeypatch):
    monkeypatch.setenv("INCIDENTWIRE_CATALOG_URL", "https://catalog.example.org/")
    b = build_brief(db, CLAUDE_STORY)
    assert b["urls"]["brief"] == f"https://catalog.example.org/stories/{CLAUDE_STORY}/brief"


def test_llm_hook_is_off_by_default(brief, monkeypatch):
    monkeypatch.delenv("INCIDENTWIRE_LLM_MODEL", raising=False)
    assert brief["llm_model"] is None and brief["msp_takeaways_llm"] is None
    from pipeline.publish import llm as llm_hook
    monkeypatch.setenv("INCIDENTWIRE_LLM_MODEL", "no-such-model-xyz")
    assert llm_hook.rewrite("summary", "unchanged text") == ("unchanged text", None)


# ---- the demo (lead's fixture): skipped only when the demo cannot be built here

def claude_story_id(db):
    rows = list(db.query(
        "select story_id, count(*) n from documents where story_id is not null and "
        "(title like '%Claude 4 Opus%' or title like '%Claude Opus 4%' or publisher = 'VentureBeat') "
        "group by story_id order by n desc limit 1"))
    return rows[0]["story_id"] if rows else None


def test_demo_claude_brief(demo_db):
    from db.connection import open_db
    db = open_db(demo_db)
    sid = claude_story_id(db)
    assert sid, "no Claude Opus 4 story in the demo"
    b = build_brief(db, sid)
    assert_truthful(db, b)
    speakers = {q["speaker"] for q in b["key_quotes"] + b["reactions"]
                if q["text"].startswith("If it thinks you’re doing something egregiously immoral")}
    assert "Sam Bowman" in speakers
    md = render_brief_markdown(b)
    assert "84%" in md
    outlets = {s["outlet"] for s in b["sources"]}
    assert "VentureBeat" in outlets and "Business of Tech" in outlets, outlets


def test_llm_hook_rewrites_are_labelled_beside_the_extractive_text(db, monkeypatch, tmp_path):
    import sys
    import types

    class FakeModel:
        def prompt(self, text):
            return types.SimpleNamespace(text=lambda: "REWRITTEN: " + text.splitlines()[-1][:40])

    monkeypatch.setitem(sys.modules, "llm", types.SimpleNamespace(get_model=lambda name: FakeModel()))
    monkeypatch.setenv("INCIDENTWIRE_LLM_MODEL", "fake-local")
    b = build_brief(db, CLAUDE_STORY)
    assert b["llm_model"] == "fake-local" and b["msp_takeaways_llm"].startswith("REWRITTEN: ")
    assert len(b["msp_takeaways"]) == 3     # the playbook text stays
    md = render_brief_markdown(b)
    assert "LLM rewrite (fake-local)" in md
    from pipeline.publish.digest import write_digest
    out = write_digest(db, "2025-W21", out_dir=str(tmp_path))
    digest_md = open(out["paths"]["markdown"]).read()
    assert "LLM rewrite (fake-local)" in digest_md and "first reported by" in digest_md


def test_cold_open_is_true_of_the_story_when_no_sentence_opens_it(db):
    from tests.support.briefs import doc_row
    db["stories"].insert({"id": "s-titles-only", "headline": "Robot passport checker rejects Asian man's photo",
                          "categories": "[]"}, replace=True)
    for k, outlet in enumerate(["The Incident Ledger", "Glitch Gazette"]):
        title = ["Robot passport checker rejects Asian man's photo", "Passport robot tells applicant to open eyes"][k]
        db["documents"].insert(doc_row(f"https://example.org/passport/{k}", "article", outlet, title,
                                       f"2025-05-2{k}T08:00:00+00:00", title, "s-titles-only"))
    b = build_brief(db, "s-titles-only")
    md = render_brief_markdown(b)
    assert b["cold_open"] == [] and "only social posts" not in md and "No reporting" not in md
    assert "The Incident Ledger first reported it on 2025-05-20" in md
    assert "Also reported as “Passport robot tells applicant to open eyes” (Glitch Gazette)." in md


def test_a_story_of_posts_alone_says_so(db):
    from tests.support.briefs import BOWMAN_POST, doc_row
    db["stories"].insert({"id": "s-posts-only", "headline": "Posts about Claude", "categories": "[]"}, replace=True)
    db["documents"].insert(doc_row("https://x.com/a/status/9", "social", "X", "Post by A",
                                   "2025-05-22T10:00:00+00:00", BOWMAN_POST, "s-posts-only", author="A",
                                   extra={"handle": "a", "display_name": "A"}))
    md = render_brief_markdown(build_brief(db, "s-posts-only"))
    assert "No articles yet, only 1 social post" in md


def test_stance_is_shown_only_if_the_word_list_is_right_9_times_in_10_on_real_posts():
    from bench.stance import measure
    from pipeline.enrich.reactions import SHOW_STANCE
    result = measure()
    assert result["n"] >= 12
    assert SHOW_STANCE == result["show_stance"], result      # the flag follows the measurement
    # the two misreadings the issue names are in the set, labelled by a person
    texts = {m["text"][:40] for m in result["misses"]}
    assert any(t.startswith("Honest question for the Anthropic team") for t in texts)


def test_numbers_say_what_they_count_once_each(brief, db):
    from pipeline.publish.brief import counted
    n84 = [n for n in brief["numbers"] if n["value"] == "84%"][0]
    assert n84["counts"] == "84% of the time" and n84["counts"] in n84["sentence"]
    lion = build_brief(db, LION_AIR_STORY)
    for b in (brief, lion):
        sentences = [n["sentence"] for n in b["numbers"]]
        assert len(sentences) == len(set(sentences))      # a sentence is quoted once, for one number
        assert all(n["counts"].startswith(n["value"]) and n["counts"] in n["sentence"] for n in b["numbers"])
    assert counted("5,550", "reached an altitude of 5,550 feet (1,692 meters), then") == "5,550 feet"
    assert counted("13", "crashed 13 minutes after taking off") == "13 minutes"


def test_timeline_is_story_beats_with_times_not_a_dump_of_posts(db, brief):
    beats = [e["what"].split(":")[0] for e in brief["timeline"]]
    assert beats.count("First report") == 1
    posts = [e for e in brief["timeline"] if e["kind"] == "social"]
    n_posts = len([s for s in brief["sources"] if s["kind"] == "social"])
    assert len(posts) <= len({e["date"] for e in posts}) and (n_posts == 0 or posts)  # one line a day
    assert any(e["time"] for e in brief["timeline"])       # times where the sources give them
    assert all(e["time"] is None or e["time"].endswith(" UTC") for e in brief["timeline"])
    md = render_brief_markdown(brief)
    assert "Follow-up: " in md or "Report: " in md
