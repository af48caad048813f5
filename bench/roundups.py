"""Roundup bench: are pages that cover several events found, and linked to the right stories?

python -m bench.roundups [--seed N] [--pages N] [--json]

No real roundup page with its text is at hand (the AIID's year-in-review reports come without
text), so each labelled roundup is composed from real text only: the opening sentences (verbatim)
of held-out ECB+ articles, each from a different labelled story, half of them under their own
article's title as a heading (see bench/sets/README.md). The store holds the rest of those
stories' articles, and as pages that must NOT be taken for roundups every real multi-paragraph
article at hand (AIID reports with text, the VentureBeat article and the Business of Tech segment
of tests/fixtures/briefs). Everything goes through the real `process` into a temporary database.
Prints detection precision/recall and link precision/recall (a link is right when the story it
names is, by majority of its documents' labels, one of the stories the page's sections came from).
"""
import argparse
import collections
import datetime
import hashlib
import json
import pathlib
import random
import sys
import tempfile

from bench.stories import load_set, shared_dir

REPO = pathlib.Path(__file__).resolve().parent.parent
BRIEFS = REPO / "tests" / "fixtures" / "briefs"
MIN_WORDS = 40          # an article with less text has no paragraph to lend
STORIES, HELD_OUT = 24, 2


def doc_row(url, title, text, published=None, publisher=None):
    week = None
    if published:
        y, w, _ = datetime.date.fromisoformat(published[:10]).isocalendar()
        week = f"{y}-W{w:02d}"
    return {"url": url, "canonical_url": url, "kind": "article", "publisher": publisher or url.split("/")[2],
            "site": url.split("/")[2], "title": title, "published": published, "published_week": week,
            "published_month": (published or "")[:7] or None, "fetched": "2026-01-01T00:00:00+00:00",
            "text": text, "lang": "en", "content_hash": hashlib.sha256(f"{title}\n{text}".encode()).hexdigest(),
            "word_count": len(text.split()), "extra": "{}"}


def opening(text, n=3):
    """The first n sentences of a text, verbatim (one real paragraph's worth)."""
    from pipeline.enrich.sentences import sentence_spans
    spans = sentence_spans(text)[:n]
    return text[spans[0][0]:spans[-1][1]] if spans else text


def build(rng, pages):
    """(stored rows with gold labels, composed roundups with the stories of their sections)."""
    items = [r for r in load_set(shared_dir() / "eval" / "ecbplus.jsonl") if len((r["text"] or "").split()) >= MIN_WORDS]
    by = collections.defaultdict(list)
    for r in items:
        by[r["story_id"]].append(r)
    chosen = rng.sample(sorted(s for s, rs in by.items() if len(rs) >= HELD_OUT + 3), STORIES)
    stored, lend = [], {}
    for s in chosen:
        rs = by[s][:]
        rng.shuffle(rs)
        lend[s], rest = rs[:HELD_OUT], rs[HELD_OUT:]
        stored += [(r, s) for r in rest]
    composed = []
    for k in range(pages):
        picks = rng.sample(chosen, rng.choice([2, 3, 4, 5]))
        parts = [lend[s][k % HELD_OUT] for s in picks]
        body = "\n\n".join((f"{r['title']}\n{opening(r['text'])}" if k % 2 else opening(r["text"])) for r in parts)
        composed.append({"url": f"https://roundups.bench.invalid/{k}", "text": body, "gold": set(picks)})
    return stored, composed


def negatives():
    """Real multi-paragraph articles of one event each."""
    out = [doc_row(r["url"] or f"https://aiid.bench.invalid/{r['id']}", r["title"], r["text"], r.get("published"))
           for r in load_set(shared_dir() / "eval" / "aiid-fixtures.jsonl") if len((r["text"] or "").split()) >= MIN_WORDS]
    out.append(doc_row("https://venturebeat.bench.invalid/claude-4-opus", "Anthropic faces backlash to Claude 4 Opus behavior",
                       (BRIEFS / "venturebeat_claude4_opus_backlash.txt").read_text(encoding="utf-8"), "2025-05-22"))
    out.append(doc_row("https://businessoftech.bench.invalid/claude-4-opus", "Anthropic is facing significant backlash",
                       (BRIEFS / "businessoftech_claude4_opus.txt").read_text(encoding="utf-8"), "2025-05-26"))
    return out


def measure(seed=19, pages=20, model=None):
    from db.connection import open_db
    from pipeline.run import process_documents
    stored, composed = build(random.Random(seed), pages)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(str(pathlib.Path(tmp) / "bench.db"))
        gold_of = {}
        for r, s in stored:
            doc_id = _insert(db, doc_row(r["url"] or f"https://ecb.bench.invalid/{r['id']}", r["title"], r["text"],
                                         r.get("published")))
            if doc_id is not None:
                gold_of[doc_id] = s
        negs = [i for i in (_insert(db, row) for row in negatives()) if i is not None]
        pages_at = {db["documents"].insert(doc_row(c["url"], None, c["text"])).last_pk: c for c in composed}
        process_documents(db, model=model)
        return score(db, gold_of, pages_at, negs)


def score(db, gold_of, pages_at, negs):
    found = {r["document_id"] for r in db.query("select document_id from roundup_checks where roundup = 1")}
    sectioned = sum(1 for d in db.query("select id, text from documents")
                    if d["id"] in negs and _n_sections(d["text"]) >= 2)
    label = {}
    for sid, ids in _members(db).items():
        votes = collections.Counter(gold_of[i] for i in ids if i in gold_of)
        label[sid] = votes.most_common(1)[0][0] if votes else None
    right = total = covered = wanted = 0
    for doc_id, page in pages_at.items():
        linked = [label.get(r["story_id"]) for r in db.query("select story_id from roundup_links where document_id = ?", [doc_id])]
        total += len(linked)
        right += sum(1 for g in set(linked) if g in page["gold"])
        covered += len(set(linked) & page["gold"])
        wanted += len(page["gold"])
    tp = len(found & set(pages_at))
    wide = {i for i, p in pages_at.items() if len(p["gold"]) >= 3}   # a page on two stories is never one by design
    alone = db.execute("select count(*) from documents d join stories s on s.id = d.story_id where d.id in "
                       "(select document_id from roundup_checks where roundup = 1)").fetchone()[0]
    return {"pages": len(pages_at), "negatives": len(negs), "negatives_with_sections": sectioned,
            "documents": db["documents"].count, "found": len(found), "detection_precision": round(tp / max(len(found), 1), 3),
            "detection_recall": round(tp / len(pages_at), 3), "pages_3plus": len(wide),
            "detection_recall_3plus": round(len(found & wide) / max(len(wide), 1), 3), "links": total,
            "link_precision": round(right / max(total, 1), 3), "link_recall": round(covered / max(wanted, 1), 3),
            "roundups_counted_in_a_story": alone}


def _insert(db, row):
    """The new document's id; None for a second report at an address already stored."""
    if db["documents"].count_where("canonical_url = ?", [row["canonical_url"]]):
        return None
    return db["documents"].insert(row).last_pk


def _n_sections(text):
    from pipeline.stories.roundups import sections
    return len(sections(text))


def _members(db):
    out = collections.defaultdict(list)
    for r in db.query("select d.id, d.story_id from documents d join stories s on s.id = d.story_id "
                      "where s.merged_into is null"):
        out[r["story_id"]].append(r["id"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = measure(args.seed, args.pages, args.model)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['pages']} composed roundups, {result['negatives']} real single-event articles "
          f"({result['negatives_with_sections']} with 2+ sections), {result['documents']} documents in all")
    print(f"detection: precision {result['detection_precision']}, recall {result['detection_recall']} "
          f"({result['found']} found); recall on the {result['pages_3plus']} pages of 3+ stories "
          f"{result['detection_recall_3plus']}")
    print(f"links: precision {result['link_precision']}, recall {result['link_recall']} ({result['links']} written)")
    print(f"roundups still counted in a story: {result['roundups_counted_in_a_story']}")


if __name__ == "__main__":
    sys.exit(main())
