"""Retrieval-augmented question answering with cited, verified answers.

Data path, one sub-package per stage:
ingest/ (files -> clean text -> chunks) -> embed/ -> index/ (Chroma + manifest)
-> retrieval/ (dense + BM25, fused, sentence windows) -> generation/ (prompt + LLM or
extractive, citation repair) -> answer.py (the one `ask` every surface calls) -> cli/.
"""

from service import blas as _blas
from service import offline as _offline

_blas.configure()
_offline.configure()
