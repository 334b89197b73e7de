"""The gazetteer: the packaged GeoNames base merged with the curated config/regions.yaml.

The base (`data/gazetteer.json.gz`, built by `newswire gazetteer build`) holds countries,
capitals, governorates and the towns of the Middle East and North Africa. A curated place either
merges into a base place (same geonames_id, iso_code, country code for a country, or id: its id,
name, kind and parent win, its aliases are added, its exclude_names removed) or is new. Every
reference (parents, watchlist members) is checked here, once, at start.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from sys import intern
from typing import Any

import orjson

from newswire.catalog import AreaModel, PlaceModel, RegionList, WatchlistModel
from newswire.models import Area, Gazetteer, PlaceSpec, WatchlistSpec
from newswire.tag.gazetteer_build import DATA_FILE, FORMAT_VERSION


def base_places(path: Path = DATA_FILE) -> tuple[PlaceSpec, ...]:
    """The packaged base gazetteer's places (read once per process)."""
    return _base(path)[0]


def base_person_names(path: Path = DATA_FILE) -> tuple[str, ...]:
    """The packaged base's place names that are also common given names or surnames."""
    return _base(path)[1]


def base_given_names(path: Path = DATA_FILE) -> tuple[str, ...]:
    """Common given names (English-language news), packaged with the base."""
    return _base(path)[2]


@lru_cache(maxsize=2)
def _base(path: Path) -> tuple[tuple[PlaceSpec, ...], tuple[str, ...], tuple[str, ...]]:
    with gzip.open(path, "rb") as handle:
        header = orjson.loads(handle.readline() or b"{}")
        if header.get("version") != FORMAT_VERSION:
            found = header.get("version")
            raise ValueError(f"{path}: gazetteer format {found}, need {FORMAT_VERSION}")
        places = tuple(_base_place(orjson.loads(line)) for line in handle)
    return places, tuple(header.get("person_names", ())), tuple(header.get("given_names", ()))


def _base_place(raw: dict[str, Any]) -> PlaceSpec:
    return PlaceSpec(
        id=raw["id"],
        name=raw["name"],
        kind=intern(raw["kind"]),
        country=_interned(raw.get("country")),
        parent=_interned(raw.get("parent")),
        names=tuple(raw["names"]) or (raw["name"],),
        iso_code=raw.get("iso_code"),
        geonames_id=raw.get("geonames_id"),
        admin1=_interned(raw.get("admin1")),
        lat=raw.get("lat"),
        lon=raw.get("lon"),
        population=raw.get("population", 0),
        demonyms=tuple(raw.get("demonyms", ())),
    )


def _interned(value: str | None) -> str | None:
    """Codes shared by thousands of places, kept once (40,000 places)."""
    return None if value is None else intern(value)


def build_gazetteer(regions: RegionList, base: tuple[PlaceSpec, ...] | None = None) -> Gazetteer:
    """Merge the curated regions into the base; raises ValueError naming what is wrong."""
    merged = _Merge(base_places() if base is None else base)
    for curated in regions.places:
        merged.add(curated)
    places = merged.resolved()
    known = {p.id for p in places} | {p.iso_code for p in places if p.iso_code}
    known |= {p.country for p in places if p.country}
    watchlists = tuple(_watchlist(w, known) for w in regions.watchlists)
    return Gazetteer(
        places=places,
        watchlists=watchlists,
        stopnames=regions.stopnames,
        non_places=regions.non_places,
        person_names=tuple(dict.fromkeys((*regions.person_names, *base_person_names()))),
        given_names=base_given_names(),
    )


class _Merge:
    """Base places by id, with indexes to find the one a curated entry refines."""

    def __init__(self, base: tuple[PlaceSpec, ...]) -> None:
        self.places = {p.id: p for p in base}
        self.renamed: dict[str, str] = {}
        self.by_geonames = {p.geonames_id: p.id for p in base if p.geonames_id}
        self.by_iso = {p.iso_code: p.id for p in base if p.iso_code}
        self.by_country = {p.country: p.id for p in base if p.kind == "country" and p.country}

    def add(self, curated: PlaceModel) -> None:
        target = self._target(curated)
        if target is None:
            self.places[curated.id] = _new_place(curated)
            return
        old = self.places.pop(target)
        if curated.id in self.places:
            raise ValueError(f"place {curated.id!r}: id already used by another place")
        excluded = set(curated.exclude_names)
        names = [n for n in (*old.names, *curated.aliases, *curated.demonyms) if n not in excluded]
        given = (curated.name or old.name, old.name, *curated.aliases, *curated.demonyms)
        self.places[curated.id] = replace(
            old,
            id=curated.id,
            name=curated.name or old.name,
            kind=curated.kind or old.kind,
            country=curated.country or old.country,
            parent=curated.parent or old.parent,
            names=tuple(dict.fromkeys([curated.name or old.name, *names])),
            iso_code=curated.iso_code or old.iso_code,
            lat=old.lat if curated.lat is None else curated.lat,
            lon=old.lon if curated.lon is None else curated.lon,
            curated=True,
            countries=curated.countries or old.countries,
            demonyms=curated.demonyms or old.demonyms,
            context=curated.context,
            curated_names=tuple(dict.fromkeys(n for n in given if n not in excluded)),
        )
        if target != curated.id:
            self.renamed[target] = curated.id

    def _target(self, curated: PlaceModel) -> str | None:
        if curated.geonames_id is not None:
            if curated.geonames_id not in self.by_geonames:
                raise ValueError(f"place {curated.id!r}: no GeoNames place {curated.geonames_id}")
            return self._current(self.by_geonames[curated.geonames_id])
        if curated.iso_code and curated.iso_code in self.by_iso:
            return self._current(self.by_iso[curated.iso_code])
        if curated.kind == "country" and curated.country in self.by_country:
            return self._current(self.by_country[curated.country])
        return curated.id if curated.id in self.places else None

    def _current(self, ident: str) -> str:
        while ident in self.renamed:
            ident = self.renamed[ident]
        if ident not in self.places:
            raise ValueError(f"GeoNames place {ident!r} was merged twice")
        return ident

    def resolved(self) -> tuple[PlaceSpec, ...]:
        """The places with parents pointing at current ids ("@SY" is Syria's id) and every
        place's admin1 taken from its nearest governorate, province or state."""
        countries = {p.country: p.id for p in self.places.values() if p.kind == "country"}
        places = {}
        for place in self.places.values():
            parent = place.parent
            if parent and parent.startswith("@"):
                parent = countries.get(parent[1:])
            elif parent:
                parent = self._current(parent) if parent in self.renamed else parent
            if parent is not None and parent not in self.places:
                raise ValueError(f"place {place.id!r}: parent {parent!r} is not a place")
            places[place.id] = replace(place, parent=parent)
        return tuple(_with_admin1(places, p) for p in sorted(places.values(), key=_order))


def _order(place: PlaceSpec) -> tuple[bool, str]:
    return (not place.curated, place.id)


def _with_admin1(places: dict[str, PlaceSpec], place: PlaceSpec) -> PlaceSpec:
    if place.admin1 or place.kind in ("country", "continent", "macro_region"):
        return place
    seen = {place.id}
    current: PlaceSpec | None = place
    while current is not None:
        if current.iso_code and current.kind != "country" and "-" in current.iso_code:
            return replace(place, admin1=current.iso_code)
        if current.parent is None or current.parent in seen:
            break
        seen.add(current.parent)
        current = places.get(current.parent)
    return place


def _new_place(curated: PlaceModel) -> PlaceSpec:
    if curated.name is None or curated.kind is None:
        raise ValueError(f"place {curated.id!r}: a new place needs a name and a kind")
    names = tuple(
        n
        for n in (curated.name, *curated.aliases, *curated.demonyms)
        if n not in curated.exclude_names
    )
    return PlaceSpec(
        id=curated.id,
        name=curated.name,
        kind=curated.kind,
        country=curated.country,
        parent=curated.parent,
        names=names,
        curated_names=names,
        iso_code=curated.iso_code,
        lat=curated.lat,
        lon=curated.lon,
        curated=True,
        countries=curated.countries,
        context=curated.context,
        demonyms=curated.demonyms,
    )


def _watchlist(model: WatchlistModel, known: set[str]) -> WatchlistSpec:
    unknown = sorted(set(model.members) - known)
    if unknown:
        raise ValueError(f"watchlist {model.id!r}: unknown members {unknown}")
    return WatchlistSpec(
        id=model.id,
        name=model.name,
        members=model.members,
        areas=tuple(_area(a) for a in model.areas),
        min_score=model.min_score,
    )


def _area(model: AreaModel) -> Area:
    return Area(points=model.points(), km=model.km)
