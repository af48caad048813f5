"""Hybrid search latency for bench.search: vectors for a bench DB, and a server warmed for meaning.

The bench DB's 200,000 documents are recombined paragraphs; embedding them all with MiniLM would
take hours on two cores, and latency does not depend on what the vectors say, so each document
gets a random unit vector here (the query itself is embedded for real by the catalog). Retrieval
quality is measured on real vectors by bench.retrieval.
"""
import http.client
import json
import sqlite3
import time
import urllib.parse

import numpy as np

DIM = 384


def add_random_vectors(db_path, seed=3):
    """A random unit vector per document without one for the bundled model; returns how many were added."""
    from pipeline.stories.embed import resolve_model
    model = resolve_model()[0]
    conn = sqlite3.connect(db_path)
    todo = [r[0] for r in conn.execute("select distinct d.content_hash from documents d where d.content_hash is not null "
                                       "and not exists (select 1 from embeddings e where e.content_hash = d.content_hash "
                                       "and e.model = ?)", [model])]
    rng = np.random.default_rng(seed)
    with conn:
        for k in range(0, len(todo), 10_000):
            part = todo[k:k + 10_000]
            vectors = rng.standard_normal((len(part), DIM)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            conn.executemany("insert into embeddings (content_hash, model, dim, vector) values (?, ?, ?, ?)",
                             [(h, model, DIM, v.tobytes()) for h, v in zip(part, vectors)])
    conn.close()
    return len(todo)


def hybrid_paths(queries):
    return [f"/incidentwire/search.json?q={urllib.parse.quote(q)}&mode=hybrid&_shape=objects" for q in queries]


def warm(port, query="agent deleted a production database", timeout=300):
    """Ask until the catalog answers by meaning (model loaded, vectors in memory); seconds taken."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", hybrid_paths([query])[0])
        rows = json.loads(conn.getresponse().read()).get("rows", [])
        conn.close()
        if any("meaning" in (r.get("matched_by") or "") for r in rows):
            return time.monotonic() - t0
        time.sleep(1)
    raise SystemExit("bench: the catalog never answered by meaning (model or vectors missing?)")
