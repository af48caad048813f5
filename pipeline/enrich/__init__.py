"""Enrich: quotes with speakers, numbers, reactions and summaries, each a verbatim slice of a source.

sentences (spans, word counts, boilerplate) <- speakers <- quotes <- quotes_table (the `quotes`
table: `enrich_stories`); numbers, reactions and summarise sit beside them. The names below are
the stage's public face: `from pipeline import enrich; enrich.enrich_stories(db)`.
"""
from pipeline.enrich.numbers import extract_numbers
from pipeline.enrich.quotes import document_quotes, extract_quotes, social_author, social_quote
from pipeline.enrich.quotes_table import enrich_stories
from pipeline.enrich.reactions import reaction_stance
from pipeline.enrich.sentences import sentence_spans, sentences, word_count

__all__ = ["document_quotes", "enrich_stories", "extract_numbers", "extract_quotes", "reaction_stance",
           "sentence_spans", "sentences", "social_author", "social_quote", "word_count"]
