"""Fetch stage: GET a feed with a conditional request, GET an article page and decode it
to text."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime

from newswire.errors import Reason
from newswire.http.client import HttpFetcher
from newswire.models import (
    Failure,
    FeedDocument,
    FeedSpec,
    FetchedPage,
    NotModified,
    Validators,
)

STAGE = "fetch"
FEED_STAGE = "poll"  # a feed's GET is counted as part of its poll
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
_HEADER_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", re.IGNORECASE)


async def fetch_feed(
    fetcher: HttpFetcher, feed: FeedSpec, validators: Validators
) -> FeedDocument | NotModified | Failure:
    """GET the feed, sending the remembered validators (unless the feed is set to ignore
    them); 304 comes back as NotModified."""
    headers = {"Accept": FEED_ACCEPT}
    if validators.etag and not feed.ignore_validators:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified and not feed.ignore_validators:
        headers["If-Modified-Since"] = validators.last_modified
    response = await fetcher.get_ok(feed.url, stage=FEED_STAGE, headers=headers)
    if isinstance(response, Failure):
        return response
    if response.status == 304:
        return NotModified(feed, response.fresh_for)
    return FeedDocument(
        feed=feed,
        body=response.body,
        final_url=response.final_url,
        content_type=response.content_type,
        validators=Validators(response.etag, response.last_modified),
        fresh_for=response.fresh_for,
        content_location=response.content_location,
        content_language=response.content_language,
    )


async def fetch_page(fetcher: HttpFetcher, url: str) -> FetchedPage | Failure:
    """GET an article page; anything but an HTML page is a failure with its reason."""
    response = await fetcher.get_ok(url, stage=STAGE, headers={"Accept": PAGE_ACCEPT})
    if isinstance(response, Failure):
        return response
    media_type = response.content_type.split(";")[0].strip().lower()
    if media_type not in _HTML_TYPES:
        return Failure(STAGE, Reason.NOT_HTML, f"content type {media_type}", url)
    return FetchedPage(
        url=url,
        final_url=response.final_url,
        html=decode_html(response.body, response.content_type),
        fetched_at=datetime.now(UTC),
    )


def decode_html(body: bytes, content_type: str = "") -> str:
    """Decode HTML with the charset its Content-Type or a <meta> declares, else UTF-8; never
    raises."""
    match = _HEADER_CHARSET.search(content_type)
    declared = match.group(1) if match else None
    if declared is None:
        meta = _META_CHARSET.search(body[:4096])
        declared = meta.group(1).decode("ascii", "replace") if meta else None
    try:
        encoding = codecs.lookup(declared or "utf-8").name
    except LookupError:
        encoding = "utf-8"
    return body.decode(encoding, errors="replace")
