"""Where incidentwire's files are: its code, and the data files it reads at run time. A leaf.

In a checkout both are the repository root. An installed wheel puts the packages in
site-packages and the data files (demo/, sources.toml, digests/templates/, templates/, static/,
datasette.yaml, datasette_metadata.json; see setup.py) under <prefix>/share/incidentwire/,
found through the wheel's RECORD so that a --user or --prefix install works too.
"""
import importlib.metadata
import pathlib

# The folder that holds the packages: pipeline/, db/, spiders/, plugins/.
CODE_ROOT = pathlib.Path(__file__).resolve().parent.parent
INSTALLED_DATA = "share/incidentwire"
MARKER = "datasette.yaml"  # one data file that every layout has


def data_root():
    """The checkout when running from one, else the installed data, else CODE_ROOT."""
    if (CODE_ROOT / MARKER).is_file():
        return CODE_ROOT
    try:
        files = importlib.metadata.distribution("incidentwire").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.as_posix().endswith(f"{INSTALLED_DATA}/{MARKER}"):
            return pathlib.Path(f.locate()).resolve().parent
    return CODE_ROOT  # nothing installed: errors then name paths under the code's own folder


ROOT = data_root()
