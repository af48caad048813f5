"""Gazetteer of labs, models, products, people and regulators; entity tables."""
import json
import re

# (id, name, kind, aliases). Aliases are matched case-insensitively on word boundaries,
# except those written in CASE_SENSITIVE below (short or common words: "Meta", "o3", "Tay").
GAZETTEER = [
    # labs and companies
    ("anthropic", "Anthropic", "lab", ["Anthropic", "Anthropic PBC"]),
    ("openai", "OpenAI", "lab", ["OpenAI", "Open AI"]),
    ("google-deepmind", "Google DeepMind", "lab", ["Google DeepMind", "DeepMind", "Google Brain"]),
    ("google", "Google", "company", ["Google", "Alphabet"]),
    ("meta", "Meta", "lab", ["Meta", "Meta AI", "Meta Platforms", "Facebook", "FAIR"]),
    ("xai", "xAI", "lab", ["xAI", "x.AI"]),
    ("mistral", "Mistral AI", "lab", ["Mistral AI", "Mistral"]),
    ("microsoft", "Microsoft", "company", ["Microsoft", "MSFT"]),
    ("amazon", "Amazon", "company", ["Amazon", "AWS", "Amazon Web Services"]),
    ("apple", "Apple", "company", ["Apple"]),
    ("nvidia", "Nvidia", "company", ["Nvidia", "NVIDIA"]),
    ("deepseek", "DeepSeek", "lab", ["DeepSeek"]),
    ("alibaba", "Alibaba", "lab", ["Alibaba", "Qwen"]),
    ("hugging-face", "Hugging Face", "company", ["Hugging Face", "HuggingFace"]),
    ("cohere", "Cohere", "lab", ["Cohere"]),
    ("character-ai", "Character.AI", "company", ["Character.AI", "Character AI", "Character.ai"]),
    ("perplexity", "Perplexity", "company", ["Perplexity", "Perplexity AI"]),
    ("replit", "Replit", "company", ["Replit"]),
    ("cognition", "Cognition", "company", ["Cognition Labs", "Cognition AI"]),
    ("cursor", "Cursor", "product", ["Cursor IDE", "Anysphere"]),
    ("apollo-research", "Apollo Research", "lab", ["Apollo Research"]),
    ("metr", "METR", "lab", ["METR", "Model Evaluation and Threat Research"]),
    ("palisade-research", "Palisade Research", "lab", ["Palisade Research", "Palisade"]),
    ("redwood-research", "Redwood Research", "lab", ["Redwood Research"]),
    ("scale-ai", "Scale AI", "company", ["Scale AI"]),
    ("salesforce", "Salesforce", "company", ["Salesforce"]),
    ("tesla", "Tesla", "company", ["Tesla"]),
    ("uber", "Uber", "company", ["Uber"]),
    ("waymo", "Waymo", "company", ["Waymo"]),
    ("cruise", "Cruise", "company", ["GM Cruise", "Cruise LLC"]),
    ("clearview-ai", "Clearview AI", "company", ["Clearview AI", "Clearview"]),
    ("stability-ai", "Stability AI", "lab", ["Stability AI", "Stable Diffusion"]),
    ("midjourney", "Midjourney", "company", ["Midjourney"]),
    ("inflection", "Inflection AI", "lab", ["Inflection AI"]),
    ("safe-superintelligence", "Safe Superintelligence", "lab", ["Safe Superintelligence", "SSI Inc"]),
    ("github", "GitHub", "company", ["GitHub"]),
    ("ibm", "IBM", "company", ["IBM"]),
    ("samsung", "Samsung", "company", ["Samsung"]),
    ("starbucks", "Starbucks", "company", ["Starbucks"]),
    ("youtube", "YouTube", "product", ["YouTube", "YouTube Kids"]),
    ("tiktok", "TikTok", "product", ["TikTok"]),
    ("twitter", "X (Twitter)", "product", ["Twitter"]),
    # models
    ("claude-opus-4", "Claude Opus 4", "model", ["Claude Opus 4", "Claude 4 Opus", "Opus 4", "Claude-Opus-4", "claude-opus-4"]),
    ("claude-sonnet-4", "Claude Sonnet 4", "model", ["Claude Sonnet 4", "Claude 4 Sonnet", "Sonnet 4"]),
    ("claude-opus-4-1", "Claude Opus 4.1", "model", ["Claude Opus 4.1", "Opus 4.1"]),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "model", ["Claude Sonnet 4.5", "Sonnet 4.5"]),
    ("claude-3-7-sonnet", "Claude 3.7 Sonnet", "model", ["Claude 3.7 Sonnet", "Claude Sonnet 3.7", "Sonnet 3.7"]),
    ("claude-3-5-sonnet", "Claude 3.5 Sonnet", "model", ["Claude 3.5 Sonnet", "Claude Sonnet 3.5", "Sonnet 3.5"]),
    ("claude-3-opus", "Claude 3 Opus", "model", ["Claude 3 Opus", "Claude Opus 3"]),
    ("claude", "Claude", "model", ["Claude", "Claude AI", "Claude.ai"]),
    ("claude-code", "Claude Code", "product", ["Claude Code"]),
    ("chatgpt", "ChatGPT", "product", ["ChatGPT", "Chat GPT"]),
    ("gpt-4o", "GPT-4o", "model", ["GPT-4o", "GPT 4o", "GPT4o"]),
    ("gpt-4", "GPT-4", "model", ["GPT-4", "GPT 4", "GPT4"]),
    ("gpt-4-1", "GPT-4.1", "model", ["GPT-4.1", "GPT 4.1"]),
    ("gpt-5", "GPT-5", "model", ["GPT-5", "GPT 5", "GPT5"]),
    ("gpt-3", "GPT-3", "model", ["GPT-3", "GPT 3", "GPT-3.5"]),
    ("o1", "OpenAI o1", "model", ["o1", "o1-preview", "o1-mini"]),
    ("o3", "OpenAI o3", "model", ["o3", "o3-mini", "o3-pro"]),
    ("o4-mini", "OpenAI o4-mini", "model", ["o4-mini"]),
    ("codex", "OpenAI Codex", "product", ["Codex", "Codex CLI"]),
    ("operator", "OpenAI Operator", "product", ["OpenAI Operator", "ChatGPT agent", "ChatGPT Agent"]),
    ("gemini", "Gemini", "model", ["Gemini", "Gemini Pro", "Gemini Ultra", "Gemini 2.5 Pro", "Gemini 2.5", "Gemini CLI"]),
    ("bard", "Bard", "product", ["Google Bard", "Bard"]),
    ("llama", "Llama", "model", ["Llama", "LLaMA", "Llama 3", "Llama 4"]),
    ("grok", "Grok", "model", ["Grok", "Grok 3", "Grok 4"]),
    ("copilot", "Microsoft Copilot", "product", ["Copilot", "Microsoft Copilot", "Microsoft 365 Copilot", "Bing Chat", "Sydney"]),
    ("github-copilot", "GitHub Copilot", "product", ["GitHub Copilot"]),
    ("deepseek-r1", "DeepSeek R1", "model", ["DeepSeek R1", "DeepSeek-R1", "R1"]),
    ("devin", "Devin", "product", ["Devin AI", "Devin"]),
    ("replit-agent", "Replit Agent", "product", ["Replit Agent", "Replit AI agent"]),
    ("mcp", "Model Context Protocol", "product", ["Model Context Protocol", "MCP"]),
    ("computer-use", "Computer Use", "product", ["computer use", "computer-use agent"]),
    ("manus", "Manus", "product", ["Manus AI", "Manus"]),
    ("autogpt", "AutoGPT", "product", ["AutoGPT", "Auto-GPT"]),
    ("openclaw", "OpenClaw", "product", ["OpenClaw", "Clawdbot", "Moltbot"]),
    ("tay", "Microsoft Tay", "product", ["Tay", "TayTweets", "Tay.ai"]),
    ("alexa", "Amazon Alexa", "product", ["Alexa", "Echo"]),
    ("siri", "Siri", "product", ["Siri"]),
    ("tesla-autopilot", "Tesla Autopilot", "product", ["Autopilot", "Full Self-Driving", "FSD"]),
    ("google-photos", "Google Photos", "product", ["Google Photos"]),
    ("stable-diffusion", "Stable Diffusion", "model", ["Stable Diffusion"]),
    ("dall-e", "DALL-E", "model", ["DALL-E", "DALL·E", "DALLE"]),
    ("sora", "Sora", "model", ["Sora"]),
    # people
    ("sam-bowman", "Sam Bowman", "person", ["Sam Bowman", "Samuel Bowman", "@sleepinyourhat"]),
    ("sam-altman", "Sam Altman", "person", ["Sam Altman", "Altman"]),
    ("dario-amodei", "Dario Amodei", "person", ["Dario Amodei"]),
    ("daniela-amodei", "Daniela Amodei", "person", ["Daniela Amodei"]),
    ("jan-leike", "Jan Leike", "person", ["Jan Leike"]),
    ("jack-clark", "Jack Clark", "person", ["Jack Clark"]),
    ("chris-olah", "Chris Olah", "person", ["Chris Olah"]),
    ("elon-musk", "Elon Musk", "person", ["Elon Musk", "Musk"]),
    ("demis-hassabis", "Demis Hassabis", "person", ["Demis Hassabis", "Hassabis"]),
    ("mustafa-suleyman", "Mustafa Suleyman", "person", ["Mustafa Suleyman", "Suleyman"]),
    ("satya-nadella", "Satya Nadella", "person", ["Satya Nadella", "Nadella"]),
    ("sundar-pichai", "Sundar Pichai", "person", ["Sundar Pichai", "Pichai"]),
    ("mark-zuckerberg", "Mark Zuckerberg", "person", ["Mark Zuckerberg", "Zuckerberg"]),
    ("yann-lecun", "Yann LeCun", "person", ["Yann LeCun", "LeCun"]),
    ("geoffrey-hinton", "Geoffrey Hinton", "person", ["Geoffrey Hinton", "Geoff Hinton"]),
    ("yoshua-bengio", "Yoshua Bengio", "person", ["Yoshua Bengio"]),
    ("ilya-sutskever", "Ilya Sutskever", "person", ["Ilya Sutskever", "Sutskever"]),
    ("mira-murati", "Mira Murati", "person", ["Mira Murati"]),
    ("stuart-russell", "Stuart Russell", "person", ["Stuart Russell"]),
    ("gary-marcus", "Gary Marcus", "person", ["Gary Marcus"]),
    ("simon-willison", "Simon Willison", "person", ["Simon Willison"]),
    ("emad-mostaque", "Emad Mostaque", "person", ["Emad Mostaque"]),
    ("helen-toner", "Helen Toner", "person", ["Helen Toner"]),
    ("daniel-kokotajlo", "Daniel Kokotajlo", "person", ["Daniel Kokotajlo"]),
    ("marius-hobbhahn", "Marius Hobbhahn", "person", ["Marius Hobbhahn"]),
    ("jason-lemkin", "Jason Lemkin", "person", ["Jason Lemkin"]),
    ("amjad-masad", "Amjad Masad", "person", ["Amjad Masad"]),
    # regulators and policy bodies
    ("eu-commission", "European Commission", "regulator", ["European Commission", "EU Commission", "Brussels"]),
    ("eu-ai-act", "EU AI Act", "regulator", ["EU AI Act", "AI Act", "Artificial Intelligence Act"]),
    ("eu-ai-office", "EU AI Office", "regulator", ["AI Office", "EU AI Office"]),
    ("ftc", "US Federal Trade Commission", "regulator", ["Federal Trade Commission", "FTC"]),
    ("sec", "US Securities and Exchange Commission", "regulator", ["Securities and Exchange Commission", "SEC"]),
    ("fcc", "US Federal Communications Commission", "regulator", ["Federal Communications Commission", "FCC"]),
    ("fda", "US Food and Drug Administration", "regulator", ["Food and Drug Administration", "FDA"]),
    ("nist", "NIST", "regulator", ["NIST", "National Institute of Standards and Technology"]),
    ("us-caisi", "US Center for AI Standards and Innovation", "regulator", ["CAISI", "Center for AI Standards and Innovation", "US AI Safety Institute", "U.S. AI Safety Institute"]),
    ("uk-aisi", "UK AI Security Institute", "regulator", ["AI Security Institute", "UK AI Safety Institute", "UK AISI", "AISI"]),
    ("cisa", "CISA", "regulator", ["CISA", "Cybersecurity and Infrastructure Security Agency"]),
    ("nhtsa", "NHTSA", "regulator", ["NHTSA", "National Highway Traffic Safety Administration"]),
    ("ico", "UK Information Commissioner's Office", "regulator", ["Information Commissioner's Office", "ICO"]),
    ("ofcom", "Ofcom", "regulator", ["Ofcom"]),
    ("cnil", "CNIL", "regulator", ["CNIL"]),
    ("garante", "Italian Garante", "regulator", ["Garante", "Garante per la protezione dei dati personali"]),
    ("white-house", "White House", "regulator", ["White House"]),
    ("us-congress", "US Congress", "regulator", ["Congress", "Senate", "House of Representatives"]),
    ("california-sb-53", "California SB 53", "regulator", ["SB 53", "SB-53", "SB 1047", "SB-1047"]),
]

CASE_SENSITIVE = {
    "Meta", "FAIR", "Apple", "Amazon", "Echo", "Alexa", "Siri", "Tay", "o1", "o3", "R1", "MCP",
    "Devin", "Sora", "Grok", "Gemini", "Codex", "Claude", "Llama", "Bard", "Manus", "Palisade",
    "Mistral", "Cohere", "Perplexity", "Clearview", "Cursor IDE", "Autopilot", "FSD", "SEC", "FCC",
    "FDA", "FTC", "ICO", "AISI", "CISA", "CAISI", "NIST", "METR", "Congress", "Senate", "Musk",
    "Altman", "Garante", "Brussels", "Twitter", "Copilot", "Sydney", "AI Office", "AI Act",
    "Opus 4", "Sonnet 4", "Qwen", "IBM", "AWS", "MSFT", "Uber", "Tesla", "Google", "Starbucks",
}

# Tokens keep dots and apostrophes inside words ("Character.AI"); hyphens split, so
# "Claude-Opus-4" and "Claude Opus 4" are the same token sequence.
_TOKEN = re.compile(r"@?[^\W_]+(?:[.'’][^\W_]+)*")
_INDEX = None


def _alias_index():
    """{token tuple: (entity id, case-sensitive)} and the longest alias length."""
    global _INDEX
    if _INDEX is None:
        table, longest = {}, 1
        for eid, _, _, aliases in GAZETTEER:
            for alias in aliases:
                toks = tuple(_TOKEN.findall(alias))
                if not toks:
                    continue
                sensitive = alias in CASE_SENSITIVE
                key = toks if sensitive else tuple(t.lower() for t in toks)
                table.setdefault((key, sensitive), eid)
                longest = max(longest, len(toks))
        _INDEX = (table, longest)
    return _INDEX


# A specific model implies its lab and family: a story about "Opus 4" is about Anthropic and Claude.
IMPLIES = {
    "claude-opus-4": ["claude", "anthropic"], "claude-sonnet-4": ["claude", "anthropic"],
    "claude-opus-4-1": ["claude", "anthropic"], "claude-sonnet-4-5": ["claude", "anthropic"],
    "claude-3-7-sonnet": ["claude", "anthropic"], "claude-3-5-sonnet": ["claude", "anthropic"],
    "claude-3-opus": ["claude", "anthropic"], "claude-code": ["anthropic"], "claude": ["anthropic"],
    "gpt-4o": ["openai"], "gpt-4": ["openai"], "gpt-4-1": ["openai"], "gpt-5": ["openai"], "gpt-3": ["openai"],
    "o1": ["openai"], "o3": ["openai"], "o4-mini": ["openai"], "chatgpt": ["openai"], "codex": ["openai"],
    "operator": ["openai"], "gemini": ["google"], "bard": ["google"], "llama": ["meta"], "grok": ["xai"],
    "github-copilot": ["github", "microsoft"], "copilot": ["microsoft"], "deepseek-r1": ["deepseek"],
    "replit-agent": ["replit"], "devin": ["cognition"], "tay": ["microsoft"], "alexa": ["amazon"],
    "siri": ["apple"], "tesla-autopilot": ["tesla"], "google-photos": ["google"], "dall-e": ["openai"],
    "sora": ["openai"], "google-deepmind": ["google"], "youtube": ["google"],
}


def extract_entities(text):
    """Entity ids mentioned in `text`, in order of first mention, aliases resolved."""
    if not text:
        return []
    table, longest = _alias_index()
    toks = _TOKEN.findall(text)
    lower = [t.lower() for t in toks]
    found, i = [], 0
    while i < len(toks):
        # Longest alias first, so "Claude Opus 4" wins over "Claude".
        for size in range(min(longest, len(toks) - i), 0, -1):
            eid = table.get((tuple(toks[i:i + size]), True)) or table.get((tuple(lower[i:i + size]), False))
            if eid:
                for e in [eid, *IMPLIES.get(eid, [])]:
                    if e not in found:
                        found.append(e)
                i += size
                break
        else:
            i += 1
    return found


def entity_rows():
    return [{"id": eid, "name": name, "kind": kind, "aliases": json.dumps(aliases)}
            for eid, name, kind, aliases in GAZETTEER]


def index_entities(db, document_ids=None):
    """Fill `entities` from the gazetteer and `document_entities` for documents not yet indexed
    (those `entities_indexed` does not list: only their rows are read), or for `document_ids`."""
    db["entities"].upsert_all(entity_rows(), pk="id")
    if document_ids is None:
        ids = [r[0] for r in db.execute("SELECT id FROM documents d WHERE NOT EXISTS "
                                        "(SELECT 1 FROM entities_indexed x WHERE x.document_id = d.id) ORDER BY id")]
    else:
        ids = list(document_ids)
    n = 0
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        pairs = []
        for row in db.query(f"SELECT id, title, text FROM documents WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            pairs += [{"document_id": row["id"], "entity_id": eid}
                      for eid in extract_entities(f"{row['title'] or ''}\n{row['text'] or ''}")]
        with db.conn:
            if pairs:
                db["document_entities"].insert_all(pairs, pk=("document_id", "entity_id"), ignore=True)
            db["entities_indexed"].insert_all(({"document_id": i} for i in chunk), pk="document_id", ignore=True)
        n += len(pairs)
    return n
