"""Enrich stories: verbatim quotes with speakers, numbers to say aloud, reactions.

Everything here is extractive: a quote is a slice of its document's text, a number is a
slice of a sentence that is a slice of the text. Nothing is paraphrased or guessed; a quote
whose speaker cannot be found is stored with speaker NULL.
"""
import json
import re

MIN_QUOTE_WORDS = 5          # fewer words is a scare quote ("ratting", "feature")
MIN_ATTRIBUTED_WORDS = 3     # a short clause with an explicit "..., said X" is still a quote
MAX_QUOTE_CHARS = 2500       # an opener with no closer this far on is a stray mark
MAX_SOCIAL_QUOTE_CHARS = 1000

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


# ---------------------------------------------------------------- sentences

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


# ---------------------------------------------------------------- quote spans

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


# ---------------------------------------------------------------- speakers

def _clean_name(raw):
    """Drop leading sentence words from a capitalised run; None when nothing person-like is left."""
    if raw.startswith("@"):
        return raw
    words = raw.split()
    while words and (words[0] in LEADING_STOP or words[0] in PRONOUNS):
        words = words[1:]
    return " ".join(words) or None


def _candidates(text, offset=0):
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
    for _s, _e, name in _candidates(text or ""):
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


def _speaker_after(text, close, people):
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
        for s, e, name in _candidates(scope):
            if not _valid_speaker(name, people, next_to_verb=True):
                return None
            abs_s = after_start + m.end() + s
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


def _speaker_before(ctx, ctx_start, text, people):
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
    cands = _candidates(sentence, base)
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
        found = _speaker_after(text, close_i, people) if body[-1:] in ",?!—-" or body[-1:].isalnum() else None
        explicit_after = found is not None
        if found is None:
            found = _speaker_before(ctx, ctx_start, text, people)
        if found is None and prev_speaker and len(ctx.strip()) < 120 and ctx.strip() \
                and VERB_RE.search(ctx) and not _candidates(ctx):
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


# ---------------------------------------------------------------- numbers

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
BOILERPLATE_RE = re.compile(
    r"/\s?month|per month|subscri|newsletter|sponsor|ad-free|sign up|free trial|insider|"
    r"pricing|upgrade|cookie|privacy policy|all rights reserved|learn more|become a",
    re.I,
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


# ---------------------------------------------------------------- reactions

AGAINST = re.compile(
    r"\b(?:crazy|insane|illegal|rat|ratting|snitch\w*|surveillance|never|dangerous|alarming|"
    r"creepy|scary|terrifying|stupid|stupidity|lost your minds|wtf|absurd|dystopian|unacceptable|"
    r"terrible|awful|worse|worst|nope|bad|concerning|disturbing|nightmare|distrust|backlash|"
    r"won't|wont|no way|ridiculous|outrage\w*|not okay|yikes)\b",
    re.I,
)
FOR = re.compile(
    r"\b(?:good|great|reasonable|appropriate|impressive|fair|responsible|transparen\w*|kudos|"
    r"thank\w*|applaud\w*|right call|makes sense|sensible|important|glad|honest|overblown|"
    r"out of context|calm down|nothingburger|misunderst\w*|misread|props|well done|love)\b",
    re.I,
)


def reaction_stance(text):
    """'for', 'against' or 'mixed' by a small labelled lexicon (not a model): a rough guide only."""
    against = len(AGAINST.findall(text or ""))
    pro = len(FOR.findall(text or ""))
    if against > pro:
        return "against"
    if pro > against:
        return "for"
    return "mixed"


# ---------------------------------------------------------------- the stage

BATCH = 200     # documents per transaction: one commit per document is slow on big runs


def _text_key(doc):
    import hashlib
    return doc.get("content_hash") or hashlib.sha256((doc.get("text") or "").encode("utf-8")).hexdigest()


# Only documents whose text or story changed since enrich last read them (or never read) are
# selected: the query reads their rows alone, not every text. Without a content hash the text's
# hash is compared in Python (see _text_key).
_CHANGED = (" and (e.document_id is null or d.content_hash is null or e.content_hash is not d.content_hash"
            " or e.story_id is not d.story_id)")


def enrich_stories(db):
    """Extract quotes for documents in stories whose text or story changed since last time; idempotent."""
    counts = {"quotes_documents": 0, "quotes_added": 0, "quotes_updated": 0, "quotes_removed": 0}
    state = "enriched" in db.table_names()
    seen_sql = "left join enriched e on e.document_id = d.id" if state else ""
    seen_cols = ", e.content_hash as seen_hash, e.story_id as seen_story" if state else ""
    rows = list(db.query(
        f"select d.id, d.kind, d.title, d.text, d.extra, d.author, d.publisher, d.site, d.story_id, "
        f"d.content_hash{seen_cols} from documents d {seen_sql} "
        f"where d.story_id is not null and d.duplicate_of is null{_CHANGED if state else ''} order by d.id"))
    todo = [d for d in rows if not state or d.get("seen_hash") != _text_key(d) or d.get("seen_story") != d["story_id"]]
    for k in range(0, len(todo), BATCH):
        with db.conn:
            for doc in todo[k:k + BATCH]:
                _enrich_document(db, doc, counts)
                if state:
                    db.conn.execute("insert or replace into enriched (document_id, content_hash, story_id) values (?, ?, ?)",
                               [doc["id"], _text_key(doc), doc["story_id"]])
    # a document that became a syndicated copy, or left its story: its quotes go
    stale = list(db.query(
        "select q.id from quotes q join documents d on d.id = q.document_id "
        "where d.duplicate_of is not null or d.story_id is null"))
    if stale:
        with db.conn:
            for r in stale:
                db.conn.execute("delete from quotes where id = ?", [r["id"]])
                counts["quotes_removed"] += 1
            if state:
                db.conn.execute("delete from enriched where document_id in (select id from documents "
                           "where duplicate_of is not null or story_id is null)")
    return counts


def _enrich_document(db, doc, counts):
    """Bring one document's rows in `quotes` in line with its text (insert, update, delete)."""
    counts["quotes_documents"] += 1
    found = {q["position"]: q for q in document_quotes(doc)}
    existing = {r["position"]: r for r in db.query(
        "select id, speaker, role, text, position, story_id from quotes where document_id = ?", [doc["id"]])}
    # plain SQL on the connection: sqlite-utils' execute() commits after every statement
    for pos, q in found.items():
        values = [doc["story_id"], q["speaker"], q["role"], q["text"]]
        old = existing.get(pos)
        if old is None:
            db.conn.execute("insert into quotes (document_id, position, story_id, speaker, role, text) values (?, ?, ?, ?, ?, ?)",
                       [doc["id"], pos] + values)
            counts["quotes_added"] += 1
        elif [old["story_id"], old["speaker"], old["role"], old["text"]] != values:
            db.conn.execute("update quotes set story_id = ?, speaker = ?, role = ?, text = ? where id = ?", values + [old["id"]])
            counts["quotes_updated"] += 1
    # text changed since last time: quotes that are no longer in it must go
    for pos, old in existing.items():
        if pos not in found:
            db.conn.execute("delete from quotes where id = ?", [old["id"]])
            counts["quotes_removed"] += 1
