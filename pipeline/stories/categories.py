"""Categories of a story: which kinds of incident its coverage describes, by rules over its text."""
import re

# Category rules: slug -> patterns over title + text (case-insensitive). Each pattern matches WHOLE
# words only (it is wrapped in word boundaries that also refuse a hyphen, so "fine" never matches
# "fine-tuned" and "ban" never "bank"); inflections are spelled out (blackmail\w*).
CATEGORIES = {
    "agent-autonomy": [r"agents?", r"agentic", r"autonom(y|ous)", r"computer[- ]use", r"tool[- ]use",
                       r"self[- ]replicat\w*", r"shut ?down", r"sabotag\w*", r"took (unilateral|bold) action",
                       r"deleted (the|a|its|our) (production )?database", r"acted on its own",
                       r"without (human )?(approval|permission)"],
    "deception-blackmail": [r"blackmail\w*", r"deceiv\w*", r"decepti\w*", r"lying", r"lied", r"schem(e|es|ed|ing)",
                            r"manipulat\w*", r"sandbagg?\w*", r"alignment[- ]faking", r"extort\w*",
                            r"threaten(ed|s)? to reveal", r"covered up", r"cheat(s|ed|ing)?"],
    "whistleblowing-reporting": [r"whistle[- ]?blow\w*", r"snitch\w*",
                                 r"report(ing|ed|s)? (them |users? |it )?to (the )?(authorities|regulators|police|press|media|fda|sec)",
                                 r"contact(ed|ing|s)? (the )?(authorities|regulators|press|media|law enforcement)",
                                 r"bold action", r"email(ed|ing)? (the )?(fda|sec|regulators|authorities)"],
    "data-exposure": [r"data (leak|breach|exposure|exfiltration)s?", r"leak(ed|s|ing)?", r"exposed", r"personal (data|information)",
                      r"PII", r"GDPR", r"exfiltrat\w*", r"memori[sz](ed|ation) (of )?training data",
                      r"(chat|conversation)s? (were |are )?(made )?public"],
    "prompt-injection": [r"prompt[- ]injections?", r"jailbr(eak|eaks|eaking|oke|oken)", r"ignore (all )?previous instructions",
                         r"indirect (prompt )?injections?", r"malicious (prompts?|instructions)", r"system prompt (leak|extraction)s?"],
    "harmful-content": [r"harmful (content|output|advice)", r"toxic\w*", r"hate speech", r"racis[tm]s?", r"sexis[tm]s?",
                        r"misinformation", r"disinformation", r"deep ?fakes?", r"CSAM", r"bio(logical)? ?weapons?",
                        r"self[- ]harm", r"suicid\w*", r"inappropriate content", r"offensive", r"extremis[tm]s?", r"nazis?",
                        r"racial slurs?", r"n-word"],
    "security-vulnerability": [r"vulnerab\w*", r"CVE-\d[\d-]*", r"exploit(s|ed|ing)?", r"malware", r"remote code execution", r"RCE",
                               r"hack(ed|er|ers|ing)?", r"zero[- ]days?", r"ransomware", r"phishing", r"credentials?",
                               r"backdoors?", r"supply[- ]chain attacks?", r"security (flaw|bug|hole|incident)s?",
                               r"cyber ?(attacks?|security|offen[cs]es?|operations|toolkits?|weapons?)", r"malicious (use|actors?)s?",
                               r"influence operations?"],
    "policy-disclosure": [r"system cards?", r"model cards?", r"safety (report|framework|policy|evaluation|testing)s?",
                          r"responsible scaling( policy)?", r"ASL-?\d", r"disclos\w*", r"transparen\w*", r"safeguards?"],
    "regulation": [r"AI Act", r"(AI|artificial intelligence|algorithmic) (regulation|law|laws|legislation|bill|rules)",
                   r"executive order on (AI|artificial intelligence)", r"regulat(e|es|ing) (AI|artificial intelligence)",
                   r"(data protection|privacy) (regulator|law|watchdog)s?", r"(FTC|ICO|CNIL|EU Commission) (rules?|ruling|order)"],
    "bias-discrimination": [r"bias(ed)?", r"discriminat\w*", r"racis[tm]s?", r"sexis[tm]s?", r"gender gap", r"unfair(ly)?",
                            r"racial(ly)?"],
    "physical-harm": [r"crash(ed|es)?", r"killed", r"injur(y|ies|ed|ing)", r"self[- ]driving", r"autonomous (vehicle|car)s?",
                      r"deaths?", r"died", r"pedestrians?", r"autopilot", r"collid(e|ed|es|ing)", r"collisions?", r"robotic (arm|surgery)", r"hospitali[sz]ed", r"sent to hospital"],
    "legal-action": [r"lawsuits?", r"sued", r"sues", r"courts?", r"fined", r"fines? of", r"settlements?", r"class action",
                     r"judicial review", r"legal (action|challenge)", r"defamation", r"unlawful(ly)?", r"ruled (that|against|in favou?r)",
                     r"(regulator|attorney general|FTC|SEC|ICO)'?s? (opened|launched|began) an? (investigation|probe)",
                     r"banned by"],
}

_CATEGORY_PATTERNS = {slug: re.compile(r"(?<![\w-])(?:" + "|".join(rules) + r")(?![\w-])", re.I)
                      for slug, rules in CATEGORIES.items()}


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
