"""Templates: the digest (Markdown, email-safe HTML) and the brief (Markdown) from digests/templates."""
import re

import jinja2

from pipeline.paths import ROOT

TEMPLATES = ROOT / "digests" / "templates"


def _md(text):
    """Text safe to drop into Markdown: raw HTML never survives into a rendered digest."""
    return (text or "").replace("<", "&lt;").replace(">", "&gt;")


def oneline(text):
    return re.sub(r"\s+", " ", text or "").strip()


def template_env(markdown=False):
    """Jinja2 environment over digests/templates; HTML autoescaped, Markdown escaped by filter."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=not markdown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=not markdown,   # Markdown keeps its blank lines; runs of them are collapsed after
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md if markdown else (lambda s: s)
    env.filters["oneline"] = oneline
    return env


def tidy_markdown(text):
    """Collapse the blank-line runs that template tags leave behind."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_markdown(digest):
    """The digest as Markdown (digests/templates/digest.md.j2)."""
    return tidy_markdown(template_env(markdown=True).get_template("digest.md.j2").render(d=digest))


def render_text(digest):
    """The digest as plain text, the email's text/plain part (digests/templates/digest.txt.j2)."""
    return tidy_markdown(template_env(markdown=True).get_template("digest.txt.j2").render(d=digest))


def render_html(digest):
    """Email-safe HTML: autoescaped, CSS inlined into style attributes, table layout, no external assets."""
    import css_inline

    html = template_env().get_template("digest.html.j2").render(d=digest)
    return css_inline.CSSInliner(load_remote_stylesheets=False).inline(html)


def render_brief_markdown(brief):
    """The brief as one page of Markdown (digests/templates/brief.md.j2)."""
    return tidy_markdown(template_env(markdown=True).get_template("brief.md.j2").render(b=brief))
