"""World knowledge a judge may take for granted: which country or US state a city is in.

"The truce was agreed in Jeddah, Saudi Arabia [1]" against a passage saying "in Jeddah":
the country is not a detail the passage has to hold, yet a judge reading names (the
support head) sees a place the passage never names. `without_known_regions` drops such a
region before a claim is judged: only after a city, only a pair of data/places.tsv (a
city with its own country or state, and only when no other city of that name is nearly as
large: "Paris, Texas" keeps its state), and only where the region ends the phrase
("Paris, France and Berlin" is a list). A wrong pair ("Jeddah, Egypt") is kept, and judged.

The table is built from GeoNames (CC BY 4.0) by tools/train_verifier/build_places.py.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "places.tsv"
_WORD = r"[A-Z][\w'’.-]*"
#: "<City>, <Region>": up to four capitalised words each side of a comma.
_PAIR = re.compile(rf"\b((?:{_WORD}\s+){{0,3}}{_WORD}), ((?:{_WORD}\s+){{0,4}}{_WORD})")
#: What may follow a region that ends its phrase: nothing, a mark, a citation, or a
#: lower-case word that does not join it to a list.
_END = re.compile(r"\s*(?:$|[.,;:!?)\]”\"']|\[|(?!(?:and|or|nor)\b)[a-z])")


@cache
def known_pairs() -> frozenset[tuple[str, str]]:
    """The table's (city, region) pairs, lower-cased; read once (~70 ms: the server's
    warm-up reads it, so the first answer does not)."""
    rows = TABLE.read_text(encoding="utf-8").splitlines()
    return frozenset(tuple(r.split("\t", 1)) for r in rows if r and not r.startswith("#"))


def _known(city_words: list[str], region_words: list[str]) -> str | None:
    """The region of the longest known pair the words end and start (as written: "U.S."
    keeps its dots, a sentence's full stop is not the region's)."""
    pairs = known_pairs()
    for r in range(len(region_words), 0, -1):
        written = " ".join(region_words[:r])
        for region in dict.fromkeys((written, written.rstrip("."))):
            for c in range(len(city_words), 0, -1):
                if (" ".join(city_words[-c:]).lower(), region.lower()) in pairs:
                    return region
    return None


def without_known_regions(claim: str) -> str:
    """The claim with the country or state after each city it goes with dropped
    ("in Jeddah, Saudi Arabia, on March 11" -> "in Jeddah, on March 11": a comma after
    the region stays, it may close a clause as well as the apposition)."""
    out, cursor = [], 0
    for match in _PAIR.finditer(claim):
        region = _known(match.group(1).split(), match.group(2).split())
        start = match.start(2) - 2  # the ", " before the region
        end = match.start(2) + len(region or "")
        if (region is None or not claim.startswith(region, match.start(2))
                or not _END.match(claim, end)):
            continue
        out.append(claim[cursor:start])
        cursor = end
    out.append(claim[cursor:])
    return "".join(out)
