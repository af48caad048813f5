"""Finding a quote or a number of the coverage in a primary source's text, whatever the formatting.

A quote is compared "squashed": lower case, letters and digits only, so curly vs straight
quotes, case, whitespace, dashes, hyphenation and a PDF's line breaks ("law-\\nenforcement")
never hide a match; "%" squashes to "percent" so "84 percent" finds "84%". Ellipses and
bracketed or parenthesised insertions ("[Anthropic rival]", "NTSC (National …)") cut a quote
into fragments, each looked for alone; a fragment that differs only by an article ("between the
NTSC" for "between NTSC") is found on its other words.
A number is compared by value and unit ("84%" = "84 percent", "$1.2 million" = "$1,200,000").
Every match keeps its offsets in the source's own text, for anchors.
"""
import re
import urllib.parse
from decimal import Decimal, InvalidOperation

from pipeline.enrich.sentences import sentence_spans, word_count

# cut points of a quote: ellipses and an editor's insertions, bracketed or in parentheses
ELLIPSIS_RE = re.compile(r"\.\s?\.\s?\.|…|\[[^\]]{0,80}\]|\([^)]{0,80}\)")
NUMBER_KEY_RE = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?"
    r"(?P<unit>%|percent\b|per cent\b|million\b|billion\b|trillion\b|thousand\b|bn\b|[x×](?=\W|$))?", re.I)
SCALE = {"thousand": Decimal(10) ** 3, "million": Decimal(10) ** 6, "bn": Decimal(10) ** 9,
         "billion": Decimal(10) ** 9, "trillion": Decimal(10) ** 12}


def squash(text):
    """(squashed text, offset in `text` of each squashed character)."""
    out, where = [], []
    for i, ch in enumerate(text or ""):
        if ch == "%":
            out.append("percent")
            where.extend([i] * 7)
        elif ch.isalnum():
            out.append(ch.lower())
            where.append(i)
    return "".join(out), where


class Source:
    """A primary source's text, prepared once for many lookups."""

    def __init__(self, document_id, text):
        self.document_id = document_id
        self.text = text or ""
        self.squashed, self.where = squash(self.text)
        self.content = content_words(self.text)
        self.numbers = {}
        for m in NUMBER_KEY_RE.finditer(self.text):
            key = number_key(m.group())
            if key:
                self.numbers.setdefault(key, (m.start(), m.end()))

    def find_quote(self, quote):
        """(start, end) in the source of the quote's first fragment found verbatim when every
        fragment of two or more words is in it ((0, 0) when each is there only on its content
        words); None when one is missing (or the quote has nothing to look for)."""
        parts = [p for p in ELLIPSIS_RE.split(quote or "") if word_count(p) >= 2] or [quote or ""]
        first = None
        for part in parts:
            needle, _ = squash(part)
            if len(needle) < 4:
                return None
            at = self.squashed.find(needle)
            if at >= 0:
                first = first or (self.where[at], self.where[at + len(needle) - 1] + 1)
            elif f" {content_words(part)} " not in f" {self.content} ":
                return None
        return first or (0, 0)

    def find_number(self, value):
        """(start, end) of the same number in the source: same value and unit; a number given
        without a unit (a count) matches the value with any unit."""
        key = number_key(value)
        if key is None:
            return None
        if key in self.numbers:
            return self.numbers[key]
        if key[1] == "":
            return next((span for (v, _u), span in self.numbers.items() if v == key[0]), None)
        return None


ARTICLES = {"a", "an", "the", "of", "that", "this", "these", "those"}   # what a transcription drops; never "not"


def content_words(text):
    """The words of a text but articles and the like, lower case, one space apart."""
    return " ".join(w for w in re.findall(r"[a-z0-9]+", (text or "").lower().replace("%", " percent "))
                    if w not in ARTICLES)


def number_key(value):
    """(value as a Decimal string, unit) for '84%', '84 percent', '$1.2 million', '3x', '1,000'."""
    m = NUMBER_KEY_RE.search(value or "")
    if not m:
        return None
    try:
        number = Decimal(m.group("num").replace(",", ""))
    except InvalidOperation:
        return None
    unit = (m.group("unit") or "").lower()
    if unit in SCALE:
        number, unit = number * SCALE[unit], ""
    elif unit in ("percent", "per cent", "%"):
        unit = "%"
    elif unit in ("x", "×"):
        unit = "x"
    return (format(number.normalize(), "f"), (m.group("cur") or "") + unit)


def loose_spans(text):
    """Sentence spans of a text whose single line breaks are not paragraph ends (a PDF's lines)."""
    return sentence_spans(re.sub(r"(?<!\n)\n(?!\n)", " ", text or ""))


def enclosing(spans, start, end):
    """The (start, end) covering every span that overlaps [start, end)."""
    hit = [(s, e) for s, e in spans if s < end and e > start]
    return (min(s for s, _ in hit), max(e for _, e in hit)) if hit else (start, end)


def _term(words):
    return urllib.parse.quote(" ".join(words), safe="").replace("-", "%2D")


def text_fragment(passage, words=4):
    """'#:~:text=start,end' that a browser scrolls to and highlights; each term stays on one line."""
    lines = [ln.split() for ln in (passage or "").strip().splitlines() if ln.split()]
    if not lines:
        return ""
    head, tail = lines[0][:words], lines[-1][-words:]
    if len(lines) == 1 and len(lines[0]) <= 2 * words:
        return "#:~:text=" + _term(lines[0])
    return f"#:~:text={_term(head)},{_term(tail)}"
