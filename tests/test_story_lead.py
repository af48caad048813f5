"""The first report of a story (issue 19, item 5): the earliest day; a date without its hour
never beats a timestamp; the primary source leads when times tie or are unknown."""
from pipeline.stories.features import parse_time
from pipeline.stories.fields import lead_key


def doc(id, kind="article", published=None, text="A report with enough words to be read as an article " * 3,
        duplicate_of=None, title="A title"):
    return {"id": id, "kind": kind, "published": published, "text": text, "title": title,
            "duplicate_of": duplicate_of}


def lead(docs):
    return min(docs, key=lambda d: lead_key(d, parse_time(d["published"])))["id"]


def test_a_date_without_its_hour_never_beats_a_timestamp_of_the_same_day():
    docs = [doc(1, published="2025-05-22"), doc(2, published="2025-05-22T19:30:00+00:00")]
    assert lead(docs) == 2
    # Midnight written out in full is a date without its hour too.
    docs = [doc(1, published="2025-05-22T00:00:00+00:00"), doc(2, published="2025-05-22T19:30:00+00:00")]
    assert lead(docs) == 2
    # An earlier day still leads, whatever its precision.
    assert lead([doc(1, published="2025-05-21"), doc(2, published="2025-05-22T01:00:00+00:00")]) == 1


def test_the_primary_source_leads_when_times_tie_or_its_hour_is_unknown():
    card = doc(1, kind="system_card", published="2025-05-22")
    article = doc(2, published="2025-05-22T19:30:00+00:00")
    assert lead([article, card]) == 1
    # Same instant: the lab's own post before the article quoting it (ids would say otherwise).
    assert lead([doc(1, published="2025-05-22T09:00:00Z"), doc(2, kind="blog", published="2025-05-22T09:00:00Z")]) == 2
    # A primary source timed later than an article of the same day does not lead: times are known.
    assert lead([doc(1, published="2025-05-22T08:00:00Z"), doc(2, kind="blog", published="2025-05-22T10:00:00Z")]) == 1
    # Undated: the primary source, then the original before its copy.
    assert lead([doc(1), doc(2, kind="system_card")]) == 2
    assert lead([doc(1, duplicate_of=2), doc(2)]) == 2
