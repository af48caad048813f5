"""Numbers worth saying aloud, each with the verbatim sentence it stands in."""
import re

from pipeline.enrich.sentences import BOILERPLATE_RE, sentence_spans, word_count

NUMBER_RE = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|trillion|bn|[mk])\b)?(?:\s?/\s?(?:month|year|mo|yr|user|seat))?"
    r"|\b\d{1,3}(?:\.\d+)?\s?(?:%|percent\b|per cent\b)"
    r"|\b\d+(?:\.\d+)?\s?(?:million|billion|trillion|thousand)\b"
    r"|\b\d+(?:\.\d+)?[x×](?=\W|$)"
    r"|\b\d{1,3}(?:,\d{3})+\b"
    r"|\b\d+(?:\.\d+)?(?=\s+(?:[a-z\-]+\s+){0,2}(?:times|people|users|engineers|developers|customers|"
    r"companies|organi[sz]ations|businesses|models|incidents|cases|employees|tests|scenarios|"
    r"researchers|attacks|vulnerabilities|accounts|records|days|hours|weeks|months|years|minutes|"
    r"messages|emails|files|servers|agents|instances|attempts|runs|transcripts|prompts|tools|"
    r"countries|states|lawsuits|complaints|downloads|installs|repos|repositories|tokens)\b)"
)


def _is_model_number(text, start, end):
    """'Claude 4', 'Opus 4', 'GPT-4', '12:43', 'May 22', years: not numbers to say aloud."""
    before = text[max(0, start - 12):start]
    after = text[end:end + 3]
    if re.search(r"[A-Z][\w.]*[\s\-]$", before) and not before.rstrip().endswith(("$", "€", "£")):
        return True
    if after.startswith((":", ".", "-")) and after[1:2].isdigit():
        return True
    return False


def extract_numbers(text, terms=()):
    """Numbers in `text` with their sentence: dicts value, sentence, position, score (story relevance)."""
    text = text or ""
    terms = {t.lower() for t in terms}
    out = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        if BOILERPLATE_RE.search(sentence) or word_count(sentence) < 6:
            continue
        words = set(re.findall(r"[a-z][a-z\-]+", sentence.lower()))
        score = len(words & terms)
        for m in NUMBER_RE.finditer(sentence):
            value = m.group().strip()
            if re.fullmatch(r"(19|20)\d\d", value) or _is_model_number(sentence, m.start(), m.end()):
                continue
            out.append({"value": value, "sentence": sentence, "position": s + m.start(), "score": score})
    return out
