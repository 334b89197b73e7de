"""Region tagging with the shipped gazetteer: spellings, Arabic and Hebrew, boundaries, the
ambiguity guards, scoring, focus and watchlists."""

from __future__ import annotations

import pytest

from newswire.models import PlaceSpec
from newswire.tag.context import ContextWords
from newswire.tag.names import fold
from tests.builders import CONFIG, TAGGER
from tests.tagging_support import LABELLED, evaluate, load_labelled

GAZETTEER = CONFIG.gazetteer


def ids(text: str, title: str = "") -> dict[str, int]:
    return {r.id: r.mentions for r in TAGGER.tag(title, text).regions}


@pytest.mark.parametrize(
    "spelling",
    [
        "al-Bukamal",
        "Albukamal",
        "Al-Bukamal",
        "Al Bukamal",
        "Abu Kamal",
        "Albu Kamal",
        "Boukamal",
        "AL-BUKAMAL",
        "البوكمال",
        "البو كمال",
        "أبو كمال",
    ],
)
def test_every_spelling_of_al_bukamal_is_one_town(spelling: str) -> None:
    assert ids(f"Explosions were heard in {spelling} on Monday.") == {"sy-albukamal": 1}


def test_arabic_proclitics_letter_forms_and_diacritics() -> None:
    assert ids("قصف على مواقع في والبوكمال") == {"sy-albukamal": 1}
    assert ids("وصلت تعزيزات للبوكمال") == {"sy-albukamal": 1}  # li- + al-
    assert ids("انفجارات في دير الزّور") == {"sy-deir-ez-zor": 1}  # shadda
    assert ids("انفجارات في ديـــر الزور") == {"sy-deir-ez-zor": 1}  # tatweel
    assert ids("وصل وفد من إربيل") == ids("وصل وفد من اربيل") == {"iq-erbil": 1}
    assert "iq-al-qaim" in ids("معبر القائم الحدودي")


def test_hebrew_names_with_attached_prepositions() -> None:
    assert ids("אזעקות בחיפה ובירושלים") == {"il-haifa": 1, "il-jerusalem": 1}


@pytest.mark.parametrize("spelling", ["Deir ez-Zor", "Deir Ezzor", "Deir al-Zor", "Dayr az-Zawr"])
def test_deir_ez_zor_spellings_name_the_city(spelling: str) -> None:
    assert ids(f"Clashes in {spelling} on Monday") == {"sy-deir-ez-zor": 1}


def test_a_governorate_named_with_its_kind_is_the_governorate() -> None:
    assert ids("Clashes in Deir ez-Zor province") == {"sy-dy": 1}
    assert ids("Floods in Nineveh province and in محافظة نينوى") == {"iq-ni": 2}


def test_transliteration_variants_are_generated_not_listed() -> None:
    """Spellings absent from GeoNames and the curated file, reached by the variant rules."""
    assert ids("Flights to Soulaymaniyah resumed") == {"iq-sulaymaniyah": 1}  # u/ou
    assert ids("Protests in Raqqah") == {"sy-raqqa": 1}  # -a/-ah


def test_word_boundaries_are_respected() -> None:
    assert ids("The Qaimakam met Romanesque fans of Iraqistan FC") == {}
    assert ids("Romanian fans") == {"romania": 1}  # a demonym is the country (demonym_only)
    assert ids("Gazette editors in Syriac") == {}
    assert ids("Iranian-backed militias") == {"iran": 1}  # a hyphen is a boundary


def test_latin_names_need_a_capital_and_acronyms_all_capitals() -> None:
    assert ids("us and them in the uae") == {}
    assert ids("US and UAE envoys") == {"united-states": 1, "uae": 1}
    assert ids("a hit single; a van at the marina") == {}


def test_spans_point_at_the_mentions_in_title_and_text() -> None:
    title, text = "Strikes in Albukamal", "Drones hit al-Bukamal and البوكمال."
    (region,) = TAGGER.tag(title, text).regions
    found = [
        (s.field, (title if s.field == "title" else text)[s.start : s.end]) for s in region.spans
    ]
    assert found == [("title", "Albukamal"), ("text", "al-Bukamal"), ("text", "البوكمال")]


def test_spans_survive_folding_that_changes_length() -> None:
    text = "قصف في دِيرِ الزّورِ ثم في البوكمال"
    spans = {r.id: r.spans[0] for r in TAGGER.tag("", text).regions}
    assert text[spans["sy-albukamal"].start : spans["sy-albukamal"].end] == "البوكمال"
    assert text[spans["sy-deir-ez-zor"].start : spans["sy-deir-ez-zor"].end] == "دِيرِ الزّورِ"


def test_hierarchy_and_output_fields() -> None:
    tagging = TAGGER.tag("Strikes in Albukamal", "Albukamal and al-Bukamal; Al-Qaim too.")
    regions = {r.id: r for r in tagging.regions}
    town = regions["sy-albukamal"]
    assert town.mentions == 3
    assert town.parents == ("sy-dy", "syria", "middle-east")
    assert (town.country, town.admin1, town.geonames_id, town.kind) == (
        "SY",
        "SY-DY",
        174448,
        "town",
    )
    assert town.lat == pytest.approx(34.45, abs=0.05)
    assert town.lon == pytest.approx(40.92, abs=0.05)
    assert regions["iq-al-qaim"].parents == ("iq-an", "iraq", "middle-east")
    assert {"sy-albukamal", "sy-dy", "SY-DY", "syria", "SY", "IQ", "syria-iraq-border"} <= (
        tagging.region_ids()
    )


def test_scores_weigh_title_and_lead_and_sum_to_one() -> None:
    body = "Officials met. " * 40  # pushes the last sentence past the lead
    tagging = TAGGER.tag("Talks in Erbil", f"Delegates flew from Baghdad. {body} Kirkuk was named.")
    scores = {r.id: r.score for r in tagging.regions}
    assert scores == {"iq-erbil": 0.5, "iq-baghdad": 0.333, "iq-kirkuk": 0.167}
    assert [r.id for r in tagging.regions] == ["iq-erbil", "iq-baghdad", "iq-kirkuk"]


def test_focus_is_the_country_most_mentioned_and_its_top_place() -> None:
    tagging = TAGGER.tag(
        "Drone strikes near Albukamal",
        "Syrian sources said al-Bukamal was hit. Iraq closed al-Qaim. Syria's army deployed.",
    )
    assert tagging.focus is not None
    assert (tagging.focus.country, tagging.focus.place, tagging.focus.admin1) == (
        "SY",
        "sy-albukamal",
        "SY-DY",
    )
    only_country = TAGGER.tag("", "Iraq votes on Sunday.").focus
    assert only_country is not None and only_country.place == "iraq"
    assert TAGGER.tag("", "No place here.").focus is None


def test_demonyms_tag_their_country_in_english_and_arabic() -> None:
    assert ids("Syrian regime forces and Iraqi militias") == {"syria": 1, "iraq": 1}
    assert ids("مدينة البوكمال السورية المحاذية للحدود العراقية") == {
        "sy-albukamal": 1,
        "syria": 1,
        "iraq": 1,
    }
    assert ids("غارات جوية تركية") == {"turkey": 1}  # the adjective without the article


# -- ambiguity guards -----------------------------------------------------------------------


def test_a_person_named_jordan_is_not_the_country() -> None:
    assert ids("Jordan Henderson scored the winner for Ajax.") == {}
    assert ids("Michael Jordan's sneakers sold for a record.") == {}
    assert ids("King Abdullah of Jordan met Jordan's army chief.") == {"jordan": 2}


def test_georgia_the_state_or_the_country_by_context() -> None:
    assert ids("Georgia Gov. Brian Kemp signed the bill in Atlanta.") == {
        "us-ga": 1,
        "us-atlanta": 1,
    }
    assert ids("Protesters in Tbilisi as Georgia's parliament votes.") == {
        "ge-tbilisi": 1,
        "georgia": 1,
    }


def test_lebanon_in_pennsylvania_is_not_the_country() -> None:
    assert ids("A factory in Lebanon, Pennsylvania, closed.") == {
        "us-lebanon-5197517": 1,  # the town of Lebanon in Pennsylvania (several US Lebanons)
        "us-pa": 1,
    }
    assert ids("Lebanon County commissioners met in Pennsylvania.") == {
        "us-pa-lebanon-county": 1,
        "us-pa": 1,
    }
    assert ids("Syria, Iraq and Lebanon attend.") == {"syria": 1, "iraq": 1, "lebanon": 1}


def test_tripoli_is_libyan_or_lebanese_by_context() -> None:
    assert ids("Clashes in Tripoli, the Libyan capital.") == {"ly-tripoli": 1, "libya": 1}
    assert ids("Clashes in Tripoli, Lebanon.") == {"lb-tripoli": 1, "lebanon": 1}
    assert ids("Gunfire in Tripoli, northern Lebanon's largest city.")["lb-tripoli"] == 1
    assert ids("Clashes in Tripoli overnight.") == {"ly-tripoli": 1}  # the capital by default


def test_sinjar_in_iraq_or_syria_by_context() -> None:
    assert ids("Yazidis returned to Sinjar in Nineveh.") == {"iq-sinjar": 1, "iq-ni": 1}
    assert ids("Shelling hit Sinjar in the Idlib countryside.") == {"sy-sinjar": 1, "sy-id": 1}


def test_a_place_inside_a_longer_name() -> None:
    assert ids("Police closed the Damascus Gate in Jerusalem.") == {"il-jerusalem": 1}
    assert ids("A cafe on Baghdad Street in Damascus.") == {"sy-damascus": 1}
    assert ids("افتتح مطعم في شارع بغداد وسط دمشق") == {"sy-damascus": 1}
    assert ids("Wildfires in New Mexico.") == {"us-nm": 1}  # not Mexico
    assert ids("IRGC Quds Force commanders met.") == {}


def test_a_persons_title_before_a_town_name() -> None:
    assert ids("Sheikh Zayed's legacy was celebrated in Abu Dhabi.") == {"ae-abu-dhabi": 1}


def test_small_towns_need_their_country_in_the_article() -> None:
    # Zakho (95,000 people, not curated) counts only with Iraq or its governorate named too
    assert ids("Flooding in Zakho.") == {}
    assert ids("Flooding in Zakho, in Iraq.") == {"iq-zaxo": 1, "iraq": 1}
    assert ids("Flooding in Zakho, in Duhok governorate.") == {"iq-zaxo": 1, "iq-da": 1}


def test_common_words_are_not_places() -> None:
    """jusText's stop lists: GeoNames lists "مدينة" (city) for Medina and "وان" for Van."""
    assert ids("وقال إن مدينة صغيرة وأن الطريق مغلق") == {}


# -- watchlists -----------------------------------------------------------------------------


def test_watchlists_by_member_and_by_distance_from_the_border() -> None:
    by_member = TAGGER.tag("", "Strikes in al-Bukamal.")
    assert set(by_member.watchlists) == {"syria-iraq-border", "deir-ez-zor"}
    assert by_member.relevant
    # Zakho is no member, but lies within 50 km of the Syria-Iraq border line
    near = TAGGER.tag("", "Flooding in Zakho, in Iraq.")
    assert near.watchlists == ("syria-iraq-border",)
    far = TAGGER.tag("", "A rocket landed near the Green Zone in Baghdad.")
    assert far.watchlists == () and not far.relevant


# -- quality on the labelled set --------------------------------------------------------------


def test_labelled_set_meets_the_targets() -> None:
    items = load_labelled(LABELLED)
    assert sum(i.language == "en" for i in items) >= 60
    assert sum(i.language == "ar" for i in items) >= 15
    countries, places = evaluate(TAGGER, items)
    assert countries.precision >= 0.97, countries.errors
    assert countries.recall >= 0.95, countries.errors
    assert places.precision >= 0.9, places.errors
    assert places.recall >= 0.9, places.errors


def test_a_capital_on_a_stop_list_is_still_a_place() -> None:
    """jusText's English stop list holds "london" (frequent words of Wikipedia): a Latin
    name of a capital or country stays a name (it matches only capitalised); everyday words
    stay words."""
    tagging = TAGGER.tag("", "Talks in London ended on Monday; you can see the side road.")
    assert [(r.name, r.country) for r in tagging.regions] == [("London", "GB")]


def test_a_country_named_only_by_its_demonym_is_flagged() -> None:
    """ "A Palestinian doctor" names the people, not the place: the country is tagged (a
    consumer may want it) with `demonym_only`, which routing weighs less."""
    [people] = TAGGER.tag("", "A Palestinian doctor arrived on Monday.").regions
    assert (people.id, people.demonym_only) == ("palestine", True)
    [place] = TAGGER.tag("", "Officials in Palestine said a Palestinian was hurt.").regions
    assert (place.id, place.demonym_only, place.mentions) == ("palestine", False, 2)
    for text, only in (("قال الرئيس الفلسطيني إن", True), ("قصف في فلسطين", False)):
        [arabic] = TAGGER.tag("", text).regions
        assert (arabic.id, arabic.demonym_only) == ("palestine", only)


def test_a_list_of_countries_is_countries_not_a_town_qualified_by_the_next() -> None:
    """ "Iraq, Iran": Iraq is also a GeoNames alternate name of Arak, a town in Iran; a
    country followed by a comma and another country is a list."""
    tagging = TAGGER.tag("", "Delegations from Syria, Iraq, Iran and Jordan met.")
    assert [r.id for r in tagging.regions] == ["syria", "iraq", "iran", "jordan"]


def test_names_news_uses_for_countries_and_demonyms_of_countries_beyond_the_region() -> None:
    assert [r.country for r in TAGGER.tag("", "Fighting in DR Congo spread.").regions] == ["CD"]
    assert [r.country for r in TAGGER.tag("", "Voters in Northern Ireland").regions] == ["GB"]
    [canada, kabul] = TAGGER.tag("", "A Canadian soldier was hurt in Kabul.").regions
    assert (canada.country, canada.demonym_only, kabul.country) == ("CA", True, "AF")


# --- the world gazetteer (issue 21): towns, provinces, counties, homonyms, people ------------


def countries(text: str) -> list[str | None]:
    return [r.country for r in TAGGER.tag("", text).regions]


def test_a_state_abbreviation_after_a_town_picks_the_us_namesake() -> None:
    """ "Athens, Ga." is the town in Georgia; alone, Athens is the Greek capital."""
    tagged = ids("The rally in Athens, Ga., drew thousands.")
    assert set(tagged) == {"us-athens", "us-ga"}
    assert ids("The rally in Athens drew thousands.") == {"gr-athens": 1}
    assert countries("SOUTH CHARLESTON, W.Va. -- The center opened.") == ["US", "US"]
    assert ids("Paris, Tenn., voted.")["us-tn"] == 1
    assert "fr-paris" not in ids("Paris, Tenn., voted.")


def test_an_abbreviation_is_a_state_only_right_after_a_town_and_a_comma() -> None:
    assert ids("Jane Smith, MD, said the ward was full.") == {}  # a title, not Maryland
    assert ids("He said Ga. was next.") == {}


def test_a_small_namesake_needs_its_state_not_only_its_country() -> None:
    """Paris, Texas (25,000 people) against Paris (2 million): a US article is not enough,
    Texas named is."""
    assert ids("The United States and allies met in Paris.")["fr-paris"] == 1
    assert ids("Paris police said the fair in Texas drew record crowds.")["us-paris"] == 1
    assert "us-alexandria" not in ids("Alexandria police were called.")


def test_a_town_qualified_by_its_province_is_the_one_there() -> None:
    tagged = ids("A concert in London, Ontario, was cancelled.")
    assert tagged == {"ca-london": 1, "ca-on": 1}


def test_small_foreign_towns_and_capitals_need_support() -> None:
    """A town outside the region under 250,000 people and a capital under 100,000 count only
    with their country (or province) in the article: "The Valley" is Anguilla's capital, "Man"
    a city in Ivory Coast."""
    assert ids("The Valley was flooded after the storm.") == {}
    assert ids("Man charged after the crash.") == {}
    assert ids("The Valley, the capital of Anguilla, was flooded.") == {
        "ai-the-valley": 1,
        "anguilla": 1,
    }
    assert countries("A nurse in Gainesville, Florida, fell ill.") == ["US", "US"]


def test_place_names_that_are_people_in_context() -> None:
    """Common given names and surnames (Faker's English lists, at build time) that are place
    names: next to another name they are a person; a town after a given name too."""
    assert ids('"It works," said Mary Wheeler, a teacher.') == {}
    assert ids("Officials said Ben Paul would chair the board.") == {}
    assert ids("Police say Melton Lewis Paris, 51, was found on Friday.") == {}
    assert "us-washington" not in ids("George Washington designed the trail.")
    assert ids("Talks resumed in Washington on Monday.") == {"us-washington": 1}
    assert ids("Mary Ann Wade and Gloria Shirkey were honoured.") == {}
    # a foreign town or province named like a person needs its country ("Nelson", New Zealand)
    assert ids("Nelson scored twice on Saturday.") == {}
    assert countries("Floods in Nelson, New Zealand, closed roads.") == ["NZ", "NZ"]
    assert ids("Virginia lawmakers met.") == {"us-va": 1}  # a state stays an anchor


def test_alternate_names_of_foreign_places_need_support() -> None:
    """A GeoNames alternate of a place under a million people ("Ben" for Bern) does not
    count alone; big cities keep theirs ("Bombay" is Mumbai) and "White House" is a stop name."""
    assert ids("Ben arrived late.") == {}
    assert ids("Floods hit Bombay on Monday.") == {"in-mumbai": 1}
    assert ids("The White House said on Monday that talks would go on.") == {}


def test_provinces_counties_and_countries_of_the_world() -> None:
    assert ids("Cases rose in Hubei province.") == {"cn-hb": 1}
    assert countries("Walker County deputies arrested two men.") == ["US"]
    assert ids("Storms hit Ontario.") == {"ca-on": 1}
    assert ids("Mexico hosts the summit.") == {"mexico": 1}  # the country, not the state
    assert countries("Flu in England and Northern Ireland.") == ["GB"]


def test_the_outlet_country_supports_its_own_towns() -> None:
    """A local paper's "Gainesville" is its own (outlets[].country): the outlet's country
    supports its places as a co-mentioned country would, and no more (Paris stays Paris)."""
    assert ids("Gainesville voters approved the levy.") == {}
    us = {r.id for r in TAGGER.tag("", "Gainesville voters approved the levy.", home="US").regions}
    assert us == {"us-gainesville"}
    for home in (None, "US"):
        assert [r.id for r in TAGGER.tag("", "Talks in Paris ended.", home=home).regions] == [
            "fr-paris"
        ]
    oxford = {
        home: [r.id for r in TAGGER.tag("", "Vandals hit cars in Oxford.", home=home).regions]
        for home in ("US", "GB")
    }
    assert oxford == {"US": ["us-oxford"], "GB": ["gb-oxford"]}


def test_a_local_outlets_area_decides_only_where_the_article_does_not() -> None:
    """`area` of an outlet (its state or province): a Texas paper's Paris and Palestine are
    the Texan towns; an article that names Gaza still means the country."""

    def tagged(text: str, area: str | None) -> list[str]:
        return [r.id for r in TAGGER.tag("", text, home="US", home_area=area).regions]

    assert tagged("Paris police said a man was hurt.", None) == ["fr-paris"]
    assert tagged("Paris police said a man was hurt.", "US-TX") == ["us-paris"]
    assert tagged("Parents in Palestine met on Monday.", "US-TX") == ["us-palestine"]
    assert tagged("Parents in Palestine met on Monday.", None) == ["palestine"]
    gaza = "Protests over the war in Gaza spread as Palestine sought recognition."
    assert tagged(gaza, "US-TX") == ["ps-gaza-strip", "palestine"]
    assert tagged("A Gainesville man was arrested.", "US-TX") == ["us-gainesville-4692746"]


def test_a_stop_name_stays_the_own_name_of_another_place() -> None:
    """ "Salem" is a stop name (an alternate name of Jerusalem), not for Salem, Oregon."""
    assert "us-salem" in ids("Protesters marched in Salem, Oregon.")
    assert "il-jerusalem" not in ids("Salem voters approved it.")


def test_a_foreign_namesake_does_not_blur_what_a_place_of_the_region_tells() -> None:
    """ "Gaza" is also a province of Mozambique and "Lebanon" a dozen US towns: they still
    support the Palestinian Rafah and the Lebanese Arsal."""
    assert "ps-rafah" in ids("Egypt opened the Rafah crossing into Gaza, officials in Cairo said.")
    assert "lb-aarsal" in ids("Syrian refugees in Lebanon's Arsal were told to leave.")


def test_names_that_hold_a_place_and_name_something_else() -> None:
    """`non_places` in regions.yaml: matched as the longest name, then dropped."""
    assert ids("Agence France-Presse reported the deaths.") == {}
    assert ids("The State Duma voted on Tuesday.") == {}
    assert ids("The fund paid US$5 million to the US agency.") == {"united-states": 1}


def test_short_capitals_are_an_acronym_and_alternates_after_a_name_are_part_of_it() -> None:
    """ "FAO" is the organisation, not al-Faw (a GeoNames "Fao"); "Ilocos Sur" and "Davao del
    Sur" are Philippine provinces, not Tyre (Arabic "Sur")."""
    assert ids("Experts from the FAO arrived.") == {}
    assert "iq-al-faw" in ids("Shelling hit Al Faw in Basra.")
    assert "lb-tyre" not in ids("Six students in Ilocos Sur, Philippines, fell ill.")
    assert "lb-tyre" not in ids("Pigs died in Davao del Sur on Monday.")
    assert ids("Paris Fashion Week opened.") == {"fr-paris": 1}  # an event, not a person


def test_every_country_has_its_demonym() -> None:
    """Demonyms of countries the curated file does not list come from countryinfo at build
    ("Nigerian", "Greeks"); they tag the country with `demonym_only`."""
    for text, country in (("A Nigerian doctor arrived.", "nigeria"), ("Greeks voted.", "greece")):
        [people] = TAGGER.tag("", text).regions
        assert (people.id, people.demonym_only) == (country, True)


def test_a_big_town_used_as_a_place_counts_without_its_country() -> None:
    """After "in", "near", "from", a foreign town of 100,000 people counts alone; without the
    cue it still needs its country or state."""
    assert ids("Officials in Gainesville said the fire was out.") == {"us-gainesville": 1}
    assert ids("Gainesville officials said the fire was out.") == {}
    assert ids("Volunteers came from Torrington.") == {}  # 35,000 people: still needs support
    assert ids("Volunteers came from Mansfield.") == {"gb-mansfield": 1}  # the biggest one


def test_names_news_uses_that_iso_does_not() -> None:
    """Older or English names of countries and regions, curated in regions.yaml."""
    for name, country in (("Burma", "MM"), ("Cape Verde", "CV"), ("Swaziland", "SZ"),
                          ("East Timor", "TL"), ("Holland", "NL"), ("Crimea", "UA"),
                          ("Chechnya", "RU"), ("Tibet", "CN")):  # fmt: skip
        assert countries(f"Officials in {name} said talks would resume.") == [country], name
    assert ids("Holland police said the fire in Michigan was out.") == {"us-holland": 1, "us-mi": 1}


# --- evidence from the document itself (issue 21, second pass) ----------------------------


def test_a_name_said_twice_is_not_its_own_support() -> None:
    """Each "Alexandria" used to support the other's Egyptian reading; Virginia decides."""
    text = "When Alexandria police found the body in Virginia, an Alexandria grand jury met."
    assert "us-alexandria" in ids(text)
    assert "eg-alexandria" not in ids(text)
    assert ids("Alexandria and Alexandria again.") == {"eg-alexandria": 2}


def test_a_state_named_like_small_towns_supports_its_own_places() -> None:
    """ "Virginia" is also a small town in Minnesota: the state still tells the others."""
    assert "us-alexandria" in ids("The Alexandria grand jury met in Virginia on Monday.")


def test_a_place_name_on_a_stop_list_keeps_its_small_namesakes() -> None:
    """ "london" is a frequent English word of the stop lists: London, Kentucky is still a
    candidate, and the county and state named beside it pick it."""
    text = "London residents and the Laurel County coordinator in Kentucky cleaned up."
    assert ids(text)["us-london-4298960"] == 1
    assert "gb-london" not in ids(text)


def test_a_county_or_town_of_the_same_country_lifts_a_small_namesake() -> None:
    """Paris (10,000 people, Tennessee) against Paris (2 million): a US county named beside it
    is the article's own country, where the name of the country alone is not."""
    assert "FR" not in countries("Residents of Paris and Henry County got a letter.")
    assert "US" in countries("Residents of Paris and Henry County got a letter.")
    assert ids("The United States and allies met in Paris.")["fr-paris"] == 1


def test_world_cities_named_together_stay_where_they_are_with_a_us_state_beside_them() -> None:
    """Glasgow, Melbourne and Moscow are US towns too, but a list of world cities is no local
    article: an Ohio official beside them does not move them (a round-up of GeoVirus did)."""
    text = "Flights from Glasgow, Melbourne and Moscow were cancelled, Ohio officials said."
    assert countries(text) == ["GB", "AU", "RU", "US"]
    assert countries("Flights from Glasgow and Moscow were cancelled, Ohio officials said.") == [
        "GB",
        "RU",
        "US",
    ]


def test_a_name_used_as_a_towns_is_not_a_country() -> None:
    """A country has no city council, mayor or street addresses."""
    for text in (
        "The Lebanon City Council met on Monday.",
        "A Lebanon woman was charged with arson.",
        "Services will be held at 508 Cumberland St., Lebanon.",
        "The City of Jordan will pave the road.",
    ):
        assert "LB" not in countries(text) and "JO" not in countries(text), text
    assert countries("Lebanon's police said the border was calm.") == ["LB"]
    assert countries("The mayor of Beirut, Lebanon, spoke.") == ["LB", "LB"]
    assert "JO" not in countries("Family of Jordan motorcyclist finds him in a ditch.")


def test_a_name_for_its_people_is_a_state_or_a_province_before_a_town() -> None:
    """Residents, a woman, a girl: a state or a province has them as a town has (a country's
    go by its demonym), so "Ontario residents" is the province, not Ontario, California."""
    assert ids("Ontario residents will vote on Monday.") == {"ca-on": 1}
    assert countries("Virginia residents will vote.") == ["US"]
    assert ids("Georgia residents will vote.") == {"us-ga": 1}  # the state, not the country
    # in international news a country's name may name its people too
    assert "LB" in countries("Lebanon residents in the south fled Israeli strikes.")


def test_an_arabic_article_in_lower_case_before_a_space_is_an_english_word() -> None:
    assert countries("CR 2202, also known as Salt Works Road, was closed.") == []
    assert countries("Clashes in As Salt and as-Salt.") == ["JO"]


def test_a_world_city_used_as_a_towns_in_english_local_words_needs_its_country() -> None:
    """A city council, a mayor, a police department, a resident's age: the words of a town
    run in English. Paris, France named so needs France beside it (US local papers' Paris,
    Athens); Los Angeles and the region of interest's cities keep their own reading."""
    for text in (
        "Paris City Council asked the city manager to expand the plan.",
        "Jessica Kay, 18, of Paris died Saturday. Paris police said the road was wet.",
        "The Athens City Council was given a budget update. Athens Mayor Randy Daniel spoke.",
    ):
        assert countries(text) == [], text
    assert countries("Paris City Council met. France has asked cities to save water.") == [
        "FR",
        "FR",
    ]
    assert countries("Paris police said the road was wet.") == ["FR"]  # no town's words
    # international news (a place outside those countries named): Paris stays in France
    text = "Paris Mayor Anne Hidalgo met Israeli officials in Jerusalem."
    assert countries(text) == ["FR", "IL", "IL"]
    assert countries("The Los Angeles Police Department made an arrest.") == ["US"]
    assert countries("Damascus residents said the bread queues were long.") == ["SY"]


def test_a_name_with_the_article_that_ends_its_phrase_is_a_thing_not_a_town() -> None:
    """A town takes no article: "the Duma" is a parliament, "the Toyota" a car, wherever the
    text ends the phrase there; "the Nice of Russia" and "the San Jose-based court" still
    name the towns, and regions that take "the" are kept."""
    assert "SY" not in countries("The bill was sent to the Duma in May. Duma deputies voted.")
    assert countries("Shells fell on the Duma in Syria again.") == ["SY", "SY"]  # named
    assert countries("The Oldsmobile struck the Toyota. The Toyota was towed.") == []
    assert countries("Sochi could become the Nice of Russia.") == ["RU", "FR", "RU"]
    assert countries("A Santa Clara County ruling by the San Jose-based court stood.") == [
        "US",
        "US",
    ]
    assert countries("The army shelled the Golan.") == ["IL"]
    assert countries("It matches the Virginia On-Time Graduation Rate.") == ["US"]  # "On"
    assert countries("Shelling hit Duma, east of Damascus, on Monday.") == ["SY", "SY"]


def test_a_place_s_own_name_outranks_a_curated_place_s_geonames_alternate() -> None:
    """GeoNames gives Amman (curated) its Greek name, Philadelphia; the US city's own name
    wins. The names config/regions.yaml gives a place still count as its own."""
    assert countries("He lives in Philadelphia.") == ["US"]
    assert countries("A Berea man was charged.") != ["SY"]  # Aleppo's ancient Beroea
    assert countries("Protesters gathered in Amman.") == ["JO"]
    assert ids("Shelling hit Halab on Monday.") == {"sy-aleppo": 1}  # a curated alias


def test_a_name_inside_a_sea_s_or_a_street_s_name_is_no_place() -> None:
    assert countries("Storms in the Gulf of Mexico weakened; the Gulf of Alaska was calm.") == []
    assert countries("The taxi was called to an address in Cleveland Drive.") == []
    assert countries("Police found a lab in the Cascade Motel.") == []
    assert countries("Mexico and Alaska were hit.") == ["MX", "US"]


def test_a_place_s_alternate_name_that_speaks_is_a_person() -> None:
    """ "Ahmad" is a GeoNames name of Al Ahmadi, Kuwait; "Ahmad said" is a man, in every
    mention. A place's own name that speaks, and a country, stay places."""
    assert countries('Tai Ahmad was his friend. "He was kind," Ahmad said.') == []
    assert countries("The U.S. says it will send aid.") == ["US"]
    assert countries("Aleppo said goodbye to its old souk.") == ["SY"]


def test_a_province_named_in_the_article_supports_its_towns_abroad() -> None:
    """London, Ontario is a town of 400,000 beside a capital of 9 million: Ontario (or
    Toronto, in Ontario too) named anywhere makes it the article's London."""
    assert countries("London city council met on Monday. Ontario will pay for the road.") == [
        "CA",
        "CA",
    ]
    assert countries("London city council met. Toronto and Beijing signed a deal.")[0] == "CA"
    assert countries("London city council met on Monday.") == ["GB"]


def test_a_name_capitalised_only_where_any_word_is_is_the_word_it_also_is() -> None:
    """In a title or at a sentence's start every word has a capital: "Sale" there is the word
    when the article writes "sale" too; mid-sentence, and with no lower-case twin, a name."""
    tagged = TAGGER.tag("Monument For Sale", "There are 12 houses for sale on the avenue.")
    assert [r.country for r in tagged.regions] == []
    assert [r.country for r in TAGGER.tag("Monument For Sale", "Prices rose.").regions] == ["MA"]
    assert countries("Turkey prices rose. A turkey costs more this year.") == []
    assert countries("Monument For Sale. There are 12 houses for sale.") == []  # title case
    assert countries("Talks in Turkey ended. A turkey costs more this year.") == ["TR"]
    assert countries("The US envoy told us so.") == ["US"]  # an acronym, not the word "us"


def test_a_surname_particle_before_a_name_is_no_place() -> None:
    assert ids("She lived on Van Dorn Street with Jana Van Voorhis.") == {}
    assert "TR" in countries("An earthquake hit Van, in eastern Turkey.")


def test_a_big_town_used_as_a_towns_counts_without_its_country() -> None:
    """As after "in": a town of 100,000 with a mayor, a council, residents counts alone."""
    assert ids("A Gainesville man was arrested.") == {"us-gainesville": 1}
    assert ids("Gainesville City Commission voted on Monday.") == {"us-gainesville": 1}
    assert ids("Gainesville voters approved the levy.") == {}
    # a London borough has a council too: not Westminster, Colorado
    assert "us-westminster" not in ids("Westminster City Council voted on Monday.")


def test_a_second_level_province_named_like_places_abroad_needs_support() -> None:
    """Norfolk is an English county and a Virginian city: alone it is neither; beside
    Suffolk, or with England, it is the county. A first-level province (Ontario, also a
    Californian town) still counts alone."""
    assert ids("The Norfolk school board met on Monday.") == {}
    assert ids("Flooding hit Norfolk and Suffolk on Monday.") == {"gb-nfk": 1, "gb-sfk": 1}
    assert ids("Farmers in Norfolk, England, lost cattle.") == {"gb-nfk": 1, "gb-eng": 1}
    assert ids("Toronto and Ontario officials met.") == {"ca-toronto": 1, "ca-on": 1}
    assert ids("Ontario officials met.") == {"ca-on": 1}
    # a big town that gives its borough its name keeps it: Reading is the town, as before
    assert ids("He moved to Reading last year.") == {"gb-reading": 1}
    assert ids("Norfolk police said the man was arrested.") == {}


def test_parts_of_peoples_and_institutions_names_are_no_places() -> None:
    """ "Hamid" is an old name of Isparta and "Sam" one of Damascus: not inside a man's name
    or a university's."""
    assert ids("Abdel-Hamid Bassiouni headed home; Abdul Salam missed.") == {}
    assert ids("She applied to Sam Houston State University.") == {}
    assert ids("Tanga Sheri Moon, 34, a caregiver, was charged.") == {}  # a given name after it
    assert ids("Flooding hit Tanga and Dar es Salaam.") == {"tz-25": 1, "tz-dar-es-salaam": 1}
    # a place's own name before a longer name is still the place's
    assert ids("He coached at Georgia Southern University.") == {"georgia": 1}


def test_an_age_before_a_name_makes_it_a_home_town() -> None:
    """The local-news convention "Name, age, town": Palestine, Texas, not the country."""
    text = "Indicted were Joyce Glover, 22, Palestine, and Michael Smith, 49, Palestine."
    assert "PS" not in countries(text)
    assert "PS" not in countries("The Palestine Independent School District met.")
    assert countries("Talks on Palestine resumed in Cairo.") == ["PS", "EG"]


def test_context_words_count_as_whole_words_for_the_places_asked() -> None:
    """One automaton reads an article for every place's context words: a word inside a
    longer one is no hit ("Euphrates" in "Euphratesville"), and only the places asked for
    (the candidates of the article's names) come back."""
    places = [
        PlaceSpec(id="a", name="A", kind="town", context=("Euphrates", "Abu Kamal")),
        PlaceSpec(id="b", name="B", kind="town", context=("euphrates",)),
        PlaceSpec(id="c", name="C", kind="town"),
    ]
    words = ContextWords(places)
    both = frozenset({0, 1, 2})
    assert words.found(both, fold("Shelling along the Euphrates.")) == {0, 1}
    assert words.found(frozenset({1, 2}), fold("Shelling along the Euphrates.")) == {1}
    assert words.found(both, fold("The Euphratesville fair; abu kamalz.")) == set()
    assert words.found(both, fold("Raids near Abu-Kamal (Syria).")) == {0}
    assert words.found(frozenset({2}), fold("the Euphrates")) == set()


def test_two_ambiguous_names_one_inside_the_other_are_those_places() -> None:
    """Athens, Georgia, lies in Georgia, the state: an article naming both and nothing else
    is about them, not Greece's capital and the Caucasus country. A name lends only what the
    article supports for it: beside Greece, Athens is Greek and Georgia the country."""
    jobs = (
        "The jobless rate for the four metro Athens counties rose in February. "
        "Northeast Georgia fared better."
    )
    assert ids(jobs).keys() == {"us-athens", "us-ga"}
    crash = "Both were taken to Northeast Georgia Medical Center in Gainesville for treatment."
    assert ids(crash).keys() == {"us-ga", "us-gainesville-4196586"}  # Gainesville, Georgia
    aid = "Greece said Athens would send aid to Georgia after the earthquake."
    assert countries(aid) == ["GR", "GR", "GE"]
    assert countries("Georgia signed a deal in Tbilisi; Athens was not told.") == ["GE", "GE", "GR"]


def test_a_persons_home_after_their_name_is_a_town_in_local_news() -> None:
    """ "Pamela Rittle of Lebanon" in an obituary, "Galen Miller of Palestine" in a crash report:
    a person's home, a town (here unknown), when the article names nothing abroad. A title
    or an institution before "of" is no home: King Abdullah's and the central bank's Jordan
    stay the country."""
    obituary = "Surviving are son Bryan; half sisters Shirley Stidd of Lebanon and Fay Smith."
    assert "LB" not in countries(obituary)
    crash = "The pickup truck driver, Galen Miller of Palestine, was treated in Darke County."
    assert countries(crash) == ["US"]
    assert "JO" in countries("King Abdullah of Jordan met President Bush in Washington.")
    minister = "Foreign Minister Ayman Safadi of Jordan met the Secretary of State in Washington."
    assert "JO" in countries(minister)
    bank = "The Central Bank of Jordan raised rates, officials in Washington said."
    assert "JO" in countries(bank)
    assert "LB" in countries("Pamela Rittle of Lebanon said Israeli jets flew over Beirut.")


def test_a_saint_is_one_name_however_news_writes_it() -> None:
    """ "St. Petersburg" is Saint Petersburg's own name as much as the Florida city's: the
    bigger city, unless the article places it ("St. Petersburg, Fla.")."""
    russia = "The week gets underway in St. Petersburg and several other Russian cities."
    assert "ru-saint-petersburg" in ids(russia) and "us-st-petersburg" not in ids(russia)
    assert "us-st-petersburg" in ids("A boat sank off St. Petersburg, Fla., on Sunday.")
    assert "ru-saint-petersburg" in ids("Talks were held in Saint Petersburg.")


def test_a_name_before_a_middle_initial_or_who_is_a_persons() -> None:
    """ "the Judah P. Benjamin Award" (Judah: Jeddah's old name), "Carlow who spoke": a person.
    "Jordan, who", with its comma, may be the country."""
    assert countries("She received the Judah P. Benjamin Award on Friday.") == []
    assert countries("The case was turned over to Carlow who spoke with the family.") == []
    assert countries("Jordan B. Peterson spoke in Toronto.") == ["CA"]
    assert "IE" in countries("Flooding hit Carlow on Monday, and Carlow residents left.")
    assert countries("Jordan, who hosts the talks, invited Egypt.") == ["JO", "EG"]


def test_a_capitalised_event_or_zoo_after_a_name_ends_a_longer_name() -> None:
    """ "the Madrid Conference", "the Oslo Accords", "the Santa Ana Zoo": an event's or a
    zoo's own name, not the place as the article's topic; "a Zimbabwe conference" in lower
    case is a conference held there."""
    assert "ES" not in countries("The Madrid Conference for peace in the Middle East met in 1991.")
    assert "NO" not in countries("Under the Oslo Accords, Israel withdrew.")
    assert countries("The male came to Riverbanks from the Santa Ana Zoo.") == []
    assert "ZW" in countries("He spoke at a Zimbabwe conference on immunisation.")


def test_a_foreign_town_that_starts_a_longer_name_is_no_place() -> None:
    """ "a Toyota Camry driven by", "his Isuzu Denver Rodeo was": a town's name before a
    capitalised word that is no place, office, institution or people word, then a word in
    lower case, starts a product's (a team's, a paper's) name. Before such a word it stays."""
    assert countries("The Bronco collided with a Toyota Camry driven by Christina Boren.") == []
    assert countries("He said his Isuzu Denver Rodeo was first damaged in May.") == []
    assert countries("Toyota officials said the plant would close.") == ["JP"]
    assert countries("Researchers at the Wuhan Institute of Virology said so.") == ["CN"]
    assert countries("Rep. Tom Hawk, a Manhattan Democrat, backs the bill.") == ["US"]
