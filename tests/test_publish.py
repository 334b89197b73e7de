"""Publishing to a real broker: topics created, routing, key and ack; failures as values."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from kafka import KafkaAdminClient

from newswire.errors import Reason
from newswire.models import Failure
from newswire.publish import Delivered, Publisher, ensure_topics, routed_topics
from newswire.settings import Route, Settings, TopicSettings
from tests.builders import fixture_article
from tests.kafka_support import read_topic, unique_prefix

pytestmark = pytest.mark.integration
BORDER = fixture_article("shafaq-albukamal-strikes", "shafaq-news", "https://shafaq.com/en/x")
BAGHDAD = fixture_article("shafaq-baghdad-green-zone", "shafaq-news", "https://shafaq.com/en/y")


def settings_for(prefix: str) -> Settings:
    return Settings(
        topics=TopicSettings(articles=f"{prefix}.articles", partitions=2),
        routes=(
            Route(topic=f"{prefix}.border", match=("syria-iraq-border",)),
            Route(topic=f"{prefix}.iraq", match=("IQ",)),
        ),
    )


def test_routing_follows_regions_and_watchlists() -> None:
    settings = settings_for("p")
    assert routed_topics(BORDER, settings) == ("p.articles", "p.border", "p.iraq")
    assert routed_topics(BAGHDAD, settings) == ("p.articles", "p.iraq")


def test_ensure_topics_creates_missing_topics_once(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    settings = settings_for(prefix)
    names = [f"{prefix}.articles", f"{prefix}.border"]
    assert ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, names) == names
    assert ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, names) == []
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = admin.describe_topics([f"{prefix}.articles"])
        assert len(described[0]["partitions"]) == 2
    finally:
        admin.close()


def test_publish_waits_for_the_ack_on_every_routed_topic(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    settings = settings_for(prefix)
    topics = [f"{prefix}.articles", f"{prefix}.border", f"{prefix}.iraq"]
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, topics)
    publisher = Publisher(settings, kafka_bootstrap)
    try:
        outcome = asyncio.run(publisher.publish(BORDER))
    finally:
        publisher.close()
    assert outcome == Delivered(BORDER.id, tuple(topics))
    for topic in topics:
        records = read_topic(kafka_bootstrap, topic)
        assert [r.key for r in records] == [BORDER.id.encode()]


def test_message_over_the_size_limit_is_a_failure_not_a_crash(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    settings = settings_for(prefix)
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"max_request_bytes": 2048})}
    )
    topics = [f"{prefix}.articles", f"{prefix}.border", f"{prefix}.iraq"]
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, topics)
    big = dataclasses.replace(BAGHDAD, text="x" * 10_000)
    publisher = Publisher(settings, kafka_bootstrap)
    try:
        outcome = asyncio.run(publisher.publish(big))
    finally:
        publisher.close()
    assert isinstance(outcome, Failure)
    assert (outcome.stage, outcome.reason) == ("publish", Reason.MESSAGE_TOO_LARGE)
