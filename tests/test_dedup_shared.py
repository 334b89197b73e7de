"""The shared dedup backend through the pipeline: replicas with their own state stores (outbox,
journal) and one real redis-server publish each story once, divert a copy another replica saw
first, and wait out a Redis outage without losing or repeating an article."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newswire.dedup import redis_store as dedup_redis
from newswire.dedup.redis_store import RedisDedupStore, connect
from newswire.models import FeedSpec
from newswire.pipeline import RunStats
from newswire.settings import Settings
from newswire.state import StateStore
from newswire.urls import canonical_url
from tests.kafka_support import read_messages
from tests.pipeline_support import poll_and_drain
from tests.redis_support import RedisServer
from tests.site import FixtureSite, Resource
from tests.stories import story, story_html
from tests.test_dedup_layers import RSS, duplicates, feed, rss, serve_syndication, settings_for

pytestmark = pytest.mark.integration


class Replica:
    """A replica's own state store and a backend on the shared Redis, polling into the test
    broker."""

    def __init__(
        self, path: Path, settings: Settings, bootstrap: str, pool: ProcessPoolExecutor
    ) -> None:
        self.settings = settings
        self.store = StateStore(path)
        self.dedup = RedisDedupStore(connect(settings.dedup), self.store, settings.dedup)
        self._bootstrap, self._pool = bootstrap, pool

    async def poll(self, *feeds: FeedSpec) -> RunStats:
        stats, _ = await poll_and_drain(
            self.settings, self._bootstrap, self.store, self._pool, feeds, dedup=self.dedup
        )
        return stats


@pytest.fixture
def replica(
    kafka_bootstrap: str, redis_server: RedisServer, tmp_path: Path, pool: ProcessPoolExecutor
) -> Callable[[str], Replica]:
    """Makes replicas (by name) sharing one Redis and one set of topics."""
    settings = settings_for(
        kafka_bootstrap, backend="redis", redis_url=redis_server.url, redis_timeout=1.0
    )
    return lambda name: Replica(tmp_path / f"{name}.db", settings, kafka_bootstrap, pool)


async def both(*polls: Coroutine[Any, Any, RunStats]) -> list[RunStats]:
    return list(await asyncio.gather(*polls))


def dedup_failures() -> float:
    labels = {"stage": "dedup", "reason": "dedup_unavailable"}
    return REGISTRY.get_sample_value("newswire_errors_total", labels) or 0.0


def test_a_copy_polled_by_another_replica_at_the_same_time_is_diverted(
    site: FixtureSite, kafka_bootstrap: str, replica: Callable[[str], Replica]
) -> None:
    first, second = replica("1"), replica("2")
    settings = first.settings
    original, copy = serve_syndication(site)
    asyncio.run(both(first.poll(original), second.poll(copy)))
    (published,) = read_messages(kafka_bootstrap, settings.topics.articles)
    (diverted,) = read_messages(kafka_bootstrap, settings.topics.duplicates)
    assert diverted["duplicate_of"] == published["id"] == diverted["cluster_id"]
    assert {published["url"], diverted["url"]} == {site.url("/original"), site.url("/copy")}


def test_one_feed_polled_by_two_replicas_publishes_each_story_once(
    site: FixtureSite, kafka_bootstrap: str, replica: Callable[[str], Replica]
) -> None:
    first, second = replica("1"), replica("2")
    settings = first.settings
    items = []
    for index in range(12):
        site.add(f"/s{index}", Resource(story_html(100 + index)))
        items.append((f"/s{index}", story(100 + index)[0]))
    site.add("/all.rss", Resource(rss(site, items), RSS))
    spec = feed(site, "/all.rss", "shafaq-news")

    runs = asyncio.run(both(first.poll(spec), second.poll(spec)))
    # a story in flight at the other replica is left for the next poll (its claim in Redis),
    # or fetched by both and found recorded at the second check (claimed in each replica)
    runs += asyncio.run(both(first.poll(spec), second.poll(spec)))
    messages = read_messages(kafka_bootstrap, settings.topics.articles)
    assert sorted(m["url"] for m in messages) == sorted(site.url(path) for path, _ in items)
    assert len({m["id"] for m in messages}) == 12
    assert sum(r.published for r in runs) == 12
    assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []


def test_a_link_another_replica_recorded_after_this_ones_index_read_is_caught_at_the_check(
    site: FixtureSite,
    kafka_bootstrap: str,
    replica: Callable[[str], Replica],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 3600.0)  # the index counts as read
    first, second = replica("1"), replica("2")
    settings = first.settings
    assert second.dedup.known(("url:https://x.test/warm",)) is None  # its index reads the log
    site.add("/late", Resource(story_html(301)))
    site.add("/late.rss", Resource(rss(site, [("/late", story(301)[0])]), RSS))
    spec = feed(site, "/late.rss", "shafaq-news")
    assert asyncio.run(first.poll(spec)).published == 1
    before = duplicates("url")

    stats = asyncio.run(second.poll(spec))  # its index has not read the first one's record
    assert stats.published == 0 and duplicates("url") == before + 1
    assert site.hits("/late") == 2  # claimed in the replica, so fetched, then found recorded
    (message,) = read_messages(kafka_bootstrap, settings.topics.articles)
    assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []
    link = f"url:{canonical_url(site.url('/late'))}"
    assert message["url"] == site.url("/late")
    assert second.dedup.known((link,)) == (link, message["id"])


def test_a_redis_outage_holds_entries_back_until_it_returns(
    site: FixtureSite,
    kafka_bootstrap: str,
    redis_server: RedisServer,
    replica: Callable[[str], Replica],
) -> None:
    only = replica("only")
    settings = only.settings
    site.add("/one", Resource(story_html(201)))
    site.add("/one.rss", Resource(rss(site, [("/one", story(201)[0])]), RSS))
    spec = feed(site, "/one.rss", "shafaq-news")
    before = dedup_failures()

    redis_server.stop()
    stats = asyncio.run(only.poll(spec))
    assert stats.published == 0 and dedup_failures() == before + 1
    assert read_messages(kafka_bootstrap, settings.topics.articles) == []
    state = only.store.feed_state(spec)
    assert state.body_hash is None  # the entry was not handled: the next poll parses again

    redis_server.start()
    stats = asyncio.run(only.poll(spec))
    assert stats.published == 1
    stats = asyncio.run(only.poll(spec))
    assert stats.published == 0
    (message,) = read_messages(kafka_bootstrap, settings.topics.articles)
    assert message["url"] == site.url("/one")
