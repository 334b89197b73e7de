"""The labelled tagging set (tests/data/tagging/labelled.yaml) and its scoring, shared by the
quality test and bench/tagging_quality.py.

Country level: the ISO codes of every tagged place (a town's country, a border region's
countries). Place level: the tagged places below country level (towns, governorates, named
regions such as the Syria-Iraq border area), by id; macro-regions are not scored. Precision and recall are micro-averaged over the whole set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newswire.models import Tagging
from newswire.tag.tagger import WIDE_KINDS, Tagger

LABELLED = Path(__file__).parent / "data" / "tagging" / "labelled.yaml"


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    title: str
    text: str
    countries: frozenset[str]
    places: frozenset[str]

    @property
    def language(self) -> str:
        return self.id.split("-")[0]


@dataclass
class Counts:
    """True positives, false positives and false negatives, with the errors named."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, ident: str, found: set[str], expected: frozenset[str]) -> None:
        self.tp += len(found & expected)
        self.fp += len(found - expected)
        self.fn += len(expected - found)
        if found != expected:
            extra, missed = sorted(found - expected), sorted(expected - found)
            self.errors.append(f"{ident}: extra {extra} missed {missed}")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Labelled(
            id=item["id"],
            title=item.get("title", ""),
            text=item["text"],
            countries=frozenset(item["countries"]),
            places=frozenset(item["places"]),
        )
        for item in data["texts"]
    ]


def countries_of(tagging: Tagging) -> set[str]:
    found: set[str] = set()
    for region in tagging.regions:
        found.update(region.countries)
        if region.country:
            found.add(region.country)
    return found


def places_of(tagging: Tagging) -> set[str]:
    return {r.id for r in tagging.regions if r.kind not in WIDE_KINDS}


def evaluate(tagger: Tagger, items: list[Labelled]) -> tuple[Counts, Counts]:
    """Country-level and place-level counts over the items."""
    countries, places = Counts(), Counts()
    for item in items:
        tagging = tagger.tag(item.title, item.text)
        countries.add(item.id, countries_of(tagging), item.countries)
        places.add(item.id, places_of(tagging), item.places)
    return countries, places
