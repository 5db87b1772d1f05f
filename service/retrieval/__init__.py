"""Retrieval: dense (Chroma) + BM25, fused by reciprocal rank, focused to sentence windows."""
