"""`rag ingest` and `rag index ...`: build, update and inspect named indexes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.config import Settings
from service.index.backends import open_index
from service.index.config import (
    IndexConfig,
    create_index,
    list_index_names,
    load_index_config,
)
from service.index.lock import IndexLock
from service.ingest.pipeline import IngestReport, ingest, rebuild
from service.ingest.sandbox import DocumentParser
from service.state.db import StateStore
from service.state.ingest_worker import upload_dir, write_file_atomically
from service.state.provenance import ProvenanceStore, provenance_for_index


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ingest", help="build or update an index from its files (incremental)",
        description="Ingest documents (.txt .md .html .pdf) into an index. With no PATH, "
        "ingests the folders listed in the index's index.toml. Unchanged files are skipped, "
        "changed files re-embedded, files deleted from a scanned folder removed. A bad file "
        "is reported and skipped; a killed run leaves the previous index intact.",
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="files or folders to ingest (default: the index's sources)")
    p.add_argument("--index", help="index name (default: RAG_INDEX, 'news')")
    p.add_argument("--rebuild", action="store_true",
                   help="drop the index's store and ingest everything again")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_ingest)

    idx = sub.add_parser("index", help="list, create or inspect indexes")
    isub = idx.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    ls = isub.add_parser("list", help="list indexes and their state")
    ls.set_defaults(handler=run_list)
    cr = isub.add_parser("create", help="create an empty index folder with an index.toml")
    cr.add_argument("name")
    cr.add_argument("--description", default="")
    cr.set_defaults(handler=run_create)


def _by_type(report: IngestReport) -> str:
    """"pdf 3 indexed, 1 encrypted; mp3 1 unsupported" — every file counted once."""
    parts = []
    for kind, counts in sorted(report.types.items()):
        indexed = sum(counts[o] for o in ("added", "updated", "unchanged"))
        others = [f"{n} {outcome}" for outcome, n in sorted(counts.items())
                  if outcome not in ("added", "updated", "unchanged")]
        parts.append(f"{kind} " + ", ".join(([f"{indexed} indexed"] if indexed else [])
                                             + others))
    return "; ".join(parts)


def _print_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "index": report.index, "generation": report.generation, "added": report.added,
            "updated": report.updated, "deleted": report.deleted, "unchanged": report.unchanged,
            "skipped": [{**s.public(), "path": s.path} for s in report.skipped],
            "types": {kind: dict(counts) for kind, counts in sorted(report.types.items())},
            "chunks_embedded": report.chunks_embedded, "seconds": round(report.seconds, 3),
        }))
    else:
        state = f"generation {report.generation}" if report.changed else "no changes"
        print(f"index {report.index!r}: {len(report.added)} added, {len(report.updated)} updated, "
              f"{len(report.deleted)} deleted, {report.unchanged} unchanged, "
              f"{len(report.skipped)} skipped; {report.chunks_embedded} chunks embedded in "
              f"{report.seconds:.1f}s ({state})")
        if report.types:
            print(f"  by type: {_by_type(report)}")
    for skipped in report.skipped:
        print(f"rag: skipped {skipped.doc_id} ({skipped.kind}): {skipped.reason}",
              file=sys.stderr)


def _shared_store_lock(settings: Settings, config: IndexConfig) -> IndexLock | None:
    """With a shared state store (RAG_DATABASE_URL), ingest like a worker: the uploaded
    documents laid out from the store first (else this host's run would delete them), and
    the store's index lock, which holds across hosts. None for the SQLite default."""
    if not settings.database_url:
        return None
    state = StateStore.from_settings(settings)
    ProvenanceStore(state).sync_folder(config.name, upload_dir(config),
                                       write_file_atomically)
    return state.index_lock


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    config = load_index_config(settings, args.index or settings.index)
    show = not args.quiet
    if args.rebuild and args.paths:
        print("rag: --rebuild ingests the index's own sources; drop the PATHs",
              file=sys.stderr)
        return 2
    lock = _shared_store_lock(settings, config)
    uploaded = provenance_for_index(settings, config.name)  # uploads stay marked uploaded
    # Files are read in the parse sandbox, as uploads are: C parsers (pdfium, Tesseract,
    # libxml2) meet hostile bytes there, and a crash or a scan that takes too long
    # (RAG_PARSE_BUDGET_S) costs one file, not the run.
    parser = DocumentParser(settings.parse_budget_s, settings.parse_workers,
                            settings.parse_memory_mb)
    try:
        if args.rebuild:
            report = rebuild(config, settings, show_progress=show, provenance=uploaded,
                             lock=lock, parser=parser.parse)
        else:
            report = ingest(config, settings, paths=args.paths or None, show_progress=show,
                            provenance=uploaded, lock=lock, parser=parser.parse)
    finally:
        parser.close()
    _print_report(report, args.json)
    # A file of a type no reader handles is listed, not an error of the run.
    return 1 if any(s.kind != "unsupported" for s in report.skipped) else 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    names = list_index_names(settings)
    if not names:
        print(f"no indexes in {settings.indexes_dir}")
    for name in names:
        config = load_index_config(settings, name)
        manifest = open_index(config, settings).manifest()
        state = (f"generation {manifest.generation}, {manifest.documents} documents, "
                 f"{manifest.chunks} chunks, {manifest.embedder}" if manifest else "not built")
        print(f"{name}\t{state}\t{config.description}")
    return 0


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    config = create_index(settings, args.name, args.description)
    print(f"created {config.directory}/index.toml; put documents in {config.directory}/docs "
          f"and run `rag ingest --index {config.name}`")
    return 0
