"""Tag stage: find the places an article mentions and the watchlists it falls in.

Names from the gazetteer are folded (case, dashes, Arabic letter forms and diacritics) and
compiled once into one matcher; an article is folded the same way and scanned once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from newswire.models import Gazetteer, PlaceSpec, RegionTag, Tagging

_DASHES = re.compile(r"[-‐‑‒–—―_'’`ʼ]+")
_ARABIC_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
_ARABIC_PROCLITICS = "(?:[وفبك]{1,2})?"


def fold(text: str) -> str:
    """Fold text for matching: lower case, no Latin accents, dashes as spaces, Arabic forms
    unified and diacritics removed."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or _ARABIC_LETTER.match(ch))
    text = _ARABIC_DIACRITICS.sub("", unicodedata.normalize("NFC", text)).translate(_ARABIC_FORMS)
    return " ".join(_DASHES.sub(" ", text).split())


def name_variants(name: str) -> set[str]:
    """A name's folded spellings: as written, and with an al-/el- prefix joined or spaced."""
    folded = fold(name)
    variants = {folded}
    match = re.match(r"^(al|el|ad|ar|as|ash|az)\s+(\S.*)$", folded)
    if match:
        variants.add(match.group(1) + match.group(2))
    joined = re.match(r"^(al|el)([a-z]{4,}.*)$", folded)
    if joined:
        variants.add(f"{joined.group(1)} {joined.group(2)}")
    return {v for v in variants if len(v) >= 3}


class Tagger:
    """A compiled matcher over one gazetteer."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = {place.id: place for place in gazetteer.places}
        self._watchlists = gazetteer.watchlists
        self._by_name: dict[str, str] = {}
        for place in gazetteer.places:
            for name in place.names:
                for variant in name_variants(name):
                    self._by_name.setdefault(variant, place.id)
        self._pattern = _compile(self._by_name)

    def tag(self, title: str, text: str) -> Tagging:
        """The regions mentioned in the title and text, and the watchlists hit."""
        counts: Counter[str] = Counter()
        if self._pattern is not None:
            for match in self._pattern.finditer(fold(f"{title}\n{text}")):
                counts[self._by_name[match.group("name")]] += 1
        regions = tuple(
            self._region(place_id, mentions)
            for place_id, mentions in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        hit = Tagging(regions=regions).region_ids()
        watchlists = tuple(w.id for w in self._watchlists if hit & set(w.members))
        return Tagging(regions=regions, watchlists=watchlists)

    def _region(self, place_id: str, mentions: int) -> RegionTag:
        place = self._places[place_id]
        return RegionTag(
            id=place.id,
            name=place.name,
            kind=place.kind,
            country=place.country,
            mentions=mentions,
            parents=tuple(self._ancestors(place)),
        )

    def _ancestors(self, place: PlaceSpec) -> Iterable[str]:
        seen = {place.id}
        while place.parent and place.parent not in seen:
            seen.add(place.parent)
            place = self._places[place.parent]
            yield place.id


def _compile(names: dict[str, str]) -> re.Pattern[str] | None:
    """One alternation, longest name first, on word boundaries; Arabic names may carry
    attached proclitics (wa-, fa-, bi-, ka-)."""
    if not names:
        return None
    ordered = sorted(names, key=len, reverse=True)
    body = "|".join(re.escape(n) for n in ordered)
    arabic = "|".join(re.escape(n) for n in ordered if _ARABIC_LETTER.match(n))
    proclitic = f"(?:{_ARABIC_PROCLITICS}(?=(?:{arabic})(?!\\w)))?" if arabic else ""
    return re.compile(f"(?<!\\w){proclitic}(?P<name>{body})(?!\\w)")
