"""Publication dates in the forms feeds, pages and exports use, read strictly: one parser for the
spiders and for records (bench sets, imports)."""
import datetime
import email.utils
import re

from dateutil import parser as date_parser

_EPOCH = re.compile(r"\d{9,10}(\.\d+)?|\d{12,13}")


def parse_date(value):
    """An aware datetime (naive means UTC) for ISO 8601, RFC 2822 ("Thu, 22 May 2025 10:00:00 GMT"),
    a written date ("May 22, 2025") or epoch seconds or milliseconds. None for anything else and
    for a date that names no full day ("2025-05", "2025"): a guessed day misleads more than none.
    """
    s = str(value if value is not None else "").strip()
    if not s:
        return None
    try:
        if _EPOCH.fullmatch(s):
            seconds = float(s) / (1000 if len(s) >= 12 and "." not in s else 1)
            return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        try:
            dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            try:
                dt = email.utils.parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                # Parsed against two different defaults: a field the text lacks shows up as a difference.
                a = date_parser.parse(s, default=datetime.datetime(2000, 1, 1))
                b = date_parser.parse(s, default=datetime.datetime(2001, 2, 2))
                if a.date() != b.date():
                    return None
                dt = a
    except (ValueError, OverflowError, TypeError, OSError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


_MONTHS = {m: k for k, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
# A news address that files the article under its day: /2013/02/07/, /2013-02-07-, /2013/feb/05/.
_URL_DAY = re.compile(r"/((?:19|20)\d\d)([/-])(0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
                      r"\2(0?[1-9]|[12]\d|3[01])(?=[/._-]|$)", re.I)


def url_date(url):
    """The day a news address files its article under ("2013-02-07"), or None.

    Most news sites put the publication day in the path; page date extractors (htmldate, used by
    trafilatura) read it too. It is within a day of the published time (time zones), so it stands
    in only where a document has no date. Month-only paths ("/2013/02/") name no day: ignored.
    """
    m = _URL_DAY.search(re.sub(r"[?#].*$", "", str(url or "")))
    if not m:
        return None
    year, month, day = int(m.group(1)), m.group(3).lower(), int(m.group(4))
    month = _MONTHS[month] if month in _MONTHS else int(month)
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def has_time(value):
    """True when a stored publication value carries its hour; False for a bare date, for exactly
    midnight UTC and for None.

    The spiders store every date as ISO 8601 UTC (spiders.extract.iso_utc), so a source that gives
    only the day (a date-only feed field, a page's "May 22, 2025", a day read from the URL) arrives
    as 00:00:00+00:00: its hour is unknown, not midnight. A real timestamp at exactly midnight UTC is
    read as date-only too; that costs at most a tie within its day.
    """
    s = str(value or "").strip()
    if "T" not in s and " " not in s:
        return False
    try:
        dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return False
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc)
    return (dt.hour, dt.minute, dt.second, dt.microsecond) != (0, 0, 0, 0)


_MONTH_NAME = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATELINE = re.compile(
    r"\b(?:" + _MONTH_NAME + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d"   # May 22, 2025
    r"|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH_NAME + r",?\s+(?:19|20)\d\d"      # 22 May 2025
    r"|(?:19|20)\d\d-[01]\d-[0-3]\d)(?!\d)", re.I)                                 # 2025-05-22
DATELINE_CHARS = 300  # a dateline opens the text; a date further in is what the story recounts


def dateline_date(text):
    """The full date a text opens with ("May 03, 2013 After skipping ...", "Published 22 May 2025"),
    as an ISO day, or None: where a page carries no date, its dateline is the nearest thing to one.
    Only the first few lines are read: later dates are the history a report recounts."""
    m = _DATELINE.search((text or "")[:DATELINE_CHARS])
    if not m:
        return None
    dt = parse_date(m.group(0).replace(".", ""))
    return dt.date().isoformat() if dt else None
