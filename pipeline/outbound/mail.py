"""SMTP for `send` and `alerts`: the settings (the [settings] keys below), composing, one connection.

Keys in [settings] of the sources file: smtp_host, smtp_port (default 587 with STARTTLS, else 25),
smtp_starttls (bool, default true), smtp_user (log in when set, after STARTTLS; the password comes
from $INCIDENTWIRE_SMTP_PASSWORD), smtp_cafile (optional: a PEM file of the certificates to trust for
the server, for a private CA or a self-signed certificate; without it the system's CAs), mail_from,
digest_to (list of addresses), alerts_to (list). The server's certificate and host name are always
verified: there is no switch to turn that off, only smtp_cafile to say whom to trust.
Network code only: it never writes the database (pipeline.outbound.deliveries does).
"""
import email.message
import email.utils
import os
import pathlib
import smtplib
import socket
import ssl

PASSWORD_ENV = "INCIDENTWIRE_SMTP_PASSWORD"
TIMEOUT = 30


class MailError(Exception):
    """Mail cannot be sent; the message is one line for people."""


def address_list(settings, key):
    value = settings.get(key) or []
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(a, str) and "@" in a for a in value):
        raise MailError(f"[settings] {key} must be a list of email addresses, like [\"ops@example.com\"]")
    return [a.strip() for a in value]


def mail_settings(config, recipients_key):
    """The SMTP settings from a loaded config; MailError names the first key that is missing or wrong."""
    s = config["settings"]
    if not isinstance(s.get("smtp_host"), str) or not s["smtp_host"]:
        raise MailError(f"{config['path']}: set smtp_host (and mail_from, {recipients_key}) in [settings] to send mail")
    if not isinstance(s.get("mail_from"), str) or "@" not in s["mail_from"]:
        raise MailError(f"{config['path']}: [settings] mail_from must be an email address")
    starttls = s.get("smtp_starttls", True)
    if not isinstance(starttls, bool):
        raise MailError(f"{config['path']}: [settings] smtp_starttls must be true or false")
    port = s.get("smtp_port", 587 if starttls else 25)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise MailError(f"{config['path']}: [settings] smtp_port must be a port number")
    user = s.get("smtp_user")
    if user and not os.environ.get(PASSWORD_ENV):
        raise MailError(f"smtp_user is set: put the SMTP password in ${PASSWORD_ENV}")
    cafile = s.get("smtp_cafile")
    if cafile is not None and (not isinstance(cafile, str) or not pathlib.Path(cafile).is_file()):
        raise MailError(f"{config['path']}: [settings] smtp_cafile must name a PEM file; {cafile!r} is not one")
    return {"host": s["smtp_host"], "port": port, "starttls": starttls, "user": user, "cafile": cafile,
            "password": os.environ.get(PASSWORD_ENV), "from": s["mail_from"],
            "to": address_list(s, recipients_key), "domain": s["mail_from"].rsplit("@", 1)[1]}


def compose(settings, to, subject, text, html, mid):
    """A multipart/alternative mail (plain text, HTML) with a List-Unsubscribe header."""
    msg = email.message.EmailMessage()
    msg["From"] = settings["from"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = mid
    msg["List-Id"] = f"incidentwire <incidentwire.{settings['domain']}>"
    msg["List-Unsubscribe"] = f"<mailto:{settings['from']}?subject=unsubscribe>"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class Outbox:
    """One SMTP connection, opened on first use; `send` returns None or a one-line error for that mail."""

    def __init__(self, settings):
        self.settings, self.smtp = settings, None

    def where(self):
        return f"SMTP server {self.settings['host']}:{self.settings['port']}"

    def connect(self):
        s = self.settings
        try:
            self.smtp = smtplib.SMTP(s["host"], s["port"], timeout=TIMEOUT)
            if s["starttls"]:
                # verifies the certificate and the host name; smtp_cafile says whom to trust
                self.smtp.starttls(context=ssl.create_default_context(cafile=s.get("cafile")))
            if s["user"]:
                self.smtp.login(s["user"], s["password"])
        except smtplib.SMTPAuthenticationError as e:
            self.close()
            said = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            raise MailError(f"{self.where()} refused the login of {s['user']!r} ({e.smtp_code} {said}): "
                            f"check ${PASSWORD_ENV}; nothing was sent, "
                            "run again to retry")
        except ssl.SSLCertVerificationError as e:
            self.close()
            raise MailError(f"{self.where()}: its certificate is not trusted ({e.verify_message}); set smtp_cafile "
                            "to the PEM file of its certificate or CA; nothing was sent, run again to retry")
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            raise MailError(f"cannot reach {self.where()} ({reason}); nothing was lost: run again to retry")

    def send(self, msg, to):
        if self.smtp is None:
            self.connect()
        try:
            self.smtp.send_message(msg, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as e:
            code, reason = e.recipients.get(to, (0, b""))
            return f"{to} refused by {self.where()}: {code} {reason.decode(errors='replace')}"
        except smtplib.SMTPResponseException as e:
            return f"{to}: {self.where()} said {e.smtp_code} {e.smtp_error.decode(errors='replace')}"
        except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as e:
            self.close()
            return f"{to}: lost the connection to {self.where()} ({e})"
        return None

    def close(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.smtp = None
