"""The wheel: `pip wheel .` ships every package and every file the program reads at run time, and
installed into a fresh venv (no access to this checkout) `incidentwire` works from another folder."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ["pipeline", "db", "spiders", "plugins", "bench"]
# What the program opens at run time, by the paths it uses (pipeline/paths.py ROOT / ...).
DATA_FILES = ["datasette.yaml", "datasette_metadata.json", "sources.toml", "demo/sources.toml"]
DATA_TREES = ["demo/site", "digests/templates", "templates", "static"]
DATA_PREFIX = "incidentwire-0.1.0.data/data/share/incidentwire/"
NOT_SOURCE = {".venv", ".git", "build", "dist", "tests", "__pycache__", ".pytest_cache", "digests"}


def source_copy(dest):
    """The checkout as a clean clone would have it (no venv, build output, databases or tests)."""
    def ignore(folder, names):
        skip = {n for n in names if n in NOT_SOURCE or n.endswith((".egg-info", ".db", ".db-wal", ".db-shm",
                                                                     ".pyc", ".lock", ".migrate-lock"))}
        return skip
    shutil.copytree(ROOT, dest, ignore=ignore)
    shutil.copytree(ROOT / "digests" / "templates", dest / "digests" / "templates")
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = source_copy(tmp / "src")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    [path] = (tmp / "dist").glob("incidentwire-*.whl")
    return path


def test_the_wheel_holds_every_package_and_the_run_time_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py")
               if "__pycache__" not in p.parts]
    assert [m for m in modules if m not in names] == []
    data = DATA_FILES + [p.relative_to(ROOT).as_posix() for tree in DATA_TREES
                         for p in (ROOT / tree).rglob("*") if p.is_file()]
    assert [d for d in data if DATA_PREFIX + d not in names] == []
    assert not [n for n in names if n.startswith("tests/")]
    entry_points = zipfile.ZipFile(wheel).read("incidentwire-0.1.0.dist-info/entry_points.txt").decode()
    assert "incidentwire = pipeline.cli:cli" in entry_points


def test_every_package_folder_is_a_package():
    """setuptools' find includes folders with an __init__.py: one without would silently drop out."""
    lacking = [p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py")
               if "__pycache__" not in p.parts and not (p.parent / "__init__.py").is_file()]
    assert lacking == []


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory):
    """A venv with the wheel installed and no way back to this checkout: the third-party packages
    reach it through a .pth naming this interpreter's site-packages folders (no system site-packages)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = sorted({p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)})
    pathlib.Path(purelib, "deps.pth").write_text("".join(f"{p}\n" for p in deps))
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                          str(wheel)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return venv


def run_installed(venv, args, cwd, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / "incidentwire"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_installed_command_answers_help_outside_the_checkout(fresh_venv, tmp_path):
    where = subprocess.run([str(fresh_venv / "bin" / "python"), "-c",
                            "import pipeline, pipeline.paths as p; print(pipeline.__file__); print(p.ROOT)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert not where[0].startswith(str(ROOT)) and where[1] == str(fresh_venv / "share" / "incidentwire")
    out = run_installed(fresh_venv, ["--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    commands = [line.split()[0] for line in out.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert "demo" in commands and "serve" in commands
    for command in commands:
        out = run_installed(fresh_venv, [command, "--help"], tmp_path)
        assert out.returncode == 0 and "Usage:" in out.stdout, (command, out.stderr)


def test_the_installed_demo_runs_outside_the_checkout(fresh_venv, tmp_path):
    out = run_installed(fresh_venv, ["demo", "--no-serve", "--db", "demo.db"], tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["documents"] > 100 and result["stories"] > 10
    assert len(result["digests"]) == len(list((tmp_path / "digests").glob("digest-*.md"))) > 0
