"""Reactions: a rough for/against stance by a small labelled lexicon (not a model)."""
import re

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
