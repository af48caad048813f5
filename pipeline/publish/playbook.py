"""MSP playbook: concrete actions keyed on story categories, filled with the story's specifics.

This is generated guidance (templates chosen by category), not reporting; the digest and
brief label it so. Specifics (model, vendor, permission) come from the story's own entities
and text, never invented: when one is unknown, a neutral phrase stands in.
"""
import json
import re

# The five areas MSPs care about, and which category slugs (pipeline.stories.categories.CATEGORIES) feed each.
AREAS = {
    "agent-permissions": {"label": "Agent autonomy and permissions",
                          "slugs": {"agent-autonomy", "whistleblowing-reporting"}},
    "data-exposure": {"label": "Data exposure",
                      "slugs": {"data-exposure", "whistleblowing-reporting"}},
    "security": {"label": "Security vulnerabilities",
                 "slugs": {"security-vulnerability", "prompt-injection"}},
    "vendor-policy": {"label": "Vendor policy and disclosure",
                      "slugs": {"policy-disclosure", "deception-blackmail"}},
    "regulation": {"label": "Regulation", "slugs": {"legal-action", "regulation"}},
}

PLAYBOOK = {
    "agent-permissions": [
        "Audit which client agents built on {model} have {permission}; remove it where a person does not review each action.",
        "Put outbound email, messaging and web requests from AI agents behind an allow-list and human approval, so an agent cannot contact outsiders on its own.",
        "Review system prompts your team ships for phrases like \"take initiative\" or \"act boldly\" that invite high-agency behaviour.",
    ],
    "data-exposure": [
        "Map which client data sessions of {model} can reach and keep regulated data (PHI, PII, financials) out of agent context by default.",
        "Confirm in {vendor}'s terms what the model or vendor may share with third parties and log every agent-initiated data transfer.",
        "Tell clients plainly what an AI tool could disclose, and get written sign-off before enabling it on sensitive systems.",
    ],
    "security": [
        "If clients run tooling from {vendor} that the disclosure names, patch or disable it on managed endpoints and check logs for misuse since then.",
        "Treat every document, web page and email an agent reads as untrusted input; strip tool access from agents that process outside content.",
        "Rotate credentials and API keys that agents with {permission} could reach.",
    ],
    "vendor-policy": [
        "Read {vendor}'s system card and safety report for {model} before rolling it out; note the behaviours it discloses.",
        "Add the disclosed behaviours to your AI acceptable-use policy and client risk register.",
        "Choose vendors on transparency and control, not only performance; ask {vendor} how the behaviour is switched off.",
    ],
    "regulation": [
        "Check whether the rule or ruling changes your clients' obligations for {model} deployments and record who is responsible.",
        "Keep an inventory of AI systems per client with owner, data reached and permissions, ready for an auditor.",
        "Brief clients in regulated sectors before their regulator asks them.",
    ],
}

# Stories outside the five areas (a car crash, a biased model, harmful output, a lab's announcement)
# still get actions that fit them; they do not count as MSP relevance in the digest's ranking.
OTHER = {
    "physical-harm": [
        "List where clients let automation act in the physical world (vehicles, machinery, building or medical systems) and confirm a person can override it.",
        "Ask which clients run systems from {vendor} in this role, and who at each client acts on their safety updates and recalls.",
        "Add the failure to the client risk register with its owner, and the fallback when the automation is switched off.",
    ],
    "bias-discrimination": [
        "Before a client lets {model} decide about people (hiring, credit, access), test it on the client's own cases and keep a person signing off each decision.",
        "Keep a record of automated decisions about people and who reviewed them, ready for a complaint or an auditor.",
        "Ask {vendor} what the model was tested for and on whom; put the answer in the client file.",
    ],
    "harmful-content": [
        "Filter and log what {model} shows customers or staff, and name who at the client handles complaints about it.",
        "Turn on the vendor's content safeguards on client deployments and check they survive updates.",
        "Tell clients what the tool can produce before it faces their customers, and get sign-off.",
    ],
}

# Ordered by how specific they are: the first phrase found in the story's text wins, named as a
# permission an agent can hold.
PERMISSIONS = [
    (r"command[- ]line tools?|a command line|shell access|root access", "command-line (shell) access"),
    (r"an email tool|email tools?|bulk-email\w*", "the ability to send email"),
    (r"file[- ]system access", "file-system access"),
    (r"admin(?:istrator)? (?:rights|access|privileges)", "administrator rights"),
    (r"API keys?", "API keys"),
    (r"production databases?", "production database access"),
    (r"browser access|computer use", "browser or computer-use control"),
    (r"unlimited access to tools|access to tools|tool access", "tool access"),
]
PERMISSION_RE = re.compile("|".join(f"(?:{p})" for p, _name in PERMISSIONS), re.I)
ENTITY_SCAN_CHARS = 20000
FALLBACKS = {"model": "any AI model", "vendor": "the vendor", "permission": "tool access (shell, email, files)"}
# Actions that a category needs first, whatever the area order: a model that emails outsiders on its
# own calls for the outbound-email control before anything else.
FIRST_ACTIONS = {"whistleblowing-reporting": PLAYBOOK["agent-permissions"][1]}


def msp_areas(categories, text=""):
    """The MSP areas a story touches, in playbook order, from its category slugs (whole-word rules in
    pipeline.stories.categories; `text` is accepted for callers and not read: a word in passing is
    not an MSP angle)."""
    slugs = set(categories or [])
    return [area for area, spec in AREAS.items() if spec["slugs"] & slugs]


def _story_entities(db, story_id, text):
    """(name, kind) of entities in the story: from document_entities when indexed, else the gazetteer over the text."""
    rows = []
    if db is not None and story_id and "document_entities" in db.table_names():
        rows = [(r["name"], r["kind"]) for r in db.query(
            "select e.name, e.kind, count(*) n from document_entities de join entities e on e.id = de.entity_id "
            "join documents d on d.id = de.document_id where d.story_id = ? group by e.id "
            "order by n desc, length(e.name) desc, e.name", [story_id])]
    if not rows:
        from pipeline.stories.entities import GAZETTEER, extract_entities
        names = {eid: (name, kind) for eid, name, kind, _aliases in GAZETTEER}
        # the gazetteer scan is slow on long stories; entities that matter are named early
        rows = [names[e] for e in extract_entities((text or "")[:ENTITY_SCAN_CHARS]) if e in names]
    return rows


def story_specifics(db, story_id, text):
    """Model, vendor and permission named in the story (most specific model; first permission phrase)."""
    found = dict(FALLBACKS)
    ents = _story_entities(db, story_id, text)
    models = [n for n, k in ents if k == "model"]
    # "Claude" is implied by "Claude Opus 4": name the specific one
    specific = [m for m in models if not any(m != o and m in o for o in models)]
    if specific:
        found["model"] = specific[0]
    vendors = [n for n, k in ents if k in ("lab", "company")]
    if vendors:
        found["vendor"] = vendors[0]
    seen = {m.group().lower() for m in PERMISSION_RE.finditer(text or "")}
    for pattern, name in PERMISSIONS:
        if any(re.fullmatch(pattern, p, re.I) for p in seen):
            found["permission"] = name
            break
    return found


def takeaways(areas, specifics, n=3, categories=()):
    """`n` actions, one per area in turn, filled with the story's specifics. A story outside the
    MSP areas gets the actions for its other categories; a story with no MSP angle gets none
    (never filler, never a system card for a car crash)."""
    lists = [PLAYBOOK[a] for a in areas] or [OTHER[c] for c in dict.fromkeys(categories or ()) if c in OTHER]
    if not lists:
        return []
    first = [FIRST_ACTIONS[c] for c in dict.fromkeys(categories or ()) if c in FIRST_ACTIONS]
    lists = [first] + [[a for a in actions if a not in first] for actions in lists] if first else lists
    out = []
    for k in range(max(len(x) for x in lists)):
        for actions in lists:
            if k < len(actions) and len(out) < n:
                out.append(actions[k].format(**specifics))
    return out


def story_categories(story):
    try:
        cats = json.loads(story.get("categories") or "[]")
    except (TypeError, ValueError):
        return []
    return [c for c in cats if isinstance(c, str)]
