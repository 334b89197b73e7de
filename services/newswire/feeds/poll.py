"""Poll stage: parse a fetched feed body (RSS, Atom, JSON Feed) into FeedEntries."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime
from typing import Any

import feedparser

from newswire.dates import from_struct_time, parse_date
from newswire.errors import Reason
from newswire.feeds import jsonfeed
from newswire.models import (
    Failure,
    FeedDocument,
    FeedEntry,
    FeedSpec,
    Media,
    ParsedFeed,
    RejectedEntry,
)
from newswire.text import one_line
from newswire.urls import is_http_url

STAGE = "poll"
_BYLINE = re.compile(r"^\s*by\s+", re.IGNORECASE)
# an <img> tag ends at the next "<" or ">", so tags never overlap and the scan is linear
# (one regex `<img[^>]+src=` is quadratic on "<img " repeated with no ">")
_IMG_TAG = re.compile(r"<img\b[^<>]*", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
# the lookbehind starts a match only where a run of spaces starts: linear on long runs
_AUTHOR_SEPARATOR = re.compile(r"(?<!\s)\s+and\s+|,\s*")
_SY_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
MAX_REJECTED_CHARS = 20_000  # of a rejected item's JSON in its dead letter
_EXTRA_FIELDS = {"photographer": "photographer", "itemid": "item_id", "updatedate": "update_date"}


def body_digest(body: bytes) -> str:
    """A hash of a feed body: an unchanged body under new validators is not parsed again."""
    return hashlib.sha256(body).hexdigest()


def parse_feed(document: FeedDocument, contain: bool = False) -> ParsedFeed | Failure:
    """Parse a feed body (CPU work: run it off the event loop): RSS 0.9x/1.0/2.0, Atom
    0.3/1.0 through feedparser, JSON Feed 1.x through newswire.jsonfeed. Malformed feeds yield
    what they can; an HTML page or a body with nothing feed-like is a failure with its
    reason. With `contain`, an item whose conversion raises unexpectedly is set aside as a
    RejectedEntry instead of failing the whole feed."""
    if jsonfeed.looks_like_json(document.body, document.content_type):
        return _convert(document, jsonfeed.parse(document.body, document.final_url), contain)
    parsed = feedparser.parse(
        # a file object: handed str or bytes, feedparser first tries them as a path or URL
        # (a body of "/dev/zero" or "/etc/hosts" would be read from this machine)
        io.BytesIO(document.body),
        response_headers={
            "content-type": document.content_type or "application/xml",
            "content-location": document.final_url,
        },
        sanitize_html=False,
    )
    return _convert(document, parsed, contain)


def _convert(document: FeedDocument, parsed: Any, contain: bool = False) -> ParsedFeed | Failure:
    malformed = _malformed_reason(parsed)
    if not parsed.get("entries") and not parsed.get("version"):
        reason = Reason.NOT_A_FEED if _looks_like_html(document) else Reason.PARSE_ERROR
        detail = "an HTML page, not a feed" if reason is Reason.NOT_A_FEED else None
        return Failure(STAGE, reason, detail or malformed or "no feed found", document.feed.url)
    feed = document.feed
    channel = parsed.get("feed", {})
    converted, rejected = [], []
    for raw in parsed.get("entries", ()):
        try:
            converted.append(to_entry(raw, feed, channel.get("language")))
        except Exception as exc:
            if not contain:
                raise
            rejected.append(rejected_entry(raw, exc))
    entries = tuple(entry for entry in converted if entry is not None)
    return ParsedFeed(
        entries=entries,
        skipped=len(converted) - len(entries),
        malformed=malformed,
        update_hint_s=update_hint(channel),
        rejected=tuple(rejected),
    )


def rejected_entry(raw: Any, exc: Exception) -> RejectedEntry:
    """A feed item that failed to convert, as JSON for its dead letter, keyed by its hash."""
    text = json.dumps(raw, default=str, ensure_ascii=False, sort_keys=True)
    key = "rejected:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]
    return RejectedEntry(
        raw=text[:MAX_REJECTED_CHARS], error=f"{type(exc).__name__}: {exc}", key=key
    )


def update_hint(channel: Any) -> float | None:
    """How often the feed says it changes, in seconds: RSS <ttl> (minutes) and the
    syndication module's updatePeriod/updateFrequency; the longer when both are given."""
    hints = []
    ttl = str(channel.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        hints.append(int(ttl) * 60.0)
    period = _SY_PERIODS.get(str(channel.get("sy_updateperiod") or "").strip().lower())
    if period is not None:
        frequency = str(channel.get("sy_updatefrequency") or "1").strip()
        per = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        hints.append(period / per)
    return max(hints) if hints else None


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
        title=one_line(raw.get("title") or ""),
        guid=raw.get("id") or None,
        summary=raw.get("summary") or None,
        content_html=_content(raw),
        authors=_authors(raw),
        tags=tuple(t["term"].strip() for t in raw.get("tags", ()) if (t.get("term") or "").strip()),
        # RSS 1.0's dc:date reaches feedparser as `updated` only: it is the item's date
        published=from_struct_time(raw.get("published_parsed")) or _updated(raw),
        updated=parse_date(raw.get("updatedate")) or _updated(raw),
        image=_image(raw),
        language=feed_language or feed.outlet.language,
        extras=tuple((name, str(raw[key])) for key, name in _EXTRA_FIELDS.items() if raw.get(key)),
        media=_media(raw),
    )


def _updated(raw: Any) -> datetime | None:
    """The entry's own update time, read past feedparser's fallback to the publication time."""
    return from_struct_time(dict.get(raw, "updated_parsed"))


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
        for part in _AUTHOR_SEPARATOR.split(_BYLINE.sub("", name or "")):
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
    for tag in _IMG_TAG.finditer(raw.get("summary") or ""):
        src = _SRC.search(tag.group())
        if src:
            return src.group(1)
    return None


def _media(raw: Any) -> tuple[Media, ...]:
    """Enclosures, media:content and media:thumbnail, each URL once, in that order."""
    found: dict[str, Media] = {}
    for enclosure in raw.get("enclosures", ()):
        _add_media(
            found, enclosure.get("href"), enclosure.get("type"), None, enclosure.get("length")
        )
    for media in raw.get("media_content", ()):
        _add_media(
            found, media.get("url"), media.get("type"), media.get("medium"), media.get("filesize")
        )
    for thumbnail in raw.get("media_thumbnail", ()):
        _add_media(found, thumbnail.get("url"), None, "image", None)
    return tuple(found.values())


def _add_media(
    found: dict[str, Media], url: object, kind: object, medium: object, length: object
) -> None:
    if not isinstance(url, str) or not is_http_url(url.strip()) or url.strip() in found:
        return
    size = str(length or "").strip()
    found[url.strip()] = Media(
        url=url.strip(),
        type=str(kind) if kind else None,
        medium=str(medium) if medium else None,
        length=int(size) if size.isdigit() else None,
    )
