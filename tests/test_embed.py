"""Embedding: bundled model checksum, vector cache by (content hash, model), model change."""
import shutil

import numpy as np
import pytest

from pipeline.stories import embed
from db.connection import open_db


def add_docs(db, texts):
    for i, (title, text) in enumerate(texts, 1):
        db["documents"].insert({"id": i, "url": f"https://example.org/{i}", "canonical_url": f"https://example.org/{i}",
                                "kind": "article", "title": title, "text": text, "content_hash": f"h{i}"})


DOCS = [("Google Photos labels black people as 'gorillas'", "The app's automatic labelling mislabelled a couple."),
        ("Starbucks vows to do more to ease barista schedules", "An internal memo urged store managers."),
        ("Claude Opus 4 tried to blackmail an engineer in tests", "Anthropic's system card describes it.")]


def test_checksum_mismatch_names_file_and_expected(tmp_path):
    bundled = embed.bundled_model_dir()
    copy = tmp_path / "model"
    shutil.copytree(bundled, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(embed.ModelError) as err:
        embed.load_model(model_dir=copy)
    message = str(err.value)
    assert "\n" not in message
    assert str(copy / "model.safetensors") in message
    assert embed.BUNDLED_SHA256 in message


def test_bundled_checksum_ok():
    embed.verify_checksum(embed.bundled_model_dir())


def test_cache_reuse_and_model_change(tmp_path):
    db = open_db(tmp_path / "x.db")
    add_docs(db, DOCS)
    assert embed.embed_documents(db) == 3
    assert embed.embed_documents(db) == 0  # cached: nothing re-embedded
    rows = list(db["embeddings"].rows)
    assert {r["model"] for r in rows} == {embed.DEFAULT_MODEL} and rows[0]["dim"] == 384
    vecs = embed.load_vectors(db)
    assert abs(float(np.linalg.norm(vecs["h1"])) - 1.0) < 1e-4
    # The same docs under another model (here: the bundled weights named by path) re-embed.
    other = str(embed.bundled_model_dir())
    assert embed.embed_documents(db, model_name=other) == 3
    assert embed.embed_documents(db, model_name=other) == 0
    assert db["embeddings"].count == 6
    # A changed document (new content hash) is embedded again; the old vector stays.
    db["documents"].update(1, {"content_hash": "h1b", "text": "Updated text."})
    assert embed.embed_documents(db) == 1


def test_similar_headlines_are_closer():
    v = embed.encode([DOCS[0][0], "Google Photos app mistakenly labels black couple 'gorillas'", DOCS[1][0]])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
