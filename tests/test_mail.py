"""`send --week W` and `alerts` against a real SMTP server on loopback (aiosmtpd): each mail once."""
import email
import email.policy
import json

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from db.connection import open_db
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.outbound import deliveries
from pipeline.outbound.mail import Outbox, compose, mail_settings
from tests.support.briefs import build_db, doc_row
from tests.support.serving import free_port

WEEK = "2025-W21"


class Inbox:
    """An aiosmtpd handler that keeps every message and refuses the addresses in `refused`."""

    def __init__(self):
        self.messages, self.refused = [], set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages += [(rcpt, msg) for rcpt in envelope.rcpt_tos]
        return "250 Message accepted for delivery"

    def to(self, address):
        return [m for rcpt, m in self.messages if rcpt == address]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def db_path(tmp_path):
    db = build_db(tmp_path / "t.db")
    db["digests"].insert({"week": WEEK, "title": "incidentwire digest 2025-W21: Claude Opus 4 blackmail",
                          "markdown": "# Digest\n\nClaude Opus 4 blackmail tests.", "html": "<h1>Digest</h1><p>Claude</p>",
                          "generated_at": "2025-05-26T00:00:00+00:00", "n_stories": 1})
    return tmp_path / "t.db"


def write_config(tmp_path, port, extra=""):
    path = tmp_path / "sources.toml"
    path.write_text(f'[settings]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_starttls = false\n'
                    f'mail_from = "digest@incidentwire.example"\ndigest_to = ["ann@example.com", "bob@example.com"]\n'
                    f'alerts_to = ["ann@example.com"]\n{extra}')
    return path


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_digest_is_multipart_with_unsubscribe_and_sent_once(smtp, db_path, tmp_path):
    inbox, port = smtp
    config = write_config(tmp_path, port)
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"sent": 2, "already_sent": 0, "in_doubt": 0, "failed": 0, "week": WEEK}
    msg = inbox.to("ann@example.com")[0]
    assert msg["Subject"].startswith("incidentwire digest 2025-W21") and msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == "<mailto:digest@incidentwire.example?subject=unsubscribe>"
    assert msg["Message-ID"] != inbox.to("bob@example.com")[0]["Message-ID"]
    again = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert json.loads(again.stdout)["already_sent"] == 2 and len(inbox.messages) == 2


def test_refused_recipient_is_a_one_line_error_and_retried_next_run(smtp, db_path, tmp_path):
    inbox, port = smtp
    config = write_config(tmp_path, port)
    inbox.refused.add("bob@example.com")
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert result.exit_code == 1 and len(inbox.to("ann@example.com")) == 1 and not inbox.to("bob@example.com")
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: bob@example.com refused by SMTP server") and "550" in error and "next run" in error
    inbox.refused.clear()
    retry = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert retry.exit_code == 0 and json.loads(retry.stdout)["sent"] == 1
    assert len(inbox.to("ann@example.com")) == 1 and len(inbox.to("bob@example.com")) == 1


def test_server_down_loses_nothing(db_path, tmp_path):
    config = write_config(tmp_path, free_port())    # nothing listens there
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot reach SMTP server 127.0.0.1" in result.stderr
    assert open_db(db_path)["deliveries"].count == 0


def test_a_run_killed_between_sending_and_recording_never_sends_again(smtp, db_path, tmp_path):
    inbox, port = smtp
    config = write_config(tmp_path, port)
    db = open_db(db_path)
    settings = mail_settings(load_config(config), "digest_to")
    mid = deliveries.message_id("digest", WEEK, "ann@example.com", settings["domain"])
    deliveries.claim(db, mid, "digest", WEEK, "ann@example.com", "digest")     # what the killed run did
    outbox = Outbox(settings)
    assert outbox.send(compose(settings, "ann@example.com", "digest", "text", "<p>html</p>", mid), "ann@example.com") is None
    outbox.close()    # ... and was killed before record_sent
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert json.loads(result.stdout) == {"sent": 1, "already_sent": 0, "in_doubt": 1, "failed": 0, "week": WEEK}
    assert len(inbox.to("ann@example.com")) == 1 and "not sent again" in result.stderr


def test_alerts_send_each_new_match_once(smtp, db_path, tmp_path):
    inbox, port = smtp
    config = write_config(tmp_path, port, '[[alert]]\nname = "blackmail"\nq = "blackmail"\n'
                                          '[[alert]]\nname = "lion-air"\nq = "lion air"\nkind = "article"\n')
    first = run("alerts", "--db", db_path, "--config", config)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["sent"] == 2 and len(inbox.to("ann@example.com")) == 2
    subjects = sorted(m["Subject"] for m in inbox.to("ann@example.com"))
    assert subjects[0].startswith("incidentwire alert blackmail:") and subjects[1].startswith("incidentwire alert lion-air:")
    assert json.loads(run("alerts", "--db", db_path, "--config", config).stdout)["sent"] == 0
    db = open_db(db_path)
    db["documents"].insert(doc_row("https://example.com/new-blackmail", "article", "Example", "New blackmail test",
                                   "2025-06-01T00:00:00+00:00", "Another model tried blackmail in a test.", None))
    third = run("alerts", "--db", db_path, "--config", config)
    assert json.loads(third.stdout)["sent"] == 1
    last = inbox.to("ann@example.com")[-1]
    assert "1 new" in last["Subject"] and "https://example.com/new-blackmail" in last.get_body(("plain",)).get_content()


@pytest.mark.parametrize("settings, words", [
    ("", "set smtp_host"), ('smtp_host = "h"\nmail_from = "x@y"\ndigest_to = "ann@example.com"\n', "must be a list"),
    ('smtp_host = "h"\nmail_from = "nobody"\n', "mail_from must be an email address"),
])
def test_bad_mail_settings_are_one_line_errors(tmp_path, db_path, settings, words):
    config = tmp_path / "bad.toml"
    config.write_text("[settings]\n" + settings)
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert result.exit_code == 1 and result.stderr.strip().count("\n") == 0 and words in result.stderr


def test_a_week_without_a_digest_is_a_one_line_error(smtp, db_path, tmp_path):
    result = run("send", "--week", "2024-W01", "--db", db_path, "--config", write_config(tmp_path, smtp[1]))
    assert result.exit_code == 1 and "incidentwire digest --week 2024-W01" in result.stderr


# watch with its pipeline run replaced by a child that succeeds at once (as tests/test_watch.py does)
WATCH_SEND = ("import sys, pipeline.ops.watch as w; "
              "w.child_command = lambda db, config, week=None: [sys.executable, '-c', 'pass']; "
              "sys.exit(w.watch(sys.argv[1], sys.argv[2], once=True, week=sys.argv[3], send=True))")


def test_watch_send_mails_the_digest_after_a_run_once_per_person(smtp, db_path, tmp_path):
    import datetime
    import subprocess
    import sys

    from pipeline.outbound.scheduled import previous_week
    assert previous_week(datetime.date(2025, 5, 26)) == "2025-W21"
    inbox, port = smtp
    config = write_config(tmp_path, port)
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", WATCH_SEND, str(db_path), str(config), WEEK],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
    mail_logs = [json.loads(line)["mail"] for line in out.stdout.splitlines() if '"mail"' in line]
    assert mail_logs[-1]["digest"]["already_sent"] == 2 and "alerts" in mail_logs[-1]
    assert len(inbox.messages) == 2


# --- STARTTLS and AUTH: a real aiosmtpd server that requires both, with a self-signed certificate

PASSWORD = "s3cret pass"


def self_signed(folder):
    """(cert.pem, key.pem) for 127.0.0.1 and localhost, made here with `cryptography`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "incidentwire test SMTP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsInbox(Inbox):
    """An Inbox that also notes whether each mail came over TLS and which AUTH mechanism logged in."""

    def __init__(self):
        super().__init__()
        self.tls, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):
        self.tls.append(bool(session.ssl))
        return await super().handle_DATA(server, session, envelope)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        ok = auth_data.login == b"digest-bot" and auth_data.password == PASSWORD.encode()
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)    # handled=False: the server answers 535 itself


@pytest.fixture(params=["LOGIN", "PLAIN"])
def tls_smtp(request, tmp_path):
    """A server that requires STARTTLS before anything and offers only one AUTH mechanism."""
    import ssl
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = TlsInbox()
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[request.param]
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=inbox.authenticate, auth_require_tls=True,
                            auth_exclude_mechanism=[other])
    controller.start()
    yield inbox, controller.port, cert, request.param
    controller.stop()


def tls_config(tmp_path, port, cafile=None):
    trust = f'smtp_cafile = "{cafile}"\n' if cafile else ""
    path = write_config(tmp_path, port, f'smtp_user = "digest-bot"\n{trust}')
    path.write_text(path.read_text().replace("smtp_starttls = false", "smtp_starttls = true"))
    return path


def test_starttls_and_login_with_a_certificate_trusted_by_smtp_cafile(tls_smtp, db_path, tmp_path, monkeypatch):
    inbox, port, cert, mechanism = tls_smtp
    monkeypatch.setenv("INCIDENTWIRE_SMTP_PASSWORD", PASSWORD)
    result = run("send", "--week", WEEK, "--db", db_path, "--config", tls_config(tmp_path, port, cert))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 2 and len(inbox.messages) == 2
    assert inbox.tls == [True, True] and inbox.logins == [mechanism]


def test_an_untrusted_certificate_is_refused_by_default(tls_smtp, db_path, tmp_path, monkeypatch):
    inbox, port, _, _ = tls_smtp
    monkeypatch.setenv("INCIDENTWIRE_SMTP_PASSWORD", PASSWORD)
    result = run("send", "--week", WEEK, "--db", db_path, "--config", tls_config(tmp_path, port))
    assert result.exit_code == 1 and result.stderr.strip().count("\n") == 0
    assert f"SMTP server 127.0.0.1:{port}: its certificate is not trusted" in result.stderr
    assert "smtp_cafile" in result.stderr and inbox.messages == [] and inbox.logins == []
    assert open_db(db_path)["deliveries"].count == 0


def test_a_wrong_password_is_one_line_and_the_digest_stays_unsent(tls_smtp, db_path, tmp_path, monkeypatch):
    inbox, port, cert, mechanism = tls_smtp
    config = tls_config(tmp_path, port, cert)
    monkeypatch.setenv("INCIDENTWIRE_SMTP_PASSWORD", "wrong")
    result = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert result.exit_code == 1 and result.stderr.strip().count("\n") == 0
    assert f"SMTP server 127.0.0.1:{port} refused the login of 'digest-bot'" in result.stderr
    assert "535" in result.stderr and "INCIDENTWIRE_SMTP_PASSWORD" in result.stderr
    assert inbox.messages == [] and open_db(db_path)["deliveries"].count == 0
    monkeypatch.setenv("INCIDENTWIRE_SMTP_PASSWORD", PASSWORD)
    retry = run("send", "--week", WEEK, "--db", db_path, "--config", config)
    assert retry.exit_code == 0 and json.loads(retry.stdout)["sent"] == 2 and inbox.logins == [mechanism]


def test_smtp_cafile_must_be_a_file(db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTWIRE_SMTP_PASSWORD", PASSWORD)
    result = run("send", "--week", WEEK, "--db", db_path, "--config", tls_config(tmp_path, 25, tmp_path / "nope.pem"))
    assert result.exit_code == 1 and "smtp_cafile must name a PEM file" in result.stderr and "nope.pem" in result.stderr
