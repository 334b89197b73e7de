"""Poll stage: fetch a feed with a conditional GET and parse it into FeedEntries."""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from newswire.errors import Reason
from newswire.http_client import http_get, status_failure
from newswire.models import (
    Failure,
    FeedDocument,
    FeedEntry,
    FeedSpec,
    NotModified,
    ParsedFeed,
    Validators,
)
from newswire.settings import HttpSettings
from newswire.urls import is_http_url

STAGE = "poll"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_BYLINE = re.compile(r"^\s*by\s+", re.IGNORECASE)
_IMG_SRC = re.compile(r"""<img[^>]+src=["']([^"']+)["']""", re.IGNORECASE)
_EXTRA_FIELDS = {"photographer": "photographer", "itemid": "item_id", "updatedate": "update_date"}


async def fetch_feed(
    client: httpx.AsyncClient, feed: FeedSpec, validators: Validators, settings: HttpSettings
) -> FeedDocument | NotModified | Failure:
    """GET the feed, sending the remembered validators; 304 comes back as NotModified."""
    headers = {"Accept": FEED_ACCEPT}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    response = await http_get(client, feed.url, stage=STAGE, settings=settings, headers=headers)
    if isinstance(response, Failure):
        return response
    failure = status_failure(response, STAGE)
    if failure is not None:
        return failure
    if response.status == 304:
        return NotModified(feed)
    return FeedDocument(
        feed=feed,
        body=response.body,
        final_url=response.final_url,
        content_type=response.content_type,
        validators=Validators(response.etag, response.last_modified),
    )


def parse_feed(document: FeedDocument) -> ParsedFeed | Failure:
    """Parse a feed body (CPU work: run it off the event loop). Malformed feeds yield what
    they can; an HTML page or a body with nothing feed-like is a failure with its reason."""
    parsed = feedparser.parse(
        document.body,
        response_headers={
            "content-type": document.content_type or "application/xml",
            "content-location": document.final_url,
        },
        sanitize_html=False,
    )
    malformed = _malformed_reason(parsed)
    if not parsed.get("entries") and not parsed.get("version"):
        reason = Reason.NOT_A_FEED if _looks_like_html(document) else Reason.PARSE_ERROR
        return Failure(STAGE, reason, malformed or "no feed found", document.feed.url)
    feed = document.feed
    channel = parsed.get("feed", {})
    converted = [to_entry(raw, feed, channel.get("language")) for raw in parsed.get("entries", ())]
    entries = tuple(entry for entry in converted if entry is not None)
    return ParsedFeed(
        entries=entries,
        skipped=len(converted) - len(entries),
        malformed=malformed,
    )


def _malformed_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return None
    return f"{type(exc).__name__}: {exc}"[:300]


def _looks_like_html(document: FeedDocument) -> bool:
    if "html" in document.content_type.lower():
        return True
    head = document.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def to_entry(raw: Any, feed: FeedSpec, feed_language: str | None) -> FeedEntry | None:
    """Convert one feedparser entry to a FeedEntry; an entry without a usable link is
    skipped."""
    link = (raw.get("link") or "").strip()
    if not is_http_url(link):
        return None
    return FeedEntry(
        feed_id=feed.id,
        outlet_id=feed.outlet.id,
        link=link,
        title=(raw.get("title") or "").strip(),
        guid=raw.get("id") or None,
        summary=raw.get("summary") or None,
        content_html=_content(raw),
        authors=_authors(raw),
        tags=tuple(t["term"].strip() for t in raw.get("tags", ()) if (t.get("term") or "").strip()),
        published=_timestamp(raw.get("published_parsed")),
        updated=_parse_date(raw.get("updatedate")) or _updated(raw),
        image=_image(raw),
        language=feed_language or feed.outlet.language,
        extras=tuple((name, str(raw[key])) for key, name in _EXTRA_FIELDS.items() if raw.get(key)),
    )


def _updated(raw: Any) -> datetime | None:
    """The entry's own update time, read past feedparser's fallback to the publication time."""
    return _timestamp(dict.get(raw, "updated_parsed"))


def _content(raw: Any) -> str | None:
    contents = raw.get("content") or ()
    values = [c.get("value") for c in contents if c.get("value")]
    return max(values, key=len) if values else None


def _authors(raw: Any) -> tuple[str, ...]:
    names = [a.get("name", "") for a in raw.get("authors", ()) if isinstance(a, dict)]
    if not any(names) and raw.get("author"):
        names = [raw["author"]]
    cleaned = []
    for name in names:
        for part in re.split(r"\s+and\s+|,\s*", _BYLINE.sub("", name or "")):
            part = part.strip()
            if part and part not in cleaned:
                cleaned.append(part)
    return tuple(cleaned)


def _image(raw: Any) -> str | None:
    for key in ("media_content", "media_thumbnail"):
        for media in raw.get(key, ()):
            if media.get("url") and media.get("medium", "image") == "image":
                return str(media["url"])
    for enclosure in raw.get("enclosures", ()):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    match = _IMG_SRC.search(raw.get("summary") or "")
    return match.group(1) if match else None


def _timestamp(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def _parse_date(value: str | None) -> datetime | None:
    """An outlet's extra date element (RFC 822 or ISO 8601), as UTC."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
