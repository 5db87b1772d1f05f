"""Sentence-aware chunking sized in tiktoken tokens, with exact character offsets.

Sentences come from NLTK's Punkt model (shipped inside llama-index-core) applied per
paragraph, so no sentence spans a paragraph break. Chunks are runs of whole sentences
up to `chunk_tokens`; consecutive chunks share trailing sentences worth up to
`overlap_tokens`. A single sentence longer than a chunk is cut at word boundaries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from service.records import Chunk

Span = tuple[int, int]


#: Abbreviations of contracts, reports and letters that Punkt's English model (trained on
#: news) does not know, and that never end a sentence.
DOCUMENT_ABBREVIATIONS = frozenset({
    "approx", "incl", "excl", "dept", "e.g", "i.e", "cf", "pp", "attn", "tel",
})
#: "No. 12", "Art. 4", "Sec. 3.2": a numbering word before a number or an identifier
#: ("Contract No. SWK-2025-014") ends no sentence, in a document or in an answer's
#: lead-in naming one. Only then: "The answer was no." does end one.
_NUMBERING_END = re.compile(r"\b(?:No|Nos|Nr|Art|Arts|Sec|Para|Fig|Vol|Ch)\.$")
_IDENTIFIER_START = re.compile(r"[\w-]*\d")


@functools.cache
def _punkt():  # type: ignore[no-untyped-def]
    from nltk.tokenize.punkt import PunktTokenizer

    tokenizer = PunktTokenizer("english")
    tokenizer._params.abbrev_types.update(DOCUMENT_ABBREVIATIONS)
    return tokenizer


@functools.cache
def token_counter() -> Callable[[str], int]:
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        base = para.start()
        joined = False
        for start, end in _punkt().span_tokenize(para.group()):
            if not text[base + start : base + end].strip():
                continue
            if joined and _IDENTIFIER_START.match(text, base + start):
                spans[-1] = (spans[-1][0], base + end)
            else:
                spans.append((base + start, base + end))
            joined = bool(_NUMBERING_END.search(text, spans[-1][0], spans[-1][1]))
    return spans


def _cut_long_sentence(text: str, span: Span, limit: int,
                       count: Callable[[str], int]) -> list[Span]:
    pieces: list[Span] = []
    words = [(m.start() + span[0], m.end() + span[0])
             for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    start_idx = 0
    while start_idx < len(words):
        end_idx = start_idx + 1
        while end_idx < len(words) and count(
            text[words[start_idx][0] : words[end_idx][1]]
        ) <= limit:
            end_idx += 1
        pieces.append((words[start_idx][0], words[end_idx - 1][1]))
        start_idx = end_idx
    return pieces


def chunk_document(doc_id: str, text: str, sentences: list[Span], chunk_tokens: int,
                   overlap_tokens: int) -> list[Chunk]:
    if overlap_tokens >= chunk_tokens:
        raise ValueError("overlap_tokens must be smaller than chunk_tokens")
    count = token_counter()
    units: list[tuple[Span, int]] = []
    for span in sentences:
        n = count(text[span[0] : span[1]])
        if n <= chunk_tokens:
            units.append((span, n))
        else:
            units.extend(
                (piece, count(text[piece[0] : piece[1]]))
                for piece in _cut_long_sentence(text, span, chunk_tokens, count)
            )
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][1] <= chunk_tokens):
            total += units[j][1]
            j += 1
        start, end = units[i][0][0], units[j - 1][0][1]
        chunks.append(Chunk(chunk_id=f"{doc_id}#{len(chunks)}", doc_id=doc_id,
                            position=len(chunks), text=text[start:end], start=start, end=end))
        if j >= len(units):
            break
        # Step back over trailing sentences that fit in the overlap budget.
        back, overlap = j, 0
        while back - 1 > i and overlap + units[back - 1][1] <= overlap_tokens:
            back -= 1
            overlap += units[back][1]
        i = back
    return chunks
