"""Incremental, crash-safe ingestion into a real store in a temp dir (the tests that take
`backend` run on each retrieval backend: embedded Chroma + FTS5, and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from service.errors import IndexNotBuilt
from service.index.backends import open_index
from service.index.config import load_index_config
from service.index.store import IndexStore
from service.ingest.pipeline import ingest
from tests.conftest import (
    NEWS_DOCS,
    ROOT,
    Backend,
    RunRag,
    make_settings,
    rag_env,
    write_index,
)


def article(i: int, topic: str = "negotiations") -> str:
    return (f"Report {i} on {topic}\n\n"
            f"Delegate number {i} met counterpart {i * 7} in the city of Testville{i}. "
            f"They discussed {topic} for {i + 2} hours and agreed on {i * 3} points. "
            f"The meeting ended with a statement about {topic} number {i}.\n")


def counts(settings, name: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    store = open_index(load_index_config(settings, name), settings)
    manifest = store.require_manifest()
    return manifest.generation, store.live_count(manifest.generation), manifest.chunks


def test_rerun_on_unchanged_files_embeds_nothing(indexes_dir: Path, backend: Backend) -> None:
    write_index(indexes_dir, "inc1", {f"a{i}.txt": article(i) for i in range(4)})
    settings = make_settings(indexes_dir, **backend.fields)
    config = load_index_config(settings, "inc1")
    first = ingest(config, settings, show_progress=False)
    assert sorted(first.added) == [f"a{i}.txt" for i in range(4)]
    assert first.chunks_embedded >= 4
    second = ingest(config, settings, show_progress=False)
    assert second.chunks_embedded == 0 and second.unchanged == 4 and not second.changed
    assert second.generation == first.generation


def test_changed_file_reembeds_only_that_file_and_deleted_file_disappears(
        indexes_dir: Path, backend: Backend) -> None:
    directory = write_index(indexes_dir, "inc2", {f"a{i}.txt": article(i) for i in range(4)})
    settings = make_settings(indexes_dir, **backend.fields)
    config = load_index_config(settings, "inc2")
    ingest(config, settings, show_progress=False)
    (directory / "docs" / "a1.txt").write_text(article(1, "grain exports"), encoding="utf-8")
    (directory / "docs" / "a3.txt").unlink()
    report = ingest(config, settings, show_progress=False)
    assert report.updated == ["a1.txt"] and report.deleted == ["a3.txt"]
    assert report.added == [] and report.unchanged == 2
    assert report.chunks_embedded == 1  # a1 is one chunk; nothing else was embedded
    store = open_index(config, settings)
    gen = store.require_manifest().generation
    docs = {d.doc_id: d for d in store.iter_documents(gen)}
    assert sorted(docs) == ["a0.txt", "a1.txt", "a2.txt"]
    assert "grain exports" in docs["a1.txt"].text
    # Read by id, each generation sees its own version (a reader still at the previous
    # one keeps the old text and the deleted file until the next run collects them).
    now = store.documents(["a1.txt", "a3.txt"], gen)
    before = store.documents(["a1.txt", "a3.txt"], gen - 1)
    assert sorted(now) == ["a1.txt"] and "grain exports" in now["a1.txt"].text
    assert sorted(before) == ["a1.txt", "a3.txt"] and "grain" not in before["a1.txt"].text
    # The keyword index follows: the deleted file's words are gone, the changed file's
    # old version no longer matches, its new one does.
    vector = np.zeros(384, dtype=np.float32)
    vector[0] = 1.0
    assert store.search(vector, ["testville3"], 10, gen).keyword == []
    assert len(store.search(vector, ["testville1"], 10, gen).keyword) == 1
    assert store.search(vector, ["negoti"], 10, gen).keyword != [] and len(
        store.search(vector, ["grain"], 10, gen).keyword) == 1


def test_a_file_changed_twice_leaves_each_generation_one_version(
        indexes_dir: Path, backend: Backend) -> None:
    """Updating a file again before the old version is collected retires only the live
    one: a reader still at the middle generation sees that generation's version alone."""
    directory = write_index(indexes_dir, "inc3", {f"a{i}.txt": article(i) for i in range(3)})
    settings = make_settings(indexes_dir, **backend.fields)
    config = load_index_config(settings, "inc3")
    for topic in ("negotiations", "grain exports", "energy prices"):
        (directory / "docs" / "a1.txt").write_text(article(1, topic), encoding="utf-8")
        ingest(config, settings, show_progress=False)
    store = open_index(config, settings)
    gen = store.require_manifest().generation
    vector = np.zeros(384, dtype=np.float32)
    vector[0] = 1.0
    middle = store.search(vector, [], 10, gen - 1)
    a1 = [c for c in middle.dense if middle.chunks[c].doc_id == "a1.txt"]
    assert len(a1) == 1
    assert "grain" in store.documents(["a1.txt"], gen - 1)["a1.txt"].text


def test_bad_files_are_reported_by_name_and_skipped(indexes_dir: Path) -> None:
    directory = write_index(indexes_dir, "bad3", {"good.txt": article(1)})
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "bad3")
    ingest(config, settings, show_progress=False)
    bad = {
        "binary.txt": b"\x00\x01\x02\x03binary\x00" * 50,
        "empty.md": b"   \n\n",
        "latin1.txt": "caf\xe9 cr\xe8me".encode("latin-1"),
        "broken.pdf": b"%PDF-1.4\nthis is not really a pdf\n%%EOF",
        "noperm.txt": b"a perfectly fine text that cannot be read",
    }
    for name, data in bad.items():
        (directory / "docs" / name).write_bytes(data)
    (directory / "docs" / "new.html").write_text(
        "<html><head><title>T</title></head><body><nav>Menu</nav>"
        "<article><h1>Talks resume</h1><p>The talks resumed in Geneva on Monday.</p>"
        "</article><footer>Copyright</footer></body></html>", encoding="utf-8")
    if os.geteuid() == 0:
        del bad["noperm.txt"]  # root reads everything; the case cannot be made here
        (directory / "docs" / "noperm.txt").unlink()
    else:
        (directory / "docs" / "noperm.txt").chmod(0)
    report = ingest(config, settings, show_progress=False)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(skipped) == set(bad)
    assert "binary" in skipped["binary.txt"]
    assert "empty" in skipped["empty.md"]
    assert "utf-8" in skipped["latin1.txt"].lower()
    assert "pdf" in skipped["broken.pdf"].lower()
    assert report.added == ["new.html"]
    store = IndexStore(config, settings)
    docs = {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}
    assert sorted(docs) == ["good.txt", "new.html"]
    assert docs["new.html"].meta.title == "Talks resume"
    assert "Menu" not in docs["new.html"].text and "Copyright" not in docs["new.html"].text


def test_a_file_that_turns_bad_keeps_its_previous_version(indexes_dir: Path) -> None:
    directory = write_index(indexes_dir, "bad4", {"a.txt": article(1), "b.txt": article(2)})
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "bad4")
    ingest(config, settings, show_progress=False)
    (directory / "docs" / "a.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    report = ingest(config, settings, show_progress=False)
    assert [Path(s.path).name for s in report.skipped] == ["a.txt"]
    store = IndexStore(config, settings)
    docs = {d.doc_id for d in store.iter_documents(store.require_manifest().generation)}
    assert docs == {"a.txt", "b.txt"}


def test_metadata_sidecar_sets_title_source_and_date(indexes_dir: Path) -> None:
    directory = write_index(indexes_dir, "meta5", {"a.txt": article(1)})
    (directory / "docs" / "a.txt.meta.toml").write_text(
        'title = "Sidecar title"\nsource = "Daily Test"\ndate = 2025-03-18\n')
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "meta5")
    ingest(config, settings, show_progress=False)
    store = IndexStore(config, settings)
    (doc,) = store.iter_documents(store.require_manifest().generation)
    assert (doc.meta.title, doc.meta.source, str(doc.meta.date)) == (
        "Sidecar title", "Daily Test", "2025-03-18")
    (directory / "docs" / "a.txt.meta.toml").write_text('date = "not a date"\n')
    report = ingest(config, settings, show_progress=False)
    assert report.skipped and "date" in report.skipped[0].reason


def test_news_index_documents_carry_stated_metadata(news_settings) -> None:  # type: ignore[no-untyped-def]
    store = IndexStore(load_index_config(news_settings, "news"), news_settings)
    docs = {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}
    assert sorted(docs) == sorted(p.name for p in NEWS_DOCS.glob("*.txt"))
    assert docs["003.txt"].meta.source == "Izvestia"
    assert docs["004.txt"].meta.title.startswith("Point of no return")
    assert all(d.meta.date is None for d in docs.values())  # no article states its date


def _stress_corpus(n: int) -> dict[str, str]:
    paragraphs = [p for f in sorted(NEWS_DOCS.glob("*.txt"))
                  for p in f.read_text(encoding="utf-8").split("\n") if len(p) > 200]
    return {f"doc{i:03d}.txt": f"Stress document {i}\n\n" + "\n\n".join(
        paragraphs[(i + j) % len(paragraphs)] for j in range(4)) for i in range(n)}


def test_kill_mid_ingest_keeps_the_previous_index_and_the_next_run_completes(
        indexes_dir: Path, run_rag: RunRag, backend: Backend) -> None:
    """SIGKILL a real `rag ingest` at several points while it writes a new generation."""
    write_index(indexes_dir, "crash", _stress_corpus(5))
    env = rag_env(indexes_dir, **backend.env)
    first = run_rag("ingest", "--index", "crash", "--json", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    baseline = json.loads(first.stdout)
    check = [sys.executable, "-c",
             "import json,sys; from tests.test_ingest import counts; "
             "from tests.conftest import make_settings; from pathlib import Path; "
             "print(json.dumps(counts(make_settings(Path(sys.argv[1])), 'crash')))",
             str(indexes_dir)]

    def state() -> tuple[int, int, int]:
        out = subprocess.run(check, env=env, capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        return tuple(json.loads(out.stdout))  # type: ignore[return-value]

    gen0, chunks0, unique0 = state()
    assert gen0 == baseline["generation"] and chunks0 == unique0
    write_index(indexes_dir, "crash", _stress_corpus(60))  # 55 new documents to embed
    killed_mid_run = 0
    for delay in (0.3, 1.0, 2.0, 3.5):
        proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "ingest", "--index",
                                 "crash", "--quiet"], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=60)
        gen, chunks, unique = state()
        if gen == gen0:  # killed before its commit: the old index, exactly
            assert (chunks, unique) == (chunks0, unique0)
        else:  # finished before the kill: the complete new index
            assert gen == gen0 + 1 and chunks == unique
    assert killed_mid_run >= 2, "the ingest finished too fast to be killed mid-run"
    final = run_rag("ingest", "--index", "crash", "--json", "--quiet", env=env)
    assert final.returncode == 0, final.stderr
    gen, chunks, unique = state()
    assert chunks == unique  # no duplicates
    # Same content as a clean build from scratch in another folder.
    clean_dir = indexes_dir.parent / "clean"
    write_index(clean_dir, "crash", _stress_corpus(60))
    clean_fields = dict(backend.fields)
    if backend.name == "postgres":  # another database on the same server
        clean_fields["database_url"] = backend.fields["database_url"].rsplit("/", 1)[0] + \
            "/postgres"
    clean_settings = make_settings(clean_dir, **clean_fields)
    ingest(load_index_config(clean_settings, "crash"), clean_settings, show_progress=False)
    assert counts(clean_settings, "crash")[1] == chunks


def test_a_second_concurrent_ingest_is_refused(indexes_dir: Path, run_rag: RunRag) -> None:
    write_index(indexes_dir, "busy", _stress_corpus(40))
    env = rag_env(indexes_dir)
    proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "ingest", "--index",
                             "busy", "--quiet"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        lock = indexes_dir / "busy" / "store" / "ingest.lock"
        while time.time() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.05)
        second = run_rag("ingest", "--index", "busy", "--quiet", env=env)
        if proc.poll() is None:
            assert second.returncode != 0
            assert "being ingested" in second.stderr
        else:
            pytest.skip("first ingest finished before the second started")
    finally:
        proc.wait(timeout=300)


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of Helvetica text, byte offsets computed."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def test_pdf_markdown_and_html_documents_are_read(indexes_dir: Path) -> None:
    write_index(indexes_dir, "formats", {
        "report.pdf": _minimal_pdf("The envoys agreed to meet again in Geneva in July."),
        "notes.md": "---\ntitle: Meeting notes\n---\n# Ignored heading\n\nThe **envoys** "
                    "met in [Riyadh](https://example.org) on Monday.\n",
        "page.html": "<html><body><nav>Home | News</nav><article><h1>Ceasefire</h1>"
                     "<p>A ceasefire began at noon.</p><script>var x=1;</script></article>"
                     "<aside>Most read</aside></body></html>",
    })
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "formats")
    report = ingest(config, settings, show_progress=False)
    assert sorted(report.added) == ["notes.md", "page.html", "report.pdf"], report.skipped
    store = IndexStore(config, settings)
    docs = {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}
    assert "meet again in Geneva in July" in docs["report.pdf"].text
    assert docs["notes.md"].meta.title == "Meeting notes"
    assert "The envoys met in Riyadh on Monday." in docs["notes.md"].text
    assert "https://" not in docs["notes.md"].text
    assert docs["page.html"].meta.title == "Ceasefire"
    assert "A ceasefire began at noon." in docs["page.html"].text
    for junk in ("Home | News", "var x", "Most read"):
        assert junk not in docs["page.html"].text


def test_a_keyword_file_behind_the_chroma_store_is_refused_with_how_to_fix(
        indexes_dir: Path) -> None:
    """Processes sharing a Chroma server from different folders would each read their own
    keyword file: the one that did not write the last generation must not answer from it."""
    write_index(indexes_dir, "behind", {"a.txt": article(1)})
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "behind")
    ingest(config, settings, show_progress=False)
    store = IndexStore(config, settings)
    assert store.require_manifest().generation == 1
    store.keywords.set_generation(0)  # as if another folder's writer had committed gen 1
    with pytest.raises(IndexNotBuilt, match="RAG_RETRIEVAL_BACKEND=postgres"):
        store.require_manifest()
