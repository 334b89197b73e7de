"""Context words: the curated places (config/regions.yaml `context`) whose words an article has.

A curated place lists words that, in the same article, point to it ("Euphrates" for
al-Bukamal). One automaton holds every place's words, so an article is read once for all the
places its names could be, however many words they list: a regex alternation of a place's
words tried at every character cost up to 0.7 ms an article.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from newswire.models import PlaceSpec
from newswire.tag.names import automaton, fold_name, in_word


class ContextWords:
    """The folded context words of the places that have them, by place index."""

    def __init__(self, places: Iterable[PlaceSpec]) -> None:
        owners: defaultdict[str, set[int]] = defaultdict(set)
        for index, place in enumerate(places):
            for word in place.context:
                if folded := fold_name(word):
                    owners[folded].add(index)
        self._words = tuple(owners)
        self._owners = tuple(frozenset(owners[w]) for w in self._words)
        self._automaton = automaton(self._words)
        self.places = frozenset(i for found in self._owners for i in found)

    def found(self, asked: frozenset[int], folded: str) -> frozenset[int]:
        """The places of `asked` with a context word standing as a word (no letter, digit or
        underscore either side) in the folded text."""
        asked &= self.places
        if not asked or self._automaton is None:
            return frozenset()
        hits: set[int] = set()
        size = len(folded)
        for number, start, end in self._automaton.find_matches_as_indexes(folded, True):
            if (start and in_word(folded[start - 1])) or (end < size and in_word(folded[end])):
                continue
            hits |= self._owners[number] & asked
            if hits == asked:
                break
        return frozenset(hits)
