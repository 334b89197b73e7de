"""Polling: outlet feed formats into entries; conditional GET; failures named by reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from newswire.errors import Reason
from newswire.feeds.poll import parse_feed
from newswire.http.client import HttpFetcher
from newswire.http.fetch import fetch_feed
from newswire.models import (
    Failure,
    FeedDocument,
    FeedSpec,
    NotModified,
    OutletSpec,
    ParsedFeed,
    Validators,
)
from newswire.settings import HttpSettings
from tests.site import DATA

OUTLET = OutletSpec(id="jerusalem-post", name="The Jerusalem Post", language="en")
FEED = FeedSpec(
    id="jpost-me", url="https://www.jpost.com/rss/me.aspx", outlet=OUTLET, interval_s=300
)


def document(body: bytes, content_type: str = "application/rss+xml") -> FeedDocument:
    return FeedDocument(
        FEED,
        body.replace(b"{{BASE}}", b"https://www.jpost.com"),
        FEED.url,
        content_type,
        Validators(),
    )


def parsed(body: bytes, content_type: str = "application/rss+xml") -> ParsedFeed:
    result = parse_feed(document(body, content_type))
    assert isinstance(result, ParsedFeed), result
    return result


def test_jerusalem_post_fields_reach_the_entry() -> None:
    feed = parsed((DATA / "feeds" / "jpost-middle-east.xml").read_bytes())
    first = feed.entries[0]
    assert first.link == "https://www.jpost.com/middle-east/article-801234"
    assert first.title == "Blasts reported near Albukamal crossing after border reopening"
    assert first.authors == ("MIRIAM ADLER",)
    assert first.tags == ("Syria", "Iraq", "Iran", "Albukamal")
    assert first.published == datetime(2026, 11, 16, 17, 42, tzinfo=UTC)
    assert first.updated == datetime(2026, 11, 16, 18, 5, tzinfo=UTC)
    assert first.image == "https://images.jpost.com/image/upload/f_auto/601122"
    assert dict(first.extras) == {
        "photographer": "REUTERS/STRINGER",
        "item_id": "801234",
        "update_date": "Mon, 16 Nov 2026 18:05:00 GMT",
    }
    assert first.language == "en"
    assert feed.malformed is None and len(feed.entries) == 2


def test_shafaq_style_feed_guid_category_media() -> None:
    feed = parsed((DATA / "feeds" / "shafaq-en.xml").read_bytes())
    first = feed.entries[0]
    assert first.guid == "shafaq-en-301455"
    assert first.tags == ("Iraq News",)
    assert first.image == "https://shafaq.com/images/2026/11/bukamal-strike.jpg"
    assert first.summary and first.summary.startswith("<p>Shafaq News/ Drone strikes")
    assert first.language == "en"


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ar">
  <title>Example</title><id>urn:x</id><updated>2026-11-20T10:00:00Z</updated>
  <entry><title>\xd8\xa7\xd9\x84\xd8\xa8\xd9\x88\xd9\x83\xd9\x85\xd8\xa7\xd9\x84</title>
    <link rel="alternate" href="/ar/news/1"/><id>urn:x:1</id>
    <updated>2026-11-20T10:00:00Z</updated><published>2026-11-20T09:00:00+03:00</published>
    <author><name>Reporter One</name></author><author><name>Reporter Two</name></author>
    <content type="html">&lt;p&gt;full text&lt;/p&gt;</content></entry>
</feed>"""


def test_atom_relative_links_authors_content_and_language() -> None:
    entry = parsed(ATOM, "application/atom+xml").entries[0]
    assert entry.link == "https://www.jpost.com/ar/news/1"
    assert entry.title == "البوكمال"
    assert entry.authors == ("Reporter One", "Reporter Two")
    assert entry.content_html == "<p>full text</p>"
    assert entry.published == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert entry.updated == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert entry.language == "ar"


def test_html_page_at_feed_url_is_not_a_feed() -> None:
    result = parse_feed(
        document(b"<!DOCTYPE html><html><body><p>Home</p></body></html>", "text/html")
    )
    assert isinstance(result, Failure) and result.reason is Reason.NOT_A_FEED


def test_garbage_is_a_parse_error() -> None:
    result = parse_feed(document(b"\x00\x01 not xml at all {", "application/octet-stream"))
    assert isinstance(result, Failure) and result.reason is Reason.PARSE_ERROR


def test_truncated_feed_keeps_what_it_can_and_says_why() -> None:
    body = (DATA / "feeds" / "shafaq-en.xml").read_bytes()
    feed = parsed(body[: body.index(b"<item>", body.index(b"</item>")) + 200])
    assert feed.malformed is not None
    assert len(feed.entries) >= 1


def test_entries_without_link_are_kept_with_an_identity_and_empty_ones_skipped() -> None:
    body = b"""<rss version="2.0"><channel><title>x</title>
      <item><title>no link</title></item><item><title>ok</title><link>https://a.test/1</link></item>
      <item><guid isPermaLink="false">desk-7</guid><description>Only text</description></item>
      <item><guid isPermaLink="false">desk-8</guid><description><![CDATA[<img src="https://a.test/i.jpg">]]></description></item>
      <item><author>desk@a.test (Desk)</author></item>
      </channel></rss>"""
    feed = parsed(body)
    assert [(e.link, e.title, e.guid) for e in feed.entries] == [
        (None, "no link", None),
        ("https://a.test/1", "ok", None),
        (None, "", "desk-7"),
    ]
    assert feed.skipped == 2  # an image without text, an author without anything
    first, _, third = feed.entries
    assert first.content_id and len(first.content_id) == 32
    assert third.summary == "Only text"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def poll_with(handler, validators: Validators | None = None):  # type: ignore[no-untyped-def]
    transport = httpx.MockTransport(handler)
    async with HttpFetcher(HttpSettings(), transport=transport) as fetcher:
        return await fetch_feed(fetcher, FEED, validators or Validators())


def test_conditional_get_sends_validators_and_304_is_not_modified() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(304)

    result = run(poll_with(handler, Validators('"v1"', "Fri, 20 Nov 2026 09:10:00 GMT")))
    assert isinstance(result, NotModified)
    assert seen["if-none-match"] == '"v1"'
    assert seen["if-modified-since"] == "Fri, 20 Nov 2026 09:10:00 GMT"


def test_new_validators_are_returned_with_the_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b"<rss/>",
            headers={
                "ETag": '"v2"',
                "Last-Modified": "Sat, 21 Nov 2026 00:00:00 GMT",
                "Content-Type": "application/rss+xml",
            },
        )

    result = run(poll_with(handler))
    assert isinstance(result, FeedDocument)
    assert result.validators == Validators('"v2"', "Sat, 21 Nov 2026 00:00:00 GMT")


@pytest.mark.parametrize(
    "status,reason",
    [
        (404, Reason.HTTP_404),
        (410, Reason.HTTP_410),
        (429, Reason.HTTP_429),
        (503, Reason.HTTP_5XX),
        (418, Reason.HTTP_4XX),
    ],
)
def test_http_errors_are_named(status: int, reason: Reason) -> None:
    result = run(poll_with(lambda request: httpx.Response(status)))
    assert isinstance(result, Failure)
    assert (result.stage, result.reason) == ("poll", reason)


def test_entries_with_unusable_links_are_skipped_and_counted() -> None:
    body = b"""<rss version="2.0"><channel><title>x</title>
      <item><title>js</title><link>javascript:alert(1)</link></item>
      <item><title>mail</title><link>mailto:desk@example.com</link></item>
      <item><title>bad port</title><link>http://example.com:99999/a</link></item>
      <item><title>no host</title><link>http://:80/x</link></item>
      <item><title>ftp</title><link>ftp://files.test/a</link></item>
      <item><title>ok</title><link>https://a.test/1</link></item>
      </channel></rss>"""
    feed = parsed(body)
    # kept for their titles, with no link: nothing is fetched from a link that is not http(s)
    assert [e.link for e in feed.entries] == [None, None, None, None, None, "https://a.test/1"]
    assert feed.skipped == 0


def test_empty_body_is_a_parse_error_not_a_crash() -> None:
    result = parse_feed(document(b""))
    assert isinstance(result, Failure) and result.reason is Reason.PARSE_ERROR
