"""Stories: documents about one event grouped as they arrive.

Leaves first: features (what is read in a document), state (a live story and its sums),
scoring (CONFIG, WEIGHTS, a document's score against a story), refine (second thoughts and
the fold), stream (cluster_stream, the driver); records (stream items from rows and records),
readings (what the stream read in each document, kept), assign (the database side of process:
new documents in batches, the stories that can take them replayed), fields (headline, lead,
heat, related). Beside them:
embed (vectors), entities (gazetteer), categories.
"""
