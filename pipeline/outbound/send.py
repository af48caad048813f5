"""`incidentwire send --week W` (the digest) and `incidentwire alerts` (saved searches' new matches).

A saved search is an `[[alert]]` table in the sources file: `name` (letters, digits, - and _),
`q` (words, all of which must appear; `term*` for a prefix) and optionally `kind` (article,
system_card, social, blog, podcast). Each run mails each address in `alerts_to` the documents
matching since the last alert it was sent, at most MAX_MATCHES a mail (the next run goes on).
Who got what is in `deliveries` (pipeline.outbound.deliveries): nothing is sent twice.
"""
import html
import re
import tomllib

from pipeline.find.hybrid import match_query
from pipeline.outbound import deliveries
from pipeline.outbound.mail import MailError, Outbox, compose, mail_settings
from pipeline.publish.story import catalog_url, rows

MAX_MATCHES = 100
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def deliver(db, settings, mails):
    """Send each mail (dict: kind, key, to, subject, text, html, items, watermark) not yet sent to its recipient."""
    result = {"sent": 0, "already_sent": 0, "in_doubt": 0, "failed": []}
    outbox = Outbox(settings)
    try:
        for m in mails:
            mid = deliveries.message_id(m["kind"], m["key"], m["to"], settings["domain"])
            state = deliveries.status(db, mid)
            if state in deliveries.DONE:
                result["already_sent" if state == "sent" else "in_doubt"] += 1
                continue
            msg = compose(settings, m["to"], m["subject"], m["text"], m["html"], mid)
            if outbox.smtp is None:
                outbox.connect()    # MailError before any claim: nothing recorded, all retried next run
            deliveries.claim(db, mid, m["kind"], m["key"], m["to"], m["subject"], m.get("items"), m.get("watermark"))
            error = outbox.send(msg, m["to"])
            if error:
                deliveries.record_failed(db, mid, error)
                result["failed"].append(error)
            else:
                deliveries.record_sent(db, mid)
                result["sent"] += 1
    finally:
        outbox.close()
    return result


def digest_mails(db, settings, week):
    found = rows(db, "select title, markdown, html from digests where week = ?", [week])
    if not found:
        raise MailError(f"no digest for {week} in the database; run `incidentwire digest --week {week}` first")
    d = found[0]
    return [{"kind": "digest", "key": week, "to": to, "subject": d["title"], "text": d["markdown"], "html": d["html"]}
            for to in settings["to"]]


def send_digest(db, config, week):
    """Mail the week's digest to `digest_to`; {sent, already_sent, in_doubt, failed: [errors]}."""
    settings = mail_settings(config, "digest_to")
    return dict(deliver(db, settings, digest_mails(db, settings, week)), week=week)


def saved_searches(config):
    """The `[[alert]]` tables of the sources file, checked."""
    with open(config["path"], "rb") as f:
        raw = tomllib.load(f).get("alert", [])
    for i, a in enumerate(raw, 1):
        if not isinstance(a.get("name"), str) or not NAME.match(a["name"]):
            raise MailError(f"{config['path']}: alert #{i} needs a name of letters, digits, - and _")
        if not isinstance(a.get("q"), str) or not a["q"].split():
            raise MailError(f"{config['path']}: alert {a['name']!r} needs q, the words to search for")
    return raw


def new_matches(db, alert, after):
    kind = alert.get("kind") or ""
    return rows(db, ("select d.id, d.title, coalesce(d.canonical_url, d.url) as url, d.publisher, d.site, "
                     "d.published, d.story_id from documents_fts join documents d on d.id = documents_fts.rowid "
                     "where documents_fts match ? and d.id > ? and d.duplicate_of is null and (? = '' or d.kind = ?) "
                     f"order by d.id limit {MAX_MATCHES}"), [match_query(alert["q"]), after, kind, kind])


def alert_mail(alert, to, matches, base):
    lines, items = [], []
    for d in matches:
        story = f" (story: {base}/stories/{d['story_id']})" if d["story_id"] else ""
        lines.append(f"- {d['title'] or d['url']}, {d['publisher'] or d['site'] or ''} {(d['published'] or '')[:10]}\n"
                     f"  {d['url']}{story}")
        items.append(f'<li><a href="{html.escape(d["url"] or "")}">{html.escape(d["title"] or d["url"] or "")}</a> '
                     f'{html.escape(d["publisher"] or d["site"] or "")} {html.escape((d["published"] or "")[:10])}</li>')
    subject = f"incidentwire alert {alert['name']}: {len(matches)} new for “{alert['q']}”"
    ids = [d["id"] for d in matches]
    return {"kind": "alert", "key": f"{alert['name']}:{ids[0]}-{ids[-1]}", "to": to, "subject": subject,
            "text": f"New documents matching “{alert['q']}”:\n\n" + "\n".join(lines) + "\n",
            "html": f"<p>New documents matching “{html.escape(alert['q'])}”:</p><ul>{''.join(items)}</ul>",
            "items": ids, "watermark": ids[-1]}


def send_alerts(db, config, base_url=None):
    """Mail each saved search's new matches to `alerts_to`; the same counts as send_digest, per run."""
    settings = mail_settings(config, "alerts_to")
    base, mails = catalog_url(base_url), []
    for alert in saved_searches(config):
        for to in settings["to"]:
            matches = new_matches(db, alert, deliveries.alert_watermark(db, alert["name"], to))
            if matches:
                mails.append(alert_mail(alert, to, matches, base))
    return dict(deliver(db, settings, mails), alerts=len(saved_searches(config)))
