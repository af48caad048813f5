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
