"""Find place names in a text: one Aho-Corasick automaton over every name and variant of the
gazetteer, word boundaries in Latin, Arabic and Hebrew script (attached proclitics allowed),
leftmost-longest matches, and the guards that drop what is not a mention of the place.

Guards: Latin names need a capital letter (acronyms such as "UAE" need all capitals); a name
followed by a feature word ("Damascus Gate", "Baghdad Street") or after "New" ("New Mexico") is
part of a longer name, as is an alternate name after a capitalised word ("Ilocos Sur"); a name
after a person's title or a given name ("Sheikh Zayed", "George Washington") or a place that is
also a person's name next to another name ("Jordan Henderson", "Mary Wheeler") is a person.
Everyday words (jusText's stop lists for English, Arabic and Hebrew) are never a GeoNames
place; `non_places` ("Agence France-Presse") are matched and dropped. US state abbreviations
after a town ("Athens, Ga.") are mentions of the state (abbreviations.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeGuard

import justext

from newswire.models import Gazetteer, PlaceSpec
from newswire.tag.abbreviations import state_abbreviations
from newswire.tag.gazetteer_build import TOWN_LEVEL
from newswire.tag.names import (
    ARABIC_PROCLITICS,
    HEBREW_PROCLITICS,
    MIN_LETTERS,
    Folded,
    automaton,
    fold_name,
    name_variants,
    script_of,
)

TITLE_WEIGHT, LEAD_WEIGHT, BODY_WEIGHT = 3.0, 2.0, 1.0
LEAD_CHARS = 400
GENEROUS_POPULATION = 20_000  # towns this size get the full set of spelling variants
SHORT_NAME_POPULATION = 100_000  # towns this size match by a three-letter name ("Van", "Qom")
ADMIN_KINDS = frozenset({"governorate", "state", "region"})
NOT_QUALIFIED_BY_TITLE = frozenset({"country", "governorate", "state"})
EVERYDAY_NAME_POPULATION = 100_000  # towns this size keep a Latin name that is a stop word
SMALL_TOWN_POPULATION = 250_000  # world towns under this size need support (tagger.py)
WELL_KNOWN_KINDS = frozenset({"country", "governorate", "state", "capital"})
LOCATIVES = frozenset("in near from outside inside into across".split())
# words after a name that make it a town's, not a country's ("Jordan Elementary", "Dublin
# City Council"): a country has no mayor, city hall or elementary school
MUNICIPAL_NEXT = frozenset(
    "mayor elementary township councilman councilwoman alderman aldermen selectmen".split()
)
# words after a name for its people ("a Lebanon woman", "Ontario residents"): a town's, a
# state's or a province's; a country's people go by its demonym ("a Lebanese woman")
PEOPLE_NEXT = frozenset(
    "residents resident woman man girl boy girls boys teen teens teenager motorist"
    " motorcyclist couple democrat democrats republican republicans".split()
)
MUNICIPAL_PAIRS = frozenset({
    ("city", "council"), ("city", "hall"), ("city", "manager"), ("city", "commission"),
    ("city", "schools"), ("city", "attorney"), ("high", "school"), ("middle", "school"),
    ("public", "schools"), ("school", "board"), ("police", "department"),
    ("fire", "department"), ("town", "council"), ("village", "board"),
    ("school", "district"), ("independent", "school"),
})  # fmt: skip
# after "the <name>", words that end its noun phrase: "the Duma in May", "the Toyota was hit";
# a town takes no article ("The Hague" is a name of its own; regions, "the Golan", are kept)
THING_NEXT = frozenset(
    "in on at to for with by from and or but is was were has had have will would said says".split()
)  # not "of": "the Nice of Russia" still names Nice
END_OF_PHRASE = frozenset(".,;:!?)'\u2019\"")  # not "-": "the San Jose-based court"
MUNICIPAL_OF = frozenset("city town village township borough".split())  # "City of Athens"
PARTICLES = frozenset("de del la las los le du des di da do dos das von van der".split())
MAJOR_KINDS = frozenset({"country", "capital", "governorate", "state", "province", "region"})
FEATURE_HEADS = frozenset(
    "street st road rd avenue ave gate square boulevard blvd lane county township hotel mall "
    "restaurant cafe club fc united force hospital school drive dr parkway pkwy "
    "plaza terrace motel inn".split()
)
# words that end an event's or a place's own name when capitalised ("the Madrid Conference",
# "the Oslo Accords", "the Santa Ana Zoo"), not in lower case ("a Zimbabwe conference")
NAMED_HEADS = frozenset(
    "zoo conference accords accord agreement agreements convention conventions protocol".split()
)
SENTENCE_ENDS = frozenset(".!?:;\"“”'‘’()[]—–-\n")  # what a sentence or a line starts after
# short words capitalised only in a title-case line ("Monument For Sale" as a text's first line)
TITLE_CASE_WORDS = frozenset("For Of To And With From By At On A An".split())
SPEAKER_NEXT = frozenset("said says told added who".split())  # after a person's name
# "the Gulf of Mexico", "the Bay of Bengal": the water's name, not the country's
WATER_HEADS = frozenset("gulf gulfs sea bay strait straits".split())
FEATURE_HEADS_BEFORE = frozenset({"new", "شارع", "فيلق", "جادة", "רחוב", "שער", "א", "אל"})
PERSON_TITLES = frozenset(
    "mr mrs ms dr sheikh sheik prince princess king queen emir president minister gen general "
    "col colonel lt sgt bin ibn coach striker midfielder defender goalkeeper captain singer "
    "actor actress rapper star player forward winger manager senator".split()
)
NOT_A_PERSON_NEXT = frozenset(
    "valley river rift sea border borders army armed forces defense defence government gov "
    "governor senate senator secretary president prime minister ministry parliament legislature "
    "lawmakers officials police airport university national football team state states cup "
    "league federation times post authority air navy crossing on in and said says has have is "
    "was will would".split()
)
# words of an institution's name, not a person's ("the Central Bank of Jordan")
INSTITUTION_WORDS = (
    NOT_A_PERSON_NEXT
    | FEATURE_HEADS
    | frozenset(
        "bank court republic kingdom museum council church college institute company corporation "
        "association society union embassy consulate people emirate sultanate city town village "
        "province region district department office center centre agency foundation fund "
        "library party front movement group board commission committee chamber hall park".split()
    )
)
# a title or an institution's word in "<X> <Y> of Z" makes it no person's home ("King
# Abdullah of Jordan", "the Central Bank of Jordan")
NOT_A_PERSONS_NAME = INSTITUTION_WORDS | PERSON_TITLES
# a capitalised word after a town that keeps it a place, not the start of a longer name
# ("Wuhan Institute", "Paris Mayor", "a Manhattan Democrat")
KEEPS_A_PLACE_NEXT = INSTITUTION_WORDS | MUNICIPAL_NEXT | PEOPLE_NEXT
NOT_A_PERSON_BEFORE = frozenset(
    "the of in from across neighbouring neighboring both while and but like unlike for with by "
    "at to on as if when meanwhile however also then only even northern southern eastern "
    "western central hashemite kingdom republic state gov u s visit visits visited north south "
    "east west northeast northwest southeast southwest upper lower greater downtown metro "
    "suburban rural old".split()
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A name found: where (title or text, original offsets), and the places it may be
    (indexes into the gazetteer's places)."""

    field: str
    start: int
    end: int
    key: str
    candidates: tuple[int, ...]
    weight: float  # title 3, lead 2, body 1
    qualified: bool = False  # "Salem, Oregon": placed by the name after it, which is support
    located: bool = False  # after "in", "near", "from": the text uses it as a place
    municipal: bool = False  # "Paris City Council", "City of Athens", "12 Elm St., Lebanon"
    # "a Lebanon woman", "Ontario residents", "Pamela Rittle of Lebanon": no country in local news
    its_people: bool = False
    a_thing: bool = False  # "sent to the Duma in May", "striking the Toyota.": no town
    speaks: bool = False  # "Ahmad said": a person, unless the name is a place's own
    # capitalised where any word is (a title, a sentence's first word): "Sale" in "Monument
    # For Sale" may be the word
    capitalised_anyway: bool = False


class NameIndex:
    """Every name of a gazetteer, compiled once."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = gazetteer.places
        self._person_names = frozenset(fold_name(n) for n in gazetteer.person_names)
        self._given_names = frozenset(gazetteer.given_names)
        self.candidates, self._acronyms = _names_to_places(gazetteer)
        self.demonyms = _demonym_keys(gazetteer)  # folded demonym -> the places it names
        # Arabic and Hebrew keys (any other key is Latin): 90,000 keys, so only the fewer kept
        self._scripts = {
            key: script for key in self.candidates if (script := script_of(key)) != "latin"
        }
        # names with a country, governorate or state among their places: a title before them
        # ("President of ...", "King ...") does not make them a person
        self._official = frozenset(
            key for key, places in self.candidates.items()
            if any(self._places[i].kind in NOT_QUALIFIED_BY_TITLE for i in places)
        )  # fmt: skip
        # own names of a country, governorate, state, capital or curated place: a longer
        # name that starts with them is an institution or an event, not a person ("Georgia
        # Southern University"); not other names ("Sam Houston State University" is no
        # Damascus, "Sam" an old name of it)
        self._well_known = frozenset(
            key for key, places in self.candidates.items()
            if any((self._places[i].curated or self._places[i].kind in WELL_KNOWN_KINDS)
                   and fold_name(self._places[i].name) == key for i in places)
        )  # fmt: skip
        # names only of towns outside the region of interest, no capital: before a name-like
        # word they may start a longer name ("Toyota Camry", "Isuzu Denver Rodeo")
        self._foreign_towns = frozenset(
            key for key, places in self.candidates.items()
            if all(self._places[i].kind == "town" and is_foreign(self._places[i])
                   and not self._places[i].curated for i in places)
        )  # fmt: skip
        # names of places that stop a person's name: countries, their divisions, capitals and
        # curated places ("Jordan Syria"), not a town ("Mary Middleton said")
        self._major = frozenset(
            key for key, places in self.candidates.items()
            if any(self._places[i].curated or self._places[i].kind in MAJOR_KINDS for i in places)
        )  # fmt: skip
        # names only of small towns outside the region of interest: after a capitalised word
        # they are the end of a longer name ("Paris Hilton", "Melton Lewis Paris")
        self._small_foreign = frozenset(
            key for key, places in self.candidates.items()
            if all(_small_foreign_town(self._places[i]) for i in places)
        )  # fmt: skip
        self._states = {
            p.iso_code[3:]: i for i, p in enumerate(self._places)
            if p.kind == "state" and p.iso_code and p.iso_code.startswith("US-")
        }  # fmt: skip
        # keys no candidate has as its own name, of GeoNames places only ("Sur" for Tyre)
        self._alternate_only = frozenset(
            key for key, places in self.candidates.items()
            if all(not self._places[i].curated and fold_name(self._places[i].name) != key
                   for i in places)
        )  # fmt: skip
        # names that hold a place's name and name something else ("Agence France-Presse"):
        # matched, so the longest match, and dropped
        self._non_places = frozenset(fold_name(n) for n in gazetteer.non_places) - set(
            self.candidates
        )
        # every key at once, overlapping matches included (the longest is chosen later)
        self._keys = (*self.candidates, *self._non_places)
        self._automaton = automaton(self._keys)

    def find(self, field: str, original: str, folded: Folded) -> list[Mention]:
        """The mentions of places in `original` (the title or the text, folded), in order."""
        found = list(self._mentions(field, folded, original))
        states = list(self._state_abbreviations(field, original))
        return sorted(found + states, key=lambda m: m.start) if states else found

    def _state_abbreviations(self, field: str, original: str) -> Iterator[Mention]:
        """ "Athens, Ga.": the state, as a mention of its own (see abbreviations.py)."""
        for start, end, code in state_abbreviations(original):
            index = self._states.get(code)
            if index is not None:
                key = fold_name(self._places[index].name)
                yield Mention(field, start, end, key, (index,), _weight(field, start))

    def _mentions(self, field: str, folded: Folded, original: str) -> Iterator[Mention]:
        if not self.candidates:
            return
        # where folding kept offsets, a span in lower case is no name: dropped before the
        # longest-match pass (most of the automaton's hits are words: "police", "union")
        same = original if folded.ends is None else None
        for start, end, key in _leftmost_longest(self._bounded_hits(folded.text, same)):
            if key in self._non_places:
                continue
            o_start, o_end = folded.original_span(start, end)
            if not self._looks_like_a_name(key, original[o_start:o_end]):
                continue
            before, after = _previous_word(original, o_start), _next_word(original, o_end)
            if _inside_longer_name(self._scripts.get(key, "latin"), before, after):
                continue
            if _names_a_water_body(original, o_start, before):
                continue
            if key in PARTICLES and _name_like(after):
                continue  # "Van Dorn Street", "Jana Van Voorhis": not Van, Turkey
            if _AFTER_ABD.search(original, max(0, o_start - 8), o_start):
                continue  # "Abdel-Hamid", "Abdul Salam", "عبد السلام": a man's name
            if self._is_a_person(original, o_end, key, before, after):
                continue
            if key in self._small_foreign and self._ends_a_name(original, o_start, before):
                continue
            if key in self._alternate_only and _after_a_name(original, o_start, before):
                continue
            if key in self._foreign_towns and self._starts_a_name(original, o_end, after):
                continue
            located = before is not None and _plain(before) in LOCATIVES
            municipal = _is_municipal(original, o_start, o_end, before, after)
            its_people = _names_its_people(after) or (
                before == "of" and self._after_a_persons_name(original, o_start)
            )
            a_thing = (
                before is not None
                and _plain(before) == "the"
                and _ends_a_noun_phrase(original, o_end, after)
            )
            anyway = (
                field == "title"
                or before in TITLE_CASE_WORDS
                or _at_sentence_start(original, o_start)
            )
            yield Mention(field, o_start, o_end, key, self.candidates[key],
                          _weight(field, o_start), located=located,
                          municipal=municipal, its_people=its_people, a_thing=a_thing,
                          speaks=_word(after) in SPEAKER_NEXT,
                          capitalised_anyway=anyway)  # fmt: skip

    def _bounded_hits(self, text: str, original: str | None) -> list[tuple[int, int, str]]:
        """Every key the automaton finds that stands as a word (and, given the original with
        the same offsets, is not all lower case): (start, end, key). Most hits are inside
        words, so the Latin test is inlined (the hot loop of tagging)."""
        found: list[tuple[int, int, str]] = []
        if self._automaton is None:
            return found
        size, scripts, keys = len(text), self._scripts, self._keys
        for index, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            key, last = keys[index], end - 1
            script = scripts.get(key)
            if script is None:  # Latin: no letter or digit on either side
                if start and text[start - 1].isalnum():
                    continue
                if end < size and text[end].isalnum() and text[last].isalnum():
                    continue
            elif not _bounded(text, start, end, script):
                continue
            if original is not None and original[start:end].islower():
                continue
            found.append((start, end, key))
        return found

    def _looks_like_a_name(self, key: str, span: str) -> bool:
        """A Latin name needs a capital; in capitals, a name of three letters or fewer is an
        acronym ("FAO", not al-Faw) unless the gazetteer knows it as one."""
        if self._scripts.get(key, "latin") != "latin":
            return True
        if key in self._acronyms:
            return span.isupper()
        if span.isupper() and len(span) <= 3:
            return False
        if _AN_ENGLISH_WORD_FIRST.match(span):
            return False  # "known as Salt Works Road", not as-Salt, Jordan
        return any(ch.isupper() for ch in span)

    def _starts_a_name(self, text: str, end: int, after: str | None) -> bool:
        """Does the name start a longer one, a product's, a team's, a paper's ("a Toyota Camry
        driven by", "the Denver Rodeo was", "the Toronto Star reported")? After it a capitalised
        word that is no place, given name, office, institution or people word ("Paris Mayor",
        "Wuhan Institute", "a Manhattan Democrat"), then a word in lower case."""
        if not _name_like(after) or after.isupper():
            return False
        if _plain(after) in KEEPS_A_PLACE_NEXT:
            return False
        if after in self._given_names or self._is_place_word(after):
            return False
        then = _word_after(text, end, after)
        return then is None or not then[:1].isupper()

    def _after_a_persons_name(self, text: str, start: int) -> bool:
        """Is the name, after "of", a person's home ("Pamela Rittle of Lebanon", "Galen Miller
        Jr. of Palestine"): a given name and a surname before "of", no title before them
        ("King Abdullah of Jordan", "Foreign Minister Ayman Safadi of Jordan" are not)?"""
        match = _PERSON_OF.search(text, max(0, start - 60), start)
        if match is None:
            return False
        before, given, surname = match.group(1, 2, 3)
        if before is not None and (_plain(before) in PERSON_TITLES or before in self._given_names):
            return False  # "King Abdullah", "Foreign Minister Ayman Safadi"
        return given in self._given_names or not (
            _plain(given) in NOT_A_PERSONS_NAME or _plain(surname) in NOT_A_PERSONS_NAME
        )

    def _is_a_person(
        self, text: str, end: int, key: str, before: str | None, after: str | None
    ) -> bool:
        titled = before and (_plain(before) in PERSON_TITLES or before in self._given_names)
        if titled and key not in self._official:
            return True  # "Sheikh Zayed", "Lewis Paris", "George Washington"
        if _MIDDLE_INITIAL.match(text, end):
            return True  # "Judah P. Benjamin", "Jordan B. Peterson": a given name
        if after == "who" and text.startswith(" who", end) and key not in self._official:
            return True  # "turned over to Carlow who spoke": a person, no comma before "who"
        if after in self._given_names and key not in self._well_known:
            return True  # "Medea Benjamin", "Kingston James": a given name after a name
        if key not in self._person_names:
            return False
        if _name_like(after) and _plain(after) not in NOT_A_PERSON_NEXT:
            longer_name = _name_like(_word_after(text, end, after))
            if longer_name and key in self._well_known:
                return False  # "Georgia Southern University", "Paris Fashion Week"; but "Mary
                # Ann Wade" is a person
            return not self._is_place_word(after)
        return (
            _name_like(before)
            and _plain(before) not in NOT_A_PERSON_BEFORE
            and not self._is_place_word(before)
        )

    def _ends_a_name(self, text: str, start: int, before: str | None) -> bool:
        """Is the capitalised word before `start` the start of a longer name (not a place, not
        a word that qualifies one, not the first word of a sentence)?"""
        if not _name_like(before) or _plain(before) in NOT_A_PERSON_BEFORE:
            return False
        return not self._is_place_word(before) and not _starts_sentence(text, start, before)

    def _is_place_word(self, word: str) -> bool:
        return fold_name(word) in self._major


def _names_to_places(
    gazetteer: Gazetteer,
) -> tuple[dict[str, tuple[int, ...]], frozenset[str]]:
    """Every folded name and variant -> the places it may be (stop names left out), and the
    keys that are acronyms (matched only in capitals: "UAE", not "uae")."""
    stop = {fold_name(n) for n in gazetteer.stopnames}
    words = common_words() - _known_place_names(gazetteer)
    table: dict[str, list[int]] = defaultdict(list)
    acronyms: set[str] = set()
    for index, place in enumerate(gazetteer.places):
        # transliteration variants for the region of interest and for countries
        regional = place.country in TOWN_LEVEL or place.kind == "country" or not place.country
        generous = place.curated or (
            regional and (place.kind != "town" or place.population >= GENEROUS_POPULATION)
        )
        keys: set[str] = set()
        own = fold_name(place.name)
        stopped = stop - {own}  # a stop name is another place's alternate: Salem, Oregon stays
        for name in dict.fromkeys((*place.names, *place.demonyms)):
            folded = fold_name(name)
            if folded in stopped or (not place.curated and _is_everyday(folded, place, words)):
                continue
            if _is_acronym(name):
                acronyms.add(folded)
                keys.add(folded)
                continue
            keys |= name_variants(
                name,
                generous,
                min_letters=_min_letters(place, regional),
                adjective=place.kind == "country",
            )
            if place.kind in ADMIN_KINDS:
                keys |= _admin_forms(name)
        for key in keys - stopped:
            table[key].append(index)
    return {key: tuple(places) for key, places in table.items()}, frozenset(acronyms)


def _min_letters(place: PlaceSpec, regional: bool) -> int:
    """Three-letter names for the region's towns of 100,000 ("Van", "Qom"); elsewhere four
    ("Man", Ivory Coast, "Ica", Peru, and "Rom" for Rome are inside too many words)."""
    if regional and place.population >= SHORT_NAME_POPULATION:
        return 3
    return MIN_LETTERS


def _demonym_keys(gazetteer: Gazetteer) -> dict[str, frozenset[int]]:
    """Every folded form of a place's demonyms ("Syrian", "السوري" and their variants) -> the
    places whose demonym it is: a mention by one of them names the people, not the place."""
    table: dict[str, set[int]] = defaultdict(set)
    for index, place in enumerate(gazetteer.places):
        for name in place.demonyms:
            for key in name_variants(name, True, adjective=place.kind == "country"):
                table[key].add(index)
    return {key: frozenset(places) for key, places in table.items()}


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Everyday words of English, Arabic and Hebrew (jusText's stop lists, folded): a GeoNames
    alternate name that is one of them ("وان" = "and that", "مدينة" = "city") is not matched."""
    lists = (justext.get_stoplist(language) for language in ("English", "Arabic", "Hebrew"))
    return frozenset(fold_name(word) for words in lists for word in words)


def _known_place_names(gazetteer: Gazetteer) -> frozenset[str]:
    """The Latin own names of countries, capitals and big towns: words of the stop lists
    ("london", "paris") that are place names, for their small namesakes too (London,
    Kentucky), which a co-mentioned state or county then picks."""
    return frozenset(
        folded
        for place in gazetteer.places
        if _is_known(place) and script_of(folded := fold_name(place.name)) == "latin"
    )


def _is_known(place: PlaceSpec) -> bool:
    return place.kind in ("country", "capital") or place.population >= EVERYDAY_NAME_POPULATION


def _is_everyday(folded: str, place: PlaceSpec, words: frozenset[str]) -> bool:
    """A GeoNames name that is an everyday word, so not matched. The stop lists hold some
    capitals (English "london", as Wikipedia's frequent words do): a Latin name of a country, a
    capital or a big town (London, Ontario) stays a name, as Latin names match only when
    capitalised."""
    if _is_known(place) and script_of(folded) == "latin":
        return False
    return _is_common_word(folded, words)


def _is_common_word(folded: str, words: frozenset[str]) -> bool:
    """A folded name that is an everyday word, also with an Arabic or Hebrew proclitic."""
    if folded in words:
        return True
    clitics = ARABIC_PROCLITICS | HEBREW_PROCLITICS
    bare = folded
    for _ in range(2):
        if len(bare) > 2 and bare[0] in clitics:
            bare = bare[1:]
            if bare in words:
                return True
    return False


def _admin_forms(name: str) -> set[str]:
    """ "Nineveh province", "محافظة نينوى": a governorate named with its kind."""
    folded = fold_name(name)
    if script_of(folded) == "arabic":
        return {f"محافظه {folded}"}
    return {f"{folded} {word}" for word in ("province", "governorate", "state")}


def _is_acronym(name: str) -> bool:
    letters = [ch for ch in name if ch.isalpha()]
    return bool(letters) and len(letters) <= 5 and all(ch.isupper() for ch in letters)


def _bounded(text: str, start: int, end: int, script: str) -> bool:
    if end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        return False  # a key ending in a sign ("US$") may touch what follows ("US$5")
    clitics = (
        ARABIC_PROCLITICS if script == "arabic" else HEBREW_PROCLITICS if script == "hebrew"
        else frozenset()
    )  # fmt: skip
    left = start
    while left > 0 and start - left < 2 and text[left - 1] in clitics:
        left -= 1
    return left == 0 or not text[left - 1].isalnum()


def _leftmost_longest(found: list[tuple[int, int, str]]) -> Iterable[tuple[int, int, str]]:
    taken_until = -1
    for start, end, key in sorted(found, key=lambda f: (f[0], -(f[1] - f[0]))):
        if start >= taken_until:
            taken_until = end
            yield start, end, key


def _inside_longer_name(script: str, before: str | None, after: str | None) -> bool:
    """ "Damascus Gate", "Baghdad Street", "New Mexico", "شارع بغداد": part of another name."""
    if script == "latin":
        if after is not None and after[:1].isupper() and _plain(after) in NAMED_HEADS:
            return True
        return (after is not None and _plain(after) in FEATURE_HEADS) or before == "New"
    return before is not None and before in FEATURE_HEADS_BEFORE


def _names_a_water_body(text: str, start: int, before: str | None) -> bool:
    """ "Gulf of Mexico", "Bay of Bengal": the name ends a sea's or a gulf's."""
    return _plain(_word_before_of(text, start, before)) in WATER_HEADS


def _word_before_of(text: str, start: int, before: str | None) -> str:
    """The word before "of" when `before`, the word before the name, is "of" ("City" in "City
    of Athens", "Gulf" in "Gulf of Mexico"); "" otherwise."""
    if before is None or _plain(before) != "of":
        return ""
    return _previous_word(text, text.rindex(before, max(0, start - 50), start)) or ""


def _weight(field: str, start: int) -> float:
    if field == "title":
        return TITLE_WEIGHT
    return LEAD_WEIGHT if start < LEAD_CHARS else BODY_WEIGHT


# a middle initial and a surname after a name: " P. Benjamin" (not " D. C.")
_MIDDLE_INITIAL = re.compile(r" [A-Z]\. [A-Z][a-z]")
_NEXT_WORD = re.compile(r"\s*([^\W\d_][\w.]*)")
_WORD_AT_END = re.compile(r"[^\W\d_][\w.]*$")


# an Arabic article in lower case with a space after it is the English word: "as", "at", "an"
_AN_ENGLISH_WORD_FIRST = re.compile(r"(?:as|at|an|ad|az|ash) ")
_AFTER_ABD = re.compile(r"(?:\bAbd|\bAbdel|\bAbdul|\bAbdal|\bAbdol|\bAbdu|عبد)[- ]?$", re.I)
# "<word> <Given> <Surname>[ Jr.] of " right before a name: the word, the given name and the
# surname ("O'Neil", "Smith-Jones" too); searched in a window of 60 characters, so linear
_PERSON_OF = re.compile(
    r"(?:([A-Za-z]+)\.? )?([A-Z][a-z]+) ([A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?)"
    r"(?:,? (?:Jr|Sr)\.?)? of $"
)
# "Joyce Glover, 22, Palestine", "Jessica Kay, 18, of Paris": a person's age, then the town
# they live in
_AFTER_AN_AGE = re.compile(r",\s?\d{1,3},\s?(?:of\s)?$")
_AFTER_A_STREET = re.compile(
    r"\b(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Hwy|Highway|Pike)"
    r"\.?,\s*$"
)


def _is_municipal(text: str, start: int, end: int, before: str | None, after: str | None) -> bool:
    """Does the text use the name as a town's: followed by a word only a town has (a mayor,
    a city council, a high school), after "City of", after a street address ("508
    Cumberland St., Lebanon") or a person's age ("Joyce Glover, 22, Palestine")? Windows of a
    few words, so linear on any input."""
    if after is not None:
        word = _plain(after)
        if word in MUNICIPAL_NEXT:
            return True
        then = _word_after(text, end, after)
        if then is not None and (word, _plain(then)) in MUNICIPAL_PAIRS:
            return True
    if _plain(_word_before_of(text, start, before)) in MUNICIPAL_OF:
        return True
    window = max(0, start - 15)
    return bool(
        _AFTER_A_STREET.search(text, window, start) or _AFTER_AN_AGE.search(text, window, start)
    )


def _names_its_people(after: str | None) -> bool:
    """Is the name followed by a word for its people ("Ontario residents", "a Lebanon
    woman")?"""
    return after is not None and _plain(after) in PEOPLE_NEXT


def _ends_a_noun_phrase(text: str, end: int, after: str | None) -> bool:
    """Does the name end its noun phrase: the text's end, a stop, a comma, a possessive, or
    a preposition or verb next ("the Duma in May", "the Duma's", "the Toyota.")?"""
    if after is not None:
        return _word(after) in THING_NEXT
    return end == len(text) or text[end] in END_OF_PHRASE


def _word_after(text: str, end: int, after: str) -> str | None:
    """The word after `after`, which is the word that follows `end`."""
    return _next_word(text, text.index(after, end) + len(after))


def _next_word(text: str, end: int) -> str | None:
    match = _NEXT_WORD.match(text, end, end + 40)
    if match is None or match.start(1) == end:
        return None
    return match.group(1)


def _previous_word(text: str, start: int) -> str | None:
    """The word (letters first, then letters, digits, dots) that ends right before the spaces
    before `start` ("in" for "... in Paris"); None after punctuation ("said, Paris")."""
    window = text[max(0, start - 40) : start]
    if not window[-1:].isspace():
        return None
    tokens = window.rsplit(None, 1)
    if not tokens:
        return None
    match = _WORD_AT_END.search(tokens[-1])
    return match.group(0) if match else None


def _after_a_name(text: str, start: int, before: str | None) -> bool:
    """A GeoNames alternate name right after a capitalised word inside a sentence or after a
    particle ("Ilocos Sur", "Davao del Sur": the Spanish "south", not Tyre's "Sur")."""
    if before is None:
        return False
    if before in PARTICLES:
        return True
    return (
        _name_like(before)
        and _plain(before) not in NOT_A_PERSON_BEFORE
        and not _starts_sentence(text, start, before)
    )


def is_foreign(place: PlaceSpec) -> bool:
    """A GeoNames place below country level outside the region of interest (not curated)."""
    return not place.curated and place.kind != "country" and place.country not in TOWN_LEVEL


def _small_foreign_town(place: PlaceSpec) -> bool:
    return place.kind == "town" and is_foreign(place) and place.population < SMALL_TOWN_POPULATION


def _at_sentence_start(text: str, start: int) -> bool:
    """Does a sentence or a line start at `start` (a few spaces or tabs before it at most)?"""
    head = text[max(0, start - 8) : start].rstrip(" \t")
    return (not head and start < 8) or (bool(head) and head[-1] in SENTENCE_ENDS)


def _starts_sentence(text: str, start: int, before: str) -> bool:
    """Is `before` (the word just before `start`) the first word of a sentence or a line?"""
    head = text[max(0, start - 60) : start].rstrip()
    head = head[: len(head) - len(before)].rstrip()
    return not head or head[-1] in SENTENCE_ENDS


def _plain(word: str) -> str:
    return word.lower().rstrip(".")


def _word(word: str | None) -> str:
    """The word as written, without the stop after it ("said." is "said", "On" stays "On":
    the words that end a phrase are lower case)."""
    return word.rstrip(".") if word else ""


def _name_like(word: str | None) -> TypeGuard[str]:
    """A capitalised word that is not all capitals ("Henderson", not "UN" or "army")."""
    return word is not None and word[:1].isupper() and not word.isupper()
