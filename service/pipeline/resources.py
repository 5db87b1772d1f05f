"""What answering loads once and keeps: retrievers per index, generators and the support
judge by name. Built once at the edge with the pipeline; the one place with a cache and
a lock."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from service.config import Settings
from service.errors import LLMUnavailable, ModelNotInstalled
from service.generation.backends import BACKUP, GENERATORS
from service.generation.generators import FallbackGenerator, Generator
from service.index.config import load_index_config
from service.records import Document
from service.retrieval.retriever import Retriever
from service.verify.backends import JUDGES
from service.verify.judge import Judge, Warmable
from service.verify.places import known_pairs
from service.verify.windows import with_title


class Resources:
    """`generators`: ready-made generators to use under these names instead of building
    them from the registry (a model loaded elsewhere, a stand-in in tests); `judge`: the
    answer-time judge to use instead of RAG_VERIFIER's."""

    def __init__(self, settings: Settings,
                 generators: dict[str, Generator] | None = None,
                 judge: Judge | None = None) -> None:
        self.settings = settings
        self._retrievers: dict[str, Retriever] = {}
        backup = GENERATORS.get(BACKUP)(settings)
        self._generators: dict[str, Generator] = {
            name: FallbackGenerator(generator, backup)
            for name, generator in (generators or {}).items()}
        self._judge: Judge | None = judge
        self._lock = threading.Lock()

    def retriever(self, index: str) -> Retriever:
        with self._lock:
            if index not in self._retrievers:
                config = load_index_config(self.settings, index)
                self._retrievers[index] = Retriever(config, self.settings)
            return self._retrievers[index]

    def generator(self, name: str) -> Generator:
        """The named generator with the extractive backup behind it. One that cannot be
        loaded (model not installed, no endpoint configured) is not cached: the backup
        answers, labelled, and the next question tries again."""
        with self._lock:
            if name in self._generators:
                return self._generators[name]
        factory = GENERATORS.get(name)  # an unknown name fails here, before any work
        backup = GENERATORS.get(BACKUP)(self.settings)
        if name == BACKUP:
            generator: Generator = backup
        else:
            try:
                generator = FallbackGenerator(factory(self.settings), backup)
            except (LLMUnavailable, ModelNotInstalled) as exc:
                return FallbackGenerator(None, backup, reason=str(exc))
        with self._lock:
            return self._generators.setdefault(name, generator)

    def judge(self) -> Judge:
        with self._lock:
            if self._judge is None:
                self._judge = JUDGES.get(self.settings.verifier)(self.settings)
            return self._judge

    def warm_judge(self, index: str) -> int:
        """Let the judge prepare for the index's chunks and titles (the support model
        encodes their sentences once); returns the units prepared, 0 if it has nothing
        to prepare."""
        judge = self.judge()
        known_pairs()  # the places every judge's claims are read with (verify/places.py)
        if not isinstance(judge, Warmable):
            return 0
        retriever = self.retriever(index)
        documents = retriever.store.iter_documents(retriever.manifest().generation)
        return judge.warm(judged_texts(documents))


def judged_texts(documents: Iterable[Document]) -> Iterator[str]:
    """What verification reads of an index: its documents' titles and texts (passages
    are spans of them, cut at the same sentence boundaries), read a page at a time; the
    judge stops reading when its bounded cache is full."""
    for doc in documents:
        yield with_title(doc.meta.title, "")
        yield doc.text
