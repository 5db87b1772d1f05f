"""Who says it (service/verify/speakers.py), against hand labels.

bench/data/reported_speech.jsonl: every sentence of the news corpus holding a reporting
verb or a quotation mark (130), each labelled by hand with the speaker of what it says,
or null where it reports nobody's words (scare quotes, "according to the formula") or
nobody can be told from it. The labels were written after the rules and by the same
person, on the same sentences: the figures say how the rules fit this corpus, not how
they carry to another.

A returned speaker is right when it shares a word other than a title with the label
("Vladimir Batyuk" for "Batyuk"); precision is over the speakers returned (the rewrite
an answer gets), recall over the labelled speakers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.verify.speakers import own_words, speaker_of
from service.verify.windows import sentence_spans

LABELS = Path(__file__).resolve().parent / "data" / "reported_speech.jsonl"


def speaker_suite(docs: Path, labels: Path = LABELS) -> dict[str, Any]:
    rows = [json.loads(line) for line in labels.open(encoding="utf-8")]
    texts: dict[str, list[str]] = {}
    returned = right = labelled = found = 0
    wrong: list[dict[str, str | None]] = []
    for row in rows:
        if row["doc_id"] not in texts:
            text = (docs / row["doc_id"]).read_text(encoding="utf-8")
            texts[row["doc_id"]] = [text[s:e] for s, e in sentence_spans(text)]
        sentences = texts[row["doc_id"]]
        i = sentences.index(row["sentence"])
        got = speaker_of(sentences[i], sentences[max(0, i - 3):i], sentences[i + 1:i + 4])
        gold = row["speaker"]
        ok = got is not None and gold is not None and (
            got.lower() == gold.lower() or bool(own_words(got) & own_words(gold)))
        returned += got is not None
        right += ok
        labelled += gold is not None
        found += ok
        if got is not None and not ok:
            wrong.append({"sentence": sentences[i], "returned": got, "label": gold})
    return {"sentences": len(rows), "labelled_speakers": labelled, "returned": returned,
            "precision": round(right / max(returned, 1), 4),
            "recall": round(found / max(labelled, 1), 4), "wrong": wrong}
