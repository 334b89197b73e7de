"""Poll stage: parse a fetched feed body (RSS, Atom, JSON Feed) into FeedEntries."""

from __future__ import annotations

import hashlib
import html
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
from newswire.text import html_fragment_text, one_line, plain_line
from newswire.urls import is_http_url, join_url

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
        response_headers=_response_headers(document),
        # feedparser's sanitiser (the default) drops scripts, styles, frames and unsafe
        # attributes from every HTML value: none of them may reach a text field
        sanitize_html=True,
    )
    return _convert(document, parsed, contain)


def _response_headers(document: FeedDocument) -> dict[str, str]:
    """The headers feedparser reads: the type (for the encoding), the location relative
    links resolve against (the response's Content-Location, resolved against the URL it was
    served from), the language an entry has when nothing in the feed declares one."""
    location = join_url(document.final_url, document.content_location or "")
    headers = {
        "content-type": document.content_type or "application/xml",
        "content-location": location if is_http_url(location) else document.final_url,
    }
    if document.content_language:
        headers["content-language"] = document.content_language
    return headers


def _convert(document: FeedDocument, parsed: Any, contain: bool = False) -> ParsedFeed | Failure:
    malformed = _malformed_reason(parsed)
    if not parsed.get("entries") and not parsed.get("version"):
        if _looks_like_html(document):
            return Failure(STAGE, Reason.NOT_A_FEED, "an HTML page, not a feed", document.feed.url)
        if not _is_channel(parsed):
            detail = malformed or "no feed found"
            return Failure(STAGE, Reason.PARSE_ERROR, detail, document.feed.url)
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


def _is_channel(parsed: Any) -> bool:
    """A well-formed feed with a channel but no items (CDF reports no version for one): a
    healthy, empty feed."""
    return not parsed.get("bozo") and bool(parsed.get("feed"))


def _looks_like_html(document: FeedDocument) -> bool:
    if "html" in document.content_type.lower():
        return True
    head = document.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def to_entry(raw: Any, feed: FeedSpec, feed_language: str | None) -> FeedEntry | None:
    """Convert one feedparser entry to a FeedEntry. An entry without an http(s) link is kept
    when it has a title or text (the feed's text is then the article, identified by its GUID,
    else by `content_id`, a hash of the feed URL and the entry's content); an entry with
    neither a link, a title nor text is skipped."""
    link = (raw.get("link") or "").strip()
    title = _title(raw.get("title_detail"), raw.get("title"))
    summary = _html(raw.get("summary_detail"), raw.get("summary"))
    content = _content(raw)
    if not is_http_url(link):
        if not (title or _has_text(content) or _has_text(summary)):
            return None  # nothing to publish: only an id, a date, an author, an image ...
        link = ""
    return FeedEntry(
        feed_id=feed.id,
        outlet_id=feed.outlet.id,
        link=link or None,
        title=title,
        guid=(raw.get("id") or "").strip() or None,
        summary=summary,
        content_html=content,
        authors=_authors(raw),
        tags=tuple(t["term"].strip() for t in raw.get("tags", ()) if (t.get("term") or "").strip()),
        # RSS 1.0's dc:date reaches feedparser as `updated` only: it is the item's date
        published=from_struct_time(raw.get("published_parsed")) or _updated(raw),
        updated=parse_date(raw.get("updatedate")) or _updated(raw),
        image=_image(raw),
        language=_language(raw) or feed_language or feed.outlet.language,
        extras=tuple((name, str(raw[key])) for key, name in _EXTRA_FIELDS.items() if raw.get(key)),
        media=_media(raw),
        content_id=None if link else content_id(feed.url, title, content or summary or ""),
    )


def content_id(feed_url: str, title: str, text: str) -> str:
    """The identity of an entry without a link: a hash of its feed's URL and its content."""
    digest = hashlib.sha256("\n".join((feed_url, title, text)).encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def _has_text(fragment: str | None) -> bool:
    """True when an HTML value has text (not only markup, an image, a sanitised script)."""
    return bool(fragment and html_fragment_text(fragment).strip())


def _is_plain(detail: Any) -> bool:
    """A value feedparser marks as plain text (RSS/Atom type="text", text/plain)."""
    kind = str((detail or {}).get("type") or "text/html").lower()
    return "html" not in kind and "xml" not in kind


def _title(detail: Any, value: Any) -> str:
    """The title as one line: a plain-text title as it is ("History of the <blink> tag"),
    an HTML one through the HTML parser."""
    text = str(value or "")
    return plain_line(text) if _is_plain(detail) else one_line(text)


def _html(detail: Any, value: Any) -> str | None:
    """A value as HTML: plain text is escaped (its "<" is literal, its line breaks kept)."""
    text = str(value or "")
    if not text.strip():
        return None
    if _is_plain(detail):
        return html.escape(text, quote=False).replace("\n", "<br>")
    return text


def _language(raw: Any) -> str | None:
    """The language the entry declares (xml:lang on its content, summary or title, which
    feedparser inherits from the feed's xml:lang and the Content-Language header)."""
    details = (*(raw.get("content") or ()), raw.get("summary_detail"), raw.get("title_detail"))
    for detail in details:
        language = str((detail or {}).get("language") or "").strip()
        if language:
            return language
    return None


def _updated(raw: Any) -> datetime | None:
    """The entry's own update time, read past feedparser's fallback to the publication time."""
    return from_struct_time(dict.get(raw, "updated_parsed"))


def _content(raw: Any) -> str | None:
    """The longest of the entry's contents, as HTML."""
    contents = [c for c in raw.get("content") or () if c.get("value")]
    values = [_html(c, c.get("value")) for c in contents]
    return max((v for v in values if v), key=len, default=None)


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
