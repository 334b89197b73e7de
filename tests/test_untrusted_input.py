"""Feeds and text from strangers: parsing never raises on any JSON Feed or any date a feed
may carry, a body is never taken for a path, and the regexes that read network text stay
linear on the inputs that made them quadratic (each case takes well under a second; a
quadratic one takes minutes and hits the timeout)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.dates import from_struct_time, parse_date, parse_iso
from newswire.extract.clean import clean_text
from newswire.feeds.poll import _authors, _image, parse_feed
from newswire.models import FeedDocument, FeedSpec, OutletSpec, ParsedFeed, Validators
from newswire.text import _TAG, html_fragment_text
from newswire.urls import join_url

FEED = FeedSpec("f", "http://feeds.test/feed", OutletSpec(id="o", name="O"), 300.0)
JSON_FEED = "https://jsonfeed.org/version/1.1"
ODD_STRINGS = [
    "http://[unbalanced/x",
    "A://[",
    "http://news.test/a",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59:59-01:00",
    "0000-00-00 00:00:00",
]
JSON_KEYS = [
    "url", "external_url", "id", "title", "tags", "attachments", "authors", "author",
    "date_published", "date_modified", "image", "content_html", "content_text", "summary",
    "name", "mime_type", "size_in_bytes", "language", "items",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(ODD_STRINGS),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=6),
    max_leaves=30,
)  # fmt: skip
DATES = st.text(max_size=40) | st.sampled_from(
    [
        "0000-00-00 00:00:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "Fri, 31 Dec 9999 23:59:59 -1200",
        "Mon, 01 Jan 0001 00:00:00 +1400",
    ]
)


def document(body: bytes, content_type: str) -> FeedDocument:
    return FeedDocument(FEED, body, FEED.url, content_type, Validators(None, None), None)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=4), json_values)
def test_any_json_feed_parses_without_raising(items: list[object], top: object) -> None:
    feed: dict[str, object] = {"version": JSON_FEED, "items": items}
    if isinstance(top, dict):
        feed.update({k: v for k, v in top.items() if k not in ("version", "items")})
    parsed = parse_feed(document(json.dumps(feed).encode(), "application/feed+json"))
    assert isinstance(parsed, ParsedFeed)


@settings(max_examples=300, deadline=None)
@given(DATES, DATES, DATES)
def test_any_date_in_an_rss_item_parses_to_a_plausible_date_or_none(a: str, b: str, c: str) -> None:
    item = (
        f"<item><title>x</title><link>http://news.test/a</link><pubDate>{escape(a)}</pubDate>"
        f"<dc:date>{escape(b)}</dc:date><UpdateDate>{escape(c)}</UpdateDate></item>"
    )
    body = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>t</title>{item}</channel></rss>"
    )
    parsed = parse_feed(document(body.encode("utf-8", "surrogatepass"), "application/rss+xml"))
    assert isinstance(parsed, ParsedFeed)
    for entry in parsed.entries:
        for when in (entry.published, entry.updated):
            assert when is None or (when.tzinfo is not None and 1900 <= when.year <= 2100)


@pytest.mark.parametrize(
    "text",
    ["0000-00-00 00:00:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "soon", ""],
)
def test_placeholder_dates_are_none(text: str) -> None:
    assert parse_date(text) is None
    assert parse_iso(text) is None


def test_real_dates_keep_their_instant_in_utc() -> None:
    expected = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert parse_date("Tue, 24 Nov 2026 11:00:00 +0200") == expected
    assert parse_iso("2026-11-24T12:00:00+03:00") == expected
    assert from_struct_time(expected.utctimetuple()) == expected


def test_a_json_feed_nested_beyond_the_decoders_depth_is_not_a_feed() -> None:
    deep = (
        b'{"version": "'
        + JSON_FEED.encode()
        + b'", "items": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    parsed = parse_feed(document(deep, "application/feed+json"))
    assert not isinstance(parsed, ParsedFeed)
    assert parsed.reason.value == "parse_error"


@pytest.mark.parametrize("path", ["/dev/zero", "/etc/hostname", "/etc/passwd"])
def test_a_body_that_names_a_path_is_parsed_as_bytes_never_opened(path: str) -> None:
    parsed = parse_feed(document(path.encode(), "application/rss+xml"))
    assert not isinstance(parsed, ParsedFeed)
    assert parsed.reason.value == "parse_error"


def test_a_link_urljoin_cannot_parse_is_no_link() -> None:
    assert join_url("http://feeds.test/f", "http://[unbalanced/x") == ""
    assert join_url("http://feeds.test/f", "/a") == "http://feeds.test/a"


@pytest.mark.timeout(30)
def test_a_megabyte_of_unclosed_photo_credits_is_cleaned_whole() -> None:
    paragraph = "(photo:" * 150_000
    assert clean_text(paragraph) == paragraph  # no credit closes it: it is text


@pytest.mark.timeout(30)
def test_a_summary_of_unclosed_img_tags_is_scanned_once() -> None:
    assert _image({"summary": "<img " * 200_000}) is None
    assert _image({"summary": '<img src="' * 200_000}) is None
    assert (
        _image({"summary": '<p><img class="x" src="http://a.test/i.jpg"></p>'})
        == "http://a.test/i.jpg"
    )


@pytest.mark.timeout(30)
def test_an_author_with_a_long_run_of_spaces_is_split_once() -> None:
    assert _authors({"author": "Ann" + " " * 300_000 + "Lee"}) == ("Ann" + " " * 300_000 + "Lee",)
    assert _authors({"author": "By Ann Lee and Bob Ray, Cy"}) == ("Ann Lee", "Bob Ray", "Cy")


@pytest.mark.timeout(30)
def test_the_tag_stripper_for_markup_lxml_refuses_is_linear_on_unclosed_tags() -> None:
    # lxml parses nearly anything, so the fallback is tested on its own regex
    assert _TAG.sub(" ", "<" * 300_000 + "x") == "<" * 300_000 + "x"
    assert _TAG.sub(" ", "a<b>c</b>d") == "a c d"
    assert html_fragment_text("<p>one</p><p>two</p>") == "one\ntwo"
