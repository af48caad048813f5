"""A small catalog DB with stored vectors, for the tests of search by meaning."""
from db.connection import open_db
from pipeline.stories.embed import embed_documents
from tests.support.briefs import build_db

OTHER_WORDS = "snitching chatbot tattles"    # no document holds any of these words; they mean the Claude story


def build_embedded_db(path):
    """tests.support.briefs.build_db with every document's vector stored, checkpointed for other readers."""
    build_db(path)
    db = open_db(path)
    embed_documents(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path
