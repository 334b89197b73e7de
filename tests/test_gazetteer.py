"""The gazetteer: the packaged GeoNames base and the curated merge and its errors (the rebuild,
byte for byte, is tested through the CLI in test_cli)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.catalog import RegionList
from newswire.config import load_config
from newswire.errors import ConfigError
from newswire.tag.gazetteer import base_places, build_gazetteer
from newswire.tag.geo import km_between, km_to_line

REPO_CONFIG = Path(__file__).parents[1] / "config"


def test_base_levels_and_hierarchy() -> None:
    places = {p.id: p for p in base_places()}
    assert places["syria"].kind == "country" and places["syria"].parent == "middle-east"
    assert places["sy-dy"].iso_code == "SY-DY" and places["sy-dy"].parent == "@SY"
    town = places["sy-albu-kamal"]
    assert (town.geonames_id, town.admin1, town.parent) == (174448, "SY-DY", "sy-dy")
    assert "أبو كمال" in town.names and "Abu Kamal" in town.names
    # the Kurdistan Region's governorates sit under the region (ISO 3166-2 parent codes)
    assert places["iq-ar"].parent == "iq-kr"
    # outside the Middle East and North Africa: towns of 30,000 people (5,000 in the US) by
    # their own name, under their country (a US town under its state), and provinces
    assert places["fr-paris"].kind == "capital"
    french = [p for p in places.values() if p.country == "FR" and p.kind == "town"]
    assert french and min(p.population for p in french) >= 30_000
    assert places["fr-marseille"].names == ("Marseille",)
    assert places["us-gainesville"].parent == "us-fl" and places["us-gainesville"].admin1 == "US-FL"
    # so are the towns of Canada, Australia, the UK and Ireland, under their province
    assert (places["ca-london"].parent, places["ca-london"].admin1) == ("ca-on", "CA-ON")
    assert places["au-perth"].parent == "au-wa" and places["gb-london"].parent == "gb-eng"
    us_towns = [p.population for p in places.values() if p.country == "US" and p.kind == "town"]
    assert 5_000 <= min(us_towns) < 15_000
    assert "Bombay" in places["in-mumbai"].names  # a city of millions keeps its alternates
    assert places["ca-on"].kind == "province" and places["ca-on"].names == ("Ontario",)
    assert places["cn-hb"].name == "Hubei"  # "Hubei Sheng" as news writes it
    assert places["gb-eng"].name == "England"
    county = places["us-ga-walker-county"]
    assert (county.kind, county.parent, county.country) == ("county", "us-ga", "US")
    # names are filtered: no lower-case romanisations or codes
    assert all(n != n.lower() or not n.isascii() for p in places.values() for n in p.names)


def test_every_syrian_and_iraqi_governorate_has_towns_under_it() -> None:
    places = base_places()
    for code in ("SY", "IQ"):
        governorates = {p.id for p in places if p.country == code and p.kind == "governorate"}
        with_towns = {p.parent for p in places if p.country == code and p.kind == "town"}
        assert governorates - with_towns <= {"iq-kr"}, code


def test_curated_entries_merge_into_geonames_places_and_keep_their_ids() -> None:
    gazetteer = load_config(REPO_CONFIG, environ={}).gazetteer
    places = {p.id: p for p in gazetteer.places}
    town = places["sy-albukamal"]
    assert town.curated and town.geonames_id == 174448 and town.parent == "sy-dy"
    assert {"Boukamal", "Al-Bukamal", "Abu Kamal"} <= set(town.names)
    assert "sy-albu-kamal" not in places  # renamed, not duplicated
    assert "Ariel" not in places["il-jerusalem"].names  # excluded alternate names
    assert places["sy-baghuz"].geonames_id is None and places["sy-baghuz"].admin1 == "SY-DY"
    assert places["turkey"].country == "TR"  # "turkiye" in the base, renamed


def _regions(raw: dict[str, object]) -> RegionList:
    return RegionList.model_validate(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"places": [{"id": "x", "geonames_id": 1}]}, "no GeoNames place 1"),
        ({"places": [{"id": "x", "name": "X"}]}, "needs a name and a kind"),
        ({"places": [{"id": "x", "name": "X", "kind": "town", "parent": "nowhere"}]},
         "parent 'nowhere' is not a place"),
        ({"watchlists": [{"id": "w", "name": "W", "members": ["atlantis"]}]},
         "unknown members ['atlantis']"),
    ],
)  # fmt: skip
def test_bad_curated_entries_are_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_gazetteer(_regions(raw))


def test_a_bad_regions_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    for name in ("newswire.yaml", "feeds.yaml"):
        (tmp_path / name).write_text((REPO_CONFIG / name).read_text())
    (tmp_path / "regions.yaml").write_text("places:\n  - {id: x, geonames_id: 1}\n")
    with pytest.raises(ConfigError, match=r"regions.yaml: place 'x': no GeoNames place 1"):
        load_config(tmp_path, environ={})


def test_watchlist_areas_are_validated() -> None:
    with pytest.raises(ValueError, match="either `at"):
        _regions({"watchlists": [{"id": "w", "name": "W", "areas": [{"km": 5}]}]})
    with pytest.raises(ValueError, match="needs members or areas"):
        _regions({"watchlists": [{"id": "w", "name": "W"}]})


def test_distances() -> None:
    damascus, baghdad = (33.51, 36.29), (33.34, 44.40)
    assert km_between(damascus, baghdad) == pytest.approx(754, rel=0.01)
    # a point 1 degree of latitude north of the middle of an east-west line
    line = ((34.0, 40.0), (34.0, 42.0))
    assert km_to_line((35.0, 41.0), line) == pytest.approx(111.2, rel=0.01)
    # beyond the line's end: the distance to the end point
    assert km_to_line((34.0, 43.0), line) == pytest.approx(km_between((34.0, 43.0), (34.0, 42.0)))
