"""An independent reading of the real recordings (ElementTree and json, not feedparser or the
spiders), and the field checks of bench.collect against it."""
import datetime
import email.utils
import html
import json
import re
import unicodedata
import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"


def _iso(value):
    """ISO 8601 UTC (seconds) of an RFC 822 or ISO date string; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _text(el, html_typed=False):
    """An element's text; markup removed and entities decoded once when it is HTML."""
    if el is None or el.text is None:
        return None
    value = el.text
    if html_typed or re.search(r"</?[A-Za-z][^<>]*>", value):
        value = html.unescape(re.sub(r"<[^>]*>", " ", value))
    return " ".join(value.split()) or None


def _rss(root):
    for item in root.iter("item"):
        author = item.find("author") if item.find("author") is not None else item.find(f"{DC}creator")
        yield {"title": _text(item.find("title")), "link": (item.findtext("link") or "").strip() or None,
               "guid": (item.findtext("guid") or "").strip() or None,
               "published": _iso(item.findtext("pubDate") or item.findtext(f"{DC}date")), "author": _text(author)}


def _atom(root):
    for entry in root.iter(f"{ATOM}entry"):
        links = entry.findall(f"{ATOM}link")
        alt = next((l.get("href") for l in links if l.get("rel", "alternate") == "alternate"), None)
        title = entry.find(f"{ATOM}title")
        yield {"title": _text(title, html_typed=title is not None and title.get("type") in ("html", "xhtml")),
               "link": alt, "guid": (entry.findtext(f"{ATOM}id") or "").strip() or None,
               "published": _iso(entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated")),
               "author": _text(entry.find(f"{ATOM}author/{ATOM}name"))}


def _json_feed(data):
    for it in data.get("items", []):
        author = it.get("author") or (it.get("authors") or [{}])[0]
        yield {"title": it.get("title"), "link": it.get("url") or it.get("external_url"),
               "guid": str(it["id"]) if it.get("id") is not None else None,
               "published": _iso(it.get("date_published") or it.get("date_modified")),
               "author": author.get("name") if isinstance(author, dict) else None}


def _visible(name):
    return name if name and any(unicodedata.category(c)[0] not in "CZM" for c in name) else None


def _mastodon(statuses):
    for s in statuses:
        s = s.get("reblog") or s
        acct = s["account"]
        yield {"link": s.get("url") or s.get("uri"), "guid": s.get("uri"), "published": _iso(s.get("created_at")),
               "author": _visible(acct.get("display_name")) or acct.get("acct"),
               "share": (s.get("card") or {}).get("url")}


def _bluesky(data):
    for f in data["feed"]:
        p, rec = f["post"], f["post"]["record"]
        embeds = [rec.get("embed") or {}, p.get("embed") or {}]
        embeds += [e.get("media") or {} for e in embeds]
        shared = [(e.get("external") or {}).get("uri") for e in embeds]
        shared += [feat.get("uri") for facet in rec.get("facets", []) for feat in facet["features"]]
        shared = [u for u in shared if u and u.startswith("http")]
        yield {"link": f"https://bsky.app/profile/{p['author']['handle']}/post/{p['uri'].rsplit('/', 1)[-1]}",
               "guid": p["uri"], "published": _iso(rec.get("createdAt")),
               "author": _visible(p["author"].get("displayName")) or p["author"]["handle"],
               "share": shared[0] if shared else None}


def expected_entries(path, kind):
    """The entries of a recording as read independently: title, link, guid, published, author, share."""
    raw = path.read_bytes()
    if kind == "mastodon":
        return list(_mastodon(json.loads(raw)))
    if kind == "bluesky":
        return list(_bluesky(json.loads(raw)))
    if raw.lstrip()[:1] == b"{":
        return list(_json_feed(json.loads(raw)))
    root = ET.fromstring(raw)
    return list(_atom(root) if root.tag == f"{ATOM}feed" else _rss(root))


def _canonical(url):
    from pipeline.urls import canonical_url
    return canonical_url(url)


def _checks(exp, doc, kind):
    """field -> right? for one entry and its stored document."""
    extra = json.loads(doc.get("extra") or "{}")
    social = kind in ("mastodon", "bluesky")
    title_ok = (doc["title"] or "").startswith(f"{exp['author']}:") if social else doc["title"] == exp["title"]
    return {"title": title_ok,
            "url": doc["canonical_url"] == _canonical(exp["link"]),
            "date": exp["published"] is None or doc["published"] == exp["published"],
            "author": exp["author"] is None or doc["author"] == exp["author"] or (
                kind == "reddit" and doc["author"] == exp["author"].removeprefix("/u/")),
            "link": extra.get("link") == exp["share"] if social else doc["url"] == exp["link"]}


def field_checks(expected, docs, kind):
    """(fields right, fields checked, entries with an address that were not stored)."""
    by_guid = {d["guid"]: d for d in docs if d["guid"]}
    by_url = {d["canonical_url"]: d for d in docs}
    right = checked = 0
    missing = []
    for exp in expected:
        doc = by_guid.get(exp.get("guid")) or by_url.get(_canonical(exp.get("link")))
        if doc is None:
            if exp.get("link") or exp.get("guid"):
                missing.append(exp.get("link") or exp.get("guid"))
            continue
        results = _checks(exp, doc, kind)
        right += sum(results.values())
        checked += len(results)
    return right, checked, missing
