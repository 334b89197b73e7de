"""Extraction: golden fixture pages, metadata, and the fallback chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswire.config import load_config
from newswire.errors import Reason
from newswire.extract import extract_page, extract_text, text_from_entry
from newswire.models import ExtractionMethod, FeedEntry, FetchedPage, OutletSpec
from newswire.settings import ExtractSettings
from newswire.text import html_fragment_text
from tests.site import DATA

REPO_CONFIG = Path(__file__).parents[1] / "config"
OUTLETS = {f.outlet.id: f.outlet for f in load_config(REPO_CONFIG, environ={}).feeds}
GOLDEN = {
    "jpost-albukamal-crossing": "jerusalem-post",
    "jpost-northern-drill": "jerusalem-post",
    "shafaq-albukamal-strikes": "shafaq-news",
    "shafaq-baghdad-green-zone": "shafaq-news",
    "shafaq-ar-albukamal": "shafaq-news",
}
SETTINGS = ExtractSettings()


def page(name: str, url: str = "https://example.com/story/1") -> FetchedPage:
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    return FetchedPage(url=url, final_url=url, html=html, fetched_at=datetime.now(UTC))


def entry(**fields: object) -> FeedEntry:
    values: dict[str, object] = {
        "feed_id": "f",
        "outlet_id": "o",
        "link": "https://x.test/a",
        "title": "Rocket lands near Green Zone",
    }
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_page_text(name: str) -> None:
    expected = (DATA / "expected" / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
    result = extract_page(page(name), OUTLETS[GOLDEN[name]], SETTINGS)
    assert result.text == expected
    assert result.method is ExtractionMethod.PAGE


def test_arabic_page_language_and_direction_survive() -> None:
    result = extract_page(page("shafaq-ar-albukamal"), OUTLETS["shafaq-news"], SETTINGS)
    assert result.language == "ar"
    assert result.title == "قصف يستهدف مواقع فصائل مسلحة في البوكمال"
    assert "\u200f" not in result.text and "\u202b" not in result.text


def test_page_metadata() -> None:
    result = extract_page(page("jpost-albukamal-crossing"), OUTLETS["jerusalem-post"], SETTINGS)
    assert result.title == "Blasts reported near Albukamal crossing after border reopening"
    assert result.authors == ("Miriam Adler",)
    assert result.published == datetime(2026, 11, 16, 17, 42, tzinfo=UTC)
    assert result.language == "en"
    assert result.canonical_url == "https://www.jpost.com/middle-east/article-801234"
    assert result.image == "https://images.jpost.com/image/upload/f_auto/601122"
    assert result.site_name == "The Jerusalem Post | JPost.com"
    assert result.description and result.description.startswith("Explosions were heard")


def test_short_page_falls_back_to_feed_content() -> None:
    thin = FetchedPage(
        "https://x.test/a",
        "https://x.test/a",
        "<html><body><p>Please enable JavaScript.</p></body></html>",
        datetime.now(UTC),
    )
    content = "<p>Shafaq News/ A rocket landed near the Green Zone.</p><p>No one was hurt.</p>"
    result = extract_text(
        thin,
        None,
        entry(content_html=content, summary="<p>short</p>"),
        OUTLETS["shafaq-news"],
        SETTINGS,
    )
    assert result.method is ExtractionMethod.FEED_CONTENT
    assert result.fallback_reason is Reason.TOO_LITTLE_TEXT
    assert result.text == "A rocket landed near the Green Zone.\n\nNo one was hurt."


def test_unfetchable_page_falls_back_to_summary_then_title() -> None:
    outlet = OutletSpec(id="o", name="O")
    summary = entry(summary="Rockets hit near the airport.<br/>Sirens sounded in the city.")
    result = extract_text(None, Reason.HTTP_404, summary, outlet, SETTINGS)
    assert (result.method, result.fallback_reason) == (
        ExtractionMethod.FEED_SUMMARY,
        Reason.HTTP_404,
    )
    assert result.text == "Rockets hit near the airport.\n\nSirens sounded in the city."
    bare = extract_text(None, Reason.TIMEOUT, entry(), outlet, SETTINGS)
    assert (bare.method, bare.text) == (ExtractionMethod.TITLE_ONLY, "Rocket lands near Green Zone")


def test_html_fragment_text_keeps_block_structure() -> None:
    assert html_fragment_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"
    assert html_fragment_text("plain text") == "plain text"


def test_entry_text_drops_outlet_boilerplate() -> None:
    summary = entry(summary="<p>Shafaq News/ Iraq's exports rose.</p>")
    result = text_from_entry(summary, OUTLETS["shafaq-news"], Reason.HTTP_404)
    assert result.text == "Iraq's exports rose."


def test_title_only_text_is_normalised_and_a_blank_title_gives_no_text() -> None:
    outlet = OutletSpec(id="o", name="O")
    messy = extract_text(
        None,
        Reason.TIMEOUT,
        entry(title="  Rocket\u200b lands \n near\u00a0Baghdad "),
        outlet,
        SETTINGS,
    )
    assert (messy.method, messy.text) == (ExtractionMethod.TITLE_ONLY, "Rocket lands near Baghdad")
    blank = extract_text(None, Reason.TIMEOUT, entry(title=" \u200b\n "), outlet, SETTINGS)
    assert blank.text == ""
