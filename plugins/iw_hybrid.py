"""Search by meaning in SQL: `iw_hybrid(q, mode)` for the `hybrid_search` stored query.

Returns a JSON list of [document id, score, matched_by] (pipeline.find.documents.search), which
the query reads with json_each. The query is embedded here, in the Datasette process, with the
bundled model `process` uses. The model loads in a background thread when the first search asks
for it, so no search waits for it; a search before it is ready,
or without it, is words alone, and its rows say so (matched_by).
"""
import json
import threading

from datasette import hookimpl

from pipeline.find.documents import MODES, search

_MODEL = {}
_LOADING = threading.Lock()
QUERY_THREADS = 1    # torch threads for one short query: measured on the loaded 2-core machine, one thread
                     # embeds a query in ~23 ms (p50) where two spin against each other for ~120 ms


def load_model():
    from pipeline.stories.embed import ModelError, load_model as load, resolve_model
    with _LOADING:
        if "model" not in _MODEL:
            try:
                import torch
                torch.set_num_threads(QUERY_THREADS)    # this process embeds single queries only
                _MODEL["model"], _MODEL["key"] = load(), resolve_model()[0]
            except (ModelError, OSError, ImportError):
                _MODEL["model"] = None


def start_loading():
    if not _MODEL and not _LOADING.locked():
        threading.Thread(target=load_model, name="iw-hybrid-model", daemon=True).start()


def query_vector(q):
    """(model key, vector) once the model is loaded, else (None, None) and the model starts loading."""
    start_loading()
    model = _MODEL.get("model")
    if model is None or not str(q or "").strip():
        return None, None
    from pipeline.stories.embed import encode
    return _MODEL["key"], encode([str(q)], model=model)[0]


def hybrid_function(conn):
    def iw_hybrid(q, mode):
        mode = (mode or "hybrid").strip().lower()
        if mode not in MODES:
            mode = "hybrid"    # the page says which modes there are; an odd value searches both ways
        key, qvec = query_vector(q) if mode != "words" else (None, None)
        return json.dumps(search(conn, q, qvec, key, mode))
    return iw_hybrid


@hookimpl
def prepare_connection(conn):
    conn.create_function("iw_hybrid", 2, hybrid_function(conn))

