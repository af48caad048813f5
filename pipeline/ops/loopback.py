"""A small loopback HTTP server over a folder, for the demo, tests and benchmarks.

Serves files with ETag/Last-Modified and answers conditional GETs with 304, so a
second crawl of an unchanged site downloads no bodies. Query strings are ignored
(an API endpoint is a folder holding `index.json`). Every request is counted.
"""
import email.utils
import hashlib
import http.server
import mimetypes
import pathlib
import threading
import time
import urllib.parse

mimetypes.add_type("application/rss+xml", ".rss")
mimetypes.add_type("application/atom+xml", ".atom")
mimetypes.add_type("application/feed+json", ".jsonfeed")

INDEX_NAMES = ("index.html", "index.json", "index.xml")


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "incidentwire-loopback/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: tests read the counters instead
        pass

    def _resolve(self):
        path = urllib.parse.urlsplit(self.path).path
        root = self.server.root
        target = (root / urllib.parse.unquote(path).lstrip("/")).resolve()
        if root != target and root not in target.parents:
            return None
        if target.is_dir():
            for name in INDEX_NAMES:
                if (target / name).is_file():
                    return target / name
            return None
        return target if target.is_file() else None

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        stats = self.server.stats
        with self.server.lock:
            stats["requests"] += 1
            stats["paths"].append(self.path)
        if self.server.delay:
            time.sleep(self.server.delay)  # counted on arrival, answered late: a crawl is mid-flight
        path = urllib.parse.urlsplit(self.path).path
        hook = self.server.hooks.get(path) or next(
            (h for p, h in self.server.hooks.items() if p.endswith("*") and path.startswith(p[:-1])), None)
        if hook:
            return hook(self)
        target = self._resolve()
        if target is None:
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        data = target.read_bytes()
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        mtime = email.utils.formatdate(target.stat().st_mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag or (
            self.headers.get("If-Modified-Since") == mtime and not self.headers.get("If-None-Match")
        ):
            with self.server.lock:
                stats["not_modified"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctype = self.server.types.get(path)
        if ctype:
            return self._send(data, etag, mtime, ctype, head)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.name == "robots.txt" or ctype.startswith("text/") or ctype.endswith(("xml", "json")):
            if "charset" not in ctype and not ctype.endswith("json"):
                ctype += "; charset=utf-8"
        self._send(data, etag, mtime, ctype, head)

    def _send(self, data, etag, mtime, ctype, head):
        stats = self.server.stats
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", mtime)
        self.end_headers()
        if not head:
            with self.server.lock:
                stats["bodies"] += 1
            self.wfile.write(data)


class LoopbackServer:
    """Serve `root` on 127.0.0.1 at a free port in a background thread."""

    def __init__(self, root, port=0):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.root = pathlib.Path(root).resolve()
        self.httpd.lock = threading.Lock()
        self.httpd.stats = {"requests": 0, "bodies": 0, "not_modified": 0, "paths": []}
        self.httpd.hooks = {}  # path (or "prefix*") -> fn(handler): tests inject faults here
        self.httpd.types = {}  # path -> the Content-Type its real host sends (e.g. text/plain for raw GitHub)
        self.httpd.delay = 0.0  # seconds before every answer (tests: a crawl that cannot finish early)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self):
        return self.httpd.stats

    @property
    def hooks(self):
        """{path: fn(handler)}: a test answers that path itself (faults, slow or looping replies)."""
        return self.httpd.hooks

    @property
    def types(self):
        """{path: Content-Type}: serve that file with the type its real host sends."""
        return self.httpd.types

    @property
    def delay(self):
        return self.httpd.delay

    @delay.setter
    def delay(self, seconds):
        self.httpd.delay = seconds

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
