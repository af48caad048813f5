"""Category rules on real texts (issue 20, point 3): whole words only, tested per category for
false positives and false negatives on documents from the demo snapshot (tests/fixtures/categories)."""
import json
import pathlib

import pytest

from pipeline.stories.categories import CATEGORIES, categorise

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "categories" / "real_texts.jsonl"
TEXTS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("row", TEXTS, ids=[r["title"][:40] for r in TEXTS])
def test_real_texts_get_their_categories_and_not_the_wrong_ones(row):
    got = categorise(row["title"] + "\n" + row["text"])
    assert set(row["has"]) <= set(got), (row["source"], got)
    assert not set(row["not"]) & set(got), (row["source"], got)


def test_every_category_is_tested_both_ways_on_real_texts():
    has = {c for r in TEXTS for c in r["has"]}
    nots = {c for r in TEXTS for c in r["not"]}
    for slug in ["legal-action", "physical-harm", "security-vulnerability", "whistleblowing-reporting"]:
        assert slug in has and slug in nots, slug


@pytest.mark.parametrize("text, wrong", [
    ("models that are not fine-tuned for cyber tasks", "legal-action"),
    ("a major Australian bank rolled out a chatbot", "legal-action"),
    ("the agency banner and the rule of thumb", "legal-action"),
    ("investigators said the crash investigation is ongoing", "legal-action"),
])
def test_rules_match_whole_words_only(text, wrong):
    assert wrong not in categorise(text)


def test_the_msp_areas_have_a_category_each():
    from pipeline.publish.playbook import AREAS
    for spec in AREAS.values():
        assert spec["slugs"] <= set(CATEGORIES)
