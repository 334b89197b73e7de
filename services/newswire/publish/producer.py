"""Publish stage: route an article to its topics as records, and send records to Kafka
(idempotent, acks=all), waiting for the acks. The outbox decides what to send when."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    KafkaConfigurationError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    SaslAuthenticationFailedError,
    TopicAlreadyExistsError,
)

from newswire.errors import BrokerError, Reason
from newswire.models import Article, Failure, OutboxRecord, Tagging
from newswire.publish.broker import any_reachable
from newswire.publish.message import to_record
from newswire.settings import KafkaSettings, Route, Settings, TopicSettings

STAGE = "publish"
log = logging.getLogger("newswire.publish.producer")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")  # a route match that is a country code


def client_options(kafka: KafkaSettings, bootstrap: str) -> dict[str, Any]:
    """Options shared by the producer, admin and consumer clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password
    return options


def configured_topics(settings: Settings) -> list[str]:
    """Every topic newswire may publish to: articles, each route's, duplicates, the DLQ."""
    routes = [r.topic for r in settings.routes]
    topics = settings.topics
    return list(dict.fromkeys([topics.articles, *routes, topics.duplicates, topics.dead_letters]))


def routed_topics(article: Article, settings: Settings) -> tuple[str, ...]:
    """news.articles, then every region topic whose route matches the article's regions: a
    place, region, ISO 3166-2 or watchlist id it touches, or a country code (two capitals)
    the article supports at least `min_support`."""
    topics = [settings.topics.articles]
    topics += [r.topic for r in settings.routes if route_takes(r, article.tagging)]
    return tuple(dict.fromkeys(topics))


def route_takes(route: Route, tagging: Tagging) -> bool:
    """True when the route takes an article so tagged (see routed_topics)."""
    for ident in tagging.region_ids().intersection(route.match):
        if not _COUNTRY_CODE.fullmatch(ident) or tagging.support(ident) >= route.min_support:
            return True
    return False


def create_configured_topics(settings: Settings, bootstrap: str) -> list[str]:
    """With `topics.create`, every configured topic that is missing, created; the names
    created (at start, and after a broker that lost its state)."""
    if not settings.topics.create:
        return []
    topics = configured_topics(settings)
    return ensure_topics(settings.kafka, bootstrap, settings.topics, topics)


def ensure_topics(
    kafka: KafkaSettings, bootstrap: str, topics: TopicSettings, names: Iterable[str]
) -> list[str]:
    """Create the missing topics with the configured partitions; return those created."""
    new = [NewTopic(n, topics.partitions, kafka.replication_factor) for n in dict.fromkeys(names)]
    return create_missing_topics(kafka, bootstrap, new)


def create_missing_topics(
    kafka: KafkaSettings, bootstrap: str, new: Sequence[NewTopic]
) -> list[str]:
    """Create those of `new` that do not exist yet; return the names created."""
    try:
        admin = KafkaAdminClient(**client_options(kafka, bootstrap), request_timeout_ms=15_000)
    except KafkaError as exc:
        raise connect_error(kafka, bootstrap, exc) from exc
    try:
        existing = set(admin.list_topics())
        missing = [topic for topic in new if topic.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {bootstrap}: {exc}") from exc
    finally:
        admin.close()


class Publisher:
    """An idempotent, acks=all, compressed producer; sends are awaited batch by batch."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._timeout = settings.kafka.delivery_timeout
        self._producer = self._connect()

    def _connect(self) -> KafkaProducer:
        """A producer with every configured topic's metadata loaded."""
        kafka = self._settings.kafka
        try:
            producer = KafkaProducer(
                **client_options(kafka, self._bootstrap),
                acks="all",
                enable_idempotence=True,
                compression_type=None if kafka.compression == "none" else kafka.compression,
                linger_ms=kafka.linger_ms,
                max_request_size=kafka.max_request_bytes,
                delivery_timeout_ms=int(kafka.delivery_timeout * 1000),
                max_block_ms=15_000,
                request_timeout_ms=min(
                    30_000, int(kafka.delivery_timeout * 1000) - kafka.linger_ms - 500
                ),
            )
        except KafkaConfigurationError:
            raise
        except KafkaError as exc:
            raise connect_error(kafka, self._bootstrap, exc) from exc
        _load_metadata(producer, configured_topics(self._settings))
        return producer

    def reachable(self) -> bool:
        """A bootstrap broker accepts TCP connections."""
        return any_reachable(self._bootstrap)

    def broken(self) -> bool:
        """The producer is in kafka-python's fatal state (seen when the broker lost the
        producer id: a restarted memory-only broker); it fails every send until replaced."""
        manager = getattr(self._producer, "_transaction_manager", None)
        return bool(manager is not None and manager.has_fatal_error())

    def restart(self) -> None:
        """Replace the producer with a new one (a new producer id); the old one is dropped
        without waiting (what it held unacknowledged is still in the outbox). Raises
        BrokerError, keeping the old producer, when no new one can be made. A broker that
        lost its state lost its topics too: they are created again first (`topics.create`)."""
        create_configured_topics(self._settings, self._bootstrap)
        fresh = self._connect()
        old, self._producer = self._producer, fresh
        _drop(old)

    async def send(self, records: Sequence[OutboxRecord]) -> list[Failure | None]:
        """Send records and wait for every ack (within the delivery timeout): None for each
        acknowledged record, else a Failure with its reason. Never raises a Kafka error."""
        if not records:
            return []
        acks = [self._send(r.topic, r.key, r.value, r.headers) for r in records]
        try:
            async with asyncio.timeout(self._timeout + 5):
                await asyncio.wait(acks)
        except TimeoutError:
            pass
        return [_outcome(ack, record) for ack, record in zip(acks, records, strict=True)]

    def _send(
        self, topic: str, key: bytes, value: bytes, headers: tuple[tuple[str, bytes], ...]
    ) -> asyncio.Future[Any]:
        """Hand one record to the producer (metadata is loaded, so this does not block) and
        return a future settled by the producer's I/O thread on ack or error."""
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[Any] = loop.create_future()
        try:
            future = self._producer.send(topic, key=key, value=value, headers=list(headers))
        except KafkaError as exc:  # refused before it was queued (e.g. too large)
            acked.set_exception(exc)
            return acked
        future.add_callback(lambda meta: loop.call_soon_threadsafe(_settle, acked, meta, None))
        future.add_errback(lambda exc: loop.call_soon_threadsafe(_settle, acked, None, exc))
        return acked

    def close(self, timeout: float = 10.0) -> None:
        """Flush and close the producer. With the broker away the flush cannot finish: the
        producer is then stopped at once (what it held unacknowledged is still in the
        outbox), rather than raising at shutdown."""
        try:
            self._producer.close(timeout=timeout)
        except KafkaTimeoutError:
            log.warning("broker unreachable at close; unacknowledged records stay in the outbox")
            _drop(self._producer)


def _load_metadata(producer: KafkaProducer, topics: list[str]) -> None:
    """Fetch every topic's partitions now, so that send() never waits on metadata inside
    the event loop."""
    for topic in topics:
        try:
            producer.partitions_for(topic)
        except KafkaError as exc:
            producer.close(timeout=0)
            raise BrokerError(f"topic {topic!r} is not available: {exc}") from exc


def _drop(producer: KafkaProducer) -> None:
    """Stop a producer at once, without flushing."""
    sender = getattr(producer, "_sender", None)  # kafka-python has no public way
    if sender is not None:
        sender.force_close()
    with contextlib.suppress(KafkaError):
        producer.close(timeout=0)


def _outcome(ack: asyncio.Future[Any], record: OutboxRecord) -> Failure | None:
    if not ack.done():
        ack.cancel()
        return Failure(STAGE, Reason.PUBLISH_TIMEOUT, "no ack in time", record.url)
    exc = ack.exception()
    if exc is None:
        return None
    if isinstance(exc, KafkaError):
        return Failure(STAGE, reason_for_kafka(exc), f"{type(exc).__name__}: {exc}", record.url)
    raise exc  # not a Kafka error: a bug, crash loudly


RECORD_OVERHEAD = 512  # bytes a record needs beyond its value (batch header, key, headers)


def fit_to_size(article: Article, max_request_bytes: int) -> Article:
    """The article, its text cut at a paragraph (else word) boundary from the end if that is
    what it takes for its record to fit the broker's size limit. If even an empty text would
    not fit, the article is returned as is (the outbox dead-letters it)."""
    size = len(to_record(article).value) + RECORD_OVERHEAD
    if size <= max_request_bytes:
        return article
    text = article.text.encode("utf-8")
    keep = len(text) - (size - max_request_bytes)
    if keep <= 0:
        return article
    cut = text[:keep].decode("utf-8", "ignore")
    boundary = cut.rfind("\n\n")
    if boundary <= 0:
        boundary = cut.rfind(" ")
    cut = (cut[:boundary] if boundary > 0 else cut).rstrip()
    return dataclasses.replace(article, text=cut, trimmed_chars=len(article.text) - len(cut))


def records_for(
    article: Article, settings: Settings, topics: Sequence[str] | None = None
) -> list[OutboxRecord]:
    """The article's Kafka records: one per routed topic (or per topic of `topics`), same
    key, value and headers."""
    record = to_record(article)
    published = article.published.timestamp() if article.published else None
    return [
        OutboxRecord(
            topic, record.key, record.value, record.headers, article.id, article.url, published
        )
        for topic in (topics if topics is not None else routed_topics(article, settings))
    ]


def fitted_records(
    article: Article, settings: Settings, topics: Sequence[str] | None = None
) -> tuple[Article, list[OutboxRecord]]:
    """The article and its records, its text trimmed first (fit_to_size) only when the record
    would go over `kafka.max_request_bytes`: one serialisation in the usual case."""
    records = records_for(article, settings, topics)
    limit = settings.kafka.max_request_bytes
    if not records or len(records[0].value) + RECORD_OVERHEAD <= limit:
        return article, records
    trimmed = fit_to_size(article, limit)
    return trimmed, records_for(trimmed, settings, topics)


def _settle(acked: asyncio.Future[Any], meta: Any, exc: BaseException | None) -> None:
    if acked.done():
        return
    if exc is not None:
        acked.set_exception(exc)
    else:
        acked.set_result(meta)


def connect_error(kafka: KafkaSettings, bootstrap: str, exc: KafkaError) -> BrokerError:
    """A clear error for a client that could not start: authentication refused, a broker
    that listens but will not talk with these settings, or no broker at all."""
    if isinstance(exc, SaslAuthenticationFailedError):
        return BrokerError(
            f"authentication failed at {bootstrap} (sasl_mechanism {kafka.sasl_mechanism}, "
            f"user {kafka.sasl_username!r}): {exc}"
        )
    if any_reachable(bootstrap):
        return BrokerError(
            f"{bootstrap} accepts connections but the Kafka handshake failed with "
            f"security_protocol {kafka.security_protocol}"
            + (f" and sasl_mechanism {kafka.sasl_mechanism}" if kafka.sasl_mechanism else "")
            + f": check the protocol, mechanism and credentials ({type(exc).__name__}: {exc})"
        )
    return BrokerError(f"no Kafka broker reachable at {bootstrap}: {exc}")


def reason_for_kafka(exc: KafkaError) -> Reason:
    """Map a Kafka client error to its reason name."""
    if isinstance(exc, MessageSizeTooLargeError):
        return Reason.MESSAGE_TOO_LARGE
    if isinstance(exc, KafkaTimeoutError):
        return Reason.PUBLISH_TIMEOUT
    return Reason.PUBLISH_ERROR
