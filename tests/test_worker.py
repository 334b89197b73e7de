"""Assembling an article: which URL identifies it, feed fields over page fields."""

from __future__ import annotations

from datetime import UTC, datetime

from newswire.models import ExtractionMethod, FeedEntry, FetchedPage, PageText
from newswire.urls import article_id
from newswire.worker import choose_url
from tests.builders import fixture_article

JPOST = "https://www.jpost.com/middle-east/article-801234"


def page(final_url: str) -> FetchedPage:
    return FetchedPage(final_url, final_url, "", datetime.now(UTC))


def text(canonical: str | None) -> PageText:
    return PageText(text="x", method=ExtractionMethod.PAGE, canonical_url=canonical)


ENTRY = FeedEntry(
    feed_id="f", outlet_id="o", link="https://jpost.com/a?id=1&utm_source=rss", title="t"
)


def test_page_canonical_on_the_same_site_wins() -> None:
    assert choose_url(ENTRY.link, page("https://www.jpost.com/a?id=1"), text(JPOST)) == JPOST


def test_canonical_on_another_site_or_the_home_page_is_ignored() -> None:
    landed = page("https://www.jpost.com/a?id=1")
    assert (
        choose_url(ENTRY.link, landed, text("https://evil.test/x"))
        == "https://www.jpost.com/a?id=1"
    )
    assert (
        choose_url(ENTRY.link, landed, text("https://www.jpost.com/"))
        == "https://www.jpost.com/a?id=1"
    )


def test_without_page_the_feed_link_is_canonicalised() -> None:
    assert choose_url(ENTRY.link, None, text(None)) == "https://jpost.com/a?id=1"


def test_feed_fields_win_and_page_fields_fill_gaps() -> None:
    article = fixture_article(
        "jpost-albukamal-crossing",
        "jerusalem-post",
        JPOST,
        title="Feed title",
        authors=("MIRIAM ADLER",),
    )
    assert article.id == article_id(JPOST)
    assert article.title == "Feed title"
    assert article.authors == ("MIRIAM ADLER",)
    assert article.published == datetime(2026, 11, 16, 17, 42, tzinfo=UTC)  # from the page
    assert article.image == "https://images.jpost.com/image/upload/f_auto/601122"
    assert article.language == "en"


def test_language_tags_are_reduced_to_their_primary_code() -> None:
    from newswire.extract.extractor import language_code

    assert language_code("en-US") == "en"
    assert language_code("AR") == "ar"
    assert language_code("ckb-IQ") == "ckb"
    assert language_code("english") is None
    assert language_code("") is None
    assert language_code(None) is None


def test_feed_language_like_en_us_gives_a_schema_valid_message() -> None:
    import jsonschema

    from newswire.publish.message import load_schema, to_message
    from newswire.settings import ExtractSettings
    from newswire.worker import build_article
    from tests.builders import FEEDS, TAGGER

    feed = FEEDS["shafaq-news"]
    entry = feed_only_entry(
        "Rocket lands near Green Zone",
        "A rocket landed near the Green Zone in Baghdad.",
        language="en-us",
    )
    article = build_article(entry, None, None, feed, ExtractSettings(), TAGGER)
    assert article.language == "en"
    jsonschema.validate(to_message(article), load_schema())


def test_the_outlet_country_reaches_the_tagger() -> None:
    """feeds.yaml `country` of an outlet: its local places count without their country named
    (tag.tagger.Tagger.tag's `home`)."""
    from dataclasses import replace

    from newswire.settings import ExtractSettings
    from newswire.worker import build_article
    from tests.builders import FEEDS, TAGGER

    feed = FEEDS["shafaq-news"]
    entry = feed_only_entry(  # no word that makes it a town's ("a Gainesville man" would)
        "Gainesville levy approved", "Gainesville voters approved the levy on Friday."
    )
    places = {}
    for country, area in ((None, None), ("US", None), ("US", "US-TX")):
        local = replace(feed, outlet=replace(feed.outlet, country=country, area=area))
        article = build_article(entry, None, None, local, ExtractSettings(), TAGGER)
        places[area or country] = [r.id for r in article.tagging.regions]
    # the Florida town (the biggest) for a US outlet, the Texan one for a Texas outlet
    assert places == {None: [], "US": ["us-gainesville"], "US-TX": ["us-gainesville-4692746"]}


def feed_only_entry(title: str, summary: str, language: str | None = None) -> FeedEntry:
    """An entry of Shafaq News's first feed whose text is its summary (no page fetched)."""
    from tests.builders import FEEDS

    feed = FEEDS["shafaq-news"]
    return FeedEntry(
        feed_id=feed.id,
        outlet_id="shafaq-news",
        link="https://shafaq.com/en/x",
        title=title,
        language=language,
        summary=summary,
    )
