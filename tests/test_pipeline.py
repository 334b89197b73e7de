"""The pipeline in-process: metrics by outcome, and nothing lost when publishing fails."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from newswire.models import FeedSpec
from newswire.pipeline import RunStats
from newswire.publish.producer import configured_topics, ensure_topics
from newswire.settings import Settings
from newswire.state import StateStore
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages, unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite, Resource

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"


def serve(site: FixtureSite) -> tuple[FeedSpec, FeedSpec]:
    site.add_file(
        "/en/Iraq-News/Drone-strikes-hit-armed-faction-sites-in-Syria-s-al-Bukamal",
        "site/shafaq-albukamal-strikes.html",
        "text/html",
    )
    site.add_file(
        "/en/Security/Rocket-lands-near-Baghdad-s-Green-Zone-no-casualties",
        "site/shafaq-baghdad-green-zone.html",
        "text/html",
    )
    site.add_file("/en/rss", "feeds/shafaq-en.xml", RSS, etag='"s1"')
    site.add_file("/en/rss/iraq", "feeds/shafaq-iraq.xml", RSS)
    outlet = FEEDS["shafaq-news"].outlet
    return (
        FeedSpec("shafaq-en", site.url("/en/rss"), outlet, 300),
        FeedSpec("shafaq-iraq", site.url("/en/rss/iraq"), outlet, 300),
    )


def run_pipeline(
    settings: Settings,
    bootstrap: str,
    store: StateStore,
    pool: ProcessPoolExecutor,
    feeds: tuple[FeedSpec, ...],
) -> RunStats:
    stats, _ = asyncio.run(poll_and_drain(settings, bootstrap, store, pool, feeds))
    return stats


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def configured(prefix: str, **kafka: object) -> Settings:
    settings = CONFIG.settings.model_copy(
        update={
            "topics": CONFIG.settings.topics.model_copy(
                update={"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"}
            ),
            "routes": (),
            "kafka": CONFIG.settings.kafka.model_copy(update=kafka),
        }
    )
    return settings


def with_fresh_topic(bootstrap: str) -> Settings:
    """Settings whose articles topic is new and created on the broker."""
    settings = configured(unique_prefix())
    ensure_topics(settings.kafka, bootstrap, settings.topics, configured_topics(settings))
    return settings


def test_metrics_count_polls_articles_duplicates_and_fallbacks(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = with_fresh_topic(kafka_bootstrap)
    feeds = serve(site)
    before = {
        "ok": sample("newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="ok"),
        "dup": sample("newswire_duplicates_total", layer="url"),
        "404": sample("newswire_errors_total", stage="fetch", reason="http_404"),
        "summary": sample(
            "newswire_extractions_total", outlet="shafaq-news", method="feed_summary"
        ),
        "pub": sample("newswire_articles_published_total", topic=settings.topics.articles),
    }
    store = StateStore(tmp_path / "state.db")
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, feeds)

    assert (stats.published, stats.duplicates) == (3, 1)
    assert stats.failures == {"fetch/http_404": 1}
    assert (
        sample("newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="ok")
        == before["ok"] + 1
    )
    assert sample("newswire_duplicates_total", layer="url") == before["dup"] + 1
    assert sample("newswire_errors_total", stage="fetch", reason="http_404") == before["404"] + 1
    assert (
        sample("newswire_extractions_total", outlet="shafaq-news", method="feed_summary")
        == before["summary"] + 1
    )
    assert (
        sample("newswire_articles_published_total", topic=settings.topics.articles)
        == before["pub"] + 3
    )
    assert len(read_messages(kafka_bootstrap, settings.topics.articles)) == 3

    stats = run_pipeline(settings, kafka_bootstrap, store, pool, feeds)
    assert stats.published == 0
    assert (
        sample(
            "newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="not_modified"
        )
        >= 1
    )


def test_an_article_over_the_brokers_size_limit_goes_to_the_dead_letter_topic(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    feeds = serve(site)
    store = StateStore(tmp_path / "state.db")
    tiny = configured(unique_prefix(), max_request_bytes=1024)  # every article is too large
    topics = [tiny.topics.articles, tiny.topics.dead_letters]
    ensure_topics(tiny.kafka, kafka_bootstrap, tiny.topics, topics)
    before = sample("newswire_dead_letters_total", stage="publish", reason="message_too_large")

    stats = run_pipeline(tiny, kafka_bootstrap, store, pool, feeds[:1])
    assert (stats.published, stats.unsent) == (3, 0)  # accepted, then dead-lettered
    assert read_messages(kafka_bootstrap, tiny.topics.articles) == []
    letters = read_messages(kafka_bootstrap, tiny.topics.dead_letters)
    assert len(letters) == 3
    assert {(m["stage"], m["reason"], m["attempts"]) for m in letters} == {
        ("publish", "message_too_large", 1)
    }
    assert all(m["size"] > 1024 and m["url"].startswith(site.base) for m in letters)
    assert all(len(m["article_id"]) == 32 and m["topic"] == tiny.topics.articles for m in letters)
    after = sample("newswire_dead_letters_total", stage="publish", reason="message_too_large")
    assert after == before + 3
    assert store.outbox_size() == 0


def test_unreachable_feed_is_counted_not_raised(
    kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = configured(unique_prefix())
    dead = FeedSpec("dead", "http://127.0.0.1:9/rss", FEEDS["shafaq-news"].outlet, 300)
    stats = run_pipeline(settings, kafka_bootstrap, StateStore(tmp_path / "s.db"), pool, (dead,))
    assert stats.failures == {"poll/connect": 1}
    assert sample("newswire_polls_total", feed="dead", outlet="shafaq-news", outcome="connect") >= 1


def test_entry_with_no_text_anywhere_is_counted_and_retried_not_published(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = with_fresh_topic(kafka_bootstrap)
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><link>{{BASE}}/gone</link>'
        b"</item></channel></rss>"
    )
    feed = FeedSpec(
        "empty",
        site.add("/rss", Resource(body, RSS, etag='"e1"')),
        FEEDS["shafaq-news"].outlet,
        300,
    )
    store = StateStore(tmp_path / "s.db")
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
    assert stats.published == 0
    assert stats.failures == {"fetch/http_404": 1, "extract/too_little_text": 1}
    assert store.feed_state(feed).validators.etag is None  # retried on the next poll
    assert read_messages(kafka_bootstrap, settings.topics.articles) == []
