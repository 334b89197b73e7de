"""The published message: schema-valid, stable key, headers."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import jsonschema
import pytest

from newswire.publish.message import load_schema, to_message, to_record
from tests.builders import fixture_article

SCHEMA = load_schema()
JPOST = "https://www.jpost.com/middle-east/article-801234"


def validate(message: dict[str, object]) -> None:
    jsonschema.validate(message, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_schema_is_itself_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_article_message_validates_and_carries_every_documented_field() -> None:
    article = fixture_article(
        "jpost-albukamal-crossing",
        "jerusalem-post",
        JPOST,
        authors=("MIRIAM ADLER",),
        guid="801234",
        published=datetime(2026, 11, 16, 17, 42, tzinfo=UTC),
    )
    message = to_message(article)
    validate(message)
    assert message["id"] == article.id and message["url"] == JPOST
    assert message["published_at"] == "2026-11-16T17:42:00Z"
    assert message["fetched_at"] == "2026-11-21T12:00:00Z"
    assert message["outlet"] == {"id": "jerusalem-post", "name": "The Jerusalem Post"}
    assert message["content_hash"].startswith("sha256:")
    assert message["watchlists"] == ["syria-iraq-border", "deir-ez-zor"]
    assert message["relevant"] is True
    town = next(r for r in message["regions"] if r["id"] == "sy-albukamal")
    assert (town["geonames_id"], town["admin1"], town["country"]) == (174448, "SY-DY", "SY")
    assert 0 < town["score"] <= 1 and town["lat"] and town["lon"]
    for span in town["spans"]:
        source = message["title"] if span["in"] == "title" else message["text"]
        assert "kamal" in source[span["start"] : span["end"]].lower()
    assert message["focus"]["country"] == "SY"


def test_spans_past_a_trimmed_text_are_left_out() -> None:
    article = fixture_article("jpost-albukamal-crossing", "jerusalem-post", JPOST)
    cut = dataclasses.replace(article, text=article.text[:200])
    message = to_message(cut)
    validate(message)
    for region in message["regions"]:
        assert all(s["end"] <= 200 for s in region["spans"] if s["in"] == "text")


def test_record_key_is_the_article_id_and_headers_describe_it() -> None:
    article = fixture_article(
        "shafaq-albukamal-strikes", "shafaq-news", "https://shafaq.com/en/Iraq-News/x"
    )
    record = to_record(article)
    assert record.key == article.id.encode()
    assert dict(record.headers) == {
        "schema": b"newswire.article.v1",
        "schema_version": b"1",
        "source": b"shafaq-news",
        "language": b"en",
        "content-type": b"application/json",
    }
    assert json.loads(record.value) == to_message(article)


def test_schema_rejects_a_message_with_empty_text() -> None:
    article = fixture_article(
        "shafaq-albukamal-strikes", "shafaq-news", "https://shafaq.com/en/Iraq-News/x"
    )
    message = to_message(article)
    message["text"] = ""
    with pytest.raises(jsonschema.ValidationError, match="should be non-empty"):
        validate(message)
