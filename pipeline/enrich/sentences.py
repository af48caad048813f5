"""Sentences as verbatim spans of a text, word counts, and the boilerplate no reader wants read aloud."""
import re

SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"”“’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9@])")
ABBREVIATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "St.", "vs.", "U.S.", "U.K.", "e.g.",
                 "i.e.", "Inc.", "Corp.", "No.", "Jr.", "Sr.")


def sentence_spans(text):
    """(start, end) of each sentence in `text`; paragraphs never join; offsets are verbatim."""
    spans = []
    for para in re.finditer(r"[^\n]+", text or ""):
        start = para.start()
        chunk = para.group()
        pos = 0
        for m in SENTENCE_END_RE.finditer(chunk):
            head = chunk[pos:m.start()]
            if head.endswith(ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", head):
                continue
            spans.append((start + pos, start + m.start()))
            pos = m.end()
        spans.append((start + pos, start + len(chunk)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg.rstrip())
        if trail > lead:
            out.append((s + lead, s + trail))
    return out


def sentences(text):
    """The sentences of `text`, each a verbatim slice."""
    return [text[s:e] for s, e in sentence_spans(text)]


def word_count(text):
    return len(re.findall(r"[\w@’'\-]+", text or ""))


# subscription, newsletter and pricing lines: never a sentence, number or question to show
BOILERPLATE_RE = re.compile(
    r"/\s?month|per month|subscri|newsletter|sponsor|ad-free|sign up|free trial|insider|"
    r"pricing|upgrade|cookie|privacy policy|all rights reserved|learn more|become a",
    re.I,
)
