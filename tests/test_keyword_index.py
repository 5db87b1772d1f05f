"""The embedded keyword index (service/index/keywords.py): its document frequencies are
kept by every write and collection, and agree with what FTS5 itself counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.index.keywords import KeywordIndex, KeywordRow


def rows(doc: str, texts: list[str]) -> list[KeywordRow]:
    return [KeywordRow(f"{doc}:{i}:{text}", doc, i, 0, 1, None, None, text.split())
            for i, text in enumerate(texts)]


def fts5_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT term, doc FROM vocab").fetchall())


def test_document_frequencies_follow_writes_and_collection(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "k.sqlite3")
    index.add(rows("a", ["talk talk peac", "peac deal"]), 1)
    index.add(rows("b", ["deal sanction"]), 1)
    index.set_generation(1)
    assert index.document_frequencies(["talk", "peac", "deal", "absent"]) == {
        "talk": 1, "peac": 2, "deal": 2}
    index.retire(["a"], 2)
    index.add(rows("a", ["ceasefir deal"]), 2)
    index.set_generation(2)
    index.collect_garbage(2)  # readers of generation 1 may still read "a"'s old chunks
    assert index.document_frequencies(["talk", "peac", "deal", "ceasefir"]) == {
        "talk": 1, "peac": 2, "deal": 3, "ceasefir": 1}
    index.set_generation(3)
    index.collect_garbage(3)  # now they are gone
    assert index.document_frequencies(["talk", "peac", "deal", "ceasefir"]) == {
        "deal": 2, "ceasefir": 1}
    assert index.document_frequencies(list(fts5_counts(index.path))) == fts5_counts(index.path)
    index.add(rows("c", ["crash"]), 4)  # a run that crashed before its commit
    index.collect_garbage(3)
    assert index.document_frequencies(["crash"]) == {}
    index.clear()
    assert index.document_frequencies(["deal"]) == {}


def test_a_file_written_before_the_counts_existed_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite3"
    index = KeywordIndex(path)
    index.add(rows("a", ["talk peac", "peac"]), 1)
    index.close()
    with sqlite3.connect(path) as db:  # as an older version left it
        db.execute("DROP TABLE df")
        db.execute("DELETE FROM state WHERE key = 'df'")
    assert KeywordIndex(path).document_frequencies(["talk", "peac"]) == {"talk": 1, "peac": 2}
