"""The store: documents (save_item, the only way a crawled item reaches the database), dedup
(hashes, near duplicates, linking copies to their original) and relevance (the topic score)."""
