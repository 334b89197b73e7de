"""Tag stage: decide which places an article is about, score them and find its watchlists.

Names are found by mentions.py. Here: "X, Y" keeps the places X inside Y and the Y holding
them ("Tripoli, Lebanon", "Athens, Ga.", "London, Ontario"), both supported. Names that several
places share are resolved by the article's other places (country, governorate, state and
province co-mentions, the outlet's country, curated context words), then by what the name is
(a place's own name before an alternate, a city before its governorate of the same name, a
country before a capital before a town) and by population; a namesake ten times smaller, or a
foreign namesake of a country, needs more than its country. Small GeoNames towns, small
capitals and foreign alternate names count only with support (or, for a town of 100,000,
after "in", "near", "from"). Each place gets a score (its share of the weighted mentions:
title 3, lead 2, body 1) and the article a focus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from newswire.models import (
    Focus,
    Gazetteer,
    PlaceSpec,
    RegionTag,
    Span,
    Tagging,
    WatchlistSpec,
)
from newswire.tag.context import ContextWords
from newswire.tag.gazetteer_build import ALTERNATES_POPULATION, TOWN_LEVEL
from newswire.tag.geo import within
from newswire.tag.mentions import SMALL_TOWN_POPULATION, Mention, NameIndex, is_foreign
from newswire.tag.names import Folded, fold_name, name_variants, saint_forms, stands_as_word

BIG_TOWN = 100_000  # GeoNames towns this size count without their country in the article
BIG_WORLD_TOWN = SMALL_TOWN_POPULATION  # the same outside the region of interest
CONTRIBUTION_CACHE = 100_000  # names' contributions, candidate sets' most specific, remembered
_K = TypeVar("_K")
_V = TypeVar("_V")
NEAR_CACHE = 100_000  # watchlist distances remembered (points are the gazetteer's places)
WORLD_LIST = 2  # names of world cities with namesakes abroad that make an article a world list
HOMONYM_RATIO = 10  # a town this much smaller than a namesake needs more than its country
# countries whose towns English names by their own local government's words (a city
# council, a mayor, a police department, a high school, residents): "Paris City Council"
# in English is a town of theirs before it is Paris, France, in an article naming no place
# elsewhere (local news; with Jerusalem beside it, Paris is Paris)
ENGLISH_LOCAL_GOVERNMENT = frozenset({"US", "CA", "GB", "IE", "AU", "NZ"})
KIND_RANK = {
    "country": 6, "capital": 5, "governorate": 4, "state": 4, "territory": 4, "region": 4,
    "province": 4, "county": 4, "macro_region": 3, "continent": 3, "city": 3,
}  # fmt: skip
ANCHOR_KINDS = frozenset(KIND_RANK) - {"city"}
TOWN_KINDS = frozenset({"town", "capital", "city"})
WIDE_KINDS = frozenset({"country", "macro_region", "continent", "cultural_region"})
# what "the Duma in May" is not: a town, or a province or county named like one
THING_KINDS = TOWN_KINDS | {"governorate", "state", "province", "county"}


@dataclass(frozen=True)
class _Contribution:
    """What one mention tells about the others: the countries and the places below country
    level that all its candidates share, and whether every candidate lies below country
    level (a state, a county, a town: the article is local to those countries)."""

    countries: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    local: bool = False
    world_city: bool = False  # one of its places is a big town with namesakes abroad


class _Choice:
    """A mention's best candidate, whether the article is local news, and the candidate's
    rank (computed when first asked: most mentions count without it)."""

    def __init__(self, best: int, local: bool, rank: Callable[[int], tuple[int, ...]]) -> None:
        self.best, self.local = best, local
        self._rank = rank
        self._ranked: tuple[int, ...] | None = None

    @property
    def ranked(self) -> tuple[int, ...]:
        if self._ranked is None:
            self._ranked = self._rank(self.best)
        return self._ranked


class _Support:
    """Countries and places the article's mentions point to. The name being resolved is left
    out, every mention of it: a name said twice is not its own support ("Alexandria police
    ... an Alexandria grand jury" says nothing of which Alexandria)."""

    def __init__(
        self, keys: list[str], contributions: list[_Contribution], world_list: bool
    ) -> None:
        self._keys = keys
        # candidate -> the other names with a candidate it holds or lies in (set by the
        # tagger once the counts are known: see Tagger._nested_candidates)
        self.nested: dict[int, frozenset[str]] = {}
        self.world_list = world_list  # the article lists world cities (see Tagger._local_to)
        self._countries: Counter[tuple[str, str]] = Counter()
        self._local: Counter[tuple[str, str]] = Counter()
        self._places: Counter[tuple[str, str]] = Counter()
        for key, given in zip(keys, contributions, strict=True):
            for code in given.countries:  # counted in total ("") and per name
                self._countries.update((("", code), (key, code)))
                if given.local:
                    self._local.update((("", code), (key, code)))
            for place in given.places:
                self._places.update((("", place), (key, place)))
        # every country pointed to, in all and by each name: "no other country" in O(1)
        self._all_countries = sum(n for (name, _), n in self._countries.items() if not name)
        self._own_countries: Counter[str] = Counter()
        for (name, _), n in self._countries.items():
            if name:
                self._own_countries[name] += n
        # read as plain dicts: a Counter's default for a missing key is a Python call, and the
        # ranker asks for absent keys tens of times a mention
        self._country_counts = dict(self._countries)
        self._local_counts = dict(self._local)
        self._place_counts = dict(self._places)

    def names_places(self) -> bool:
        """Does any name point to a place below country level?"""
        return bool(self._place_counts)

    def names_countries(self) -> bool:
        """Does any name point to a country?"""
        return bool(self._country_counts)

    def country(self, number: int, code: str) -> int:
        counts = self._country_counts
        return counts.get(("", code), 0) - counts.get((self._keys[number], code), 0)

    def local(self, number: int, code: str) -> int:
        """Support for a country from names that lie below country level there (a state, a
        county, a town)."""
        counts = self._local_counts
        return counts.get(("", code), 0) - counts.get((self._keys[number], code), 0)

    def only_among(self, number: int, codes: Iterable[str]) -> bool:
        """Do the other names point to these countries only (or to none)?"""
        others = self._all_countries - self._own_countries[self._keys[number]]
        return others == sum(self.country(number, code) for code in codes)

    def place(self, number: int, ident: str) -> int:
        counts = self._place_counts
        return counts.get(("", ident), 0) - counts.get((self._keys[number], ident), 0)


class Tagger:
    """A compiled matcher over one gazetteer."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = gazetteer.places
        self._index = {place.id: i for i, place in enumerate(self._places)}
        self._watchlists = gazetteer.watchlists
        self._members = [frozenset(w.members) for w in self._watchlists]
        self._names = NameIndex(gazetteer)
        self._primary = [fold_name(p.name) for p in self._places]
        # the spellings that are a place's own name too: every form of a curated place's given
        # names, and the saint's forms of another's ("St. Petersburg" is Saint Petersburg's)
        self._own_spellings = {
            i: frozenset(k for n in p.curated_names for k in name_variants(n))
            for i, p in enumerate(self._places)
            if p.curated
        }
        for i, own in enumerate(self._primary):
            if saints := saint_forms(own):
                self._own_spellings[i] = self._own_spellings.get(i, frozenset()) | saints
        self._context = ContextWords(self._places)
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # thousands of towns, one parent
        self._ancestors = [_one(shared, tuple(self._walk_up(p))) for p in self._places]
        # each place and its ancestors below country level
        self._regional = [self._below_country(i) for i in range(len(self._places))]
        self._near_cache: dict[tuple[str, float, float], bool] = {}
        self._by_iso = {p.iso_code: p.id for p in self._places if p.iso_code and "-" in p.iso_code}
        self._contributions: dict[tuple[str, tuple[int, ...]], _Contribution] = {}
        self._foreign = [is_foreign(p) for p in self._places]
        # the end of each place's rank, the same in every article: kind, the region of
        # interest first, population
        self._prior = [
            (KIND_RANK.get(p.kind, 2), 0 if foreign else 1, p.population)
            for p, foreign in zip(self._places, self._foreign, strict=True)
        ]
        self._seats = frozenset(i for i, p in enumerate(self._places) if self._names_its_parent(p))
        people = frozenset(fold_name(n) for n in gazetteer.person_names)
        self._person_named = frozenset(
            i
            for i, p in enumerate(self._places)
            if self._is_foreign(i)
            and p.kind in ("town", "province")
            and p.population < ALTERNATES_POPULATION
            and self._primary[i] in people
        )
        # provinces of the second level (England's counties and boroughs, Ireland's counties)
        self._second_level = frozenset(
            i
            for i, p in enumerate(self._places)
            if p.kind == "province"
            and (parent := self._index.get(p.parent or "")) is not None
            and self._places[parent].kind == "province"
        )
        self._shared_provinces = self._provinces_named_like_places_abroad()
        self._anchors = [self._anchor(i) for i in range(len(self._places))]
        # the most specific of a name's candidates, remembered per set of candidates
        self._specific: dict[tuple[int, ...], tuple[int, ...]] = {}

    def _provinces_named_like_places_abroad(self) -> frozenset[int]:
        """Foreign provinces of the second level (England's counties and boroughs, Ireland's
        counties) whose name another country's town, county or province has too (Reading,
        Camden, Norfolk, Kent): not known well enough to count alone. A first-level one
        (Ontario, also a Californian town) still does."""
        countries: dict[str, set[str | None]] = defaultdict(set)
        for i, place in enumerate(self._places):
            if place.kind in ("town", "capital", "county", "province", "state"):
                countries[self._primary[i]].add(place.country)
        return frozenset(
            i
            for i in self._second_level
            if self._is_foreign(i) and countries[self._primary[i]] - {self._places[i].country}
        )

    @property
    def size(self) -> int:
        """How many distinct folded names the matcher knows."""
        return len(self._names.candidates)

    def tag(
        self, title: str, text: str, home: str | None = None, home_area: str | None = None
    ) -> Tagging:
        """The regions the title and text are about, their scores, focus and watchlists.
        `home`, the outlet's country, supports the places there as a co-mentioned country
        would: a local paper's "Gainesville" is its own. `home_area`, a local outlet's state
        or province (ISO 3166-2), as a co-mentioned state would: a Texas paper's Paris."""
        originals = {"title": title, "text": text}
        folded_title, folded_text = Folded.of(title), Folded.of(text)
        mentions = self._names.find("title", title, folded_title)
        mentions += self._names.find("text", text, folded_text)
        words = _written_in_lower_case(mentions, (title, text))
        mentions = self._qualified(self._drop_non_places(mentions, words), originals)
        hints = self._context_hits(mentions, folded_title.text + "\n" + folded_text.text)
        area = self._by_iso.get(home_area) if home_area else None
        regions = self._regions(self._resolve(mentions, hints, home, area))
        watchlists = self._hit_watchlists(regions)
        return Tagging(regions=regions, watchlists=watchlists, focus=_focus(regions))

    def _drop_non_places(self, mentions: list[Mention], words: frozenset[str]) -> list[Mention]:
        """A name the text gives an article and ends there anywhere ("sent to the Duma in May",
        "striking the Toyota.") names a thing, a parliament or a car, not its towns: they
        leave every mention of it, unless the article names their country ("the Duma in
        Syria"; curated places stay too). A name that speaks anywhere ("Ahmad said") is a
        person's, when it is no place's own name (Al Ahmadi's alternate). A name capitalised
        only where any word is, and written in lower case elsewhere in the article, is the
        word there (`words`: "Monument For Sale ... houses for sale")."""
        things = {m.key for m in mentions if m.a_thing}
        people = {m.key for m in mentions if m.speaks and self._alternate_only(m)}
        if not things and not people and not words:
            return mentions
        named = (  # countries the article names by name (their towns stay things' too)
            {
                self._places[m.candidates[0]].country
                for m in mentions
                if len(m.candidates) == 1 and self._is_country(m.candidates[0])
            }
            if things
            else set()
        )
        out = []
        for mention in mentions:
            if mention.key in people or (mention.capitalised_anyway and mention.key in words):
                continue
            if mention.key in things:
                kept = tuple(
                    i
                    for i in mention.candidates
                    if not self._a_plain_town(i) or self._places[i].country in named
                )
                if not kept:
                    continue
                mention = replace(mention, candidates=kept)
            out.append(mention)
        return out

    def _alternate_only(self, mention: Mention) -> bool:
        """Is the name no candidate's own (a GeoNames alternate of each) and no country's
        ("The U.S. says")?"""
        return all(
            self._name_rank(i, mention.key) < 2 and self._places[i].kind not in WIDE_KINDS
            for i in mention.candidates
        )

    def _a_plain_town(self, index: int) -> bool:
        """A town, or a province or county named like one (San José, Costa Rica's)."""
        place = self._places[index]
        return place.kind in THING_KINDS and not place.curated

    def _context_hits(self, mentions: list[Mention], folded: str) -> frozenset[int]:
        """The candidate places whose curated context words occur in the article."""
        return self._context.found(frozenset(i for m in mentions for i in m.candidates), folded)

    # -- context and resolution -------------------------------------------------------------

    def _qualified(self, mentions: list[Mention], originals: dict[str, str]) -> list[Mention]:
        """ "X, Y": a country X followed by a state or town Y of another country is a
        namesake in Y (dropped); a shared name X followed by a country or governorate Y keeps
        the places in Y, and Y the places that hold them: both count as supported."""
        out: list[Mention] = []
        holders: dict[int, tuple[int, ...]] = {}  # Y's index -> its candidates that hold X
        for index, mention in enumerate(mentions):
            if index in holders:
                mention = replace(mention, candidates=holders[index], qualified=True)
            nxt = mentions[index + 1] if index + 1 < len(mentions) else None
            between = originals[mention.field][mention.end : nxt.start] if nxt else ""
            if nxt is None or nxt.field != mention.field or between.strip() != ",":
                out.append(mention)
                continue
            mine = [self._places[i] for i in mention.candidates]
            theirs = [self._places[i] for i in nxt.candidates]
            if all(p.kind == "country" for p in mine) and all(
                p.kind != "country" and p.country not in {m.country for m in mine} for p in theirs
            ):
                continue
            if any(p.kind == "country" for p in mine) and all(p.kind == "country" for p in theirs):
                out.append(mention)  # "Iraq, Iran": a list of countries, not Arak in Iran
                continue
            inside = tuple(i for i in mention.candidates if self._inside_any(i, theirs))
            if inside:
                mention = replace(mention, candidates=inside, qualified=True)
                holders[index + 1] = tuple(
                    j for j in nxt.candidates
                    if any(self._inside_any(i, [self._places[j]]) for i in inside)
                )  # fmt: skip
            out.append(mention)
        return out

    def _inside_any(self, index: int, places: list[PlaceSpec]) -> bool:
        """Is the place inside one of `places`: its country, an ancestor, or a province of its
        country when the gazetteer does not know the place's province (most world towns sit
        under their country: "Lyon, Rhone-Alpes")."""
        place = self._places[index]
        return any(
            (p.kind == "country" and p.country == place.country)
            or p.id in self._ancestors[index]
            or (p.kind == "province" and p.country == place.country and place.admin1 is None)
            for p in places
        )

    def _resolve(
        self,
        mentions: list[Mention],
        hints: frozenset[int],
        home: str | None = None,
        area: str | None = None,
    ) -> list[tuple[Mention, int]]:
        """Each mention with the place it is, or dropped when nothing supports it."""
        contributions = [self._contribution(m) for m in mentions]
        world_cities = {m.key for m, c in zip(mentions, contributions, strict=True) if c.world_city}
        world_list = len(world_cities) >= WORLD_LIST
        support = _Support([m.key for m in mentions], contributions, world_list)
        support.nested = self._nested_candidates(mentions, support)
        # used as a town's somewhere ("Paris City Council", "a Paris girl")
        municipal = {m.key for m in mentions if m.municipal or m.its_people}
        chosen: list[tuple[Mention, int]] = []
        # the support leaves out every mention of the name being resolved, so the mentions
        # of one name with the same candidates and uses rank the same: ranked once
        choices: dict[tuple[str, tuple[int, ...], bool, bool], _Choice] = {}
        for number, mention in enumerate(mentions):
            same = (mention.key, mention.candidates, mention.municipal, mention.its_people)
            choice = choices.get(same)
            if choice is None:
                choice = choices[same] = self._choose(number, mention, support, hints, home, area)
            best = choice.best
            if (
                choice.local
                and mention.key in municipal
                and contributions[number].world_city
                and self._a_namesakes_town(mention, best, choice.ranked)
            ):
                continue
            if (
                mention.qualified
                or self._counts_alone(best, mention.key)
                or any(choice.ranked[2:6])
                or (
                    (mention.located or mention.municipal or mention.its_people)
                    and self._big_enough_where_located(best, mention.key)
                )
            ):
                chosen.append((mention, best))
        return chosen

    def _nested_candidates(
        self, mentions: list[Mention], support: _Support
    ) -> dict[int, frozenset[str]]:
        """For each candidate, the other names with a candidate it holds or lies in, below
        country level ("Athens" and "Georgia": Athens, Georgia, in the state of Georgia). A
        name lends only the candidates in the countries the article supports most for it
        ("Greece said Athens would help Georgia": Athens is Greek, and lends Georgia, the
        state, nothing); that is asked only of the few names in such a pair."""
        if len({m.key for m in mentions}) < 2:
            return {}
        holders: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        for number, mention in enumerate(mentions):
            for i in mention.candidates:
                holders[self._places[i].id].append((number, i))
        lent: dict[int, tuple[int, ...]] = {}

        def lends(number: int, index: int) -> bool:
            if number not in lent:
                lent[number] = self._best_supported(number, mentions[number], support)
            return index in lent[number]

        nested: defaultdict[int, set[str]] = defaultdict(set)
        for number, mention in enumerate(mentions):
            for i in mention.candidates:
                for ident in self._regional[i]:  # the place and its ancestors below country
                    for other, j in holders.get(ident, ()):
                        if mentions[other].key == mention.key:
                            continue
                        if lends(other, j):  # j is i, or holds it
                            nested[i].add(mentions[other].key)
                        if j != i and lends(number, i):
                            nested[j].add(mention.key)
        return {i: frozenset(keys) for i, keys in nested.items()}

    def _best_supported(self, number: int, mention: Mention, support: _Support) -> tuple[int, ...]:
        """The mention's candidates in the countries the other names support most."""
        scores = [
            max((support.country(number, c) for c in self._countries_of(i)), default=0)
            for i in mention.candidates
        ]
        most = max(scores)
        return tuple(
            i for i, score in zip(mention.candidates, scores, strict=True) if score == most
        )

    def _choose(
        self,
        number: int,
        mention: Mention,
        support: _Support,
        hints: frozenset[int],
        home: str | None,
        area: str | None,
    ) -> _Choice:
        """The candidate the mention is, if it is a place: the best the text allows."""
        rank = self._ranker(number, mention, support, hints, (home, area))
        # local news: the other names are all in countries that English governs locally
        local = support.only_among(number, ENGLISH_LOCAL_GOVERNMENT)
        allowed = self._as_used(mention, local)
        best = allowed[0] if len(allowed) == 1 else max(allowed, key=rank)
        return _Choice(best, local, rank)

    def _a_namesakes_town(self, mention: Mention, best: int, ranked: tuple[int, ...]) -> bool:
        """A world city named as a town in local news ("Paris City Council"), with nothing
        placing it (no country, region or home of its own): a namesake's town, which one
        unknown."""
        return (
            not mention.qualified and self._governed_in_other_words(best) and not any(ranked[2:6])
        )

    def _governed_in_other_words(self, index: int) -> bool:
        """Is the place a town abroad whose local government English words do not name
        (Paris, Athens: not Los Angeles or Dublin; nor the region of interest's Alexandria or
        Damascus, whose "residents" the service's own outlets write of)?"""
        return self._is_foreign(index) and self._places[index].country not in (
            ENGLISH_LOCAL_GOVERNMENT
        )

    def _contribution(self, mention: Mention) -> _Contribution:
        """What a mention tells about the others: the countries and places (with their
        governorates) that all its candidates share, when all of them are well-known places.
        A name the region of interest (or a curated place) has is read as that place ("Gaza",
        not Gaza Province, Mozambique; "Lebanon", not one of the US towns). Remembered per
        name and candidates (the same names recur from article to article)."""
        key = (mention.key, mention.candidates)
        return _remembered(self._contributions, key, lambda: self._shared_by(mention))

    def _shared_by(self, mention: Mention) -> _Contribution:
        world_city = self._names_a_world_city(mention)
        candidates = self._by_own_name(mention)
        candidates = tuple(i for i in candidates if not self._is_foreign(i)) or candidates
        candidates = self._over_small_towns(candidates)
        if not all(self._tells_others(i) for i in candidates):
            return _Contribution(world_city=world_city)
        countries = frozenset.intersection(*(frozenset(self._countries_of(i)) for i in candidates))
        first, *others = (self._regional[i] for i in candidates)
        places = frozenset(first).intersection(*others)
        local = all(self._places[i].kind not in WIDE_KINDS for i in candidates)
        return _Contribution(countries, places, local, world_city)

    def _over_small_towns(self, candidates: tuple[int, ...]) -> tuple[int, ...]:
        """A state, province or country named like small towns elsewhere is what the name
        tells the others about ("Virginia": the state, not Virginia, Minnesota)."""
        areas = tuple(
            i
            for i in candidates
            if self._tells_others(i) and self._places[i].kind not in TOWN_KINDS
        )
        if areas and all(
            i in areas or (self._places[i].kind == "town" and not self._is_anchor(i))
            for i in candidates
        ):
            return areas
        return candidates

    def _own_name(self, index: int, key: str) -> bool:
        """Is `key` the place's own name, or any name of a curated place (`_name_rank` 1 or
        2), not a GeoNames alternate of another?"""
        return self._name_rank(index, key) > 0

    def _name_rank(self, index: int, key: str) -> int:
        """How much the name is the place's: 2 its GeoNames name (however it writes a saint:
        "St. Petersburg" is Saint Petersburg's) or one config/regions.yaml gives it, 1 a
        GeoNames alternate of a curated place, 0 another alternate. "Philadelphia" is the US
        city's name before it is Amman's Greek one."""
        if self._primary[index] == key or key in self._own_spellings.get(index, ()):
            return 2
        return 1 if self._places[index].curated else 0

    def _by_own_name(self, mention: Mention) -> tuple[int, ...]:
        own = tuple(i for i in mention.candidates if self._own_name(i, mention.key))
        return own or mention.candidates

    def _below_country(self, index: int) -> tuple[str, ...]:
        chain = (self._places[index].id, *self._ancestors[index])
        return tuple(p for p in chain if self._places[self._index[p]].kind not in WIDE_KINDS)

    def _ranker(
        self,
        number: int,
        mention: Mention,
        support: _Support,
        hints: frozenset[int],
        home: tuple[str | None, str | None] = (None, None),
    ) -> Callable[[int], tuple[int, ...]]:
        """The key that orders a mention's candidates: curated context, own name, the
        article's support for the place's governorate or state and for its country, another
        name's place it lies in or holds (Athens in Georgia, both ambiguous), then the outlet's
        home (a prior: it decides only where the article does not), kind, the region of
        interest, population. Items 2 to 5 are the article's or outlet's support: a place
        with any of them counts without being an anchor."""
        country_home, area_home = home
        largest = max(self._places[i].population for i in mention.candidates)
        a_country = any(self._places[i].kind == "country" for i in mention.candidates)
        # what most articles lack is not looked up for each of a name's candidates
        any_place, any_country = support.names_places(), support.names_countries()
        local_to: dict[str, bool] = {}

        def is_local_to(country: str) -> bool:
            if country not in local_to:
                local_to[country] = self._local_to(number, country, support)
            return local_to[country]

        def rank(index: int) -> tuple[int, ...]:
            place = self._places[index]
            # a small namesake of a big place is not chosen for its country alone (Paris,
            # Texas over Paris in an article that names the US): its state must be named; nor
            # is a namesake of a country (Luxembourg, the Belgian province) unless curated (the
            # state of Georgia)
            if place.kind == "country" or place.curated:
                by_country = True
            elif a_country:
                by_country = False
            else:
                by_country = (
                    place.population * HOMONYM_RATIO >= largest
                    or place.kind != "town"
                    or (any_country and place.country is not None and is_local_to(place.country))
                )
            if area_home is not None and area_home in self._regional[index]:
                at_home = 2
            elif by_country and country_home in self._countries_of(index):
                at_home = 1
            else:
                at_home = 0
            nested = support.nested.get(index)
            return (
                1 if index in hints else 0,
                self._name_rank(index, mention.key),
                sum(support.place(number, p) for p in self._regional[index]) if any_place else 0,
                sum(support.country(number, c) for c in self._countries_of(index))
                if by_country and any_country
                else 0,
                1 if nested and nested - {mention.key} else 0,
                at_home,
                *self._prior[index],
            )

        return rank

    @staticmethod
    def _local_to(number: int, country: str, support: _Support) -> bool:
        """Is the article local to the country: a state, county or town of it named, no
        other country's place, and not a list of world cities ("flights from Glasgow,
        Melbourne and Moscow", each also a US town)?"""
        return (
            not support.world_list
            and support.local(number, country) > 0
            and support.only_among(number, (country,))
        )

    def _names_a_world_city(self, mention: Mention) -> bool:
        """Is one of the name's places a big town or capital with namesakes abroad?"""
        places = [self._places[i] for i in mention.candidates]
        return len({p.country for p in places}) > 1 and any(
            p.kind in TOWN_KINDS and p.population >= BIG_WORLD_TOWN for p in places
        )

    def _as_used(self, mention: Mention, local: bool) -> tuple[int, ...]:
        """The candidates the text allows: the most specific, and towns where the text uses
        the name as a town's ("Lebanon City Council": not the country), and, in `local` news,
        no country where it names its people ("a Lebanon woman"; but "Lebanon residents fled
        Israeli strikes")."""
        candidates = self._most_specific(mention.candidates)
        if mention.municipal:
            towns = tuple(i for i in candidates if self._is_municipality(i))
            return towns or candidates
        if mention.its_people and local:  # a country's people go by its demonym
            below = tuple(i for i in candidates if self._places[i].kind not in WIDE_KINDS)
            return below or candidates
        return candidates

    def _is_municipality(self, index: int) -> bool:
        """A town, or a district with a council of its own (a London borough: "Westminster
        City Council")."""
        return self._places[index].kind in TOWN_KINDS or index in self._second_level

    def _most_specific(self, candidates: tuple[int, ...]) -> tuple[int, ...]:
        return _remembered(self._specific, candidates, lambda: self._most_specific_of(candidates))

    def _most_specific_of(self, candidates: tuple[int, ...]) -> tuple[int, ...]:
        """A city and its governorate of the same name: the name is the city's; so is the
        name of a big town and the district of its country named after it (Reading, the
        borough; but Hounslow, a smaller town, stays the borough's too).
        A country stays a candidate (Mexico, not the State of Mexico)."""
        if len(candidates) == 1:
            return candidates
        ids = {self._places[i].id for i in candidates}
        # the candidates another candidate lies inside
        outer = {a for i in candidates for a in self._ancestors[i] if a in ids}
        towns = {  # big towns: a district named after one is the town's name
            (self._places[i].country, self._primary[i])
            for i in candidates
            if self._places[i].kind in TOWN_KINDS and self._is_anchor(i)
        }
        inner = tuple(
            i
            for i in candidates
            if (self._places[i].id not in outer or self._is_country(i))
            and not (
                i in self._second_level and (self._places[i].country, self._primary[i]) in towns
            )
        )
        return inner or candidates

    def _is_country(self, index: int) -> bool:
        return self._places[index].kind == "country"

    def _is_foreign(self, index: int) -> bool:
        """A GeoNames place below country level outside the region of interest."""
        return self._foreign[index]

    def _big_enough_where_located(self, index: int, key: str) -> bool:
        """After "in", "near", "from" the text uses the name as a place: a town of 100,000
        named by its own name counts without its country ("a fire in Gainesville"), unless
        the name is also a person's."""
        place = self._places[index]
        return (
            self._own_name(index, key)
            and index not in self._person_named
            and place.population >= BIG_TOWN
        )

    def _counts_alone(self, index: int, key: str) -> bool:
        """An anchor named by its own name; outside the region of interest a GeoNames
        alternate name of a place under a million people ("Ben" for Bern) needs support."""
        place = self._places[index]
        if self._is_foreign(index) and not self._own_name(index, key):
            return place.population >= ALTERNATES_POPULATION and self._is_anchor(index)
        return self._is_anchor(index)

    def _tells_others(self, index: int) -> bool:
        """Known well enough to support the article's other names: an anchor, or a province
        of the second level named like places abroad (Norfolk and Suffolk support each other,
        though Norfolk alone does not count)."""
        return self._is_anchor(index) or index in self._shared_provinces

    def _is_anchor(self, index: int) -> bool:
        return self._anchors[index]

    def _anchor(self, index: int) -> bool:
        """Known well enough to count without support: curated places, countries, capitals
        of 100,000 people or more, governorates, states and provinces, big towns (100,000 in
        the region of interest, 250,000 elsewhere: "Man", Ivory Coast, needs its country) and
        the towns that give their governorate its name. Outside the region, a place under a
        million people named like a person is no anchor ("Mary", Turkmenistan's province;
        "Nelson", New Zealand's; not a state: Virginia), nor is a province of the second level
        named like a place abroad (Norfolk, also a Virginian city)."""
        place = self._places[index]
        if place.curated or index in self._seats:
            return True
        if index in self._person_named or index in self._shared_provinces:
            return False
        if place.kind == "capital":
            return place.population >= BIG_TOWN
        big = BIG_TOWN if place.country in TOWN_LEVEL else BIG_WORLD_TOWN
        return place.kind in ANCHOR_KINDS or place.population >= big

    def _countries_of(self, index: int) -> tuple[str, ...]:
        place = self._places[index]
        return place.countries or ((place.country,) if place.country else ())

    # -- output -----------------------------------------------------------------------------

    def _regions(self, resolved: list[tuple[Mention, int]]) -> tuple[RegionTag, ...]:
        by_place: dict[int, list[Mention]] = defaultdict(list)
        for mention, index in resolved:
            by_place[index].append(mention)
        total = sum(m.weight for m, _ in resolved) or 1.0
        tags = [(self._region(i, found, total), _first(found)) for i, found in by_place.items()]
        return tuple(tag for tag, _ in sorted(tags, key=lambda t: (-t[0].score, t[1])))

    def _region(self, index: int, found: list[Mention], total: float) -> RegionTag:
        place = self._places[index]
        weight = sum(m.weight for m in found)
        return RegionTag(
            id=place.id,
            name=place.name,
            kind=place.kind,
            country=place.country,
            mentions=len(found),
            parents=self._ancestors[index],
            geonames_id=place.geonames_id,
            admin1=place.admin1,
            lat=place.lat,
            lon=place.lon,
            score=round(weight / total, 3),
            spans=tuple(Span(m.field, m.start, m.end) for m in found),
            countries=place.countries,
            demonym_only=all(index in self._names.demonyms.get(m.key, ()) for m in found),
        )

    def _hit_watchlists(self, regions: tuple[RegionTag, ...]) -> tuple[str, ...]:
        hits = []
        for watchlist, members in zip(self._watchlists, self._members, strict=True):
            for region in regions:
                if region.score < watchlist.min_score:
                    continue
                near = self._near(watchlist, region)
                if region.ids() & members or near:
                    hits.append(watchlist.id)
                    break
        return tuple(hits)

    def _near(self, watchlist: WatchlistSpec, region: RegionTag) -> bool:
        """Is the region within one of the watchlist's areas (remembered per point)?"""
        if region.lat is None or region.lon is None or not watchlist.areas:
            return False
        key = (watchlist.id, region.lat, region.lon)
        found = self._near_cache.get(key)
        if found is None:
            found = any(within(area, region.lat, region.lon) for area in watchlist.areas)
            if len(self._near_cache) < NEAR_CACHE:
                self._near_cache[key] = found
        return found

    def _names_its_parent(self, place: PlaceSpec) -> bool:
        """A town that shares a name with its governorate (Daraa in Dar'a governorate)."""
        if place.kind != "town" or place.parent is None:
            return False
        parent = self._places[self._index[place.parent]]
        if parent.kind not in ("governorate", "region"):
            return False
        return bool({fold_name(n) for n in place.names} & {fold_name(n) for n in parent.names})

    def _walk_up(self, place: PlaceSpec) -> Iterator[str]:
        seen = {place.id}
        while place.parent and place.parent not in seen:
            seen.add(place.parent)
            place = self._places[self._index[place.parent]]
            yield place.id


def _remembered(cache: dict[_K, _V], key: _K, compute: Callable[[], _V]) -> _V:
    """`cache[key]`, computed on first use; the cache stops growing at CONTRIBUTION_CACHE
    entries (names and candidate sets recur from article to article)."""
    found = cache.get(key)
    if found is None:
        found = compute()
        if len(cache) < CONTRIBUTION_CACHE:
            cache[key] = found
    return found


def _one(shared: dict[tuple[str, ...], tuple[str, ...]], chain: tuple[str, ...]) -> tuple[str, ...]:
    """The same chain of ancestors as one tuple for all the places that have it."""
    return shared.setdefault(chain, chain)


def _first(found: list[Mention]) -> tuple[bool, int]:
    return min((m.field != "title", m.start) for m in found)


def _countries(region: RegionTag) -> tuple[str, ...]:
    return region.countries or ((region.country,) if region.country else ())


def _written_in_lower_case(mentions: list[Mention], fields: tuple[str, ...]) -> frozenset[str]:
    """The one-word names capitalised only where any word is (a title, a sentence's start)
    that the article also writes as a word in lower case."""
    asked = {m.key for m in mentions if m.capitalised_anyway and m.key.isalpha()}
    return frozenset(key for key in asked if any(stands_as_word(key, field) for field in fields))


def _focus(regions: tuple[RegionTag, ...]) -> Focus | None:
    """The country with the most weighted mentions (a place counts for its countries) and its
    top place below country level, else the country itself. Ties go to the region listed
    first (higher score, then mentioned earlier)."""
    by_country: defaultdict[str, float] = defaultdict(float)
    for region in regions:
        for code in _countries(region):
            by_country[code] += region.score
    if not by_country:
        return None
    country = max(by_country, key=lambda c: by_country[c])
    inside = [r for r in regions if r.country == country and r.kind != "country"]
    if inside:
        top = max(inside, key=lambda r: (r.score, -KIND_RANK.get(r.kind, 2)))
    else:
        top = next(r for r in regions if country in _countries(r))
    return Focus(country=country, place=top.id, name=top.name, admin1=top.admin1)
