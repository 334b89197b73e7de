"""The shared dedup backend through the pipeline: replicas with their own state stores (outbox,
journal) and one real redis-server publish each story once, divert a copy another replica saw
first, and wait out a Redis outage without losing or repeating an article."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newswire.dedup_redis import RedisDedupStore, connect
from newswire.models import FeedSpec
from newswire.pipeline import RunStats
from newswire.settings import Settings
from newswire.state import StateStore
from tests.kafka_support import read_messages
from tests.pipeline_support import poll_and_drain
from tests.redis_support import RedisServer
from tests.site import FixtureSite, Resource
from tests.stories import story, story_html
from tests.test_dedup_layers import RSS, feed, rss, serve_syndication, settings_for

pytestmark = pytest.mark.integration


class Replica:
    """A replica's own state store and a backend on the shared Redis."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.settings = settings
        self.store = StateStore(path)
        self.dedup = RedisDedupStore(connect(settings.dedup), self.store, settings.dedup)

    async def poll(self, bootstrap: str, pool: ProcessPoolExecutor, *feeds: FeedSpec) -> RunStats:
        stats, _ = await poll_and_drain(
            self.settings, bootstrap, self.store, pool, feeds, dedup=self.dedup
        )
        return stats


def shared_settings(bootstrap: str, server: RedisServer) -> Settings:
    return settings_for(bootstrap, backend="redis", redis_url=server.url, redis_timeout=1.0)


async def both(*polls: Coroutine[Any, Any, RunStats]) -> list[RunStats]:
    return list(await asyncio.gather(*polls))


def dedup_failures() -> float:
    labels = {"stage": "dedup", "reason": "dedup_unavailable"}
    return REGISTRY.get_sample_value("newswire_errors_total", labels) or 0.0


def test_a_copy_polled_by_another_replica_at_the_same_time_is_diverted(
    site: FixtureSite,
    kafka_bootstrap: str,
    redis_server: RedisServer,
    tmp_path: Path,
    pool: ProcessPoolExecutor,
) -> None:
    settings = shared_settings(kafka_bootstrap, redis_server)
    first, second = Replica(tmp_path / "1.db", settings), Replica(tmp_path / "2.db", settings)
    original, copy = serve_syndication(site)
    asyncio.run(
        both(first.poll(kafka_bootstrap, pool, original), second.poll(kafka_bootstrap, pool, copy))
    )
    (published,) = read_messages(kafka_bootstrap, settings.topics.articles)
    (diverted,) = read_messages(kafka_bootstrap, settings.topics.duplicates)
    assert diverted["duplicate_of"] == published["id"] == diverted["cluster_id"]
    assert {published["url"], diverted["url"]} == {site.url("/original"), site.url("/copy")}


def test_one_feed_polled_by_two_replicas_publishes_each_story_once(
    site: FixtureSite,
    kafka_bootstrap: str,
    redis_server: RedisServer,
    tmp_path: Path,
    pool: ProcessPoolExecutor,
) -> None:
    settings = shared_settings(kafka_bootstrap, redis_server)
    first, second = Replica(tmp_path / "1.db", settings), Replica(tmp_path / "2.db", settings)
    items = []
    for index in range(12):
        site.add(f"/s{index}", Resource(story_html(100 + index)))
        items.append((f"/s{index}", story(100 + index)[0]))
    site.add("/all.rss", Resource(rss(site, items), RSS))
    spec = feed(site, "/all.rss", "shafaq-news")

    runs = asyncio.run(
        both(first.poll(kafka_bootstrap, pool, spec), second.poll(kafka_bootstrap, pool, spec))
    )
    # a story in flight at the other replica is left for the next poll, never taken twice
    runs += asyncio.run(
        both(first.poll(kafka_bootstrap, pool, spec), second.poll(kafka_bootstrap, pool, spec))
    )
    messages = read_messages(kafka_bootstrap, settings.topics.articles)
    assert sorted(m["url"] for m in messages) == sorted(site.url(path) for path, _ in items)
    assert len({m["id"] for m in messages}) == 12
    assert sum(r.published for r in runs) == 12
    assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []


def test_a_redis_outage_holds_entries_back_until_it_returns(
    site: FixtureSite,
    kafka_bootstrap: str,
    redis_server: RedisServer,
    tmp_path: Path,
    pool: ProcessPoolExecutor,
) -> None:
    settings = shared_settings(kafka_bootstrap, redis_server)
    replica = Replica(tmp_path / "r.db", settings)
    site.add("/one", Resource(story_html(201)))
    site.add("/one.rss", Resource(rss(site, [("/one", story(201)[0])]), RSS))
    spec = feed(site, "/one.rss", "shafaq-news")
    before = dedup_failures()

    redis_server.stop()
    stats = asyncio.run(replica.poll(kafka_bootstrap, pool, spec))
    assert stats.published == 0 and dedup_failures() == before + 1
    assert read_messages(kafka_bootstrap, settings.topics.articles) == []
    state = replica.store.feed_state(spec)
    assert state.body_hash is None  # the entry was not handled: the next poll parses again

    redis_server.start()
    stats = asyncio.run(replica.poll(kafka_bootstrap, pool, spec))
    assert stats.published == 1
    stats = asyncio.run(replica.poll(kafka_bootstrap, pool, spec))
    assert stats.published == 0
    (message,) = read_messages(kafka_bootstrap, settings.topics.articles)
    assert message["url"] == site.url("/one")
