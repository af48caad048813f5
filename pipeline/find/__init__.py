"""Finding things: words (FTS5 bm25) and meaning (the stored sentence vectors), fused."""
