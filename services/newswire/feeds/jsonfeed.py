"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser 6.0 does not
read, turned into the same shape feedparser gives, so one converter serves every format.

Only the fields newswire uses are read; anything malformed is skipped, never raised: a field
of the wrong type counts as absent, a bad date as no date, a document nested too deep to
decode as not JSON.
"""

from __future__ import annotations

import json
from typing import Any

from newswire.dates import parse_iso
from newswire.urls import join_url

VERSION_PREFIX = "https://jsonfeed.org/version/1"
_JSON_TYPES = ("application/feed+json", "application/json")


def looks_like_json(body: bytes, content_type: str) -> bool:
    """True for a JSON Feed by media type, or a body that opens like a JSON object."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in _JSON_TYPES or body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse(body: bytes, base_url: str) -> dict[str, Any]:
    """The feed as {"version", "feed", "entries", "bozo", "bozo_exception"}, like feedparser.
    Not JSON, or JSON without a JSON Feed version, gives no version and no entries."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return {"entries": [], "feed": {}, "bozo": True, "bozo_exception": exc}
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        return {"entries": [], "feed": {}}
    items = document.get("items")
    if not isinstance(items, list):
        items = []
        problem: Exception | None = ValueError("JSON Feed without an items list")
    else:
        problem = None
    feed_authors = _authors(document)  # an item without authors has the feed's
    return {
        "version": "json1" + version.removeprefix(VERSION_PREFIX).replace("/", ""),
        "feed": {"language": _text(document.get("language"))},
        "entries": [
            _entry(item, base_url, feed_authors) for item in items if isinstance(item, dict)
        ],
        "bozo": problem is not None,
        "bozo_exception": problem,
    }


def _entry(
    item: dict[str, Any], base_url: str, feed_authors: list[dict[str, Any]]
) -> dict[str, Any]:
    """One item in feedparser's shape; `*_detail` types say which values are plain text (the
    title, the summary, content_text) and which HTML (content_html)."""
    link = _text(item.get("url")) or _text(item.get("external_url"))
    language = _text(item.get("language"))
    content = _content(item, language)
    authors = _authors(item) or feed_authors
    entry: dict[str, Any] = {
        "link": join_url(base_url, link) if link else "",
        "id": _text(item.get("id")),
        "title": _text(item.get("title")),
        "title_detail": {"type": "text/plain", "language": language},
        "summary": _text(item.get("summary")),
        "summary_detail": {"type": "text/plain", "language": language},
        "content": content,
        "authors": [{"name": a["name"]} for a in authors if _text(a.get("name"))],
        "tags": [{"term": t} for t in _list(item.get("tags")) if isinstance(t, str)],
        "published_parsed": _time(item.get("date_published")),
        "updated_parsed": _time(item.get("date_modified")),
        "enclosures": [_attachment(a) for a in _list(item.get("attachments")) if _is_file(a)],
        "media_thumbnail": [{"url": _text(item.get("image"))}] if _text(item.get("image")) else [],
    }
    return entry


def _content(item: dict[str, Any], language: str | None) -> list[dict[str, Any]]:
    html = _text(item.get("content_html"))
    if html:
        return [{"value": html, "type": "text/html", "language": language}]
    text = _text(item.get("content_text"))
    return [{"value": text, "type": "text/plain", "language": language}] if text else []


def _authors(holder: dict[str, Any]) -> list[dict[str, Any]]:
    """An item's (or the feed's) authors with a name; JSON Feed 1.0 has a single `author`."""
    authors = holder.get("authors")
    if not isinstance(authors, list):
        authors = [holder.get("author")]
    return [a for a in authors if isinstance(a, dict) and _text(a.get("name"))]


def _is_file(attachment: object) -> bool:
    return isinstance(attachment, dict) and bool(_text(attachment.get("url")))


def _attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    size = attachment.get("size_in_bytes")
    return {
        "href": _text(attachment.get("url")),
        "type": _text(attachment.get("mime_type")),
        "length": str(size) if isinstance(size, int) else None,
    }


def _time(value: object) -> Any:
    """An RFC 3339 date as the UTC struct_time feedparser would give, or None."""
    parsed = parse_iso(value)
    return parsed.utctimetuple() if parsed else None


def _list(value: object) -> list[Any]:
    """A JSON array field, or nothing when the feed put anything else there."""
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
