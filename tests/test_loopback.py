import urllib.error
import urllib.request

import pytest

from pipeline.ops.loopback import LoopbackServer


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_serves_files_and_answers_conditional_get_with_304(tmp_path):
    (tmp_path / "feed.xml").write_text("<rss/>")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.json").write_text("[]")
    with LoopbackServer(tmp_path) as server:
        status, headers, body = fetch(server.url + "/feed.xml")
        assert (status, body) == (200, b"<rss/>")
        status, _, body = fetch(server.url + "/feed.xml", {"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b"")
        status, _, body = fetch(server.url + "/api/?page=2&per_page=10")
        assert (status, body) == (200, b"[]")
        assert server.stats["requests"] == 3
        assert server.stats["bodies"] == 2
        assert server.stats["not_modified"] == 1


def test_refuses_paths_outside_its_root(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    with LoopbackServer(tmp_path / "site") as server:
        status, _, _ = fetch(server.url + "/../secret.txt")
        assert status == 404
        status, _, _ = fetch(server.url + "/%2e%2e/secret.txt")
        assert status == 404
