"""Verbatim quotes in a document, each with its speaker when the document names one.

Everything here is extractive: a quote is a slice of its document's text. Nothing is
paraphrased or guessed; a quote whose speaker cannot be found has speaker None. Social posts
are quotes by their authors.
"""
import json
import re

from pipeline.enrich.sentences import SENTENCE_END_RE, sentence_spans, word_count
from pipeline.enrich.speakers import VERB_RE, candidates, document_people, speaker_after, speaker_before

MIN_QUOTE_WORDS = 5          # fewer words is a scare quote ("ratting", "feature")
MIN_ATTRIBUTED_WORDS = 3     # a short clause with an explicit "..., said X" is still a quote
MAX_QUOTE_CHARS = 2500       # an opener with no closer this far on is a stray mark
MAX_SOCIAL_QUOTE_CHARS = 1000


def _mark_kind(text, i, depth):
    """'open' or 'close' for the quote mark at text[i] (curly marks are often mismatched)."""
    ch = text[i]
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    prev_open = prev.isspace() or prev in "([{—–-/:"
    next_word = not nxt.isspace() and nxt not in ",.;:!?)]}"
    if ch == "”":
        # some sites use ” on both ends; only a ” glued to the next word at depth 0 opens
        return "open" if depth == 0 and prev_open and nxt.isalnum() else "close"
    if ch == "“":
        if prev_open and next_word:
            return "open"
        if not prev.isspace():
            return "close"      # "... all of the above.“" closes with the wrong glyph
        return "close" if depth else "open"
    # straight "
    if prev_open and next_word:
        return "open"
    if not prev.isspace():
        return "close"
    return "close" if depth else "open"


def quote_spans(text):
    """(open_index, close_index) of each top-level double-quoted span, nesting allowed."""
    marks = [m.start() for m in re.finditer(r"[“”\"]", text or "")]
    spans = []
    k = 0
    while k < len(marks):
        i = marks[k]
        if _mark_kind(text, i, 0) != "open":
            k += 1
            continue
        depth, j, close = 1, k + 1, None
        while j < len(marks) and marks[j] - i <= MAX_QUOTE_CHARS:
            pos = marks[j]
            kind = _mark_kind(text, pos, depth)
            if kind == "open":
                # a paragraph that re-opens a multi-paragraph quote does not nest
                line_start = text.rfind("\n", 0, pos) + 1
                if not text[line_start:pos].strip() and "\n" in text[i:pos]:
                    j += 1
                    continue
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    close = pos
                    break
            j += 1
        if close is None:
            k += 1          # stray opener: skip it, keep scanning
            continue
        spans.append((i, close))
        k = j + 1
    return spans


def extract_quotes(text):
    """Quotes in an article's text: dicts with speaker, role, text (verbatim) and position."""
    text = text or ""
    people = document_people(text)
    spans = quote_spans(text)
    quotes = []
    prev_close = -1
    prev_speaker = None
    prev_after = False
    for open_i, close_i in spans:
        inner = text[open_i + 1:close_i]
        body = inner.strip().rstrip(",").rstrip()
        lead = len(inner) - len(inner.lstrip())
        position = open_i + 1 + lead
        n_words = word_count(body)
        # context: same paragraph, or the paragraph before when the quote opens a paragraph
        para_start = text.rfind("\n", 0, open_i) + 1
        ctx_start = para_start
        if not text[para_start:open_i].strip():
            prev_para = text[:para_start].rstrip()
            ctx_start = prev_para.rfind("\n") + 1
        ctx_start = max(ctx_start, prev_close + 1)
        ctx = text[ctx_start:open_i]
        found = speaker_after(text, close_i, people) if body[-1:] in ",?!—-" or body[-1:].isalnum() else None
        explicit_after = found is not None
        if found is None:
            found = speaker_before(ctx, ctx_start, text, people)
        if found is None and prev_speaker and len(ctx.strip()) < 120 and ctx.strip() \
                and VERB_RE.search(ctx) and not candidates(ctx):
            found = prev_speaker     # '"...," adding in another post: "..."' continues the speaker
        if found is None and prev_after and prev_speaker and "\n" not in ctx and len(ctx) < 250 \
                and prev_speaker[0].split()[-1] in ctx and len(SENTENCE_END_RE.findall(ctx.strip())) == 0:
            found = prev_speaker     # '"A," asked X, a founder. "B"': B is X's too, when nothing else came between
        minimum = MIN_ATTRIBUTED_WORDS if explicit_after and body[:1].isupper() else MIN_QUOTE_WORDS
        if n_words < minimum:
            continue    # scare quotes and handles are not boundaries for the next quote's context
        prev_close = close_i
        speaker, role = found if found else (None, None)
        quotes.append({"speaker": speaker, "role": role, "text": body, "position": position})
        prev_speaker = (speaker, role) if speaker else None
        prev_after = explicit_after
    # a later "Bowman added:" inherits the role given at first mention
    roles = {}
    for q in quotes:
        if q["speaker"] and q["role"]:
            roles.setdefault(q["speaker"], q["role"])
    for q in quotes:
        if q["speaker"] and not q["role"]:
            q["role"] = roles.get(q["speaker"])
    return quotes


def social_author(doc):
    """(display name, handle) of a social post from its extra JSON, author column as fallback."""
    try:
        extra = json.loads(doc.get("extra") or "{}") or {}
    except (TypeError, ValueError):
        extra = {}
    if not isinstance(extra, dict):
        extra = {}
    name = extra.get("display_name") or extra.get("name") or extra.get("author_name") or doc.get("author")
    handle = extra.get("handle") or extra.get("acct") or extra.get("username")
    if handle and not str(handle).startswith("@") and not re.search(r"\s", str(handle)):
        handle = "@" + str(handle)
    name = str(name).strip() if name else None
    return (name or handle), handle


def social_quote(doc):
    """A social post is itself a quote by its author: the whole post, verbatim, at position 0."""
    text = (doc.get("text") or "").strip()
    if word_count(text) < MIN_ATTRIBUTED_WORDS:
        return None
    if text == (doc.get("title") or "").strip() and "\n" not in text:
        return None     # a link share (HN story): the headline is the article's words, not the poster's
    if len(text) > MAX_SOCIAL_QUOTE_CHARS:
        cut = [e for _s, e in sentence_spans(text) if e <= MAX_SOCIAL_QUOTE_CHARS]
        text = text[:cut[-1]] if cut else text[:MAX_SOCIAL_QUOTE_CHARS]
    speaker, handle = social_author(doc)
    where = doc.get("publisher") or doc.get("site") or "social media"
    role = f"{handle} on {where}" if handle and handle.lstrip("@") != speaker else f"on {where}"
    offset = (doc.get("text") or "").find(text)
    return {"speaker": speaker, "role": role, "text": text, "position": max(offset, 0)}


def document_quotes(doc):
    """All quotes for one document row."""
    if doc.get("kind") == "social":
        q = social_quote(doc)
        return [q] if q else []
    return extract_quotes(doc.get("text") or "")
