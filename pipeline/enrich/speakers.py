"""Who said a quote: names near speech verbs, appositive roles, surnames resolved to full names.

A speaker is only ever a name found in the document next to its quote; when none is found the
quote stays unattributed rather than guessed.
"""
import re

from pipeline.enrich.sentences import SENTENCE_END_RE

SPEECH_VERBS = (
    "said|says|say|told|tells|wrote|writes|write|added|adds|adding|asked|asks|asking|"
    "posted|posts|posting|tweeted|tweets|noted|notes|noting|explained|explains|argued|argues|"
    "warned|warns|stated|states|replied|replies|responded|responds|continued|commented|"
    "remarked|claimed|claims|insisted|acknowledged|admitted|confirmed|declared|quipped|joked|"
    "cautioned|countered|recalled|shared|shares|put\\s+(?:his|her|their|it)\\s+\\w+"
)
VERB_RE = re.compile(rf"\b(?:{SPEECH_VERBS})\b")
ADVERBS = r"(?:(?:later|also|then|further|once|simply|previously|earlier|recently|publicly)\s+)?"

NAME_WORD = r"(?:[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:['’\-][A-Z]?[a-z]+)?)"
NAME_RE = re.compile(rf"@[A-Za-z0-9_]{{2,30}}(?:@[A-Za-z0-9_.\-]+)?|{NAME_WORD}(?:\s+{NAME_WORD}){{0,3}}")

# Capitalised words that start sentences or name things that are not people.
LEADING_STOP = {
    "As", "The", "A", "An", "And", "But", "Or", "So", "In", "On", "At", "Of", "For", "With",
    "When", "While", "Whereas", "Hence", "However", "This", "That", "These", "Those", "Then",
    "Also", "Meanwhile", "Later", "Earlier", "Yesterday", "Today", "Apparently", "According",
    "Asked", "After", "Before", "Since", "If", "Its", "It", "Mr", "Ms", "Mrs", "Dr", "Prof",
    "Call", "Why", "What", "How", "Who", "Where", "Here", "There", "Some", "Many", "Most",
    "Numerous", "From", "Add", "Choose", "Get", "Read", "Join", "Plus", "Yeah", "Nobody",
    "Although", "Though", "Because", "Unless", "Once", "Despite", "During", "Until", "Now", "Yet",
    "Still", "Even", "Like", "Unlike", "Under", "Over", "Without", "Within", "Against", "Among",
    # titles: the person is the name that follows
    "President", "Attorney", "Councilman", "Councilwoman", "Senator", "Sen", "Rep", "Governor", "Gov",
    "Judge", "Minister", "Secretary", "Mayor", "Director", "Detective", "Sheriff", "Captain", "Coach",
    "Professor", "Chancellor", "Commissioner", "Spokesman", "Spokeswoman", "Spokesperson",
}
PRONOUNS = {"He", "She", "They", "It", "We", "I", "You", "His", "Her", "Their"}
NON_PERSON = {
    "Anthropic", "Claude", "Claud", "Opus", "Sonnet", "Haiku", "OpenAI", "Google", "Microsoft",
    "Apple", "Meta", "Amazon", "Nous", "Research", "Gauntlet", "Raindrop", "Time", "Business",
    "Tech", "Insider", "Constitutional", "Policy", "Scaling", "Responsible", "Center",
    "University", "Institute", "Lab", "Labs", "News", "Magazine", "Post", "Times", "Journal",
    "Gemini", "Copilot", "Grok", "Llama", "Mistral", "DeepMind", "SpaceX", "Tesla", "Twitter",
    "Bluesky", "Mastodon", "Reddit", "Hacker", "Daily", "Access", "Leadership", "Vendor",
    "Partner", "Channel", "Chatter", "Monthly", "Quarterly", "State", "Strategy", "Briefs",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Department", "Commission", "Agency", "Act", "Union",
    "European", "Federal", "National", "Office", "Council", "Congress", "Senate", "House",
    "Street", "Valley", "Silicon", "Alignment", "Safety", "Security", "Model", "System", "Card",
    "Free", "Plus", "Privacy", "Terms", "Program", "Team", "Group", "Inc", "Corp", "Company",
}

# Verbs that end an appositive role: "X, co-founder of Y, put his feelings ..."
ROLE_END_RE = re.compile(
    rf",\s+(?:who\s+|also\s+|later\s+|then\s+)?(?:{SPEECH_VERBS}|put|took|takes|indicated|"
    r"blasted|called|pointed|went|told|responded|criticized|criticised|slammed|praised)\b"
    rf"|\s+{ADVERBS}(?:{SPEECH_VERBS})\b|[:;]|[.!?](?:\s|$)|[“”\"]|\s+on\s+(?:X|Twitter|Bluesky|Mastodon|LinkedIn|Threads)\b"
)


def _clean_name(raw):
    """Drop leading sentence words from a capitalised run; None when nothing person-like is left."""
    if raw.startswith("@"):
        return raw
    words = raw.split()
    while words and (words[0] in LEADING_STOP or words[0] in PRONOUNS):
        words = words[1:]
    return " ".join(words) or None


def candidates(text, offset=0):
    """Name-like runs in `text`: (start, end, name) with offsets shifted by `offset`."""
    out = []
    for m in NAME_RE.finditer(text):
        name = _clean_name(m.group())
        if not name:
            continue
        start = m.start() + m.group().index(name.split()[0])
        out.append((offset + start, offset + start + len(name), name))
    return out


def _is_full_name(name):
    words = name.split()
    return 2 <= len(words) <= 4 and not any(w in NON_PERSON for w in words)


def document_people(text):
    """Full names mentioned in a document, keyed by surname (first mention wins)."""
    people = {}
    for _s, _e, name in candidates(text or ""):
        if _is_full_name(name):
            people.setdefault(name.split()[-1], name)
    return people


def _resolve(name, people):
    """A surname alone resolves to the full name mentioned earlier in the same document."""
    if name.startswith("@") or len(name.split()) > 1:
        return name
    return people.get(name, name)


def _valid_speaker(name, people, next_to_verb):
    """A handle, a full name, a known surname, or any single capitalised word right next to a speech verb."""
    if not name or name in PRONOUNS:
        return False
    if name.startswith("@"):
        return True
    if _is_full_name(name):
        return True
    words = name.split()
    if len(words) == 1:
        return name in people or (next_to_verb and name not in LEADING_STOP)
    return next_to_verb and words[-1] not in NON_PERSON and words[0] not in NON_PERSON


def _role_after(text, end):
    """The appositive after a name: "X, co-founder of Y, said" -> "co-founder of Y"."""
    rest = text[end:end + 240]
    if not rest.startswith(", "):
        return None
    rest = rest[2:]
    if re.match(rf"{ADVERBS}(?:{SPEECH_VERBS})\b", rest):
        return None     # "Bill McAllister, said, ..." has no appositive
    m = ROLE_END_RE.search(rest)
    role = rest[:m.start()] if m else ""
    role = role.strip().rstrip(",").strip()
    if not role or len(role) > 200 or "\n" in role or not re.match(r"[a-z]", role):
        return None
    if re.match(r"(?:but|and|or|so|though|although|because|while|when|which|who|whose|adding|according|"
                r"as|in|that|then|if|even|with|without|not|however)\b", role):
        return None     # "says Mackey, but ..." continues the sentence, it is no role
    return role


# words separated by whitespace (a "\s*" here backtracks exponentially on long lowercase runs)
DESCRIPTOR_RE = re.compile(r"(?:[a-z][\w\-]*|\([A-Z]{2,6}\))(?:\s+(?:[a-z][\w\-]*|\([A-Z]{2,6}\)))*")


def _descriptor_role(between):
    """Lowercase words between a verb and a name: "added developer @X" -> "developer"."""
    words = between.strip()
    if not words or len(words) > 80 or not DESCRIPTOR_RE.fullmatch(words):
        return None
    role = words.strip()
    return None if role in ("user", "the", "a", "an") else role


def speaker_after(text, close, people):
    """Attribution right after a closing mark: '"...," said X' / '"..." asked user @Y' / '"...," X said'."""
    after_start = close + 1
    stop = len(text)
    nxt = re.search(r"[“\"\n]", text[after_start:])
    if nxt:
        stop = after_start + nxt.start()
    after = text[after_start:min(stop, after_start + 240)]
    m = re.match(rf"\s*{ADVERBS}(?:{SPEECH_VERBS})\b\s*", after)
    if m:
        tail = after[m.end():]
        sent_end = re.search(r"[.!?:;](?:\s|$)", tail)
        # "(NLP)" is a descriptor, not a sentence end; the search above ignores it
        scope = tail[:sent_end.start()] if sent_end else tail
        for s, e, name in candidates(scope):
            if not _valid_speaker(name, people, next_to_verb=True):
                return None
            abs_e = after_start + m.end() + e
            between = scope[:s]
            if between.strip() and not DESCRIPTOR_RE.fullmatch(between.strip()):
                return None     # "said the Anthropic spokesperson": no name to give
            role = _role_after(text, abs_e) or _descriptor_role(between)
            return _resolve(name, people), role
        return None
    # '"...," Bowman said' / '"...," Mr. Pigeon said' / '"...," Dana Tamir, director at Trusteer, told the BBC'
    m = re.match(rf"\s*(?:(?:Mr|Ms|Mrs|Dr|Prof)\.?\s+)?({NAME_WORD}(?:\s+{NAME_WORD}){{0,3}}|@[A-Za-z0-9_]{{2,30}})"
                 rf"(?:,\s+([^,“”\"\n]{{3,120}}),)?\s+{ADVERBS}(?:{SPEECH_VERBS})\b", after)
    if m and _valid_speaker(m.group(1), people, next_to_verb=True):
        role = m.group(2) if m.group(2) and re.match(r"[a-z]", m.group(2)) else None
        return _resolve(m.group(1), people), role
    return None


def speaker_before(ctx, ctx_start, text, people):
    """Attribution in the clause that introduces a quote: 'As X, a researcher, wrote:' / 'X added:'."""
    stripped = ctx.rstrip()
    if not stripped.endswith((":", ",")):
        # 'The FAA said the problem “could cause ...”': a partial quote right after "NAME said ..."
        m = re.search(rf"(?:^|[\s(])({NAME_WORD}(?:\s+{NAME_WORD}){{0,3}}|[A-Z]{{2,6}}|@[A-Za-z0-9_]{{2,30}})\s+{ADVERBS}"
                      rf"(?:{SPEECH_VERBS})\b(?:\s+[\w’'\-]+){{0,8}}$", stripped)
        if m:
            name = _clean_name(m.group(1))
            if name and _valid_speaker(name, people, next_to_verb=True):
                return _resolve(name, people), None
        return None
    bounds = [m.end() for m in SENTENCE_END_RE.finditer(stripped)]
    sent_start = bounds[-1] if bounds else 0
    sentence = stripped[sent_start:]
    base = ctx_start + sent_start
    cands = candidates(sentence, base)
    verbs = list(VERB_RE.finditer(sentence))
    if verbs:
        v = verbs[-1]
        v_start = base + v.start()
        before = [c for c in cands if c[1] <= v_start]
        for s, e, name in before:
            gap = text[e:v_start]
            adjacent = re.fullmatch(rf"\s+{ADVERBS}", gap) is not None
            if _valid_speaker(name, people, next_to_verb=adjacent):
                return _resolve(name, people), _role_after(text, e)
        after = [c for c in cands if c[0] >= base + v.end()]
        for s, e, name in after:
            between = text[base + v.end():s]
            if _valid_speaker(name, people, next_to_verb=False) and len(between) < 60:
                return _resolve(name, people), _role_after(text, e) or _descriptor_role(between)
            break
        return None
    if stripped.endswith(":") and cands:
        s, e, name = cands[0]
        # the subject opens the clause: "Austin Allred, co-founder of ..., put his feelings ...:"
        if s - base <= 4 and _valid_speaker(name, people, next_to_verb=False):
            return _resolve(name, people), _role_after(text, e)
    return None
