"""Retrieval over a store: dense, sparse and hybrid search, client-side fusion and reranking."""
