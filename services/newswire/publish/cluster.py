"""Scale-out (cluster.mode: group): which feeds this replica polls, decided by Kafka.

The feed list is published, keyed by feed id, to a compacted control topic of P partitions
(a feed's partition is the murmur2 hash of its id, as Kafka's default partitioner would
place it). Every replica joins one consumer group on that topic and polls the feeds of the
partitions Kafka assigns it. When a replica joins, leaves or dies, the group rebalances and
the feeds move; there is no other coordinator.

The group uses Kafka's eager rebalance protocol: every member gives up its partitions
before any member is assigned new ones, and the revoke callback here returns only once the
polls of the revoked feeds have stopped (or were cancelled at the stop deadline). So a feed
is never polled by two live replicas at once. A replica that dies is taken out after the
session timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from newswire import metrics
from newswire.errors import BrokerError
from newswire.models import FeedSpec
from newswire.publish.producer import client_options, create_missing_topics
from newswire.settings import Settings

log = logging.getLogger("newswire.publish.cluster")
Handler = Callable[[frozenset[int]], Coroutine[Any, Any, None]]


def partition_of(feed_id: str, partitions: int) -> int:
    """The control-topic partition of a feed (Kafka's default partitioner on the key)."""
    hashed: int = murmur2(feed_id.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def feeds_by_partition(
    feeds: Iterable[FeedSpec], partitions: int
) -> dict[int, tuple[FeedSpec, ...]]:
    """Every partition's feeds (partitions without feeds map to an empty tuple)."""
    grouped: dict[int, list[FeedSpec]] = {p: [] for p in range(partitions)}
    for feed in feeds:
        grouped[partition_of(feed.id, partitions)].append(feed)
    return {p: tuple(found) for p, found in grouped.items()}


def publish_feed_list(settings: Settings, bootstrap: str, feeds: Iterable[FeedSpec]) -> int:
    """Create the compacted control topic if missing and publish every feed to it (key: the
    feed id; value: `feed_record`). Replicas publishing the same list leave one record per
    feed after compaction. Returns the number of feeds published."""
    cluster, kafka = settings.cluster, settings.kafka
    control = NewTopic(
        cluster.control_topic,
        cluster.partitions,
        kafka.replication_factor,
        topic_configs={"cleanup.policy": "compact"},
    )
    create_missing_topics(kafka, bootstrap, [control])
    producer = KafkaProducer(**client_options(kafka, bootstrap), acks="all")
    try:
        sent = [
            producer.send(
                cluster.control_topic,
                key=feed.id.encode(),
                value=feed_record(feed),
                partition=partition_of(feed.id, cluster.partitions),
            )
            for feed in feeds
        ]
        for future in sent:
            future.get(timeout=kafka.delivery_timeout)
    except KafkaError as exc:
        detail = f"cannot publish the feed list to {cluster.control_topic}: {exc}"
        raise BrokerError(detail) from exc
    finally:
        producer.close()
    return len(sent)


def feed_record(feed: FeedSpec) -> bytes:
    """A feed's value on the control topic."""
    return json.dumps({"id": feed.id, "url": feed.url, "outlet": feed.outlet.id}).encode()


class Membership(ConsumerRebalanceListener):  # type: ignore[misc]
    """This replica's membership of the group, in a thread of its own: a consumer on the
    control topic whose rebalance callbacks hand the revoked and assigned partitions to the
    event loop and wait until it has acted on them."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        loop: asyncio.AbstractEventLoop,
        on_revoked: Handler,
        on_assigned: Handler,
    ) -> None:
        cluster = settings.cluster
        self._settings = settings
        self._loop = loop
        self._on_revoked = on_revoked
        self._on_assigned = on_assigned
        self._wait = settings.poll.stop_deadline + 5.0
        self._stopping = threading.Event()
        self._consumer = KafkaConsumer(
            **client_options(settings.kafka, bootstrap),
            group_id=cluster.group_id,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=int(cluster.session_timeout * 1000),
            heartbeat_interval_ms=int(cluster.heartbeat_interval * 1000),
            max_poll_interval_ms=max(300_000, int(self._wait * 3000)),
        )
        self._thread = threading.Thread(target=self._run, name="newswire-group", daemon=True)

    def start(self) -> None:
        """Join the group (the first assignment arrives through the callbacks)."""
        self._consumer.subscribe([self._settings.cluster.control_topic], listener=self)
        self._thread.start()

    def stop(self) -> None:
        """Leave the group and end the thread. kafka-python's close() does not call the
        revoke callback: stop the feeds' polls before calling this."""
        self._stopping.set()
        self._thread.join(timeout=self._wait + 30)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._consumer.poll(timeout_ms=250)  # heartbeats, rebalances, callbacks
        except KafkaError as exc:
            log.error("group membership failed", extra={"detail": str(exc)})
        finally:
            # leaves the group at once: the partitions move without waiting for the session
            with contextlib.suppress(KafkaError):
                self._consumer.close()

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Called in the consumer's thread before the rebalance: stop those feeds first."""
        partitions = frozenset(tp.partition for tp in revoked)
        if partitions:
            self._hand_over(self._on_revoked, partitions)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Called in the consumer's thread after the rebalance: poll those feeds."""
        partitions = frozenset(tp.partition for tp in assigned)
        metrics.REBALANCES.inc()
        self._hand_over(self._on_assigned, partitions)

    def _hand_over(self, handler: Handler, partitions: frozenset[int]) -> None:
        if self._loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(handler(partitions), self._loop)
        try:
            future.result(timeout=self._wait)
        except FutureTimeout:
            log.error("rebalance handler did not finish in time", extra={"detail": str(partitions)})
