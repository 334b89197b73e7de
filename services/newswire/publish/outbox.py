"""The outbox: accepted articles wait in SQLite (the state store) until the broker
acknowledges them, and are sent from there in the order they came.

The pipeline writes an article's records and its dedup keys in one transaction
(`StateStore.accept`), after waiting for room (`wait_for_room`: backpressure at
`outbox.max_records`). The drainer sends the oldest `outbox.batch` records, deletes what the
broker acknowledged, and on a failure waits (1 s doubling to 30 s) and tries again from the
first unacknowledged record. A record the broker refuses for good (over its size limit) goes to
the dead-letter topic with its reason. Nothing is held in memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from newswire import metrics
from newswire.errors import BrokerError, Reason
from newswire.models import DedupRecord, Failure, FeedEntry, OutboxRecord, RejectedEntry
from newswire.publish.producer import RECORD_OVERHEAD, Publisher
from newswire.settings import Settings
from newswire.state import StateStore
from newswire.urls import article_id, entry_identity

log = logging.getLogger("newswire.publish.outbox")
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
DEAD_FOR_GOOD = frozenset({Reason.MESSAGE_TOO_LARGE})


class Outbox:
    """Backpressure for the pipeline and the drain loop to the broker."""

    def __init__(self, settings: Settings, store: StateStore, publisher: Publisher) -> None:
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._work = asyncio.Event()
        self._room = asyncio.Event()
        self._size = store.outbox_size()
        self._progress_at = time.monotonic()  # the last acknowledgement, or the last empty
        metrics.OUTBOX_RECORDS.set(self._size)

    @property
    def size(self) -> int:
        """Records waiting for the broker."""
        return self._size

    async def wait_for_room(self) -> None:
        """Return once the outbox is below `outbox.max_records` (backpressure)."""
        while self._size >= self._settings.outbox.max_records:
            self._room.clear()
            await self._room.wait()

    def accept(
        self, records: Sequence[OutboxRecord], record: DedupRecord, journal: bool = False
    ) -> None:
        """Store an article's records and its dedup record durably, in one transaction (the
        dedup record into the journal for a shared dedup store); wake the drainer."""
        self._store.accept(records, record, journal)
        if self._size == 0:
            self._progress_at = time.monotonic()  # the wait for an ack starts now
        self._resized(self._size + len(records))
        self._work.set()

    async def drain(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set and the outbox is empty, or `stop` is set and the drain
        deadline has passed (what is left stays for the next start)."""
        delay = FIRST_RETRY_SECONDS
        stopped_at: float | None = None
        while True:
            if stop.is_set() and stopped_at is None:
                stopped_at = time.monotonic()
            if stopped_at is not None and (
                self._size == 0
                or time.monotonic() - stopped_at > self._settings.outbox.drain_deadline
            ):
                return
            batch = self._store.outbox_batch(self._settings.outbox.batch)
            if not batch:
                await _wait_either(self._work, stop, timeout=None)
                self._work.clear()
                continue
            if await self.send_batch(batch):
                delay = FIRST_RETRY_SECONDS
                continue
            await self._recover_if_stalled()
            with contextlib.suppress(TimeoutError):  # back off, unless told to stop
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def stalled(self) -> bool:
        """Records wait and the broker has acknowledged none of them for
        `outbox.stall_after`."""
        waited = time.monotonic() - self._progress_at
        return self._size > 0 and waited > self._settings.outbox.stall_after

    async def _recover_if_stalled(self) -> None:
        """After a failed batch: a producer in kafka-python's fatal state, or one that has
        not delivered for `outbox.stall_after` while the broker answers (the broker lost
        its producer state, say), is replaced by a new one."""
        stalled = self.stalled()
        metrics.OUTBOX_STALLED.set(1 if stalled else 0)
        broken = self._publisher.broken()
        if not broken and not (stalled and await asyncio.to_thread(self._publisher.reachable)):
            return
        why = "the producer is in a fatal state" if broken else "the outbox stopped draining"
        try:
            await asyncio.to_thread(self._publisher.restart)
        except BrokerError as exc:
            log.warning("cannot rebuild the producer yet", extra={"detail": f"{why}; {exc}"})
            return
        metrics.PRODUCER_RESTARTS.inc()
        self._progress_at = time.monotonic()  # the new producer gets a full stall period
        log.warning("producer rebuilt", extra={"detail": why, "waiting": self._size})

    async def send_batch(self, batch: Sequence[OutboxRecord]) -> bool:
        """Send one batch; True when every record was acknowledged or dead-lettered."""
        started = time.monotonic()
        outcomes = await self._publisher.send(batch)
        metrics.PUBLISH_SECONDS.observe(time.monotonic() - started)
        done, dead, failed = [], [], []
        for record, failure in zip(batch, outcomes, strict=True):
            if failure is None:
                done.append(record)
            elif failure.reason in DEAD_FOR_GOOD:
                dead.append((record, failure))
            else:
                failed.append((record, failure))
        self._acknowledged(done)
        dead_done = await self._dead_letter(dead)
        if failed:
            self._store.outbox_attempted(r.seq for r, _ in failed)
            failure = failed[0][1]  # one count and one line per failed batch, not per record
            metrics.ERRORS.labels(failure.stage, failure.reason.value).inc()
            log.warning(
                "broker did not acknowledge; kept in the outbox",
                extra={
                    "stage": failure.stage,
                    "reason": failure.reason.value,
                    "detail": failure.detail,
                    "waiting": self._size,
                },
            )
        return not failed and dead_done

    def _acknowledged(self, records: Sequence[OutboxRecord]) -> None:
        if not records:
            return
        self._store.outbox_remove(r.seq for r in records)
        self._resized(self._size - len(records))
        self._progress_at = time.monotonic()
        metrics.OUTBOX_STALLED.set(0)
        now = time.time()
        for record in records:
            metrics.PUBLISHED.labels(record.topic).inc()
            if record.topic == self._settings.topics.articles and record.published_at:
                metrics.FRESHNESS.observe(max(now - record.published_at, 0.0))

    async def _dead_letter(self, dead: Sequence[tuple[OutboxRecord, Failure]]) -> bool:
        """Send each refused record's dead letter; drop the record once the letter is acked."""
        if not dead:
            return True
        topic, limit = self._settings.topics.dead_letters, self._settings.kafka.max_request_bytes
        letters = [dead_letter(r, f, topic, limit) for r, f in dead]
        outcomes = await self._publisher.send(letters)
        sent = [record for (record, _), o in zip(dead, outcomes, strict=True) if o is None]
        for record, failure in dead:
            metrics.ERRORS.labels(failure.stage, failure.reason.value).inc()
            metrics.DEAD_LETTERS.labels(failure.stage, failure.reason.value).inc()
            log.error(
                "sent to the dead-letter topic",
                extra={
                    "url": record.url,
                    "stage": failure.stage,
                    "reason": failure.reason.value,
                    "detail": failure.detail,
                },
            )
        if sent:
            self._store.outbox_remove(r.seq for r in sent)
            self._resized(self._size - len(sent))
        return len(sent) == len(dead)

    def _resized(self, size: int) -> None:
        self._size = max(size, 0)
        metrics.OUTBOX_RECORDS.set(self._size)
        if self._size < self._settings.outbox.max_records:
            self._room.set()


def dead_letter(
    record: OutboxRecord, failure: Failure, topic: str, max_request_bytes: int
) -> OutboxRecord:
    """The dead letter of a record refused for good: stage, reason, attempts and what was
    refused (topic, key, size, article id and URL, and up to 2,000 bytes of the value, fewer
    if the broker's limit needs it, so the letter itself fits)."""
    letter = _letter(failure, record.attempts + 1, record.article_id, record.url)
    letter.update(
        {
            "topic": record.topic,
            "key": record.key.decode("utf-8", "replace"),
            "size": len(record.value),
            "value_head": "",
            "detail": failure.detail[:300],  # short: the letter must fit a small limit
        }
    )
    budget = max_request_bytes - RECORD_OVERHEAD
    head = 2000
    while True:
        letter["value_head"] = record.value[:head].decode("utf-8", "ignore")
        value = json.dumps(letter, ensure_ascii=False).encode()
        if len(value) <= budget or head == 0:
            break
        head //= 2
    headers = (("schema", b"newswire.dead_letter.v1"),)
    return OutboxRecord(topic, record.key, value, headers, record.article_id, record.url)


def entry_letter(entry: FeedEntry, failure: Failure, topic: str, attempts: int = 1) -> OutboxRecord:
    """The dead letter of a feed entry that failed for good before it became an article (a
    crash in extraction, no text after its attempts): stage, reason, detail, attempts and
    the original entry."""
    ident = article_id(entry_identity(entry))
    original = {
        field.name: _plain(getattr(entry, field.name)) for field in dataclasses.fields(entry)
    }
    letter = _letter(failure, attempts, ident, entry.link or "")
    letter["entry"] = original
    value = json.dumps(letter, ensure_ascii=False).encode()
    headers = (("schema", b"newswire.dead_letter.v1"),)
    return OutboxRecord(topic, ident.encode(), value, headers, ident, entry.link or "")


def rejected_letter(rejected: RejectedEntry, failure: Failure, topic: str) -> OutboxRecord:
    """The dead letter of a feed item newswire could not even read as an entry: stage,
    reason, detail and the raw item (`entry_raw`, JSON text as the feed gave it)."""
    ident, feed_url = rejected.key.removeprefix("rejected:"), failure.url or ""
    letter = _letter(failure, 1, ident, feed_url)
    letter["entry_raw"] = rejected.raw
    value = json.dumps(letter, ensure_ascii=False).encode()
    headers = (("schema", b"newswire.dead_letter.v1"),)
    return OutboxRecord(topic, ident.encode(), value, headers, ident, feed_url)


def _letter(failure: Failure, attempts: int, ident: str, url: str) -> dict[str, object]:
    """What every dead letter says."""
    return {
        "schema": "newswire.dead_letter",
        "schema_version": 1,
        "stage": failure.stage,
        "reason": failure.reason.value,
        "detail": failure.detail[:1000],
        "attempts": attempts,
        "article_id": ident,
        "url": url,
    }


def _plain(value: object) -> object:
    """A FeedEntry field as JSON: datetimes as ISO 8601, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


async def _wait_either(first: asyncio.Event, second: asyncio.Event, timeout: float | None) -> None:
    waits = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
