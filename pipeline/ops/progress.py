"""Crawl progress on stderr: sources done and documents stored, read from the database while the
crawl writes it (the spiders run in a child process; this only reads)."""
import contextlib
import sqlite3
import threading

from db.runs import now


def snapshot(db_path, since, names):
    """(sources done since `since`, documents in the database, {source: last_error} of the done)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute("select name, last_error from sources where last_crawled >= ?", [since]).fetchall()
        docs = conn.execute("select count(*) from documents").fetchone()[0]
    finally:
        conn.close()
    done = {name: error for name, error in rows if not names or name in names}
    return len(done), docs, done


@contextlib.contextmanager
def crawl_progress(db_path, names, say, every=2.0):
    """Print 'crawl: 3/16 sources done, 41 documents stored' when it changes, and one line for each
    source that ended with an error, until the block ends."""
    since, stop = now(), threading.Event()
    start_docs = snapshot(db_path, since, names)[1]
    shown, reported = [None], set()

    def report():
        try:
            n_done, docs, done = snapshot(db_path, since, names)
        except sqlite3.Error:
            return      # the crawl holds a write lock or is migrating: next time
        for name, error in sorted(done.items()):
            if error and name not in reported:
                reported.add(name)
                say(f"crawl: {name}: {error.splitlines()[0]}")
        line = f"crawl: {n_done}/{len(names)} sources done, {docs - start_docs} documents stored"
        if line != shown[0]:
            shown[0] = line
            say(line)

    def loop():
        while not stop.wait(every):
            report()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    report()        # the final count, when the crawl ended well (an error's one line stays the last)
