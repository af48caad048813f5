"""Build the offline demo snapshot (demo/site/) from the real inputs in ../shared.

Run: `.venv/bin/python demo/build.py [--shared PATH]`. The output is committed, so `make demo`
needs neither ../shared nor this script. Everything here re-hosts real content (see
demo/README.md for provenance and licences); the script never writes words of its own into a
document's text, only page furniture (headers, footers, provenance notes) and dates.

Links inside feeds and index pages are root-relative ("/labs/..."), because the loopback server
listens on a port chosen at run time; every page also names a stable absolute canonical URL
(the real one where the source gives it, else one under a `.demo.invalid` host) so that two
runs over the same database find the same documents.
"""
import argparse
import datetime as dt
import email.utils
import hashlib
import html
import json
import pathlib
import re
import shutil
import urllib.parse
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
SITE = HERE / "site"
EARLIER = HERE / "earlier"   # pages as first served, before an edit the demo shows (see build_system_cards)
SPAN_START = dt.date(2025, 5, 1)   # shifted AIID/ECB+ dates fall in [SPAN_START, SPAN_END]
SPAN_END = dt.date(2025, 6, 27)
LAB_WINDOW = (dt.date(2025, 4, 21), dt.date(2025, 6, 30))
UTC = dt.timezone.utc

LAB_FEEDS = {  # fixture -> (site folder, publisher)
    "olshansk_feed_anthropic_news.xml": ("anthropic-news", "Anthropic"),
    "olshansk_feed_anthropic_red.xml": ("anthropic-red", "Anthropic Frontier Red Team"),
    "olshansk_feed_meta_ai.xml": ("meta-ai", "Meta AI"),
    "olshansk_feed_mistral.xml": ("mistral", "Mistral AI"),
}
# Fictitious small news sites that re-host AIID reports (names invented; no real outlet).
INCIDENT_SITES = [
    ("incident-ledger", "The Incident Ledger"),
    ("glitch-gazette", "Glitch Gazette"),
    ("failure-modes-daily", "Failure Modes Daily"),
    ("automation-desk", "Automation Desk"),
]
NEWS_SITE = ("riverside-gazette", "Riverside Gazette")
MAX_REPORTS_PER_INCIDENT = 8
N_NEWS_ARTICLES = 40
JUNK_TITLE = re.compile(r"^(response )?issue report \d+$|^report (\d+ )?title$", re.I)

VB_URL = ("https://venturebeat.com/ai/anthropic-faces-backlash-to-claude-4-opus-behavior-that-"
          "contacts-authorities-press-if-it-thinks-youre-doing-something-immoral/")
VB_PATH = "/venturebeat/ai/anthropic-faces-backlash-to-claude-4-opus-behavior/"
VB_PUBLISHED = dt.datetime(2025, 5, 22, 19, 30, tzinfo=UTC)  # date from the seed; hour is a placeholder
BOT_DATE = dt.datetime(2025, 5, 26, 12, 0, tzinfo=UTC)  # "Friday I mentioned the launch..." -> next week
BOT_PATH = "/businessoftech/2025/05/26/anthropic-claude-4-opus-backlash/"
BOT_CANONICAL = "https://businessoftech.demo.invalid/2025/05/26/anthropic-claude-4-opus-backlash/"
CARD_DATE = dt.datetime(2025, 5, 22, 0, 0, tzinfo=UTC)
CARD_PDF = "claude-opus-4-system-card-demo-excerpt.pdf"
MASTODON_TAG = "claude"
MASTODON_HOST = "https://social.demo.invalid"
DEMO_NOTE = ("Demo re-hosting for incidentwire: this text is quoted verbatim from VentureBeat's "
             "article of 22 May 2025 ({url}); it is not the original post.").format(url=VB_URL)

# The social posts the seed article quotes, attributed exactly as the article attributes them.
# Each post is a list of verbatim segments of the article (a post the article quotes in two
# pieces keeps two paragraphs). `handle` is the X handle the article gives, if any; when it
# gives none the demo instance uses a slug of the name. Only Bowman's first post carries a
# time in the article (12:43 pm ET); the others are placed after it in the article's order.
SOCIAL_POSTS = [
    {"where": "mastodon", "name": "Sam Bowman", "handle": "sleepinyourhat",
     "described": "an Anthropic AI alignment researcher",
     "at": "2025-05-22T16:43:00+00:00",
     "segments": ["If it thinks you’re doing something egregiously immoral, for example, like faking "
                  "data in a pharmaceutical trial, it will use command-line tools to contact the press, "
                  "contact regulators, try to lock you out of the relevant systems, or all of the above."]},
    {"where": "mastodon", "name": "", "handle": "Teknium1",
     "described": "a co-founder and the head of post training at open source AI collaborative Nous Research",
     "at": "2025-05-22T17:05:00+00:00",
     "segments": ["Why would people use these tools if a common error in llms is thinking recipes for "
                  "spicy mayo are dangerous??",
                  "What kind of surveillance state world are we trying to build here?"]},
    {"where": "mastodon", "name": "", "handle": "ScottDavidKeefe", "described": "developer",
     "at": "2025-05-22T17:20:00+00:00",
     "segments": ["Nobody likes a rat",
                  "Why would anyone want one built in, even if they are doing nothing wrong? Plus you "
                  "don’t even know what its ratty about. Yeah that’s some pretty idealistic people "
                  "thinking that, who have no basic business sense and don’t understand how markets work"]},
    {"where": "hn", "name": "Austin Allred", "handle": None,
     "described": "co-founder of the government fined coding camp BloomTech and now a co-founder of Gauntlet AI",
     "at": "2025-05-22T17:35:00+00:00",
     "segments": ["Honest question for the Anthropic team: HAVE YOU LOST YOUR MINDS?"]},
    {"where": "mastodon", "name": "Ben Hyak", "handle": None,
     "described": "a former SpaceX and Apple designer and current co-founder of Raindrop AI",
     "at": "2025-05-22T17:50:00+00:00",
     "segments": ["this is, actually, just straight up illegal"]},
    {"where": "mastodon", "name": "Ben Hyak", "handle": None,
     "described": "a former SpaceX and Apple designer and current co-founder of Raindrop AI",
     "at": "2025-05-22T17:55:00+00:00",
     "segments": ["An AI Alignment researcher at Anthropic just said that Claude Opus will CALL THE "
                  "POLICE or LOCK YOU OUT OF YOUR COMPUTER if it detects you doing something illegal?? "
                  "i will never give this model access to my computer."]},
    {"where": "hn", "name": "Casper Hansen", "handle": None, "described": "natural language processing (NLP)",
     "at": "2025-05-22T18:10:00+00:00",
     "segments": ["Some of the statements from Claude’s safety people are absolutely crazy,",
                  "Makes you root a bit more for [Anthropic rival] OpenAI seeing the level of stupidity "
                  "being this publicly displayed."]},
    {"where": "mastodon", "name": "Sam Bowman", "handle": "sleepinyourhat",
     "described": "an Anthropic AI alignment researcher",
     "at": "2025-05-22T18:30:00+00:00",
     "segments": ["With this kind of (unusual but not super exotic) prompting style, and unlimited access "
                  "to tools, if the model sees you doing something egregiously evil like marketing a drug "
                  "based on faked data, it’ll try to use an email tool to whistleblow"]},
    {"where": "mastodon", "name": "Sam Bowman", "handle": "sleepinyourhat",
     "described": "an Anthropic AI alignment researcher",
     "at": "2025-05-22T18:40:00+00:00",
     "segments": ["I deleted the earlier tweet on whistleblowing as it was being pulled out of context.",
                  "TBC: This isn’t a new Claude feature and it’s not possible in normal usage. It shows up "
                  "in testing environments where we give it unusually free access to tools and very "
                  "unusual instructions."]},
]


# ---------------------------------------------------------------- helpers

def slugify(text, limit=70):
    """A URL slug of `text`."""
    slug = re.sub(r"[^a-z0-9]+", "-", html.unescape(text).lower()).strip("-")
    return slug[:limit].rstrip("-") or "item"


def rfc822(when):
    return email.utils.format_datetime(when)


def write(path, data):
    """Write text or bytes under demo/site, creating folders."""
    target = SITE / path.lstrip("/")
    if path.endswith("/"):
        target = target / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        target.write_bytes(data)
    else:
        target.write_text(data, encoding="utf-8")
    return target


def xml_bytes(root):
    ET.indent(root)
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="utf-8") + b"\n"


def sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def paragraphs_html(text):
    """Plain text (AIID reports use '## ' for headings) -> HTML paragraphs."""
    out = []
    for block in re.split(r"\n\s*\n|\n", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("#"):
            out.append(f"<h2>{html.escape(block.lstrip('# '))}</h2>")
        else:
            out.append(f"<p>{html.escape(block)}</p>")
    return "\n".join(out)


def page(*, title, canonical, site_name, site_home, published, author=None, body_html,
         footer_html="", description=None, og_type="article"):
    """A plain, standard article page: <link rel=canonical>, Open Graph and article meta."""
    iso = published.isoformat()
    meta = [
        f'<link rel="canonical" href="{html.escape(canonical)}">',
        f'<meta property="og:url" content="{html.escape(canonical)}">',
        f'<meta property="og:title" content="{html.escape(title)}">',
        f'<meta property="og:type" content="{og_type}">',
        f'<meta property="og:site_name" content="{html.escape(site_name)}">',
        f'<meta property="article:published_time" content="{iso}">',
    ]
    if author:
        meta.append(f'<meta name="author" content="{html.escape(author)}">')
    if description:
        meta.append(f'<meta name="description" content="{html.escape(description)}">')
    byline = f'<p class="byline">By <span class="author">{html.escape(author)}</span></p>' if author else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} | {html.escape(site_name)}</title>
{chr(10).join(meta)}
</head>
<body>
<header><nav><a href="{site_home}">{html.escape(site_name)}</a></nav></header>
<main>
<article>
<h1>{html.escape(title)}</h1>
{byline}
<p class="dateline"><time datetime="{iso}">{published.strftime('%d %B %Y')}</time></p>
{body_html}
</article>
</main>
<footer>{footer_html}</footer>
</body>
</html>
"""


def index_page(title, items, note=""):
    """An HTML listing: items are (href, title, date)."""
    lis = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(t)}</a> <time datetime="{d.isoformat()}">'
        f"{d.strftime('%d %B %Y')}</time></li>" for href, t, d in items)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{note}\n<ul>\n{lis}\n</ul>\n</body>\n</html>\n")


def rss(*, title, home, description, self_path, items, extra_ns=None, channel_extra=None):
    """RSS 2.0; items are dicts with title, link, guid, date, description, content, author, extra."""
    ET.register_namespace("atom", "http://www.w3.org/2005/Atom")
    ET.register_namespace("content", "http://purl.org/rss/1.0/modules/content/")
    ET.register_namespace("dc", "http://purl.org/dc/elements/1.1/")
    ET.register_namespace("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd")
    root = ET.Element("rss", {"version": "2.0"})
    ch = sub(root, "channel")
    sub(ch, "title", title)
    sub(ch, "link", home)
    sub(ch, "description", description)
    sub(ch, "{http://www.w3.org/2005/Atom}link", href=self_path, rel="self", type="application/rss+xml")
    sub(ch, "language", "en")
    if items:
        sub(ch, "lastBuildDate", rfc822(max(i["date"] for i in items)))
    for fn in channel_extra or []:
        fn(ch)
    for it in sorted(items, key=lambda i: i["date"], reverse=True):
        el = sub(ch, "item")
        sub(el, "title", it["title"])
        sub(el, "link", it["link"])
        if it.get("description"):
            sub(el, "description", it["description"])
        if it.get("content"):
            sub(el, "{http://purl.org/rss/1.0/modules/content/}encoded", it["content"])
        if it.get("author"):
            sub(el, "{http://purl.org/dc/elements/1.1/}creator", it["author"])
        sub(el, "guid", it["guid"], isPermaLink="false")
        sub(el, "pubDate", rfc822(it["date"]))
        for fn in it.get("extra", []):
            fn(el)
    return xml_bytes(root)


def atom(*, title, home, self_path, feed_id, items):
    """Atom 1.0 with the same item dicts as rss()."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}feed")
    sub(root, f"{{{ns}}}title", title)
    sub(root, f"{{{ns}}}id", feed_id)
    sub(root, f"{{{ns}}}link", href=home, rel="alternate", type="text/html")
    sub(root, f"{{{ns}}}link", href=self_path, rel="self", type="application/atom+xml")
    sub(root, f"{{{ns}}}updated", max(i["date"] for i in items).isoformat())
    for it in sorted(items, key=lambda i: i["date"], reverse=True):
        e = sub(root, f"{{{ns}}}entry")
        sub(e, f"{{{ns}}}title", it["title"])
        sub(e, f"{{{ns}}}id", it["guid"])
        sub(e, f"{{{ns}}}link", href=it["link"], rel="alternate", type="text/html")
        sub(e, f"{{{ns}}}published", it["date"].isoformat())
        sub(e, f"{{{ns}}}updated", it["date"].isoformat())
        if it.get("author"):
            sub(sub(e, f"{{{ns}}}author"), f"{{{ns}}}name", it["author"])
        if it.get("description"):
            sub(e, f"{{{ns}}}summary", it["description"], type="text")
    data = xml_bytes(root)
    ET.register_namespace("atom", ns)  # rss() wants the prefixed form back
    return data


def summary_of(text, limit=280):
    """The report's first sentences, cut on a word boundary (feeds carry summaries only)."""
    flat = " ".join(line.strip().lstrip("# ") for line in text.splitlines() if line.strip())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def spread_dates(n, start=SPAN_START, end=SPAN_END):
    """n dates spread evenly over [start, end]."""
    days = (end - start).days
    return [start + dt.timedelta(days=round(i * days / max(n - 1, 1))) for i in range(n)]


def at_hour(day, key):
    """A stable time of day for `day`, derived from `key` (so reruns build identical files)."""
    h = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
    return dt.datetime.combine(day, dt.time(7 + h % 12, (h >> 8) % 60), tzinfo=UTC)


# ---------------------------------------------------------------- parts

def build_lab_feeds(shared):
    """The AI labs' news feeds, cut to the snapshot window, each entry linked to a demo page."""
    import feedparser  # only to read dates robustly; the XML itself is edited with ElementTree

    ET.register_namespace("atom", "http://www.w3.org/2005/Atom")
    ET.register_namespace("content", "http://purl.org/rss/1.0/modules/content/")
    counts = {}
    for fixture, (folder, publisher) in LAB_FEEDS.items():
        raw = (shared / "fixtures" / "feeds" / fixture).read_bytes()
        root = ET.fromstring(raw)
        channel = root.find("channel")
        kept = 0
        for item in list(channel.findall("item")):
            parsed = feedparser.parse(b"<rss version='2.0'><channel>" + ET.tostring(item) + b"</channel></rss>")
            entry = parsed.entries[0]
            when = dt.datetime(*entry.published_parsed[:6], tzinfo=UTC)
            if not LAB_WINDOW[0] <= when.date() <= LAB_WINDOW[1]:
                channel.remove(item)
                continue
            real = item.findtext("link")
            segments = [p for p in urllib.parse.urlsplit(real).path.split("/") if p and p != "index.html"]
            path = f"/labs/{folder}/{slugify(segments[-1])}/"
            item.find("link").text = path
            title = item.findtext("title")
            desc = item.findtext("description") or ""
            cats = [c.text for c in item.findall("category") if c.text]
            body = []
            if desc and desc != title:
                body.append(f"<p>{html.escape(desc)}</p>")
            if cats:
                body.append(f'<p class="category">{html.escape(", ".join(cats))}</p>')
            footer = (f"<p>Demo page built only from the {html.escape(publisher)} feed entry "
                      f"(title, date, category, description). The original is at "
                      f'<a href="{html.escape(real)}">{html.escape(real)}</a>.</p>')
            write(path, page(title=title, canonical=real, site_name=publisher, site_home=f"/labs/{folder}/",
                             published=when, author=publisher, body_html="\n".join(body),
                             footer_html=footer, description=desc or None))
            kept += 1
        dates = [email.utils.parsedate_to_datetime(i.findtext("pubDate")) for i in channel.findall("item")]
        if channel.find("lastBuildDate") is not None and dates:  # the cut feed as built on its newest entry
            channel.find("lastBuildDate").text = rfc822(max(dates))
        for link in channel.findall("{http://www.w3.org/2005/Atom}link"):
            if link.get("rel") == "self":
                link.set("href", f"/labs/{folder}/feed.xml")
        write(f"/labs/{folder}/feed.xml", xml_bytes(root))
        counts[folder] = kept
    return counts


def load_seed_post(shared):
    text = (shared / "seeds" / "000_8692a8530e1160a9.txt").read_text(encoding="utf-8")
    post, _ = json.JSONDecoder().raw_decode(text)  # the real response ends with an HTML comment
    return post


def article_body(post):
    """The seed article's HTML without the newsletter boilerplate and the 'Source link' line."""
    content = post["content"]["rendered"]
    content = re.sub(r'<div id="boilerplate_\d+" class="post-boilerplate boilerplate-before">.*?</div>',
                     "", content, count=1, flags=re.S)
    content = content.split('<div id="boilerplate_2660155"', 1)[0]
    content = re.sub(r"^\s*<br><div>", "", content)
    return content.strip()


def build_wordpress(post):
    """violethoward.com's wp-json posts endpoint: the seed response (a real republished copy)."""
    write("/violethoward/new/wp-json/wp/v2/posts/index.json", json.dumps([post], ensure_ascii=False, indent=1))
    write("/violethoward/new/wp-json/wp/v2/posts/1728/index.json", json.dumps(post, ensure_ascii=False, indent=1))
    write("/violethoward/robots.txt", "User-agent: *\nAllow: /\n")


def build_venturebeat(post):
    """VentureBeat's original article page (from the seed's content) and an RSS feed carrying it."""
    title = html.unescape(post["title"]["rendered"])
    body = article_body(post)
    footer = ("<p>Demo page: the article text comes from the republished copy served by the demo's "
              "violethoward.com WordPress endpoint (seed 000_8692a8530e1160a9).</p>")
    write(VB_PATH, page(title=title, canonical=VB_URL, site_name="VentureBeat", site_home="/venturebeat/",
                        published=VB_PUBLISHED, author="VentureBeat", body_html=body, footer_html=footer))
    first_para = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<p>(Anthropic’s first.*?)</p>", body, re.S).group(1)))
    item = {"title": title, "link": VB_PATH, "guid": VB_URL, "date": VB_PUBLISHED,
            "description": first_para, "author": "VentureBeat"}
    write("/venturebeat/feed/index.xml", rss(title="VentureBeat", home="/venturebeat/",
                                             description="Transformative tech coverage that matters",
                                             self_path="/venturebeat/feed/", items=[item]))
    write("/venturebeat/", index_page("VentureBeat (demo)", [(VB_PATH, title, VB_PUBLISHED)]))
    return title


def bot_segment(shared):
    """The Business of Tech segment text: the story, without the site chrome and the price list."""
    text = (shared / "seeds" / "002_ee4b015b54fba806.txt").read_text(encoding="utf-8")
    start = text.index("Friday I mentioned")
    end = text.index("Choose your upgrade:")
    return text[start:end].strip()


def build_podcast(shared):
    """Business of Tech: a podcast-style RSS feed whose item links to the segment's page."""
    text = bot_segment(shared)
    # The seed has no headline; the demo uses the segment's own first sentence of news as title.
    title = "Anthropic is facing significant backlash over the behavior of its new large language model"
    assert title in text
    paras = []
    for block in text.split("\n"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("•"):
            paras.append(f"<li>{html.escape(block.lstrip('• ').strip())}</li>")
        else:
            paras.append(f"<p>{html.escape(block)}</p>")
    body = re.sub(r"((?:<li>.*?</li>\n?)+)", r"<ul>\1</ul>", "\n".join(paras))
    footer = ("<p>Demo page: segment text from seed 002_ee4b015b54fba806 (Business of Tech). The seed "
              "has no date; the segment refers back to Friday's mention of the launch, so the demo dates "
              "it Monday 26 May 2025.</p>")
    write(BOT_PATH, page(title=title, canonical=BOT_CANONICAL, site_name="Business of Tech",
                         site_home="/businessoftech/", published=BOT_DATE, author="Business of Tech",
                         body_html=body, footer_html=footer,
                         description="News, Trends, and Insights for IT & Managed Services Providers"))
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"

    def channel_extra(ch):
        sub(ch, f"{itunes}author", "Business of Tech")
        sub(ch, f"{itunes}category", text="Technology")
        sub(ch, f"{itunes}explicit", "false")

    def item_extra(el):
        sub(el, f"{itunes}episodeType", "full")
        sub(el, f"{itunes}summary", summary_of(text, 400))

    item = {"title": title, "link": BOT_PATH, "guid": BOT_CANONICAL, "date": BOT_DATE,
            "description": summary_of(text, 400), "author": "Business of Tech", "extra": [item_extra]}
    write("/businessoftech/feed/index.xml", rss(
        title="Business of Tech", home="/businessoftech/",
        description="News, Trends, and Insights for IT & Managed Services Providers",
        self_path="/businessoftech/feed/", items=[item], channel_extra=[channel_extra]))
    write("/businessoftech/", index_page("Business of Tech (demo)", [(BOT_PATH, title, BOT_DATE)]))


def system_card_passages(post):
    """The passages of Anthropic's system card that the seed article quotes."""
    content = post["content"]["rendered"]
    m = re.search(r"<p>“<em>(This shows up as more actively helpful behavior.*?)</em>”</p>", content, re.S)
    return [html.unescape(m.group(1)).strip()]


def card_pdf(title, note, passages, created):
    """A card PDF: title, provenance note, passages (bytes; the same input gives the same bytes)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_author("Anthropic (passages as quoted by VentureBeat)")
    pdf.set_subject(note)
    pdf.set_creator("incidentwire demo/build.py")
    font = pathlib.Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.add_page()
    if font.exists():
        pdf.add_font("DejaVu", "", str(font))
        pdf.set_font("DejaVu", size=16)
    else:  # core fonts are Latin-1 only
        pdf.set_font("Helvetica", size=16)
        passages = [p.replace("“", '"').replace("”", '"').replace("’", "'") for p in passages]
    pdf.multi_cell(0, 9, title)
    pdf.ln(2)
    pdf.set_font_size(9)
    pdf.multi_cell(0, 5, note)
    pdf.ln(4)
    pdf.set_font_size(11)
    for p in passages:
        pdf.multi_cell(0, 6, p)
        pdf.ln(3)
    return bytes(pdf.output())


# The demo's silent edit: the card as first served is the quoted passage; the version served on the
# demo's second pass rewords one sentence, drops one and adds one that says the edit is the demo's.
# Its date line is unchanged, as in a silent edit. None of these words are Anthropic's.
CARD_EDIT_REWORD = ("it will frequently take very bold action.", "it will sometimes take very bold action.")
CARD_EDIT_DROP = " This is not a new behavior, but is one that Claude Opus 4 will engage in more readily than prior models."
CARD_EDIT_NOTE = ("Demo edit: incidentwire's demo build reworded one sentence of this excerpt, removed one and "
                  "added this one, without changing its date, to show how a silent edit is reported; "
                  "these changes are not Anthropic's.")
CARD_EDIT_SEEN = dt.datetime(2025, 5, 23, 12, 0, tzinfo=UTC)   # the Last-Modified the edited version is served with


def edited_passages(passages):
    """The demo's second version of the card's passages (see CARD_EDIT_*)."""
    first = passages[0]
    assert CARD_EDIT_REWORD[0] in first and CARD_EDIT_DROP in first, "the seed passage changed: update the demo edit"
    return [first.replace(CARD_EDIT_REWORD[0], CARD_EDIT_REWORD[1]).replace(CARD_EDIT_DROP, ""),
            *passages[1:], CARD_EDIT_NOTE]


def build_system_cards(post):
    """An index page of system cards with one card: a PDF of the passages the article quotes.

    demo/site holds the card as edited (served from the demo's second pass on); demo/earlier holds
    the version first served, and demo/earlier/versions.json the Last-Modified of each."""
    passages = system_card_passages(post)
    title = "Claude Opus 4 system card (demo excerpt)"
    note = ("Demo excerpt built from the passages of Anthropic's public system card for Claude Opus 4 "
            f"that VentureBeat's article of 22 May 2025 quotes ({VB_URL}). It is not the full card.")
    path = f"/anthropic-system-cards/{CARD_PDF}"
    write(path, card_pdf(title, note, edited_passages(passages), CARD_DATE))
    earlier = EARLIER / path.lstrip("/")
    earlier.parent.mkdir(parents=True, exist_ok=True)
    earlier.write_bytes(card_pdf(title, note, passages, CARD_DATE))
    (EARLIER / "versions.json").write_text(json.dumps({path: {
        "earlier": email.utils.format_datetime(CARD_DATE, usegmt=True),
        "current": email.utils.format_datetime(CARD_EDIT_SEEN, usegmt=True)}}, indent=1) + "\n", encoding="utf-8")
    items = [(path, "System card: Claude Opus 4 (demo excerpt, PDF)", CARD_DATE)]
    edit_note = ("The demo serves this card twice: first as quoted, then (from the demo's second crawl pass) "
                 "with a silent edit made by the demo build: one sentence reworded, one removed and one added "
                 "that says so.")
    write("/anthropic-system-cards/", index_page(
        "Anthropic system cards (demo)", items,
        note=f"<p>{html.escape(note)}</p>\n<p>{html.escape(edit_note)}</p>"))
    return passages


def social_text_html(segments):
    return "".join(f"<p>{html.escape(s)}</p>" for s in segments)


def build_mastodon():
    """/api/v1/timelines/tag/<tag>: Mastodon Status objects re-hosting the quoted posts."""
    statuses = []
    posts = [p for p in SOCIAL_POSTS if p["where"] == "mastodon"]
    for i, p in enumerate(posts, 1):
        username = p["handle"] or slugify(p["name"]).replace("-", "")
        sid = str(114550000000000000 + i)
        acct_url = f"{MASTODON_HOST}/@{username}"
        account = {
            "id": str(100 + sum(map(ord, username))), "username": username, "acct": username,
            "display_name": p["name"], "locked": False, "bot": False, "discoverable": False,
            "group": False, "created_at": "2025-05-01T00:00:00.000Z",
            "note": f"<p>{html.escape(DEMO_NOTE)}</p>", "url": acct_url, "uri": acct_url,
            "avatar": f"{MASTODON_HOST}/avatars/original/missing.png",
            "avatar_static": f"{MASTODON_HOST}/avatars/original/missing.png",
            "header": f"{MASTODON_HOST}/headers/original/missing.png",
            "header_static": f"{MASTODON_HOST}/headers/original/missing.png",
            "followers_count": 0, "following_count": 0, "statuses_count": 0,
            "last_status_at": p["at"][:10], "emojis": [], "fields": [],
        }
        statuses.append({
            "id": sid, "created_at": p["at"].replace("+00:00", ".000Z"),
            "in_reply_to_id": None, "in_reply_to_account_id": None, "sensitive": False,
            "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"{MASTODON_HOST}/users/{username}/statuses/{sid}",
            "url": f"{acct_url}/{sid}", "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "edited_at": None, "content": social_text_html(p["segments"]),
            "reblog": None, "application": None, "account": account, "media_attachments": [],
            "mentions": [], "tags": [{"name": MASTODON_TAG, "url": f"{MASTODON_HOST}/tags/{MASTODON_TAG}"}],
            "emojis": [], "card": None, "poll": None,
        })
    statuses.sort(key=lambda s: s["id"], reverse=True)  # newest first, as Mastodon returns them
    write(f"/mastodon/api/v1/timelines/tag/{MASTODON_TAG}/index.json",
          json.dumps(statuses, ensure_ascii=False, indent=1))
    return len(statuses)


def build_hn(vb_title):
    """HN Algolia search_by_date: the article as a story, the quoted posts as comments on it."""
    # Far above any real HN item id, so the demo's item URLs never point at someone else's post.
    story_id = 990000000
    created = dt.datetime(2025, 5, 22, 19, 45, tzinfo=UTC)
    hits = [{
        "_tags": ["story", "author_incidentwire_demo", f"story_{story_id}"],
        "author": "incidentwire_demo", "children": [], "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_at_i": int(created.timestamp()), "num_comments": 0, "objectID": str(story_id),
        "points": 1, "story_id": story_id, "title": vb_title, "updated_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": VB_URL,
    }]
    for i, p in enumerate([p for p in SOCIAL_POSTS if p["where"] == "hn"], 1):
        when = dt.datetime.fromisoformat(p["at"])
        author = p["handle"] or p["name"]
        hits.append({
            "_tags": ["comment", f"author_{author}", f"story_{story_id}"],
            "author": author, "comment_text": social_text_html(p["segments"]),
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "created_at_i": int(when.timestamp()),
            "objectID": str(story_id + i), "parent_id": story_id, "story_id": story_id,
            "story_title": vb_title, "story_url": VB_URL, "updated_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    hits[0]["children"] = [int(h["objectID"]) for h in hits[1:]]
    hits[0]["num_comments"] = len(hits) - 1
    hits.sort(key=lambda h: h["created_at_i"], reverse=True)
    body = {"exhaustive": {"nbHits": True, "typo": True}, "exhaustiveNbHits": True, "exhaustiveTypo": True,
            "hits": hits, "hitsPerPage": 20, "nbHits": len(hits), "nbPages": 1, "page": 0,
            "params": "query=claude&tags=(story,comment)", "processingTimeMS": 1, "query": "claude",
            "serverTimeMS": 1}
    write("/hn/api/v1/search_by_date/index.json", json.dumps(body, ensure_ascii=False, indent=1))
    return len(hits)


# A report whose title is dated ("2018 in Review: ...") cannot be re-dated into the demo's span
# without showing two different years; it is left out.
DATED_TITLE = re.compile(r"^\s*(?:19|20)\d\d\b|\b(?:19|20)\d\d in review\b", re.I)
URL_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:[01]\d[0-3]\d)?(?!\d)")   # /2018/11/, -20180529-


def canonical_for(real_url, when, slug, path):
    """The report's real address when it names no other year than the shifted date's (no date in it,
    or the same year); else the demo site's own address, which carries the shifted date."""
    years = {int(y) for y in URL_YEAR.findall(real_url or "")}
    if years <= {when.year}:
        return real_url
    return f"https://{slug}.demo.invalid{path}"


def aiid_reports(shared):
    """AIID reports worth a page (a real title and URL), at most a few per incident."""
    rows = [json.loads(line) for line in (shared / "eval" / "aiid-fixtures.jsonl").open(encoding="utf-8")]
    seen_urls, by_incident = set(), {}
    for r in rows:
        if not r["url"] or JUNK_TITLE.match(r["title"].strip()) or r["url"] in seen_urls \
                or DATED_TITLE.search(r["title"]):
            continue
        seen_urls.add(r["url"])
        by_incident.setdefault(r["story_id"], []).append(r)
    chosen = []
    # Coverage of one incident clusters in time in real news; the demo keeps that shape: each
    # incident gets a day in the span (in incident-date order) and its reports follow within a week.
    incidents = sorted(by_incident, key=lambda k: (by_incident[k][0]["incident_date"] or "", k))
    anchors = spread_dates(len(incidents), SPAN_START, SPAN_END - dt.timedelta(days=6))
    for anchor, key in zip(anchors, incidents):
        reports = sorted(by_incident[key], key=lambda r: (-min(len(r["text"]), 1), r["published"] or "9", r["url"]))
        reports = reports[:MAX_REPORTS_PER_INCIDENT]
        reports.sort(key=lambda r: (r["published"] or "9", r["url"]))
        for i, r in enumerate(reports):
            day = anchor + dt.timedelta(days=min(i, 6))
            chosen.append((r, at_hour(day, r["url"])))
    return chosen


def build_incident_sites(shared):
    """AIID reports re-hosted on four small, fictitious news sites with RSS and Atom feeds."""
    per_site = {slug: [] for slug, _ in INCIDENT_SITES}
    names = dict(INCIDENT_SITES)
    for r, when in aiid_reports(shared):
        # Spread by the original outlet's host so one outlet's reports stay on one site.
        slug = INCIDENT_SITES[int(hashlib.sha1(r["source"].encode()).hexdigest(), 16) % len(INCIDENT_SITES)][0]
        path = f"/{slug}/{when:%Y/%m/%d}/{slugify(r['title'])}/"
        text = r["text"].strip()
        body = paragraphs_html(text) if text else ""
        source = (f'<p class="source">Originally reported by {html.escape(r["source"])} '
                  f'(<a href="{html.escape(r["url"])}">original report</a>).</p>')
        footer = source + ("<p>Demo re-hosting of a report from the AI Incident Database (CC BY-SA 4.0); "
                           "the date is shifted into the demo's span, and so is this page's address.</p>")
        # A report without text keeps its title as the feed's description, as the labs' feeds do.
        description = summary_of(text) if text else r["title"].strip()
        canonical = canonical_for(r["url"], when, slug, path)
        write(path, page(title=r["title"].strip(), canonical=canonical,
                         site_name=names[slug], site_home=f"/{slug}/", published=when, body_html=body,
                         footer_html=footer, description=description))
        per_site[slug].append({"title": r["title"].strip(), "link": path, "guid": canonical, "date": when,
                               "description": description})
    for slug, items in per_site.items():
        name = names[slug]
        write(f"/{slug}/feed.rss", rss(title=name, home=f"/{slug}/", description=f"{name}: AI incident news (demo)",
                                       self_path=f"/{slug}/feed.rss", items=items))
        write(f"/{slug}/feed.atom", atom(title=name, home=f"/{slug}/", self_path=f"/{slug}/feed.atom",
                                         feed_id=f"https://{slug}.demo.invalid/", items=items))
        write(f"/{slug}/", index_page(f"{name} (demo)", [(i["link"], i["title"], i["date"]) for i in
                                                          sorted(items, key=lambda i: i["date"], reverse=True)]))
    return {slug: len(items) for slug, items in per_site.items()}


def build_news_site(shared):
    """A general-news site of ECB+ articles (one per topic): off-topic for the tracker."""
    rows = [json.loads(line) for line in (shared / "eval" / "ecbplus.jsonl").open(encoding="utf-8")]
    picked, topics = [], set()
    for r in rows:
        if r["url"] and len(r["text"]) > 400 and r["topic_id"] not in topics \
                and not URL_YEAR.search(r["title"]):     # a dated title cannot be re-dated
            topics.add(r["topic_id"])
            picked.append(r)
    picked = picked[:N_NEWS_ARTICLES]
    slug, name = NEWS_SITE
    items = []
    for r, day in zip(picked, spread_dates(len(picked))):
        when = at_hour(day, r["url"])
        path = f"/{slug}/{when:%Y/%m/%d}/{slugify(r['title'])}/"
        source = f'<p class="source">Originally published elsewhere (<a href="{html.escape(r["url"])}">original</a>).</p>'
        footer = source + ("<p>Demo re-hosting of an ECB+ corpus article (CC BY 3.0); the date is shifted "
                           "into the demo's span, and so is this page's address.</p>")
        canonical = canonical_for(r["url"], when, slug, path)
        write(path, page(title=r["title"].strip(), canonical=canonical,
                         site_name=name, site_home=f"/{slug}/",
                         published=when, body_html=paragraphs_html(r["text"]),
                         footer_html=footer, description=summary_of(r["text"])))
        items.append({"title": r["title"].strip(), "link": path, "guid": canonical, "date": when,
                      "description": summary_of(r["text"])})
    write(f"/{slug}/feed.rss", rss(title=name, home=f"/{slug}/", description=f"{name}: general news (demo)",
                                   self_path=f"/{slug}/feed.rss", items=items))
    write(f"/{slug}/", index_page(f"{name} (demo)", [(i["link"], i["title"], i["date"]) for i in items]))
    return len(items)


def build(shared):
    """Rebuild demo/site from scratch; return counts per part."""
    for folder in (SITE, EARLIER):
        if folder.exists():
            shutil.rmtree(folder)
    SITE.mkdir(parents=True)
    write("/robots.txt", "User-agent: *\nAllow: /\n")
    post = load_seed_post(shared)
    counts = {"lab_feeds": build_lab_feeds(shared)}
    build_wordpress(post)
    vb_title = build_venturebeat(post)
    build_podcast(shared)
    counts["system_card_passages"] = len(build_system_cards(post))
    counts["mastodon_statuses"] = build_mastodon()
    counts["hn_hits"] = build_hn(vb_title)
    counts["incident_sites"] = build_incident_sites(shared)
    counts["news_articles"] = build_news_site(shared)
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(HERE.parent.parent / "shared"),
                        help="the shared inputs folder (default: ../shared beside the repo)")
    args = parser.parse_args()
    print(json.dumps(build(pathlib.Path(args.shared)), indent=1))
