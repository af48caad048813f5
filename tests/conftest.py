import inspect
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


# The seeds and eval sets the tests read, copied from ../shared with their licences: a clean
# clone tests the same inputs wherever it runs.
SHARED_COPY = ROOT / "tests" / "fixtures" / "shared"


def shared_dir():
    """The shared inputs: $INCIDENTWIRE_SHARED, else the copy under tests/fixtures/shared."""
    env = os.environ.get("INCIDENTWIRE_SHARED")
    return pathlib.Path(env) if env else SHARED_COPY


@pytest.fixture(scope="session")
def shared():
    path = shared_dir()
    assert path.is_dir(), f"{path}: shared inputs missing; set INCIDENTWIRE_SHARED"
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A DB built by the whole demo pipeline (crawl over loopback, process, digests)."""
    from pipeline.ops.demo import run_demo

    tmp = tmp_path_factory.mktemp("demo")
    db_path = tmp / "demo.db"
    kwargs = {"serve": False}
    if "out_dir" in inspect.signature(run_demo).parameters:
        kwargs["out_dir"] = str(tmp / "digests")
    run_demo(str(db_path), **kwargs)
    return db_path
