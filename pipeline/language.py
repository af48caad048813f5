"""Which language a text is in (by its function words or its script), and those function words.

Coverage of one event comes in several languages. The embedding model reads English, so
stories need to know when two documents are in different languages (their similarity then
rests on names and numbers), and must not treat "der", "les" or "que" as shared vocabulary.
"""
import re

# The most frequent function words of each language (none of them a name or a number).
FUNCTION_WORDS = {
    "en": "the of and to in is that for it was on with as are by this be from at have an not has "
          "but which its they were their been said",
    "de": "der die das und ist nicht ein eine einen dem den des mit sich auf für von zu im auch "
          "wie bei nach oder wird wurde sind hat aus dass eines einer einem sie er es werden haben "
          "kann über noch nur soll als an so war wenn auch zum zur vom",
    "fr": "de et en un a le la les des est une pour dans que qui pas sur par au aux avec du ce cette il elle sont "
          "ont été mais leur selon se ne sa son ses ou plus être fait comme lors après",
    "es": "de y en un a el la los las del que es una por para con se su sus al pero como más fue está según "
          "este esta han sido lo le ha son o sobre también entre cuando desde tras",
    "it": "di e a un in il lo la gli le della delle dei che è una per con non del nel alla sono anche come più "
          "stato questo secondo si ha sua suo ma anche tra dopo quando degli alle",
    "pt": "de e a o os as da das do dos que é uma para com não em no na ao um foi são seu sua mais pelo "
          "pela segundo se ou mas também ele ela foram sobre quando após entre",
    "nl": "de het een van en is dat op te voor met niet zijn die er aan ook als bij naar werd door "
          "maar wordt heeft hij ze we om nog dan tot uit wel over",
}
WORDS_OF = {lang: set(words.split()) for lang, words in FUNCTION_WORDS.items()}
# A word several languages share ("la", "de") is weaker evidence for each of them.
_WEIGHT = {}
for _words in WORDS_OF.values():
    for _w in _words:
        _WEIGHT[_w] = _WEIGHT.get(_w, 0) + 1
_SCRIPTS = [("ja", re.compile(r"[\u3040-\u30ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
            ("zh", re.compile(r"[\u4e00-\u9fff]")), ("ru", re.compile(r"[\u0400-\u04ff]")),
            ("ar", re.compile(r"[\u0600-\u06ff]")), ("el", re.compile(r"[\u0370-\u03ff]")),
            ("he", re.compile(r"[\u0590-\u05ff]"))]
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_EVIDENCE = 3.0  # fewer function words than this (a headline, a name list): we do not guess


def guess_language(text, sample_chars=2000):
    """ISO 639-1 code of the text's language, or None when it is too short to tell."""
    sample = (text or "")[:sample_chars]
    letters = sum(ch.isalpha() for ch in sample)
    for lang, script in _SCRIPTS:
        if letters and len(script.findall(sample)) * 3 > letters:
            return lang
    words = [w.lower() for w in _WORD.findall(sample)]
    if not words:
        return None
    score = {lang: sum(1 / _WEIGHT[w] for w in words if w in ws) for lang, ws in WORDS_OF.items()}
    best = max(score, key=score.get)
    if score[best] < MIN_EVIDENCE or sorted(score.values())[-2] * 1.5 > score[best]:
        return None
    return best
