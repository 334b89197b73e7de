"""Every feed format newswire reads, the outlet fields that reach the entry, and 35 malformed
or odd feeds written for the project: each yields what it can, or fails with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswire.errors import Reason
from newswire.feeds.poll import parse_feed
from newswire.models import (
    Failure,
    FeedDocument,
    FeedEntry,
    FeedSpec,
    Media,
    OutletSpec,
    ParsedFeed,
    Validators,
)
from tests.site import DATA

FEED = FeedSpec("desk", "https://desk.example/feed", OutletSpec("desk", "Desk"), 300)
FORMATS = DATA / "feeds" / "formats"
ODD = DATA / "feeds" / "odd"
FRIDAY_0630 = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
AUDIO = Media("https://desk.example/audio/al-qaim.mp3", "audio/mpeg", None, 482113)


def parse(path: Path, content_type: str = "", base: str = FEED.url) -> ParsedFeed | Failure:
    if not content_type:
        content_type = "application/feed+json" if path.suffix == ".json" else "application/xml"
    return parse_feed(FeedDocument(FEED, path.read_bytes(), base, content_type, Validators()))


def entries(path: Path, **kwargs: str) -> tuple[FeedEntry, ...]:
    result = parse(path, **kwargs)
    assert isinstance(result, ParsedFeed), result
    return result.entries


@pytest.mark.parametrize(
    "name",
    [
        "rss091.xml",
        "rss092.xml",
        "rss10.rdf",
        "rss20.xml",
        "atom03.xml",
        "atom10.xml",
        "jsonfeed10.json",
        "jsonfeed11.json",
    ],
)
def test_every_format_gives_both_stories(name: str) -> None:
    result = parse(FORMATS / name)
    assert isinstance(result, ParsedFeed) and result.malformed is None
    assert [e.title for e in result.entries] == [
        "Border crossing at al-Qaim reopens",
        "Power cuts return to Basra",
    ]
    assert result.entries[0].link == "https://desk.example/news/al-qaim-crossing"
    assert "Albukamal" in (result.entries[0].summary or result.entries[0].content_html or "")


def test_rss20_outlet_fields_reach_the_entry() -> None:
    first, second = entries(FORMATS / "rss20.xml")
    assert first.guid == "desk-10231"
    assert first.authors == ("Layla Hassan",)  # dc:creator
    assert first.tags == ("Borders", "Syria")  # category
    assert first.published == FRIDAY_0630
    assert first.language == "en-gb"
    assert first.content_html is not None and "three-week closure" in first.content_html
    assert first.media == (
        AUDIO,  # enclosure
        Media("https://desk.example/img/al-qaim.jpg", "image/jpeg", "image", 20480),
        Media("https://desk.example/img/al-qaim-small.jpg", None, "image", None),
    )
    assert first.image == "https://desk.example/img/al-qaim.jpg"
    assert second.guid == "https://desk.example/news/basra-power" and second.media == ()


def test_rss10_dates_authors_subjects_and_update_hint() -> None:
    result = parse(FORMATS / "rss10.rdf")
    assert isinstance(result, ParsedFeed)
    first = result.entries[0]
    assert first.published == FRIDAY_0630  # dc:date, +03:00 in the feed
    assert (first.authors, first.tags) == (("Layla Hassan",), ("Borders",))
    assert result.update_hint_s == 900  # sy:updatePeriod hourly, sy:updateFrequency 4


def test_rss20_ttl_is_an_update_hint_in_seconds() -> None:
    result = parse(FORMATS / "rss20.xml")
    assert isinstance(result, ParsedFeed) and result.update_hint_s == 1800


def test_rss092_enclosure_is_media() -> None:
    assert entries(FORMATS / "rss092.xml")[0].media == (AUDIO,)


def test_atom_dates_enclosure_link_and_content() -> None:
    first = entries(FORMATS / "atom10.xml")[0]
    assert first.guid == "tag:desk.example,2026:10231"
    assert first.published == FRIDAY_0630
    assert first.updated == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    assert first.media == (AUDIO,)
    assert first.content_html is not None and "three-week closure" in first.content_html
    old = entries(FORMATS / "atom03.xml")[0]
    assert (old.published, old.authors) == (FRIDAY_0630, ("Layla Hassan",))


def test_json_feed_fields() -> None:
    first = entries(FORMATS / "jsonfeed10.json")[0]
    assert first.guid == "10231"
    assert first.authors == ("Layla Hassan",)  # 1.0: author
    assert first.tags == ("Borders", "Syria")
    assert first.published == FRIDAY_0630
    assert first.updated == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    assert first.media[0] == AUDIO  # attachments
    assert first.image == "https://desk.example/img/al-qaim.jpg"
    newer = entries(FORMATS / "jsonfeed11.json", base="https://desk.example/feed.json")
    assert newer[0].authors == ("Layla Hassan", "Omar Said")  # 1.1: authors
    assert newer[0].language == "en"
    assert newer[1].link == "https://desk.example/news/basra-power"  # relative, resolved
    assert newer[1].content_html == "Residents of Basra report eight-hour outages."


def test_json_feed_is_recognised_by_its_body_whatever_the_content_type() -> None:
    assert len(entries(FORMATS / "jsonfeed11.json", content_type="text/plain")) == 2


# name -> (titles of the entries kept, entries skipped, malformed?) or the failure reason
KEPT = {
    "bom-utf8.xml": (["Item 1", "Item 2"], 0, False),
    "utf16-bom.xml": (["Item 1", "Item 2"], 0, False),
    "latin1-declared.xml": (["Café in Erbil", "Item 2"], 0, False),
    "cp1252-declared-utf8.xml": (["Mosul’s “old city” café", "Item 2"], 0, False),
    "cp1256-arabic.xml": (["قصف في البوكمال", "Item 2"], 0, False),
    "undeclared-entities.xml": (["Erbil — talks resume", "Item 2"], 0, True),
    "truncated.xml": (["Item 1", "Item 2", "Item 3"], 0, True),
    "empty-channel.xml": ([], 0, False),
    "duplicated-guids.xml": (["Item 1", "Item 2"], 0, False),  # dedup's job, not the parser's
    "missing-links.xml": (["Item 1", "Item 2", "Item 3"], 0, False),  # a permalink GUID is a link
    "relative-links.xml": (["Rel", "Rel2"], 0, False),
    "atom-xml-base.xml": (["Based", "Rebased"], 0, False),
    "atom-only-self-link.xml": (["Self only", "Alternate"], 0, False),
    "cdata-html-title.xml": (["Breaking: Kirkuk & Erbil", "Item 2"], 0, False),
    "atom-xhtml-content.xml": (["Kirkuk oil talks"], 0, False),
    "control-characters.xml": (["Bad byte here", "Item 2"], 0, True),
    "nul-bytes.xml": (["Nul inside", "Item 2"], 0, True),
    "garbage-after-root.xml": (["Item 1", "Item 2"], 1, True),
    "rss-without-version.xml": (["Item 1", "Item 2"], 0, False),
    "odd-dates.xml": (["Item 1", "Item 2", "Item 3"], 0, False),
    # entries without an http(s) link are kept (their text is the feed's), the link left out
    "unusable-link-schemes.xml": (["js", "data", "file", "Item 4"], 0, False),
    "whitespace-around-links.xml": (["Spaced"], 0, False),
    "internal-entity.xml": (["From the &desk;"], 0, True),  # DOCTYPEs are not honoured
    "external-entity.xml": (["Leak &xxe; here"], 0, True),  # never resolved
    "unescaped-html-description.xml": (["Item 1", "Item 2"], 0, True),
    "jsonfeed-items-not-a-list.json": ([], 0, True),
    "jsonfeed-odd-items.json": ([""], 1, False),
    "many-items.xml": ([f"Item {i}" for i in range(500)], 0, False),
}
FAILED = {
    "html-page.xml": Reason.NOT_A_FEED,
    "empty-body.xml": Reason.PARSE_ERROR,
    "whitespace-only.xml": Reason.PARSE_ERROR,
    "not-xml-at-all.xml": Reason.PARSE_ERROR,
    "sitemap-not-feed.xml": Reason.PARSE_ERROR,
    "json-not-a-feed.json": Reason.PARSE_ERROR,
    "jsonfeed-truncated.json": Reason.PARSE_ERROR,
}


def test_every_odd_feed_has_an_expectation() -> None:
    names = {p.name for p in ODD.iterdir()}
    assert names == set(KEPT) | set(FAILED)
    assert len(names) >= 30


@pytest.mark.parametrize("name", sorted(KEPT))
def test_odd_feeds_yield_what_they_can(name: str) -> None:
    titles, skipped, malformed = KEPT[name]
    result = parse(ODD / name)
    assert isinstance(result, ParsedFeed), result
    assert [e.title for e in result.entries] == titles
    assert result.skipped == skipped
    assert (result.malformed is not None) is malformed, result.malformed
    for entry in result.entries:
        if entry.link is None:
            assert entry.guid or entry.content_id  # known by its GUID, else by its content
        else:
            assert entry.link.startswith("https://") and entry.link.strip() == entry.link


@pytest.mark.parametrize("name", sorted(FAILED))
def test_feeds_with_nothing_feed_like_fail_with_their_reason(name: str) -> None:
    result = parse(ODD / name)
    assert isinstance(result, Failure) and result.reason is FAILED[name]
    assert result.stage == "poll" and result.detail


def test_an_html_page_at_a_feed_url_is_named_as_such_whatever_its_content_type() -> None:
    for content_type in ("text/html; charset=utf-8", "application/rss+xml"):
        result = parse(ODD / "html-page.xml", content_type=content_type)
        assert isinstance(result, Failure) and result.reason is Reason.NOT_A_FEED
        assert "HTML page" in result.detail


def test_odd_links_and_dates_come_out_usable() -> None:
    relative = entries(ODD / "relative-links.xml", base="https://odd.example/feeds/rss")
    assert [e.link for e in relative] == [
        "https://odd.example/news/relative-1",
        "https://odd.example/feeds/news/relative-2",
    ]
    based = entries(ODD / "atom-xml-base.xml")
    assert [e.link for e in based] == [
        "https://odd.example/section/story-1",
        "https://other.example/story-2",
    ]
    assert [e.link for e in entries(ODD / "missing-links.xml")] == [
        None,  # no link, no GUID: kept, known by a hash of the feed's URL and its content
        "https://odd.example/a/2",  # a GUID that is a permalink is the link
        "https://odd.example/a/3",
    ]
    dates = [e.published for e in entries(ODD / "odd-dates.xml")]
    assert dates == [
        datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        None,  # "yesterday": no date rather than a wrong one
        datetime(2026, 11, 21, 7, 0, tzinfo=UTC),
    ]


def test_external_entities_are_never_resolved() -> None:
    (entry,) = entries(ODD / "external-entity.xml")
    assert "root:" not in entry.title and "root:" not in (entry.summary or "")
