"""Search by meaning in SQL for the `search` stored query: iw_search_mode, iw_hybrid, iw_fts_match.

`iw_hybrid(q, mode, kind, source, since, until, sort, page)` returns a JSON list of [document id,
score, matched_by] (pipeline.find.documents.search), which the query reads with json_each. The
query is embedded here, in the Datasette process, with the bundled model `process` uses. The model
loads in a background thread when the first search asks for it, so no search waits for it; a search
before it is ready, or without it, is words alone, its rows say so (matched_by) and the page too.
The old `hybrid_search` query's URLs redirect to `search` with the same parameters.
"""
import json
import threading
import time
from collections import OrderedDict

from datasette import Response, hookimpl

from pipeline.find.documents import DEFAULT_MODE, DEPTH, MODES, any_words, filter_args, search

_MODEL = {}
_LOADING = threading.Lock()
_VECTORS = OrderedDict()    # the last few queries' vectors
_RANKED = OrderedDict()     # the last few searches: the page asks twice (its rows, then its facets)
FRESH_SECONDS = 10          # a remembered search is reused this long, and only while no document or vector is added
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
    q = str(q)
    if q not in _VECTORS:
        from pipeline.stories.embed import encode
        _VECTORS[q] = encode([q], model=model)[0]
        while len(_VECTORS) > 32:
            _VECTORS.popitem(last=False)
    return _MODEL["key"], _VECTORS[q]


def search_mode(mode):
    """The mode a search runs in: hybrid, words or meaning; empty or unknown is the default (the page says so)."""
    mode = str(mode or "").strip().lower()
    return mode if mode in MODES else DEFAULT_MODE


def fts_match(q, mode):
    """The FTS query whose hits are highlighted: every word (words mode), else any of them."""
    from pipeline.publish.find import fts_query
    return fts_query(q) if mode == "words" else (any_words(q) or '""')


def ranked(conn, q, mode, filters=None, sort="", page=1):
    """search() for one page of the stored query: the lists read deep enough for `page` (sort=date: the best DEPTH)."""
    try:
        page = max(1, int(page or 1))
    except (TypeError, ValueError):
        page = 1
    depth = DEPTH if sort == "date" else max(DEPTH, 50 * page)
    key, qvec = query_vector(q) if mode != "words" else (None, None)
    marks = (conn.execute("pragma database_list").fetchone()[2], key, depth,
             conn.execute("select max(rowid) from documents").fetchone()[0],
             conn.execute("select max(rowid) from embeddings").fetchone()[0])
    asked = (str(q), mode, json.dumps(filter_args(filters), sort_keys=True), marks)
    known = _RANKED.get(asked)
    if known and time.monotonic() - known[0] < FRESH_SECONDS:
        return known[1]
    found = search(conn, q, qvec, key, mode, limit=2 * depth, filters=filters, depth=depth)
    _RANKED[asked] = (time.monotonic(), found)
    while len(_RANKED) > 32:
        _RANKED.popitem(last=False)
    return found


def hybrid_function(conn):
    def iw_hybrid(q, mode, kind, source, since, until, sort, page):
        filters = {"kind": kind, "source": source, "since": since, "until": until}
        return json.dumps(ranked(conn, q, search_mode(mode), filters, sort, page))
    return iw_hybrid


@hookimpl
def prepare_connection(conn):
    conn.create_function("iw_hybrid", 8, hybrid_function(conn))
    conn.create_function("iw_search_mode", 1, search_mode, deterministic=True)
    conn.create_function("iw_fts_match", 2, fts_match, deterministic=True)


@hookimpl
def extra_template_vars(datasette):
    def iw_meaning_ready():
        """Whether searches can use meaning yet (the model loads in the background)."""
        start_loading()
        return _MODEL.get("model") is not None

    async def iw_hybrid_facets(q, mode):
        """{"kind": [(value, count)], "publisher": [...]} over the best DEPTH of each list (no filters)."""
        def count(conn):
            ids = [i for i, _, _ in ranked(conn, q, search_mode(mode))]
            return {c: conn.execute(f"select {c}, count(*) from documents where id in (select value from json_each(?)) "
                                    f"and {c} is not null group by 1 order by 2 desc, 1 limit 8", [json.dumps(ids)]).fetchall()
                    for c in ("kind", "publisher")}
        return await datasette.get_database("incidentwire").execute_fn(count) if str(q or "").strip() else {}

    return {"iw_meaning_ready": iw_meaning_ready, "iw_hybrid_facets": iw_hybrid_facets, "iw_search_modes": MODES,
            "iw_default_mode": DEFAULT_MODE}


@hookimpl
def register_routes():
    async def old_hybrid_search(datasette, request):
        ext = request.url_vars.get("ext") or ""
        query = f"?{request.query_string}" if request.query_string else ""
        return Response.redirect(datasette.urls.path(f"/incidentwire/search{ext}") + query, status=301)
    return [(r"^/incidentwire/hybrid_search(?P<ext>\.json|\.atom)?$", old_hybrid_search)]
