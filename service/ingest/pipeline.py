"""Incremental, crash-safe ingestion of an index's files into its versioned store.

Each run: find the files, hash them (raw bytes + sidecar + everything that shapes the
chunks), load/clean/chunk only new or changed ones, embed those chunks, write them as
the next generation, retire replaced and deleted documents, then commit. Unchanged files
cost one hash; a bad file is reported and skipped, keeping its previous version.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from service.config import Settings
from service.embed import Embedder
from service.embed.backends import make_embedder
from service.errors import (
    BAD_DOCUMENT_KINDS,
    BadDocument,
    BadRequest,
    EmbedderMismatch,
    OverBudget,
)
from service.index.backend import DocVersion, Manifest, now_iso, version_id
from service.index.backends import open_index
from service.index.config import IndexConfig
from service.index.lock import IndexLock, file_lock
from service.ingest.chunk import chunk_document, split_sentences
from service.ingest.formats import file_type
from service.ingest.formats.base import MAX_FILE_BYTES
from service.ingest.load import check_supported, is_sidecar, read_bytes
from service.ingest.locations import locate
from service.ingest.metadata import build_meta, read_sidecar
from service.ingest.parse import ParsedDocument, parse_document
from service.records import Chunk, Document, Provenance

#: Reads one file's bytes into indexable text: `parse_document` in process, or
#: `DocumentParser.parse` (a worker process with a time budget) in the server.
Parser = Callable[[Path, bytes, str], ParsedDocument]

# Bump when cleaning or chunking logic changes, so every document is rebuilt once.
# 3: Office, e-mail, sheets and OCR readers; sections (citation locations)
# 4: "No. 12" / "Art. 4" and document abbreviations end no sentence (ingest/chunk.py)
PIPELINE_VERSION = "4"
EMBED_BATCH = 64
#: Separates an e-mail's doc id from its attachment's name: `thread.eml#contract.pdf`.
ATTACHMENT_SEPARATOR = "#"


@dataclass(frozen=True)
class SkippedFile:
    """A file (or an e-mail's attachment) not indexed, and why."""

    doc_id: str = field(metadata={"doc": "its name in the index, as a document would be"})
    path: str
    reason: str
    kind: str = field(metadata={"doc": "BadDocument.kind: unsupported, empty, encrypted, "
                                "over-budget, no-text or unreadable"})
    type: str = field(metadata={"doc": "file type it is counted under (pdf, docx, image…)"})
    root: str = ""

    def public(self) -> dict[str, str]:
        """For clients: no server paths."""
        return {k: v for k, v in asdict(self).items() if k not in ("path", "root")}


@dataclass
class IngestReport:
    index: str
    generation: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    #: Per file type: how many files were indexed (added, updated or unchanged) and how
    #: many skipped, by reason kind.
    types: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def count(self, doc_id: str, outcome: str) -> None:
        name = doc_id.rsplit(ATTACHMENT_SEPARATOR, 1)[-1]
        self.types.setdefault(file_type(Path(name).suffix), Counter())[outcome] += 1

    def skip(self, doc_id: str, error: BadDocument, root: str = "") -> None:
        name = doc_id.rsplit(ATTACHMENT_SEPARATOR, 1)[-1]
        self.skipped.append(SkippedFile(doc_id, error.path, error.reason, error.kind,
                                        file_type(Path(name).suffix), root))
        self.count(doc_id, error.kind)


@dataclass(frozen=True)
class _Found:
    path: Path
    root_key: str
    doc_id: str


def _root_key(root: Path, config: IndexConfig) -> str:
    """Roots inside the index folder are stored relative to it, so a moved clone matches."""
    try:
        return root.relative_to(config.directory).as_posix()
    except ValueError:
        return root.as_posix()


def discover(config: IndexConfig, paths: list[Path]) -> tuple[list[_Found], set[str]]:
    """Every file under the given paths (documents, and files of types no reader handles,
    to be listed as such), and the roots that were scanned completely."""
    found: dict[str, _Found] = {}
    full_roots: set[str] = set()
    for raw in paths:
        path = raw.resolve()
        if path.is_dir():
            key = _root_key(path, config)
            full_roots.add(key)
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                # Every file but sidecars and hidden ones: one of an unsupported type is
                # reported as such, not passed over.
                if file.is_file() and not is_sidecar(file) and not any(
                    part.startswith(".") for part in rel.parts
                ):
                    found[rel.as_posix()] = _Found(file, key, rel.as_posix())
        elif path.is_file():
            found[path.name] = _Found(path, _root_key(path.parent, config), path.name)
        else:
            raise BadRequest(f"{raw}: no such file or folder")
    return list(found.values()), full_roots


def _fingerprint(data: bytes, sidecar: bytes, config: IndexConfig, embedder_id: str,
                 provenance: Provenance) -> str:
    h = hashlib.sha256()
    for part in (data, sidecar, config.chunking.model_dump_json().encode(),
                 config.sources.encoding.encode(), embedder_id.encode(),
                 PIPELINE_VERSION.encode(),
                 f"{provenance.origin}:{provenance.api_key}".encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


@dataclass
class Prepared:
    """A file read into its document, and the documents of its attachments."""

    documents: list[tuple[Document, list[Chunk]]]
    unread: list[tuple[str, BadDocument]] = field(default_factory=list)


def prepare_document(found: _Found, config: IndexConfig, embedder_id: str,
                     known_sha: str | None, parser: Parser = parse_document,
                     provenance: Provenance | None = None) -> Prepared | None:
    """The document, its attachments' documents and their chunks, or None when the file
    is unchanged since the last run."""
    check_supported(found.path)
    size = found.path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise OverBudget(str(found.path), f"{size:,} bytes (limit {MAX_FILE_BYTES:,}): too "
                         "big to read")
    provenance = provenance or Provenance()
    data = read_bytes(found.path)
    fields, sidecar = read_sidecar(found.path)
    sha = _fingerprint(data, sidecar, config, embedder_id, provenance)
    if sha == known_sha:
        return None
    parsed = parser(found.path, data, config.sources.encoding)
    prepared = Prepared([])
    _add_documents(prepared, found, parsed, config, provenance, doc_id=found.doc_id,
                   sha=sha, fields=fields, parent=None)
    return prepared


def _add_documents(prepared: Prepared, found: _Found, parsed: ParsedDocument,
                   config: IndexConfig, provenance: Provenance, *, doc_id: str, sha: str,
                   fields: dict[str, object], parent: str | None) -> None:
    """The document of `parsed`, then those of its attachments (doc id
    `<doc_id>#<name>`), depth first."""
    cleaned = parsed.text
    name = Path(doc_id.rsplit(ATTACHMENT_SEPARATOR, 1)[-1])
    meta = build_meta(found.path if parent is None else name,
                      {**parsed.meta_hints, **fields}, parsed.title_hint,
                      cleaned.split("\n", 1)[0])
    sentences = split_sentences(cleaned)
    doc = Document(doc_id=doc_id, path=str(found.path), root=found.root_key, sha256=sha,
                   meta=meta, text=cleaned, sentences=sentences, provenance=provenance,
                   flags=parsed.flags, sections=parsed.sections, parent=parent)
    chunks = chunk_document(version_id(doc.doc_id, sha), cleaned, sentences,
                            config.chunking.chunk_tokens, config.chunking.overlap_tokens)
    prepared.documents.append((doc, [
        c.model_copy(update={"doc_id": doc.doc_id,
                             "location": locate(parsed.sections, c.start, c.end)})
        for c in chunks]))
    for attachment in parsed.attachments:
        child = f"{doc_id}{ATTACHMENT_SEPARATOR}{attachment.name}"
        child_sha = hashlib.sha256(f"{sha}:{attachment.name}".encode()).hexdigest()
        _add_documents(prepared, found, attachment.document, config, provenance,
                       doc_id=child, sha=child_sha, fields={}, parent=doc_id)
    for unread, kind, reason in parsed.unread:
        error = BAD_DOCUMENT_KINDS.get(kind, BadDocument)(str(found.path), reason)
        prepared.unread.append((f"{doc_id}{ATTACHMENT_SEPARATOR}{unread}", error))


def _embed_all(embedder: Embedder, texts: list[str], show_progress: bool) -> np.ndarray:
    from tqdm import tqdm

    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="chunk", file=sys.stderr,
              disable=not show_progress or len(texts) < EMBED_BATCH) as bar:
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            parts.append(embedder.embed(batch))
            bar.update(len(batch))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), np.float32)


def _changed_documents(found: list[_Found], versions: Mapping[str, DocVersion],
                       config: IndexConfig, embedder_id: str, report: IngestReport,
                       parser: Parser, provenance: Mapping[str, Provenance],
                       ) -> tuple[list[tuple[Document, list[Chunk]]], set[str]]:
    """The new and changed documents, prepared (read, cleaned, screened, chunked), and
    the doc ids still present (unchanged and changed documents, attachments included);
    unchanged ones are counted, unusable ones reported as skipped."""
    pending: list[tuple[Document, list[Chunk]]] = []
    present: set[str] = set()
    for item in found:
        known = versions.get(item.doc_id)
        try:
            prepared = prepare_document(item, config, embedder_id,
                                        known.sha256 if known else None, parser,
                                        provenance.get(item.doc_id))
        except BadDocument as exc:
            report.skip(item.doc_id, exc, item.root_key)
            if exc.kind != "unsupported":  # its previous version (and attachments) stay
                present |= {item.doc_id} | _attachments_of(item.doc_id, versions)
            continue
        if prepared is None:
            kept = {item.doc_id} | _attachments_of(item.doc_id, versions)
            for doc_id in kept:
                report.unchanged += 1
                report.count(doc_id, "unchanged")
            present |= kept
            continue
        for doc, chunks in prepared.documents:
            pending.append((doc, chunks))
            present.add(doc.doc_id)
            outcome = "updated" if doc.doc_id in versions else "added"
            getattr(report, outcome).append(doc.doc_id)
            report.count(doc.doc_id, outcome)
        for doc_id, error in prepared.unread:
            report.skip(doc_id, error, item.root_key)
    return pending, present


def _attachments_of(doc_id: str, versions: Mapping[str, DocVersion]) -> set[str]:
    prefix = doc_id + ATTACHMENT_SEPARATOR
    return {v for v in versions if v.startswith(prefix)}


def ingest(config: IndexConfig, settings: Settings, paths: list[Path] | None = None,
           show_progress: bool = True, embedder: Embedder | None = None,
           parser: Parser = parse_document,
           provenance: Mapping[str, Provenance] | None = None,
           lock: IndexLock | None = None) -> IngestReport:
    """Bring the index up to date with its files. `provenance` maps the doc ids of uploaded
    documents to who uploaded them (service/state/provenance.py); others are bundled.
    `lock` keeps other writers out (default: the per-host file lock; the state store's
    lock when writers run on several hosts)."""
    started = time.perf_counter()
    provenance = provenance or {}
    embedder = embedder or make_embedder(config.embedder.name, settings)
    with (lock or file_lock)(config):
        store = open_index(config, settings)
        manifest = store.manifest()
        current = manifest.generation if manifest else 0
        if manifest and manifest.embedder != embedder.model_id:
            raise EmbedderMismatch(
                f"index {config.name!r} was built with {manifest.embedder}, not "
                f"{embedder.model_id}; rebuild it with `rag ingest --index {config.name} "
                "--rebuild`"
            )
        store.upgrade(current, embedder.dimension)
        store.collect_garbage(current)
        target = current + 1
        report = IngestReport(index=config.name, generation=current)
        versions = store.live_versions(current)
        found, full_roots = discover(config, paths or config.source_paths())
        pending, present = _changed_documents(found, versions, config, embedder.model_id,
                                              report, parser, provenance)
        scanned = {item.doc_id for item in found}
        gone: list[DocVersion] = [
            v for v in versions.values() if v.doc_id not in present and (
                v.root in full_roots or v.doc_id.split(ATTACHMENT_SEPARATOR, 1)[0] in scanned)]
        report.deleted = sorted(v.doc_id for v in gone)
        store.record_skipped([{**s.public(), "root": s.root} for s in report.skipped],
                             scanned=scanned, full_roots=full_roots)
        if not pending and not gone:
            report.seconds = time.perf_counter() - started
            return report

        texts = [c.text for _, chunks in pending for c in chunks]
        vectors = _embed_all(embedder, texts, show_progress)
        report.chunks_embedded = len(texts)

        store.add_documents(pending, vectors, target)
        replaced = [versions[d.doc_id] for d, _ in pending if d.doc_id in versions]
        store.retire(replaced + gone, target)

        live_docs = len(versions) - len(gone) + len(report.added)
        store.commit(Manifest(
            generation=target, embedder=embedder.model_id, dimension=embedder.dimension,
            chunk_tokens=config.chunking.chunk_tokens,
            overlap_tokens=config.chunking.overlap_tokens, documents=live_docs,
            chunks=store.live_count(target), committed_at=now_iso(),
        ))
        store.collect_garbage(target)
        report.generation = target
        report.seconds = time.perf_counter() - started
        return report


def rebuild(config: IndexConfig, settings: Settings, show_progress: bool = True,
            provenance: Mapping[str, Provenance] | None = None,
            lock: IndexLock | None = None, parser: Parser = parse_document) -> IngestReport:
    """Drop the store and ingest from scratch (after changing the embedder)."""
    with (lock or file_lock)(config):
        open_index(config, settings).drop()
    return ingest(config, settings, show_progress=show_progress, provenance=provenance,
                  lock=lock, parser=parser)
