"""scikit-learn's English stop words, read from its source file: importing scikit-learn takes over
a second (it loads SciPy), and the stream's tokens and the summaries need only this list."""
import functools
import importlib.util
import pathlib


@functools.lru_cache(maxsize=1)
def english():
    """sklearn.feature_extraction.text.ENGLISH_STOP_WORDS, without importing scikit-learn."""
    package = pathlib.Path(importlib.util.find_spec("sklearn").submodule_search_locations[0])
    path = package / "feature_extraction" / "_stop_words.py"
    scope = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), scope)  # a frozenset literal only
    return scope["ENGLISH_STOP_WORDS"]
