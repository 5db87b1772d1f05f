"""Backends registered by name: generators, embedders, support judges.

A registry maps a name to a factory. Adding a backend is one module that defines the
factory and one `register` call where that layer lists its backends (for generators:
service/generation/backends.py). CLI choices, `/readyz` and setting validation read
`names()`, so a new backend shows up everywhere without another edit.

    GENERATORS = Registry[GeneratorFactory]("generator", setting="RAG_GENERATOR")
    GENERATORS.register("extractive", build_extractive)
    GENERATORS.get("extractive")   # the factory; an unknown name raises UnknownBackend
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from service.errors import UnknownBackend

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, setting: str | None = None) -> None:
        self.kind = kind
        self.setting = setting
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            where = f" (check {self.setting})" if self.setting else ""
            raise UnknownBackend(
                f"unknown {self.kind} {name!r}{where}; choose one of: "
                f"{', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
