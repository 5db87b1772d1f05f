"""Typed records passed between the stages of the data path."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class DocumentMeta(BaseModel):
    """What is known about a document. Outlet and date only when the text states them."""

    title: str
    source: str | None = Field(default=None, description="Outlet or publisher.")
    date: dt.date | None = None
    url: str | None = None
    author: str | None = None


Origin = Literal["bundled", "uploaded"]


class Provenance(BaseModel):
    """Who added a document: the operator (a file in the index folder) or an API client."""

    origin: Origin = Field(default="bundled", description="bundled: found in the index's "
                           "folder; uploaded: sent through the documents API.")
    api_key: str | None = Field(default=None, description="Short fingerprint of the API key "
                                "that uploaded it (never the key); None without API keys.")
    job_id: str | None = Field(default=None, description="The ingestion job of the upload.")
    added_at: str | None = Field(default=None, description="When it was uploaded (UTC, ISO).")


class Flag(BaseModel):
    """Text taken out of a document at ingest because it could steer or mislead a model."""

    kind: Literal["instruction", "forged-header"] = Field(
        description="instruction: reads like an order to a model (never indexed); "
        "forged-header: mimics the passage header of the answer prompt (never indexed).")
    text: str


LocationKind = Literal["page", "sheet", "slide", "message", "section"]


class Section(BaseModel):
    """A stretch `[start, end)` of a document's text and where it came from: a PDF page or
    an image read by OCR, a spreadsheet sheet (with where each row starts), a slide, an
    e-mail message, a Word file's part under one heading. A document's sections are in
    text order and do not overlap; a citation's location is read off the sections its
    span touches (service/ingest/locations.py)."""

    start: int
    end: int
    kind: LocationKind
    number: int | None = Field(default=None, description="Page or slide number, from 1.")
    sheet: str | None = None
    rows: list[tuple[int, int]] = Field(
        default_factory=list, description="Sheets: (row number, text offset where the "
        "row starts), in text order.")
    sender: str | None = Field(default=None, description="Messages: the From header.")
    sent: str | None = Field(default=None, description="Messages: the Date, ISO 8601.")
    heading: str | None = Field(default=None, description="Word files: the heading the "
                                "section starts with.")
    ocr: bool = Field(default=False, description="The text was read from an image by OCR.")


class Location(BaseModel):
    """Where a cited span is in its original file, for people to find it there."""

    kind: LocationKind
    label: str = Field(description='Short and human: "page 3", "sheet Payments, rows '
                       '4-9", "slide 2", "message from A <a@x> on 2026-03-02", '
                       '"section “2. Price”".')
    page: int | None = None
    page_to: int | None = None
    sheet: str | None = None
    row_from: int | None = None
    row_to: int | None = None
    slide: int | None = None
    slide_to: int | None = None
    sender: str | None = None
    sent: str | None = None
    heading: str | None = None
    ocr: bool = Field(default=False, description="Some of the span was read by OCR.")


class Document(BaseModel):
    doc_id: str
    path: str
    root: str = Field(description="The source folder the document was found under.")
    sha256: str = Field(description="Hash of the raw file bytes plus its metadata.")
    meta: DocumentMeta
    text: str = Field(description="The cleaned text; chunk offsets point into it.")
    sentences: list[tuple[int, int]] = Field(description="Sentence spans in `text`.")
    provenance: Provenance = Field(default_factory=Provenance)
    flags: list[Flag] = Field(default_factory=list,
                              description="Sentences removed at ingest, with why.")
    sections: list[Section] = Field(default_factory=list,
                                    description="Where each stretch of `text` came from.")
    parent: str | None = Field(default=None, description="The e-mail message this "
                               "document was attached to (its doc_id), if any.")


class Chunk(BaseModel):
    chunk_id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    location: Location | None = Field(default=None, description="Where the chunk is in "
                                      "its file (page, sheet and rows, slide, message).")


class Filters(BaseModel):
    """Metadata filters; every given field must match."""

    model_config = {"extra": "forbid"}

    doc_ids: list[str] | None = None
    sources: list[str] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @model_validator(mode="after")
    def _check_range(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        return self

    def is_empty(self) -> bool:
        return not (self.doc_ids or self.sources or self.date_from or self.date_to)


class Passage(BaseModel):
    """A focused window of a retrieved chunk, ready to show to a generator."""

    chunk_id: str
    doc_id: str
    title: str
    source: str | None
    url: str | None = None
    date: dt.date | None = None
    text: str
    start: int
    end: int
    score: float = Field(description="Fused retrieval score (higher is better).")
    rank: int
    dense_rank: int | None = None
    bm25_rank: int | None = None
    provenance: Origin = Field(default="bundled", description="Who added its document.")
    reported_speech: bool = Field(
        default=True, description="Whether the verifier may attribute its reported speech "
        "to a speaker (its index's `[verify] reported_speech`).")
    sections: list[Section] = Field(
        default_factory=list, description="Its document's sections that the passage "
        "touches: where a (narrowed) span of it came from.")

    @property
    def label(self) -> str:
        """The outlet when known, else the title in quotes: how passages are grouped by
        source. Answers name a passage with wording.passage_label, which also says when
        its document was uploaded."""
        return self.source or f"“{self.title}”"


class Citation(BaseModel):
    marker: int
    doc_id: str
    title: str
    source: str | None
    url: str | None = None
    text: str
    start: int
    end: int
    provenance: Origin = Field(default="bundled", description="bundled (the operator's "
                               "index folder) or uploaded (through the documents API).")
    location: Location | None = Field(
        default=None, description="Where the cited span is in its file: page, sheet and "
        "rows, slide, message, or a Word file's heading; None for plain text, Markdown and "
        "HTML.")


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class EvidenceSpan(BaseModel):
    """Where a passage says what a sentence claims: character offsets in the document."""

    doc_id: str
    start: int
    end: int
    text: str = Field(description="The passage sentence(s) between start and end.")


class AskRequest(BaseModel):
    """One question as every surface hands it to the answering pipeline."""

    model_config = {"extra": "forbid"}

    question: str
    history: list[Turn] = Field(default_factory=list,
                                description="Earlier turns of the conversation, oldest first.")
    filters: Filters | None = None
    index: str | None = Field(default=None, description="Default: RAG_INDEX.")
    generator: str | None = Field(default=None, description="Default: RAG_GENERATOR.")
    perspectives: bool = Field(
        default=False, description="Set out each source's account side by side.")


class SentenceCheck(BaseModel):
    """One answer sentence as verified against its cited passages."""

    sentence: str
    markers: list[int] = Field(description="Passage markers it cites after repair.")
    supported: bool
    score: float
    action: Literal["kept", "recited", "marked", "dropped"] = Field(
        description="kept as written; recited to the passage that supports it; marked or "
        "dropped as unsupported (RAG_UNSUPPORTED).")
    verdict: Literal["supported", "contradicted", "not_found"] | None = Field(
        default=None, description="The support model's verdict: contradicted when a name, "
        "number, date or polarity conflicts with the cited passage; not_found when the "
        "passages do not say it. None from judges without verdicts (the fast checker).")
    evidence: list[EvidenceSpan] = Field(
        default_factory=list, description="The passage sentence(s) that support the claim "
        "(or that it contradicts), as document offsets.")
    speaker: str | None = Field(
        default=None, description="Who the cited passage reports as saying what the "
        "sentence claims, when the sentence did not say so: the shown sentence is "
        "attributed to them ('According to Putin, as reported by A, …').")


class Answer(BaseModel):
    answer: str
    abstained: bool
    citations: list[Citation]
    generator: str
    fallback: str | None = Field(
        default=None, description="Why the configured generator was replaced, if it was."
    )
    question: str
    standalone_question: str
    index: str
    timings_ms: dict[str, float]
    usage: dict[str, int] = Field(default_factory=dict)
    verification: list[SentenceCheck] = Field(default_factory=list)
    faithfulness: float | None = Field(
        default=None, description="Share of the answer's claims its citations support, as "
        "generated (before marking, dropping or regenerating); None when abstained.")
    quoted: bool = Field(
        default=False, description="The model found no answer, but the passages hold most "
        "of the question's words, so their best-matching sentences are quoted instead "
        "(RAG_QUOTE_DECLINED); they may not answer the question.")
    revised: bool = Field(
        default=False, description="The model's first answer contradicted a passage it "
        "cited, so it was asked again (RAG_REREAD_CONTRADICTED); this is the second answer, "
        "and `verification` checks it.")
    #: The passages as the generator read them (its markers' numbers).
    passages: list[Passage] = Field(default_factory=list, exclude=True)
    #: The passages as retrieval ranked them, before the generator's prompt budget.
    retrieved: list[Passage] = Field(default_factory=list, exclude=True)


#: Fields of an answer as every surface shows it (`rag ask --json`, POST /v1/ask), in order.
PUBLIC_ANSWER_FIELDS = ("answer", "abstained", "citations", "generator", "fallback",
                        "timings_ms", "usage", "question", "standalone_question", "index",
                        "faithfulness", "quoted", "revised", "verification")


def public_answer(answer: Answer) -> dict[str, object]:
    data = answer.model_dump(mode="json", include=set(PUBLIC_ANSWER_FIELDS))
    return {key: data[key] for key in PUBLIC_ANSWER_FIELDS}
