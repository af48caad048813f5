"""Categories of a story: which kinds of incident its coverage describes, by rules over its text."""
import re

# Category rules: slug -> regular expressions over title + text (case-insensitive).
CATEGORIES = {
    "agent-autonomy": [r"\bagent(s|ic)?\b", r"\bautonom(y|ous)\b", r"computer[- ]use", r"tool[- ]use",
                       r"self[- ]replicat", r"shut ?down", r"\bsabotag", r"took (unilateral|bold) action",
                       r"deleted (the|a|its|our) (production )?database", r"acted on its own", r"without (human )?(approval|permission)"],
    "deception-blackmail": [r"blackmail", r"\bdecei", r"\bdecepti", r"\blying\b", r"\blied\b", r"schem(e|ing)",
                            r"manipulat", r"sandbag", r"alignment[- ]faking", r"\bextort", r"threaten(ed|s)? to reveal",
                            r"covered up", r"\bcheat"],
    "whistleblowing-reporting": [r"whistle[- ]?blow", r"snitch", r"report(ing|ed|s)? (them |users? |it )?to (the )?(authorities|regulators|police|press|media|fda|sec)",
                                 r"contact(ed|ing|s)? (the )?(authorities|regulators|press|media|law enforcement)",
                                 r"\bbold action", r"email(ed|ing)? (the )?(fda|sec|regulators|authorities)"],
    "data-exposure": [r"data (leak|breach|exposure|exfiltrat)", r"\bleak(ed|s|ing)?\b", r"\bexposed\b", r"personal (data|information)",
                      r"\bprivacy\b", r"\bPII\b", r"\bGDPR\b", r"exfiltrat", r"memori[sz](ed|ation) (of )?training data",
                      r"(chat|conversation)s? (were |are )?(made )?public", r"surveillance"],
    "prompt-injection": [r"prompt[- ]injection", r"jailbr(eak|oke)", r"ignore (all )?previous instructions",
                         r"indirect injection", r"malicious (prompt|instructions)", r"system prompt (leak|extraction)"],
    "harmful-content": [r"harmful (content|output|advice)", r"\btoxic", r"hate speech", r"\bracis[tm]", r"\bsexis[tm]",
                        r"misinformation", r"disinformation", r"deep ?fake", r"\bCSAM\b", r"bio(logical)? ?weapon",
                        r"self[- ]harm", r"\bsuicid", r"inappropriate content", r"\boffensive\b", r"\bextremis", r"nazi"],
    "security-vulnerability": [r"vulnerab", r"\bCVE-\d", r"\bexploit", r"\bmalware", r"remote code execution", r"\bRCE\b",
                               r"\bhack(ed|er|ers|ing)?\b", r"zero[- ]day", r"ransomware", r"phishing", r"credential",
                               r"backdoor", r"supply[- ]chain attack", r"security (flaw|bug|hole|incident)"],
    "policy-disclosure": [r"system card", r"model card", r"safety (report|framework|policy|evaluation|testing)",
                          r"responsible scaling", r"\bASL-?\d", r"\bregulat", r"\bAI Act\b", r"\bpolicy\b",
                          r"disclos", r"transparen", r"\bsafeguards?\b", r"executive order", r"\blegislat", r"\bbill\b"],
    "bias-discrimination": [r"\bbias(ed)?\b", r"discriminat", r"\bracis[tm]", r"\bsexis[tm]", r"\bgender gap", r"unfair"],
    "physical-harm": [r"\bcrash(ed|es)?\b", r"\bkilled\b", r"\binjur", r"self[- ]driving", r"autonomous (vehicle|car)",
                      r"\bdeath\b", r"\bdied\b", r"pedestrian", r"\brobot(ic)? (arm|surgery)"],
    "legal-action": [r"\blawsuit", r"\bsued\b", r"\bsues\b", r"\bcourt\b", r"\bfined?\b", r"settlement", r"class action",
                     r"investigat(ion|ing|e)", r"\bprobe\b", r"\bbanned?\b"],
}

_CATEGORY_PATTERNS = {slug: re.compile("|".join(rules), re.I) for slug, rules in CATEGORIES.items()}


def categorise(text):
    """Category slugs whose rules match `text`, strongest first (by number of matches)."""
    if not text:
        return []
    scores = {}
    for slug, rx in _CATEGORY_PATTERNS.items():
        n = len(rx.findall(text))
        if n:
            scores[slug] = n
    return [slug for slug, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]
