"""Scale-out through a consumer group: three `newswire run` replicas on loopback (the test
broker, a real redis-server, a local server with 300 feeds) share the feeds with no other
coordinator. Polls are counted on the server side, by each replica's User-Agent."""

from __future__ import annotations

import contextlib
import itertools
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import redis
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from newswire.config import load_config
from newswire.errors import ConfigError
from newswire.models import FeedState, Validators
from newswire.publish.broker import free_port
from newswire.publish.cluster import feeds_by_partition, partition_of
from newswire.shared_state import SharedFeedStates, state_from_json, state_json
from newswire.state import StateStore
from tests.builders import FEEDS, REPO_CONFIG
from tests.kafka_support import read_messages, unique_prefix
from tests.redis_support import RedisServer
from tests.service_support import run_command, service_config
from tests.site import FixtureSite, Resource
from tests.stories import story_html
from tests.test_service import wait_for

FEED_COUNT = 300
INTERVAL = 3.0
SESSION = 6.0


@pytest.mark.integration
def test_a_feed_goes_to_the_partition_kafkas_default_partitioner_picks(
    kafka_bootstrap: str,
) -> None:
    topic = f"{unique_prefix()}.keys"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 12, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        keys = [f"feed-{n}" for n in range(60)]
        sent = [producer.send(topic, key=k.encode(), value=b"") for k in keys]
        placed = [future.get(timeout=30).partition for future in sent]
    finally:
        producer.close()
    assert placed == [partition_of(k, 12) for k in keys]
    assert len(set(placed)) > 6


def test_every_feed_is_in_exactly_one_partition() -> None:
    grouped = feeds_by_partition(FEEDS.values(), 5)
    assert sorted(grouped) == list(range(5))
    placed = [f.id for feeds in grouped.values() for f in feeds]
    assert sorted(placed) == sorted(f.id for f in FEEDS.values())


def test_group_mode_needs_the_shared_backend_and_a_sane_heartbeat(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cluster\.mode: group needs dedup\.backend: redis"):
        load_config(REPO_CONFIG, environ={"NEWSWIRE_CLUSTER__MODE": "group"})
    env = {"NEWSWIRE_CLUSTER__SESSION_TIMEOUT": "6s", "NEWSWIRE_CLUSTER__HEARTBEAT_INTERVAL": "3s"}
    with pytest.raises(ConfigError, match=r"cluster: .*heartbeat_interval must be at most a third"):
        load_config(REPO_CONFIG, environ=env)


def test_feed_state_is_shared_through_redis_and_falls_back_to_the_local_copy(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    feed = next(iter(FEEDS.values()))
    state = FeedState(
        feed.url, feed.id, 300.0, next_poll=1234.5, consecutive_errors=2,
        validators=Validators('"v1"', "Sat, 21 Nov 2026 10:00:00 GMT"), body_hash="abc",
    )  # fmt: skip
    assert state_from_json(state_json(state)) == state
    one = SharedFeedStates(
        redis.Redis.from_url(redis_server.url), StateStore(tmp_path / "a.db"), "t"
    )
    other = SharedFeedStates(
        redis.Redis.from_url(redis_server.url), StateStore(tmp_path / "b.db"), "t"
    )
    one.save_feed_state(state)
    assert other.feed_state(feed) == state  # another replica reads the schedule and validators
    gone = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    offline = SharedFeedStates(gone, StateStore(tmp_path / "a.db"), "t")
    assert offline.feed_state(feed) == state  # Redis out of reach: this replica's own copy
    labels = {"stage": "state", "reason": "state_unavailable"}
    before = REGISTRY.get_sample_value("newswire_errors_total", labels) or 0.0
    offline.save_feed_state(replace(state, next_poll=99.0))  # counted and logged, not raised
    assert REGISTRY.get_sample_value("newswire_errors_total", labels) == before + 1
    assert offline.feed_state(feed).next_poll == 99.0  # the local copy took the write


# --- three replicas --------------------------------------------------------------------------


def feed_xml(base: str, feed: int, stories: list[int]) -> bytes:
    items = "".join(
        f"<item><title>Report {s}</title><link>{base}/story/{s}</link><guid>s-{s}</guid></item>"
        for s in stories
    )
    return f'<rss version="2.0"><channel><title>f{feed}</title>{items}</channel></rss>'.encode()


class Feeds:
    """300 feeds on the local site, each listing its stories."""

    def __init__(self, site: FixtureSite) -> None:
        self.site = site
        self.stories: dict[int, list[int]] = {f: [] for f in range(FEED_COUNT)}

    def post(self, feed: int, story: int) -> None:
        self.site.add(f"/story/{story}", Resource(story_html(story)))
        self.stories[feed].insert(0, story)
        body = feed_xml(self.site.base, feed, self.stories[feed])
        self.site.add(f"/feed/{feed}", Resource(body, "application/rss+xml"))

    def polls(self, since: float, until: float) -> list[tuple[int, str, float]]:
        """(feed, replica, time) of every feed request in the window."""
        return [
            (int(r.path.rsplit("/", 1)[1]), r.headers.get("User-Agent", ""), r.at)
            for r in list(self.site.requests)
            if r.path.startswith("/feed/") and since <= r.at < until
        ]


class Replicas:
    """`newswire run` replicas in one group, each with its own state dir and User-Agent."""

    def __init__(self, tmp: Path, bootstrap: str, redis_url: str, prefix: str) -> None:
        self.tmp, self.bootstrap, self.redis_url, self.prefix = tmp, bootstrap, redis_url, prefix
        self.running: dict[str, tuple[subprocess.Popen[bytes], int]] = {}

    def start(self, name: str, feeds: list[dict[str, object]]) -> None:
        port = free_port()
        home = self.tmp / name
        home.mkdir()
        config = service_config(
            home,
            feeds,
            self.bootstrap,
            self.prefix,
            port,
            http={"user_agent": name},
            cluster={
                "mode": "group",
                "control_topic": f"{self.prefix}.feeds",
                "group_id": f"{self.prefix}.group",
                "session_timeout": f"{SESSION}s",
                "heartbeat_interval": "1s",
            },
            dedup={"backend": "redis", "redis_url": self.redis_url, "redis_prefix": self.prefix},
            poll={"stop_deadline": "5s"},
        )
        process = subprocess.Popen(run_command(config), stderr=subprocess.DEVNULL)
        self.running[name] = (process, port)

    def owned(self) -> dict[str, float]:
        """newswire_feeds_owned of every running replica that answers."""
        found = {}
        for name, (_, port) in self.running.items():
            with contextlib.suppress(httpx.HTTPError):
                for line in httpx.get(
                    f"http://127.0.0.1:{port}/metrics", timeout=2
                ).text.splitlines():
                    if line.startswith("newswire_feeds_owned "):
                        found[name] = float(line.split()[1])
        return found

    def kill(self, name: str) -> None:
        process, _ = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process, _ in self.running.values():
            process.send_signal(signal.SIGTERM)
        for name, (process, _) in list(self.running.items()):
            process.wait(timeout=60)
            assert process.returncode == 0, name
        self.running.clear()


@pytest.fixture
def replicas(tmp_path: Path, kafka_bootstrap: str, redis_server: RedisServer) -> Iterator[Replicas]:
    group = Replicas(tmp_path, kafka_bootstrap, redis_server.url, unique_prefix())
    try:
        yield group
    finally:
        for process, _ in group.running.values():
            process.kill()


def settled(replicas: Replicas, count: int) -> bool:
    owned = replicas.owned()
    return len(owned) == count and sum(owned.values()) == FEED_COUNT and all(owned.values())


def published(bootstrap: str, topic: str) -> list[dict[str, object]]:
    return list(read_messages(bootstrap, topic))


def rebalances(replicas: Replicas) -> float:
    """newswire_group_rebalances_total summed over the running replicas."""
    total = 0.0
    for _, port in replicas.running.values():
        with contextlib.suppress(httpx.HTTPError):
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            total += sum(
                float(line.split()[1])
                for line in text.splitlines()
                if line.startswith("newswire_group_rebalances_total ")
            )
    return total


def steady_window(replicas: Replicas, feeds: Feeds, tries: int = 3) -> list[tuple[int, str, float]]:
    """The polls of three intervals in which no replica's partitions moved. A move revokes a
    feed's loop (a poll it cancels saved nothing, so the feed's next owner polls it at once):
    that is the group at work, not a feed polled twice in the steady state measured here."""
    for _ in range(tries):
        before, start = rebalances(replicas), time.monotonic()
        time.sleep(INTERVAL * 3)
        window = feeds.polls(start, time.monotonic())
        if rebalances(replicas) == before:
            return window
    raise AssertionError(f"the group never held still for {INTERVAL * 3}s in {tries} tries")


def assert_each_feed_polled_by_one_replica_per_cycle(
    polls: list[tuple[int, str, float]],
) -> None:
    by_feed: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for feed, replica, at in polls:
        by_feed[feed].append((replica, at))
    assert sorted(by_feed) == list(range(FEED_COUNT)), "every feed polled"
    for feed, seen in by_feed.items():
        assert len({r for r, _ in seen}) == 1, f"feed {feed} polled by {seen}"
        times = sorted(at for _, at in seen)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap > INTERVAL * 0.6 for gap in gaps), f"feed {feed} polled twice a cycle"


def assert_published_once(bootstrap: str, topic: str, stories: int) -> None:
    messages = published(bootstrap, topic)
    by_url: dict[object, set[object]] = defaultdict(set)
    for message in messages:
        by_url[message["source_url"]].add(message["id"])
    assert len(by_url) == stories, "every story published"
    assert all(len(ids) == 1 for ids in by_url.values()), "never under two ids"
    assert len(messages) == stories, Counter(m["source_url"] for m in messages).most_common(3)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_three_replicas_share_300_feeds_survive_a_kill_and_spread_to_a_new_one(
    site: FixtureSite, replicas: Replicas, kafka_bootstrap: str
) -> None:
    feeds = Feeds(site)
    for f in range(FEED_COUNT):
        feeds.post(f, f)
    specs = [
        {
            "url": site.url(f"/feed/{f}"),
            "id": f"feed-{f:03d}",
            "interval": f"{INTERVAL}s",
            "min_interval": f"{INTERVAL}s",
            "max_interval": f"{INTERVAL}s",
        }
        for f in range(FEED_COUNT)
    ]
    topic = f"{replicas.prefix}.articles"
    for name in ("r1", "r2", "r3"):
        replicas.start(name, specs)

    # 1. three replicas: every feed polled by exactly one of them per cycle, every story once
    wait_for(lambda: settled(replicas, 3), 120, "three replicas own all feeds")
    wait_for(lambda: len(published(kafka_bootstrap, topic)) >= 300, 120, "300 stories published")
    window = steady_window(replicas, feeds)
    assert_each_feed_polled_by_one_replica_per_cycle(window)
    owner = {feed: replica for feed, replica, _ in window}
    assert set(owner.values()) == {"r1", "r2", "r3"}
    assert_published_once(kafka_bootstrap, topic, 300)

    # 2. kill one: its feeds are polled by the others; new stories published once
    killed_at = time.monotonic()
    replicas.kill("r1")
    for f in range(FEED_COUNT):
        feeds.post(f, FEED_COUNT + f)
    orphans = {feed for feed, replica in owner.items() if replica == "r1"}

    def orphans_taken_over() -> bool:
        polls = feeds.polls(killed_at, time.monotonic())
        return orphans <= {feed for feed, replica, _ in polls if replica != "r1"}

    took = wait_for(orphans_taken_over, 60, "the killed replica's feeds polled by others")
    # session timeout, one interval, and Tansu's join wait (about half a session timeout)
    assert took < SESSION + INTERVAL + SESSION / 2 + 3, took
    wait_for(lambda: len(published(kafka_bootstrap, topic)) >= 600, 120, "600 stories")
    wait_for(lambda: settled(replicas, 2), 60, "two replicas own all feeds")
    start = time.monotonic()
    time.sleep(INTERVAL * 3)
    assert_each_feed_polled_by_one_replica_per_cycle(feeds.polls(start, time.monotonic()))
    assert_published_once(kafka_bootstrap, topic, 600)

    # 3. add one: the load spreads, each replica within 30% of an even share
    replicas.start("r4", specs)
    wait_for(lambda: settled(replicas, 3), 120, "three replicas own all feeds again")
    start = time.monotonic()
    time.sleep(INTERVAL * 4)
    window = feeds.polls(start, time.monotonic())
    assert_each_feed_polled_by_one_replica_per_cycle(window)
    per_replica = Counter(replica for _, replica, _ in window)
    even = len(window) / 3
    assert set(per_replica) == {"r2", "r3", "r4"}
    assert all(abs(n - even) <= 0.3 * even for n in per_replica.values()), per_replica
    replicas.stop_all()
    assert_published_once(kafka_bootstrap, topic, 600)
