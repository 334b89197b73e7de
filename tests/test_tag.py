"""Region tagging with the shipped gazetteer: spellings, Arabic, boundaries, hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.config import load_config
from newswire.tag import Tagger, fold, name_variants

REPO_CONFIG = Path(__file__).parents[1] / "config"
TAGGER = Tagger(load_config(REPO_CONFIG, environ={}).gazetteer)


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
        "Boukamal",
        "البوكمال",
        "AL-BUKAMAL",
    ],
)
def test_every_spelling_of_al_bukamal_is_one_town(spelling: str) -> None:
    assert ids(f"Explosions were heard in {spelling} on Monday.") == {"sy-albukamal": 1}


def test_arabic_with_attached_conjunction_and_letter_forms() -> None:
    assert ids("قصف على مواقع في والبوكمال") == {"sy-albukamal": 1}
    assert ids("انفجارات في دير الزّور") == {"sy-deir-ez-zor": 1}  # with shadda
    assert "iq-al-qaim" in ids("معبر القائم الحدودي")


@pytest.mark.parametrize("spelling", ["Deir ez-Zor", "Deir Ezzor", "Deir al-Zor", "Dayr az-Zawr"])
def test_governorate_spellings(spelling: str) -> None:
    assert ids(f"The {spelling} area") == {"sy-deir-ez-zor": 1}


def test_word_boundaries_are_respected() -> None:
    assert ids("The Qaimakam met Romanian fans of Iraqistan FC") == {}
    assert ids("Gazette editors in Syriac") == {}
    assert ids("Iranian-backed militias") == {"iran": 1}  # a hyphen is a boundary


def test_mentions_are_counted_across_title_and_text_with_hierarchy() -> None:
    tagging = TAGGER.tag("Strikes in Albukamal", "Albukamal and al-Bukamal; Al-Qaim too.")
    regions = {r.id: r for r in tagging.regions}
    assert regions["sy-albukamal"].mentions == 3
    assert regions["sy-albukamal"].parents == ("sy-deir-ez-zor", "syria", "middle-east")
    assert regions["sy-albukamal"].country == "SY"
    assert regions["iq-al-qaim"].parents == ("iq-anbar", "iraq", "middle-east")
    assert tagging.watchlists == ("syria-iraq-border",)
    assert {
        "sy-albukamal",
        "sy-deir-ez-zor",
        "syria",
        "SY",
        "IQ",
        "syria-iraq-border",
    } <= tagging.region_ids()


def test_demonyms_tag_their_country() -> None:
    assert ids("Syrian regime forces and Iraqi militias") == {"syria": 1, "iraq": 1}


def test_arabic_demonyms_with_the_article_tag_their_country() -> None:
    assert ids("مدينة البوكمال السورية المحاذية للحدود العراقية") == {
        "sy-albukamal": 1,
        "syria": 1,
        "iraq": 1,
    }


def test_no_watchlist_without_its_places() -> None:
    assert TAGGER.tag("", "A rocket landed near the Green Zone in Baghdad.").watchlists == ()


def test_fold_and_variants() -> None:
    assert fold("Al-Bukamal") == "al bukamal"
    assert fold("أربيل") == fold("اربيل")
    assert name_variants("Al-Bukamal") == {"al bukamal", "albukamal"}
    assert name_variants("Albukamal") == {"albukamal", "al bukamal"}
