"""How much a document is about AI agent/model safety: a score in [0, 1] from two vocabularies."""
import math
import re

# Is it about AI at all? Strong terms are unambiguous; weak ones ("model", "agent", "robot")
# also occur in ordinary news, so they count for less.
AI_STRONG = [
    r"artificial intelligence", r"\bA\.?I\.?\b", r"machine learning", r"deep learning",
    r"neural net\w*", r"\bLLMs?\b", r"large language models?", r"language models?",
    r"foundation models?", r"frontier models?", r"chat ?bots?", r"AI agents?", r"agentic",
    r"\bGPT[- ]?\w*", r"ChatGPT", r"\bClaude\b", r"\bGemini\b", r"\bLlama\b", r"\bGrok\b",
    r"\bMistral\b", r"\bCopilot\b", r"\bOpenAI\b", r"\bAnthropic\b", r"DeepMind", r"\bxAI\b",
    r"Hugging ?Face", r"autopilot", r"self-driving", r"driverless", r"facial recognition",
    r"face recognition", r"deepfakes?", r"generative", r"\bgenAI\b", r"fine-tun\w+", r"\bAGI\b",
    r"system cards?", r"model cards?", r"training data", r"\bAlexa\b", r"\bSiri\b", r"Waymo",
    r"content moderation", r"recommendation (?:algorithm|engine|system)s?",
    r"algorithmic", r"predictive policing", r"computer vision", r"speech recognition",
    r"FaceApp", r"Google Photos", r"autocomplete", r"image (?:recognition|classifi\w+|label\w*)",
    r"smart speakers?", r"voice assistants?", r"Google Home", r"robotic surgery", r"surgical robots?",
    r"(?:warehouse|delivery|security) robots?", r"automated (?:decision|system|grading|driving)\w*",
]
AI_WEAK = [
    r"\bmodels?\b", r"\bagents?\b", r"\balgorithms?\b", r"\brobot\w*", r"prompts?",
    r"\bsoftware\b", r"automat\w+", r"autonomous", r"inference", r"\bTesla\b", r"\bbots?\b",
    r"\bEcho\b", r"translat\w+", r"sensors?", r"\bfilters?\b", r"recognition",
]
# Is it about safety, harm, incidents, misbehaviour, oversight? Weak terms are everyday news words.
SAFETY_STRONG = [
    r"safety", r"alignment", r"misalign\w*", r"\bharms?\b", r"harmful", r"incidents?", r"misuse",
    r"jailbreak\w*", r"prompt injection", r"red[- ]team\w*", r"blackmail\w*", r"decepti\w+",
    r"deceiv\w+", r"sabotag\w+", r"whistleblow\w*", r"scheming", r"reward hacking",
    r"hallucinat\w+", r"\bbias(?:ed|es)?\b", r"discriminat\w+", r"racis\w+", r"sexis\w+",
    r"wrongful\w*", r"privacy", r"surveillance", r"vulnerab\w+", r"malicious", r"backlash",
    r"oversight", r"guardrails?", r"safeguards?", r"ASL-?\d", r"responsible scaling",
    r"preparedness", r"\bevals?\b", r"catastroph\w+", r"rogue", r"self-preservation",
    r"bioweapons?", r"cyber\w*", r"accountab\w+", r"ethic\w*", r"unsafe", r"dangerous",
    r"failures?", r"malfunction\w*", r"recall(?:s|ed)?\b", r"controvers\w+",
    r"mistak\w*", r"mistook", r"wrongly", r"false (?:positive|negative|arrest|match)\w*", r"blunder\w*",
    r"glitch\w*", r"fiasco", r"botched", r"faulty", r"defam\w+", r"offensive", r"inappropriate",
    r"problematic", r"apologi[sz]\w*", r"accident\w*",
]
SAFETY_WEAK = [
    r"\bsafe\b", r"\brisks?\b", r"leak\w*", r"breach\w*", r"exploit\w*", r"attack\w*",
    r"lawsuits?", r"regulat\w+", r"evaluations?", r"crash\w*", r"killed", r"injur\w+",
    r"fatal\w*", r"wrong\w*", r"fail\w*", r"shut ?down", r"autonomy", r"threat\w*",
    r"transparen\w+", r"\bban(?:s|ned)?\b", r"investigat\w+", r"complain\w*",
    r"\berrors?\b", r"fault\w*", r"shamed?", r"problems?", r"confus\w+", r"rejects?", r"nightmare",
]
def _compile(terms):
    return re.compile("|".join(terms), re.IGNORECASE)


AI_RE = (_compile(AI_STRONG), _compile(AI_WEAK))
SAFETY_RE = (_compile(SAFETY_STRONG), _compile(SAFETY_WEAK))
# Kinds whose publishers are AI labs: their launches and cards matter even without safety words.
LAB_KINDS = {"system_card", "blog"}


def _hits(patterns, text):
    strong, weak = patterns
    return len(strong.findall(text)) + 0.3 * len(weak.findall(text))


def _signal(patterns, title, text):
    """Saturating evidence: title hits count triple; density per 100 words with a floor of hits."""
    body_hits = _hits(patterns, text[:20000])
    title_hits = _hits(patterns, title)
    n_words = max(50, len(text[:20000].split()))
    density = 100.0 * body_hits / n_words
    evidence = 3 * title_hits + min(body_hits, 8) * 0.5 + density * 2
    return 1 - math.exp(-evidence / 4)


def relevance_score(title, text, kind="article"):
    """Score in [0, 1]: AI-ness times safety-ness, with lab posts and system cards trusted more."""
    title, text = title or "", text or ""
    ai = _signal(AI_RE, title, text)
    safety = _signal(SAFETY_RE, title, text)
    # Both kinds of evidence are needed; a clearly AI document without safety words keeps a
    # little credit (a small floor) so that a long, strongly AI piece is not scored zero.
    score = math.sqrt(ai * max(safety, 0.15 * ai)) if ai > 0.15 else 0.5 * ai * safety
    if kind == "system_card":
        score = max(score, 0.5 + 0.5 * ai)
    elif kind in LAB_KINDS:
        score = max(score, 0.8 * ai)
    return round(min(1.0, score), 3)
