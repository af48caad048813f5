"""Optional LLM rewrite of the summary and the MSP section; off by default.

Set INCIDENTWIRE_LLM_MODEL to a model name the `llm` library knows (e.g. a local
`llm-gpt4all` or `llm-ollama` model, or a hosted one with its key configured through
`llm keys set`). With the variable unset, or `llm` not installed, or any error, the
original extractive text is returned unchanged and the output stays offline and
deterministic. Rewritten text is always shown labelled with the model that wrote it,
beside the extractive original, never in place of quotes or numbers.
"""
import logging
import os

log = logging.getLogger(__name__)

PROMPTS = {
    "summary": ("Rewrite this news summary in 60-80 plain words for managed-service-provider owners. "
                "Use only facts in the text; add nothing.\n\n{text}"),
    "msp": ("Rewrite these action items for an MSP owner as three short imperative bullets. "
            "Keep every product, vendor and permission named; add no new facts.\n\nStory: {headline}\n\n{text}"),
}


def enabled():
    return bool(os.environ.get("INCIDENTWIRE_LLM_MODEL"))


def rewrite(kind, text, facts=None):
    """(text, model name) rewritten by the configured LLM, or (text, None) unchanged when off or failing."""
    model_name = os.environ.get("INCIDENTWIRE_LLM_MODEL")
    if not model_name or not text:
        return text, None
    try:
        import llm
    except ImportError:
        log.warning("INCIDENTWIRE_LLM_MODEL is set but the `llm` package is not installed; keeping extractive text")
        return text, None
    headline = ((facts or {}).get("story") or {}).get("headline") or ""
    try:
        model = llm.get_model(model_name)
        response = model.prompt(PROMPTS[kind].format(text=text, headline=headline))
        out = (response.text() or "").strip()
    except Exception as e:  # any failure keeps the deterministic path
        log.warning("LLM rewrite with %s failed (%s); keeping extractive text", model_name, e)
        return text, None
    return (out, model_name) if out else (text, None)
