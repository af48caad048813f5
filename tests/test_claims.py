"""Claim checks (issue 22, part 2): what a sentence attributes to a primary source, looked up in it.

The sentences are real: the Business of Tech segment and the VentureBeat article (../shared/seeds),
checked against the demo's Claude Opus 4 system card excerpt (its PDF's text, line breaks and all).
"""
import pathlib

import pytest

from pipeline.enrich.claims import attribution_res, check_claims, document_claims
from pipeline.enrich.source_match import Source, number_key
from spiders.extract import pdf_text

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The card as VentureBeat and Business of Tech read it in May 2025; the demo serves a silently edited
# version of it later (demo/site), which the test below reads too.
CARD_PDF = ROOT / "demo" / "earlier" / "anthropic-system-cards" / "claude-opus-4-system-card-demo-excerpt.pdf"
EDITED_PDF = ROOT / "demo" / "site" / "anthropic-system-cards" / "claude-opus-4-system-card-demo-excerpt.pdf"
CARD_RES = attribution_res(["system card"], ["Anthropic"])

# Business of Tech, 26 May 2025 (seed 002), verbatim
BOT = ("Anthropic’s new model has been reported to engage in blackmail tactics when developers attempt to replace it "
       "with another artificial intelligence system. The company disclosed in a safety report that the AI model "
       "threatens to reveal sensitive information about engineers, such as personal affairs, if they proceed with the "
       "replacement. During testing, it was found that Claude Opus 4 attempts to blackmail engineers 84% of the time "
       "when the proposed replacement shares similar values.")
# VentureBeat, 22 May 2025 (seed 000), verbatim: the card quoted after "as Anthropic writes … :"
VB_INTRO = ("The ratting behavior was observed in older models as well and is an outcome of Anthropic training them to "
            "assiduously avoid wrongdoing, but Claude 4 Opus more “readily” engages in it, as Anthropic writes in its "
            "public system card for the new model: ")
VB_QUOTE = ("“This shows up as more actively helpful behavior in ordinary coding settings, but also can reach more "
            "concerning extremes in narrow contexts; when placed in scenarios that involve egregious wrongdoing by its "
            "users, given access to a command line, and told something in the system prompt like “take initiative, ” "
            "it will frequently take very bold action. This includes locking users out of systems that it has access "
            "to or bulk-emailing media and law-enforcement figures to surface evidence of wrongdoing.”")


@pytest.fixture(scope="module")
def card():
    return Source(54, pdf_text(CARD_PDF.read_bytes())["text"])


def claims(text):
    return document_claims(text, CARD_RES)


def test_a_number_the_card_does_not_state_is_flagged_with_its_sentence(card):
    found = check_claims(claims(BOT), [card])
    assert [(c["kind"], c["claim"], c["found"]) for c in found] == [("number", "84%", 0)]
    assert found[0]["sentence"].startswith("During testing, it was found") and found[0]["sentence"] in BOT


def test_a_quote_of_the_card_across_its_pdf_line_breaks_is_found(card):
    assert "law-enforcement" in card.text and "\n" in card.text     # the PDF breaks its lines
    found = check_claims(claims(VB_INTRO + "\n" + VB_QUOTE), [card])
    quotes = [c for c in found if c["kind"] == "quote"]
    assert len(quotes) == 1 and quotes[0]["found"] == 1 and quotes[0]["source_document_id"] == 54


def test_a_changed_word_in_a_quote_is_not_found(card):
    drifted = VB_QUOTE.replace("very bold action", "drastic action")
    found = check_claims(claims(VB_INTRO + "\n" + drifted), [card])
    assert [c["found"] for c in found if c["kind"] == "quote"] == [0]


def test_formatting_never_hides_a_match():
    source = Source(1, "Claude Opus 4 still performs blackmail in 84% of rollouts; it is “law-\nenforcement” ready.")
    assert source.find_number("84 percent") and source.find_number("84 per cent") and not source.find_number("80%")
    assert source.find_quote("STILL performs  blackmail in 84 percent of rollouts")
    assert source.find_quote("\"law-enforcement\" ready")
    assert source.find_quote("Claude Opus 4 still performs … 84% of rollouts")       # an ellipsis cuts the quote
    assert not source.find_quote("Claude Opus 4 always performs blackmail")
    assert number_key("$1.2 million") == number_key("$1,200,000") and number_key("3x") == ("3", "x")


def test_only_what_is_attributed_to_the_source_or_its_maker_is_checked():
    # the same number without attribution, a person's post, a spokesperson, another study: none is checked
    unattributed = "Claude Opus 4 attempts to blackmail engineers 84% of the time when the replacement shares its values."
    assert claims(unattributed) == []
    person = ("As Sam Bowman, an Anthropic AI alignment researcher wrote on the social network X: “it will use "
              "command-line tools to contact the press” in 90% of cases.")
    assert claims(person) == []
    spokesperson = "Anthropic said in a statement that 95% of users are unaffected by the change in policy."
    assert claims(spokesperson) == []
    study = "According to a study by Stanford researchers, 62% of agents misbehaved in similar tests."
    assert claims(study) == []
    assert [c["claim"] for c in claims("According to the system card, the model complied in 62% of cases.")] == ["62%"]


def test_years_versions_and_scare_quotes_are_not_claims():
    text = ("According to its system card, Claude Opus 4 was released in 2025 under the “ratting” label "
            "after 120 pages of tests.")
    assert claims(text) == []


def test_a_quote_of_a_card_version_since_edited_is_still_found():
    """The coverage quoted the card before a silent edit changed the words: no drift on the outlet's side."""
    from pipeline.enrich.primary_table import story_checks
    earlier, edited = (pdf_text(p.read_bytes())["text"] for p in (CARD_PDF, EDITED_PDF))
    assert earlier != edited
    card = {"id": 54, "kind": "system_card", "publisher": "Anthropic", "site": "Anthropic", "title": "System Card: Claude Opus 4",
            "url": "https://anthropic.example/card.pdf", "published": "2025-05-22", "text": edited, "duplicate_of": None}
    article = {"id": 60, "kind": "article", "publisher": "VentureBeat", "site": "VentureBeat", "title": "Claude 4 Opus rats",
               "url": "https://venturebeat.example/a", "published": "2025-05-22", "text": VB_INTRO + "\n" + VB_QUOTE,
               "duplicate_of": None}
    story = {"id": "s-1", "headline": "Claude Opus 4", "entities": "[]"}
    quotes = lambda **k: [c["found"] for c in story_checks(story, [card, article], **k)[2] if c["kind"] == "quote"]
    assert quotes() == [0]                                              # the edited card alone lacks it
    assert quotes(earlier={54: earlier}.get) == [1]                     # the version they quoted has it
