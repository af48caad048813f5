"""Reactions: who reacted (social posts, else people quoted reacting) and a rough for/against stance
by a small labelled lexicon (not a model)."""
import re

# The word list's stance is printed only when it is right at least this often on labelled real
# posts (bench/sets/stance-real-posts.jsonl, measured by `python -m bench.stance`). Measured:
# 11 of 14 (79%), so no stance is printed; tests/test_brief.py keeps this flag in line with the bench.
STANCE_MIN_ACCURACY = 0.9
SHOW_STANCE = False

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


def _reacting_person(q):
    """An article quote that reads as a person's reaction: a handle or a full name, reacting."""
    speaker = q["speaker"]
    if not speaker or q["kind"] == "social":
        return False
    # people only (a handle or a full name): an organisation's statement is not a reaction
    if not (speaker.startswith("@") or len(speaker.split()) >= 2):
        return False
    return bool(speaker.startswith("@") or " on X" in (q.get("role") or "")
                or AGAINST.search(q["text"]) or FOR.search(q["text"]))


def pick_reactions(quotes):
    """Social posts with a lexicon stance; article-quoted reactions when there are no posts."""
    posts = [q for q in quotes if q["kind"] == "social"]
    source = "social posts"
    if not posts:
        posts = [q for q in quotes if _reacting_person(q)]
        source = "quoted in coverage"
    return [dict(q, stance=reaction_stance(q["text"]), via=source) for q in posts]
