"""What changed between two versions of a system card, section by section and sentence by sentence.

A card's text (a PDF read by pypdf, or a page read by trafilatura) is cut into sections at its
headings, each section into sentences (pipeline.enrich.sentences). Sections are matched by their
heading (numbering aside, so a renumbered section still matches); within a matched section the
sentences are aligned, and a removed sentence is paired with an added one as "reworded" when
their words are alike. Numbers that differ inside a reworded sentence are called out ("84%" ->
"79%"). A sentence that only moved to another section is no change.

Silent edits: the version and date strings a card states about itself (see `markers`) are
compared; a changed text that states no new version or date is a silent edit.
"""
import difflib
import re

from pipeline.enrich.sentences import sentences

FIRST_VERSION = "First version seen"
REWORD_MIN = 0.5          # word similarity above which a removed and an added sentence are one, reworded
MAX_PAIRINGS = 40_000     # removed x added sentences compared in one block; beyond it only exact matches
HEADING_MAX_WORDS = 12
FRONT_CHARS = 2000        # dates on a card's first page are its own dates (cover, "Published ...")
NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*)\s+\S")
SENTENCE_END = ('.', '!', '?', ':', ';', '"', '”', ')', '’')
NUMBER_TOKEN = re.compile(r"^[(\[]?[$€£]?\d[\d,]*(?:\.\d+)?(?:%|x|×)?[)\].,;:]*$")
MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
DATE_RE = re.compile(rf"\b(?:\d{{1,2}}\s+(?:{MONTHS})\.?,?\s+\d{{4}}|(?:{MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?\d{{4}}"
                     rf"|\d{{4}}-\d{{2}}-\d{{2}})\b")
VERSION_RE = re.compile(r"\b(?:version|revision|rev\.|v)\s?\d+(?:\.\d+)*\b", re.I)
DATED_LINE_RE = re.compile(r"\b(?:updated|revised|amended|changelog|change log|last modified|version)\b", re.I)


def _is_heading(line, previous):
    """A short line that starts a section: numbered ("4.1.2 Blackmail"), or short, capitalised and
    standing after a finished sentence (a wrapped line of a paragraph follows an unfinished one)."""
    words = line.split()
    if not words or len(words) > HEADING_MAX_WORDS or line.endswith((".", "!", "?", ":", ";", ",", "-")):
        return False
    if NUMBERED_HEADING.match(line) and not NUMBER_TOKEN.match(words[-1]):
        return True
    return line[0].isupper() and (previous is None or previous.endswith(SENTENCE_END))


def _join_lines(lines):
    """A paragraph from wrapped lines: a line ending in a hyphen runs on ("Opus-" + "based")."""
    out = ""
    for line in lines:
        out += line if out.endswith("-") or not out else " " + line
    return out


def heading_key(heading):
    """The heading without its number, lower case: how sections of two versions are matched."""
    return " ".join(re.sub(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*)\s+", "", heading or "").lower().split())


def sections(text):
    """[(heading, [sentences])] of a card's text; text before the first heading has heading ""."""
    out, heading, body, previous = [], "", [], None
    for raw in (text or "").splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if _is_heading(line, previous):
            out.append((heading, body))
            heading, body = line, []
        else:
            body.append(line)
        previous = line
    out.append((heading, body))
    return [(h, [" ".join(s.split()) for s in sentences(_join_lines(b))]) for h, b in out if h or b]


def _words(sentence):
    return sentence.split()


def similarity(a, b):
    """How alike two sentences are, by their words (0..1)."""
    return difflib.SequenceMatcher(None, _words(a), _words(b), autojunk=False).ratio()


def word_diff(before, after):
    """[(op, text)] with op "same", "del" or "ins": a reworded sentence as a reader compares it."""
    a, b = _words(before), _words(after)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def changed_span(before, after, context=6):
    """(old, new): the stretch of a reworded sentence that changed, with `context` words either side,
    "…" where words are left out; short enough for a feed or a list."""
    a, b = _words(before), _words(after)
    ops = [o for o in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if o[0] != "equal"]
    if not ops:
        return before, after
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]

    def cut(words, lo, hi):
        start, end = max(0, lo - context), min(len(words), hi + context)
        return ("… " if start else "") + " ".join(words[start:end]) + (" …" if end < len(words) else "")
    return cut(a, i1, i2), cut(b, j1, j2)


def _number(token):
    return token.strip("()[].,;:")


def changed_numbers(before, after):
    """[(old, new)]: numbers that one changed stretch of a reworded sentence swaps for another."""
    a, b = _words(before), _words(after)
    pairs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "replace":
            continue
        old = [_number(t) for t in a[i1:i2] if NUMBER_TOKEN.match(t)]
        new = [_number(t) for t in b[j1:j2] if NUMBER_TOKEN.match(t)]
        pairs += [(o, n) for o, n in zip(old, new) if o != n]
    return pairs


def _pair(removed, added):
    """(reworded [(old, new, similarity)], removed left, added left): greedy, most alike first."""
    if not removed or not added or len(removed) * len(added) > MAX_PAIRINGS:
        return [], removed, added
    scored = sorted(((similarity(r, a), i, j) for i, r in enumerate(removed) for j, a in enumerate(added)),
                    reverse=True)
    used_r, used_a, pairs = set(), set(), []
    for score, i, j in scored:
        if score < REWORD_MIN:
            break
        if i in used_r or j in used_a:
            continue
        used_r.add(i)
        used_a.add(j)
        pairs.append((i, j, score))
    pairs.sort()
    return ([(removed[i], added[j], round(s, 3)) for i, j, s in pairs],
            [r for i, r in enumerate(removed) if i not in used_r], [a for j, a in enumerate(added) if j not in used_a])


def _section_changes(heading, old, new):
    """Changes inside one section: [{section, change, before, after, ...}] in reading order."""
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        reworded, removed, added = _pair(old[i1:i2], new[j1:j2])
        out += [{"section": heading, "change": "reworded", "before": b, "after": a, "similarity": s,
                 "numbers": changed_numbers(b, a), "words": word_diff(b, a)} for b, a, s in reworded]
        out += [{"section": heading, "change": "removed", "before": r, "after": None} for r in removed]
        out += [{"section": heading, "change": "added", "before": None, "after": a} for a in added]
    return out


def compare(old_text, new_text):
    """Every change from `old_text` to `new_text` (see the module docstring), in the new card's order."""
    old_secs, new_secs = sections(old_text), sections(new_text)
    old_by_key = {}
    for heading, sents in old_secs:
        old_by_key.setdefault(heading_key(heading), (heading, []))[1].extend(sents)
    changes, seen = [], set()
    for heading, sents in new_secs:
        key = heading_key(heading)
        if key in seen:     # a heading used twice: its sentences were compared with the first
            changes += [{"section": heading, "change": "added", "before": None, "after": s} for s in sents]
            continue
        seen.add(key)
        changes += _section_changes(heading, old_by_key.get(key, (heading, []))[1], sents)
    for key, (heading, sents) in old_by_key.items():
        if key not in seen:
            changes += [{"section": heading, "change": "removed", "before": s, "after": None} for s in sents]
    return _drop_moves(changes)


def _drop_moves(changes):
    """A sentence removed in one section and added unchanged in another only moved: no change."""
    removed = {c["before"] for c in changes if c["change"] == "removed"}
    moved = {c["after"] for c in changes if c["change"] == "added" and c["after"] in removed}
    return [c for c in changes if not (c["change"] in ("added", "removed") and (c["before"] or c["after"]) in moved)]


def markers(text):
    """The version and date strings a card states about itself: every "version 2"/"v1.1", the dates
    on its first page, and the dates on lines that say updated, revised, changelog or version."""
    text = text or ""
    found = {" ".join(m.group().lower().split()) for m in VERSION_RE.finditer(text)}
    found |= {" ".join(m.group().split()) for m in DATE_RE.finditer(text[:FRONT_CHARS])}
    for line in text.splitlines():
        if DATED_LINE_RE.search(line):
            found |= {" ".join(m.group().split()) for m in DATE_RE.finditer(line)}
    return sorted(found)


def silent_edit(old_text, new_text):
    """(silent, new markers): the text changed and states no version or date the old one did not."""
    if " ".join((old_text or "").split()) == " ".join((new_text or "").split()):
        return False, []
    new = [m for m in markers(new_text) if m not in set(markers(old_text))]
    return not new, new


def summary(changes, silent, new_markers):
    """One readable line about a version: what changed, the numbers, whether it was announced."""
    counts = {k: sum(1 for c in changes if c["change"] == k) for k in ("reworded", "added", "removed")}
    parts = [f"{n} sentence{'s' if n != 1 else ''} {k}" for k, n in counts.items() if n]
    line = ", ".join(parts) if parts else "layout or spacing only"
    numbers = [f"{o} → {n}" for c in changes for o, n in c.get("numbers") or []]
    if numbers:
        line += "; numbers changed: " + ", ".join(numbers)
    if silent:
        line += "; silent edit: no new version number or date in the text"
    elif new_markers:
        line += "; states " + ", ".join(new_markers)
    return line
