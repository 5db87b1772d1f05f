"""Marker validation on streamed text."""

from __future__ import annotations

from service.generation.markers import MarkerFilter


def stream_through(pieces: list[str], passages: int) -> tuple[str, list[str], int]:
    f = MarkerFilter(passages)
    emitted = [f.feed(p) for p in pieces]
    emitted.append(f.flush())
    return "".join(emitted), emitted, f.dropped


def test_valid_markers_pass_and_invalid_ones_vanish_even_when_split_across_deltas() -> None:
    text, _, dropped = stream_through(["Medinsky led it [", "1", "][", "9]. Umerov [2, 7", "]."], 3)
    assert text == "Medinsky led it [1]. Umerov [2]."
    assert dropped == 2


def test_plain_text_is_not_held_back() -> None:
    _, emitted, _ = stream_through(["The talks ", "began ", "in May"], 3)
    assert emitted[:3] == ["The talks ", "began ", "in May"]


def test_brackets_that_are_not_markers_are_released() -> None:
    text, _, _ = stream_through(["a list [see the annex for details] and [unfinished"], 3)
    assert text == "a list [see the annex for details] and [unfinished"
