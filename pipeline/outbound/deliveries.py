"""The `deliveries` table: what was mailed to whom (by Message-ID), so that no one gets a mail twice.

The only writers are the save functions here (`claim`, `record_sent`, `record_failed`), each its own
transaction. A message is claimed ("sending") before the SMTP transaction and its outcome recorded
after: a run killed between the two leaves "sending", which is never sent again (it may have
arrived) and is reported as in doubt; "failed" is tried again by the next run. The Message-ID is a
function of (kind, key, recipient), so a mail that did go out twice is still one message to a
mail client that removes duplicates.
"""
import datetime
import hashlib
import json
import re

DONE = ("sent", "sending")


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def recipient_hash(address):
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]


def message_id(kind, key, recipient, domain):
    """The Message-ID of `kind` mail `key` to `recipient`: the same for every run."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", key).strip("-")
    return f"<incidentwire.{kind}.{slug}.{recipient_hash(recipient)}@{domain}>"


def status(db, mid):
    row = db.execute("select status from deliveries where message_id = ?", [mid]).fetchone()
    return row[0] if row else None


def claim(db, mid, kind, key, recipient, subject, items=None, watermark=None):
    """Save: `mid` is about to be sent (status "sending")."""
    with db.conn:
        db.execute("insert into deliveries (message_id, kind, key, recipient_hash, subject, status, items, "
                   "watermark, attempts, first_try, last_try) values (?, ?, ?, ?, ?, 'sending', ?, ?, 1, ?, ?) "
                   "on conflict(message_id) do update set status = 'sending', attempts = attempts + 1, "
                   "last_try = excluded.last_try, error = null",
                   [mid, kind, key, recipient_hash(recipient), subject, json.dumps(items) if items else None,
                    watermark, now(), now()])


def record_sent(db, mid):
    """Save: the SMTP server accepted `mid`."""
    with db.conn:
        db.execute("update deliveries set status = 'sent', sent_at = ?, error = null where message_id = ?",
                   [now(), mid])


def record_failed(db, mid, error):
    """Save: `mid` was not accepted; the next run tries again."""
    with db.conn:
        db.execute("update deliveries set status = 'failed', error = ? where message_id = ?", [error, mid])


def alert_watermark(db, name, recipient):
    """The highest document id alert `name` has sent (or may have sent) to `recipient`; 0 when none."""
    row = db.execute("select max(watermark) from deliveries where kind = 'alert' and key like ? || ':%' "
                     "and recipient_hash = ? and status in ('sent', 'sending')",
                     [name, recipient_hash(recipient)]).fetchone()
    return row[0] or 0
