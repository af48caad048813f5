"""`watch --send`: after each run, mail the last complete week's digest and the alerts' new matches.

The digest mailed is the previous ISO week's (complete by the time a run in the new week has
written it one last time), or the week `watch --week` names. Each person gets each mail once
(pipeline.outbound.deliveries), so sending after every run is safe; a failure is logged in one
line and tried again after the next run.
"""
import datetime

from pipeline.config import load_config
from pipeline.outbound.mail import MailError
from pipeline.outbound.send import send_alerts, send_digest


def previous_week(today=None):
    year, week, _ = ((today or datetime.date.today()) - datetime.timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def mail_after_run(db, config_path, week=None, today=None):
    """{digest: result or error line, alerts: result or error line}; never raises for mail trouble."""
    config = load_config(config_path)
    settings, out = config["settings"], {}
    jobs = [("digest", "digest_to", lambda: send_digest(db, config, week or previous_week(today))),
            ("alerts", "alerts_to", lambda: send_alerts(db, config))]
    for name, key, job in jobs:
        if not settings.get("smtp_host") or not settings.get(key):
            continue    # mail not configured for this: nothing to do
        try:
            out[name] = job()
        except MailError as e:
            out[name] = {"error": str(e)}
    return out
