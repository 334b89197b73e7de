"""The durable outbox: accepted atomically with the dedup keys, drained in order, bounded
(backpressure), and riding out a broker outage with nothing lost and nothing doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newswire.errors import Reason
from newswire.models import DedupRecord, Failure, OutboxRecord
from newswire.publish.broker import EmbeddedBroker, free_port
from newswire.publish.outbox import Outbox
from newswire.publish.producer import Publisher, configured_topics, ensure_topics
from newswire.settings import Settings
from newswire.state import StateStore
from newswire.urls import canonical_url
from tests.builders import CONFIG
from tests.kafka_support import read_messages, unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite
from tests.tcp_proxy import CuttableProxy
from tests.test_pipeline import serve


def record(n: int, topic: str = "t", key: bytes | None = None) -> OutboxRecord:
    value = f'{{"n":{n}}}'.encode()
    return OutboxRecord(
        topic, key or f"k{n}".encode(), value, (("schema", b"x.v1"),), f"a{n}", f"u{n}"
    )


def settings_with(prefix: str, **outbox: object) -> Settings:
    base = CONFIG.settings
    return base.model_copy(
        update={
            "topics": base.topics.model_copy(
                update={"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"}
            ),
            "routes": (),
            "outbox": base.outbox.model_copy(update=outbox),
            "kafka": base.kafka.model_copy(update={"delivery_timeout": 3.0}),
            "http": base.http.model_copy(update={"host_min_delay": 0.0}),
        }
    )


def test_accept_stores_records_and_seen_keys_in_one_transaction(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    store.accept([record(1), record(2)], DedupRecord("a1", ("url:https://x.test/1", "guid:o:1")))
    assert store.known(["guid:o:1"]) == ("guid:o:1", "a1")
    batch = store.outbox_batch(10)
    assert [(r.key, r.value, r.headers) for r in batch] == [
        (b"k1", b'{"n":1}', (("schema", b"x.v1"),)),
        (b"k2", b'{"n":2}', (("schema", b"x.v1"),)),
    ]
    assert batch[0].seq < batch[1].seq
    store.outbox_attempted([batch[0].seq])
    store.outbox_remove([batch[1].seq])
    store.close()
    reopened = StateStore(tmp_path / "s.db")  # durable across a restart
    (left,) = reopened.outbox_batch(10)
    assert (left.key, left.attempts, reopened.outbox_size()) == (b"k1", 1, 1)


def test_a_failed_transaction_leaves_neither_records_nor_keys(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    poison = OutboxRecord("t", b"k", None, (), "a", "u")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="NOT NULL"):
        store.accept([record(1), poison], DedupRecord("a1", ("url:https://x.test/1",)))
    assert store.outbox_size() == 0
    assert store.known(["url:https://x.test/1"]) is None


@pytest.mark.integration
def test_accepting_waits_while_the_outbox_is_full(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = unique_prefix()
    settings = settings_with(prefix, max_records=2)
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, configured_topics(settings))
    topic = settings.topics.articles

    async def scenario() -> list[str]:
        publisher = Publisher(settings, kafka_bootstrap)
        try:
            outbox = Outbox(settings, StateStore(tmp_path / "s.db"), publisher)
            events: list[str] = []
            outbox.accept([record(1, topic, b"same"), record(2, topic, b"same")], DedupRecord("a1"))

            async def third() -> None:
                await outbox.wait_for_room()
                events.append("room")
                outbox.accept([record(3, topic, b"same")], DedupRecord("a3"))

            waiting = asyncio.create_task(third())
            await asyncio.sleep(0.3)
            events.append("full" if not waiting.done() else "no backpressure")
            done = asyncio.Event()
            done.set()
            await outbox.drain(done)  # sends 1 and 2, which makes room for 3 ...
            await waiting
            await outbox.drain(done)  # ... then 3
            events.append(f"left {outbox.size}")
            return events
        finally:
            publisher.close()

    assert asyncio.run(scenario()) == ["full", "room", "left 0"]
    values = [m["n"] for m in read_messages(kafka_bootstrap, topic)]
    assert values == [1, 2, 3]  # one key, one partition: in the order accepted


@pytest.fixture
def broker_behind_proxy(tmp_path: Path) -> Iterator[tuple[str, CuttableProxy]]:
    """A broker of this test's own, advertised through a proxy that can be cut: clients
    reach it only through the proxy. (Its own, also with KAFKA_BOOTSTRAP_SERVERS set: the
    test must control what the broker advertises.)"""
    proxy_port = free_port()
    broker = EmbeddedBroker(
        "127.0.0.1:0", tmp_path / "broker.log", advertised=f"127.0.0.1:{proxy_port}"
    )
    broker.start()
    proxy = CuttableProxy(("127.0.0.1", broker.port), proxy_port).start()
    try:
        yield f"127.0.0.1:{proxy_port}", proxy
    finally:
        proxy.cut()
        broker.stop()


@pytest.mark.integration
def test_a_broker_outage_loses_nothing_and_the_outbox_drains_when_it_returns(
    site: FixtureSite,
    broker_behind_proxy: tuple[str, CuttableProxy],
    tmp_path: Path,
    pool: ProcessPoolExecutor,
) -> None:
    bootstrap, proxy = broker_behind_proxy
    settings = settings_with(unique_prefix(), drain_deadline=4.0)
    ensure_topics(settings.kafka, bootstrap, settings.topics, configured_topics(settings))
    store = StateStore(tmp_path / "state.db")
    feeds = serve(site)
    shafaq_en = feeds[0]

    async def outage() -> tuple[int, float]:
        publisher = Publisher(settings, bootstrap)  # connected while the broker was up
        try:
            proxy.cut()
            cycle = poll_and_drain(settings, bootstrap, store, pool, (shafaq_en,), publisher)
            stats, _ = await cycle  # the drain gives up after outbox.drain_deadline
            return stats.published, REGISTRY.get_sample_value("newswire_outbox_records") or 0
        finally:
            publisher.close(timeout=1)

    accepted, waiting = asyncio.run(outage())
    assert accepted == 3  # polling and extraction went on
    assert waiting == 3 and store.outbox_size() == 3  # held, not lost
    assert site.hits("/en/rss") == 1

    proxy.restore()
    stats, _ = asyncio.run(poll_and_drain(settings, bootstrap, store, pool, feeds))
    assert stats.published == 0  # the Iraq feed's items are the same stories: repeats
    assert store.outbox_size() == 0
    messages = read_messages(bootstrap, settings.topics.articles)
    ids = [m["id"] for m in messages]
    assert len(ids) == 3 and len(set(ids)) == 3  # every article, once


@pytest.mark.integration
def test_a_crash_in_extraction_sends_the_original_entry_to_the_dead_letter_topic(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import newswire.pipeline
    from newswire.worker import load_models, process_entry

    def crashes_on_the_green_zone(*args: Any) -> Any:
        if "Green-Zone" in args[0].link:
            raise ValueError("bug in a cleaning rule")
        return process_entry(*args)

    monkeypatch.setattr(newswire.pipeline, "process_entry", crashes_on_the_green_zone)
    load_models(CONFIG.gazetteer, CONFIG.settings.extract)  # the threads below share it
    settings = settings_with(unique_prefix())
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, configured_topics(settings))
    store = StateStore(tmp_path / "s.db")
    feed = serve(site)[0]
    with ThreadPoolExecutor(2) as threads:
        stats, _ = asyncio.run(poll_and_drain(settings, kafka_bootstrap, store, threads, (feed,)))
    assert stats.failures.get("extract/extract_error") == 1
    (letter,) = read_messages(kafka_bootstrap, settings.topics.dead_letters)
    assert (letter["stage"], letter["reason"], letter["attempts"]) == (
        "extract",
        "extract_error",
        1,
    )
    assert letter["detail"] == "ValueError: bug in a cleaning rule"
    assert letter["entry"]["link"].endswith("Rocket-lands-near-Baghdad-s-Green-Zone-no-casualties")
    assert letter["entry"]["title"] and letter["entry"]["feed_id"] == feed.id
    articles = read_messages(kafka_bootstrap, settings.topics.articles)
    assert len(articles) == 2  # the other entries went on
    # failed for good: its keys are recorded, so no later poll tries it again
    assert store.known([f"url:{canonical_url(letter['entry']['link'])}"]) is not None


class NeverAcknowledged:
    """A publisher whose broker answers but never acknowledges (a producer the broker no
    longer knows, say); rebuilding it is counted."""

    def __init__(self) -> None:
        self.rebuilt = 0
        self.fixed = False

    async def send(self, records: list[OutboxRecord]) -> list[Failure | None]:
        if self.fixed:
            return [None for _ in records]
        return [
            Failure("publish", Reason.PUBLISH_TIMEOUT, "no ack in time", r.url) for r in records
        ]

    def broken(self) -> bool:
        return False

    def reachable(self) -> bool:
        return True

    def restart(self) -> None:
        self.rebuilt += 1
        self.fixed = True  # the new producer delivers


def test_an_outbox_that_stops_draining_is_reported_stalled_and_its_producer_rebuilt(
    tmp_path: Path,
) -> None:
    settings = settings_with(unique_prefix(), stall_after=0.5)
    publisher = NeverAcknowledged()
    store = StateStore(tmp_path / "s.db")
    outbox = Outbox(settings, store, publisher)  # type: ignore[arg-type]
    seen_stalled: list[bool] = []

    async def scenario() -> None:
        outbox.accept([record(1)], DedupRecord("a1", ("k:1",)))
        stop = asyncio.Event()
        drain = asyncio.create_task(outbox.drain(stop))
        while not publisher.rebuilt:
            seen_stalled.append(outbox.stalled())  # what /readyz reports
            await asyncio.sleep(0.05)
        stop.set()
        await drain

    before = REGISTRY.get_sample_value("newswire_producer_restarts_total") or 0.0
    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert seen_stalled[0] is False and seen_stalled[-1] is True
    assert publisher.rebuilt == 1
    assert outbox.size == 0 and not outbox.stalled()  # drained by the new producer
    assert REGISTRY.get_sample_value("newswire_producer_restarts_total") == before + 1
