"""A small sample of AIID reports for the story tests and the bench adapter test."""
import json
import pathlib

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "stories" / "aiid-sample.jsonl"


def sample():
    """Two Starbucks scheduling reports, four Google Photos reports, three ad-targeting reports."""
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    return rows[2:]
