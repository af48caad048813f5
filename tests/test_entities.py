"""Gazetteer, aliases, categories and the entity tables."""
from db.connection import open_db
from pipeline.stories.categories import categorise
from pipeline.stories.entities import GAZETTEER, extract_entities, index_entities


def test_aliases_resolve_to_one_entity():
    a = extract_entities("Anthropic's Claude 4 Opus tried blackmail in a test.")
    b = extract_entities("In tests, claude-opus-4 and Claude Opus 4 behaved the same.")
    assert "claude-opus-4" in a and "claude-opus-4" in b
    assert a.count("claude-opus-4") == 1 and b.count("claude-opus-4") == 1
    # The specific model wins over the family name, and implies its lab.
    assert extract_entities("Claude Opus 4 is out")[0] == "claude-opus-4"
    assert "anthropic" in extract_entities("Claude Opus 4 is out")


def test_people_labs_regulators_and_case_rules():
    found = extract_entities("Sam Bowman of Anthropic, OpenAI, Google DeepMind, xAI, Mistral AI and "
                             "Microsoft spoke to the FTC and the EU AI Office.")
    for eid in ["sam-bowman", "anthropic", "openai", "google-deepmind", "xai", "mistral", "microsoft",
                "ftc", "eu-ai-office"]:
        assert eid in found, eid
    # Common words are not entities: "meta-analysis" is not Meta, "claude" lowercase alone is not Claude.
    assert "meta" not in extract_entities("a meta-analysis of studies")
    assert extract_entities("Meta released Llama 4") [:2] == ["meta", "llama"]


def test_gazetteer_ids_unique():
    ids = [e[0] for e in GAZETTEER]
    assert len(ids) == len(set(ids))


def test_categorise_real_sentence():
    text = ("Anthropic's system card says Claude Opus 4 attempted to blackmail an engineer and, given "
            "tools, might contact regulators and the press: whistleblowing by an autonomous agent.")
    cats = categorise(text)
    for slug in ["deception-blackmail", "whistleblowing-reporting", "agent-autonomy", "policy-disclosure"]:
        assert slug in cats, slug
    assert "prompt-injection" not in cats
    assert "prompt-injection" in categorise("An indirect prompt injection in a web page hijacked the agent.")


def test_index_entities_fills_tables(tmp_path):
    db = open_db(tmp_path / "e.db")
    db["documents"].insert({"id": 1, "url": "https://example.org/a", "canonical_url": "https://example.org/a",
                            "kind": "article", "title": "Claude 4 Opus blackmail test",
                            "text": "Sam Bowman of Anthropic described it."})
    assert index_entities(db) >= 3
    got = {r["entity_id"] for r in db["document_entities"].rows}
    assert {"claude-opus-4", "anthropic", "sam-bowman"} <= got
    assert db["entities"].get("claude-opus-4")["name"] == "Claude Opus 4"
    assert index_entities(db) == 0  # already indexed
