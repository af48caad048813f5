"""The one build step pyproject.toml cannot declare: the data files incidentwire reads at run time.

They stay where they are in the repository; the wheel installs them under
<prefix>/share/incidentwire/ with the same relative paths (pipeline/paths.py finds them there).
A folder tree needs one data_files entry per folder, so the entries are listed here.
"""
import pathlib

from setuptools import setup

FILES = ["datasette.yaml", "datasette_metadata.json", "sources.toml", "demo/sources.toml"]
TREES = ["demo/site", "digests/templates", "templates", "static"]
TARGET = "share/incidentwire"


def data_files():
    """[(target folder, [source files])], one entry per folder, paths relative to this file."""
    here = pathlib.Path(__file__).resolve().parent
    paths = [here / name for name in FILES]
    paths += [p for tree in TREES for p in sorted((here / tree).rglob("*")) if p.is_file()]
    folders = {}
    for path in paths:
        rel = path.relative_to(here)
        folders.setdefault(str(pathlib.PurePosixPath(TARGET, rel.parent.as_posix())), []).append(rel.as_posix())
    return sorted(folders.items())


setup(data_files=data_files())
