"""The published message: an Article as JSON, its Kafka key and headers (schema v1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import orjson

from newswire.models import Article, Focus, RegionTag, Tagging
from newswire.sketch import encode

SCHEMA_NAME = "newswire.article"
SCHEMA_VERSION = 1
SCHEMA_FILE = "article.v1.schema.json"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record, ready to send."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def load_schema() -> dict[str, Any]:
    """The JSON Schema every message validates against."""
    text = resources.files("newswire.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def to_record(article: Article) -> Record:
    """The one place an Article becomes a Kafka record."""
    value = orjson.dumps(to_message(article))  # compact UTF-8, as json.dumps would, 9x faster
    headers = (
        ("schema", f"{SCHEMA_NAME}.v{SCHEMA_VERSION}".encode()),
        ("schema_version", str(SCHEMA_VERSION).encode()),
        ("source", article.outlet.id.encode()),
        ("language", (article.language or "und").encode()),
        ("content-type", b"application/json"),
    )
    return Record(key=article.id.encode(), value=value, headers=headers)


def to_message(article: Article) -> dict[str, Any]:
    """The JSON document of an article, as documented in docs/messages.md and the schema."""
    extraction = article.extraction
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "id": article.id,
        "url": article.url,
        "source_url": article.source_url,
        "guid": article.guid,
        "outlet": {"id": article.outlet.id, "name": article.outlet.name},
        "feed_url": article.feed_url,
        "title": article.title,
        "authors": list(article.authors),
        "published_at": _iso(article.published),
        "updated_at": _iso(article.updated),
        "fetched_at": _iso(article.fetched_at),
        "language": article.language,
        "summary": article.summary,
        "text": article.text,
        "image": article.image,
        "tags": list(article.tags),
        "extras": dict(article.extras),
        "media": [
            {"url": m.url, "type": m.type, "medium": m.medium, "length": m.length}
            for m in article.media
        ],
        "extraction": {
            "method": extraction.method.value,
            "fallback_reason": extraction.fallback_reason.value
            if extraction.fallback_reason
            else None,
            "chars": len(article.text),
            "trimmed_chars": article.trimmed_chars,
            "mode": extraction.mode,
            "quality": extraction.quality,
            "page_type": extraction.page_type.value if extraction.page_type else None,
            "sources": dict(extraction.sources),
        },
        **tagging_json(article.tagging, len(article.title), len(article.text)),
        "content_hash": article.content_hash,
        "sketch": encode(article.sketch),
        "cluster_id": article.cluster_id,
        "duplicate_of": article.duplicate_of,
        "revision": article.revision,
        "previous_content_hash": article.previous_hash,
    }


def tagging_json(tagging: Tagging, title_chars: int, text_chars: int) -> dict[str, Any]:
    """The tag stage's part of a message: regions, focus, watchlists, relevant."""
    return {
        "regions": [region_json(r, title_chars, text_chars) for r in tagging.regions],
        "focus": focus_json(tagging.focus),
        "watchlists": list(tagging.watchlists),
        "relevant": tagging.relevant,
    }


def region_json(region: RegionTag, title_chars: int, text_chars: int) -> dict[str, Any]:
    """A tagged region as the message carries it; spans past a trimmed text are left out."""
    limit = {"title": title_chars, "text": text_chars}
    return {
        "id": region.id,
        "name": region.name,
        "kind": region.kind,
        "country": region.country,
        "countries": list(region.countries),
        "admin1": region.admin1,
        "geonames_id": region.geonames_id,
        "lat": region.lat,
        "lon": region.lon,
        "parents": list(region.parents),
        "mentions": region.mentions,
        "demonym_only": region.demonym_only,
        "score": region.score,
        "spans": [
            {"in": span.field, "start": span.start, "end": span.end}
            for span in region.spans
            if span.end <= limit[span.field]
        ],
    }


def focus_json(focus: Focus | None) -> dict[str, Any] | None:
    """The article's focus, or None when it names no place."""
    if focus is None:
        return None
    return {"country": focus.country, "place": focus.place, "name": focus.name,
            "admin1": focus.admin1}  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
