"""serve_datasette in a child process on a free loopback port, for tests that need a live catalog."""
import contextlib
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(db_path, settings=None):
    """serve_datasette in a child process on a free loopback port; stopped on exit."""
    port = free_port()
    code = ("import json, sys; from pipeline.ops.serve import serve_datasette; "
            "serve_datasette(sys.argv[1], port=int(sys.argv[2]), settings=json.loads(sys.argv[3]))")
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db_path), str(port), json.dumps(settings)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"catalog server did not start: {log.read()[-2000:]}")
                time.sleep(0.2)
        log.seek(0)
        assert f"{url}/" in log.read()  # serve_datasette says where it listens
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
