"""Wire the parts together and run them: broker, topics, state, workers, ops endpoint, loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswire import metrics
from newswire.broker_watch import BrokerWatch
from newswire.config import Config
from newswire.dedup.redis_store import RedisDedupStore, connect, redacted
from newswire.dedup.store import DedupStore, DedupUnavailable, LocalDedupStore
from newswire.errors import BrokerError, PortUnavailable
from newswire.http.client import HttpFetcher
from newswire.models import FeedSpec
from newswire.ops.feed_table import FeedBoard
from newswire.ops.health import FeedsSource, OpsServer, ReadinessCheck
from newswire.pipeline import Pipeline, RunStats
from newswire.pool import WorkerPool
from newswire.publish.broker import EmbeddedBroker, any_reachable
from newswire.publish.cluster import Membership, feeds_by_partition, publish_feed_list
from newswire.publish.outbox import Outbox
from newswire.publish.producer import Publisher, create_configured_topics
from newswire.run_lock import exclusive_state_dir
from newswire.settings import DedupSettings, Settings
from newswire.shared_state import FeedStates, SharedFeedStates
from newswire.signals import ignore_stop_signals, stop_if_requested, stop_requested
from newswire.state import STATE_FILE, StateStore
from newswire.worker import init_forked_worker, init_spawned_worker, load_models

log = logging.getLogger("newswire.service")
BROKER_CHECK_SECONDS = 5.0
PRUNE_SECONDS = 3600.0
FLUSH_SECONDS = 5.0


@contextlib.contextmanager
def kafka_bootstrap(config: Config) -> Iterator[tuple[str, EmbeddedBroker | None]]:
    """The configured brokers (one must answer now: said at once, not after kafka-python's
    retries), or an embedded broker started for the duration."""
    kafka = config.settings.kafka
    if kafka.bootstrap_servers != "embedded":
        if not any_reachable(kafka.bootstrap_servers):
            raise BrokerError(
                f"no Kafka broker reachable at {kafka.bootstrap_servers} "
                "(kafka.bootstrap_servers, KAFKA_BOOTSTRAP_SERVERS): is it up, and is this "
                "the address it listens on?"
            )
        yield kafka.bootstrap_servers, None
        return
    broker = EmbeddedBroker(kafka.embedded_listen, config.state_dir / "embedded-broker.log")
    config.state_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = broker.start()
    log.info("embedded Kafka broker started (memory storage)", extra={"listen": bootstrap})
    try:
        yield bootstrap, broker
    finally:
        broker.stop()


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """Cores this process may use: its CPU affinity, and no more than a container's CPU
    quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us), rounded up."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cpu_quota(cgroup)
    if quota is not None:
        cores = min(cores or 1, max(math.ceil(quota), 1))
    return cores or 1


def cpu_quota(cgroup: Path) -> float | None:
    """CPUs the cgroup may use per period, or None when unlimited or unknown."""
    try:
        limit, period = (cgroup / "cpu.max").read_text().split()[:2]  # "max 100000"
    except (OSError, ValueError):
        try:
            limit = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()  # -1: none
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if limit in ("max", "-1") or not period.isdigit() or not limit.isdigit():
        return None
    return int(limit) / int(period) if int(period) else None


def worker_pool(config: Config) -> WorkerPool:
    """One worker per usable core (or as configured), started now rather than at the first
    extraction, each task within `extract.time_limit` and `extract.memory_limit_mb`. Where
    fork is safe (Linux, no other thread yet) this process loads the models and forks the
    workers, which share those pages: one copy of the language model and tagger instead of
    one per worker. Elsewhere, and for a pool that replaces a broken one (threads run by
    then), each spawned worker loads its own (about 2 s)."""
    extract = config.settings.extract
    workers = extract.workers or usable_cores()

    def make_pool(first: bool) -> ProcessPoolExecutor:
        if first and fork_is_safe():
            load_models(config.gazetteer, extract)
            gc.freeze()  # the collector leaves the loaded objects alone: their pages stay shared
            pool = ProcessPoolExecutor(
                workers,
                multiprocessing.get_context("fork"),
                initializer=init_forked_worker,
                initargs=(extract,),
            )
            method = "fork"
        else:
            pool = ProcessPoolExecutor(
                workers,
                multiprocessing.get_context("spawn"),
                initializer=init_spawned_worker,
                initargs=(config.gazetteer, extract),
            )
            method = "spawn"
        log.info("extraction workers started", extra={"workers": workers, "detail": method})
        return pool

    return WorkerPool(make_pool, extract.time_limit)


def fork_is_safe() -> bool:
    """Forking copies only the calling thread: safe while it is the only Python thread (a
    lock held by another thread would stay held in the child forever). The one native thread
    at that point, numpy's OpenBLAS pool, quiesces itself around fork (pthread_atfork).
    Linux only: fork is unsafe on macOS."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def run_service(config: Config, once: bool) -> RunStats:
    """Run until stopped (or one cycle with `once`); return the run's counts."""
    settings = config.settings
    metrics.FEEDS_CONFIGURED.set(len(config.feeds))
    with contextlib.ExitStack() as stack:
        stack.enter_context(exclusive_state_dir(config.state_dir))
        stop_if_requested()  # a checkpoint of start-up between each step: newswire.signals
        pool = stack.enter_context(worker_pool(config))
        stop_if_requested()
        bootstrap, embedded = stack.enter_context(kafka_bootstrap(config))
        broker = BrokerWatch(settings, bootstrap, embedded)
        stop_if_requested()
        created = create_configured_topics(settings, bootstrap)
        if created:
            log.info("created topics", extra={"topics": created})
        publisher = Publisher(settings, bootstrap)
        stack.callback(publisher.close)
        stop_if_requested()
        store = StateStore(config.state_dir / STATE_FILE)
        stack.callback(store.close)
        dedup = dedup_store(settings.dedup, store)
        stack.callback(dedup.close)
        outbox = Outbox(settings, store, publisher)
        board = FeedBoard()
        ops = ops_server(
            settings,
            board.snapshot,
            lambda: {
                "config": True,
                "broker": any_reachable(bootstrap),
                "state": store.writable(),
                "dedup": dedup.reachable(),
                "outbox": not outbox.stalled(),
            },
        )
        ops.start()
        stack.callback(ops.stop)
        listen = f"{settings.metrics.host}:{ops.port}"
        log.info("serving /metrics, /healthz, /readyz", extra={"listen": listen})
        stop_if_requested()
        wired = Wired(bootstrap, broker, store, dedup, outbox, pool, board)
        stats = asyncio.run(_run(config, wired, once))
        ignore_stop_signals()  # stopping already: the loop's handlers are gone
    return stats


def ops_server(settings: Settings, feeds: FeedsSource, readiness: ReadinessCheck) -> OpsServer:
    """The ops endpoint on metrics.host:metrics.port, or PortUnavailable naming the setting."""
    host, port = settings.metrics.host, settings.metrics.port
    try:
        return OpsServer(host, port, readiness, feeds)
    except OSError as exc:
        raise PortUnavailable(
            f"cannot serve /metrics on {host}:{port} ({exc.strerror or exc}): another process "
            "(another newswire?) may hold it; set metrics.port (NEWSWIRE_METRICS__PORT), or 0 "
            "for any free port"
        ) from exc


def dedup_store(settings: DedupSettings, store: StateStore) -> DedupStore:
    """The configured dedup backend: the embedded state store, or a shared Redis."""
    if settings.backend == "sqlite":
        return LocalDedupStore(store)
    shared = RedisDedupStore(connect(settings), store, settings)
    if not shared.reachable():
        log.warning(
            "redis for dedup is not reachable; entries wait until it is",
            extra={"redis_url": redacted(settings.redis_url)},
        )
    return shared


@dataclass(frozen=True, slots=True)
class Wired:
    """What run_service set up for the loop to run on."""

    bootstrap: str
    broker: BrokerWatch
    store: StateStore
    dedup: DedupStore
    outbox: Outbox
    pool: Executor
    board: FeedBoard


async def _run(config: Config, wired: Wired, once: bool) -> RunStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if stop_requested():  # noted after the last checkpoint, before the loop took over
        stop.set()
    await index_shared_dedup(wired.dedup)
    watch = asyncio.create_task(_every(BROKER_CHECK_SECONDS, stop, wired.broker.check, stop))
    prune = asyncio.create_task(_every(PRUNE_SECONDS, stop, _prune, wired.dedup, config.settings))
    flush = asyncio.create_task(_every(FLUSH_SECONDS, stop, _flush, wired.dedup))
    polled = asyncio.Event()  # polling is over: drain what is left, within the deadline
    outbox = wired.outbox
    drain = asyncio.create_task(outbox.drain(polled))
    known_hosts = frozenset(feed.host for feed in config.feeds)
    states = feed_states(config.settings, wired.store)
    async with HttpFetcher(config.settings.http, known_hosts) as fetcher:
        pipeline = Pipeline(
            config.settings,
            fetcher,
            wired.store,
            outbox,
            wired.pool,
            dedup=wired.dedup,
            feed_states=states,
            board=wired.board,
        )
        polls = FeedLoops(pipeline, stop, config.settings.poll.stop_deadline)
        if once:
            await pipeline.poll_all(config.feeds)
        elif config.settings.cluster.mode == "group":
            await _poll_as_group_member(config, wired.bootstrap, polls, stop)
        else:
            polls.start(config.feeds)
            await stop.wait()
        await polls.stop()  # the loops still running (none after --once)
    polled.set()
    await drain
    stop.set()
    await watch
    await prune
    await flush
    pipeline.stats.unsent = outbox.size
    if outbox.size:
        log.warning("records left in the outbox for the next start", extra={"unsent": outbox.size})
    if polls.failure is not None:
        raise polls.failure
    return pipeline.stats


def feed_states(settings: Settings, store: StateStore) -> FeedStates:
    """Where feed state lives: the embedded store, or Redis shared by a group's replicas."""
    if settings.cluster.mode == "single":
        return store
    return SharedFeedStates(connect(settings.dedup), store, settings.dedup.redis_prefix)


async def _poll_as_group_member(
    config: Config, bootstrap: str, polls: FeedLoops, stop: asyncio.Event
) -> None:
    """Publish the feed list, join the group and poll the feeds of the partitions assigned,
    until stopped; then leave the group (its partitions move to the other replicas)."""
    cluster = config.settings.cluster
    await asyncio.to_thread(publish_feed_list, config.settings, bootstrap, config.feeds)
    by_partition = feeds_by_partition(config.feeds, cluster.partitions)

    async def revoked(partitions: frozenset[int]) -> None:
        await polls.stop([f.id for p in partitions for f in by_partition[p]])
        log.info("partitions revoked", extra={"detail": sorted(partitions)})

    async def assigned(partitions: frozenset[int]) -> None:
        polls.start([f for p in sorted(partitions) for f in by_partition[p]])
        log.info("partitions assigned", extra={"detail": sorted(partitions)})

    loop = asyncio.get_running_loop()  # the consumer connects at once: off the loop
    member = await asyncio.to_thread(
        Membership, config.settings, bootstrap, loop, revoked, assigned
    )
    member.start()
    log.info("joined the group", extra={"detail": f"{cluster.group_id} on {cluster.control_topic}"})
    try:
        await stop.wait()
    finally:
        await polls.stop()  # every feed stopped before the partitions go to other replicas
        await asyncio.to_thread(member.stop)


class FeedLoops:
    """The running poll loops, one per feed this replica owns: all configured feeds in
    single mode, its partitions' feeds in a group (started and stopped as they move). A loop
    that fails unexpectedly stops the service, which then raises its error."""

    def __init__(self, pipeline: Pipeline, stop: asyncio.Event, deadline: float) -> None:
        self._pipeline = pipeline
        self._stop_all = stop
        self._deadline = deadline
        self._loops: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self.failure: BaseException | None = None

    def start(self, feeds: Iterable[FeedSpec]) -> None:
        """Start polling these feeds (those already polled are left as they are)."""
        for feed in feeds:
            if feed.id not in self._loops:
                stop = asyncio.Event()
                task = asyncio.create_task(_poll_forever(self._pipeline, feed, stop))
                task.add_done_callback(self._ended)
                self._loops[feed.id] = (task, stop)
        metrics.FEEDS_OWNED.set(len(self._loops))

    async def stop(self, feed_ids: Iterable[str] | None = None) -> None:
        """Stop polling these feeds (all when None): polls in flight get the stop deadline
        to finish, then are cancelled. A cancelled poll has accepted nothing it had not
        finished (accepting is one transaction) and saved no validators, so its entries
        come back at the next poll, here or at another replica."""
        chosen = (
            list(self._loops) if feed_ids is None else [i for i in feed_ids if i in self._loops]
        )
        loops = [self._loops.pop(i) for i in chosen]
        metrics.FEEDS_OWNED.set(len(self._loops))
        for _, stop in loops:
            stop.set()
        tasks = [task for task, _ in loops]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._deadline)
        if pending:
            log.warning(
                "stop deadline reached; cancelling polls in flight", extra={"after": self._deadline}
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        if self.failure is None:
            self.failure = task.exception()
            log.error("a poll loop failed; stopping", exc_info=self.failure)
        self._stop_all.set()


async def _every(
    seconds: float,
    stop: asyncio.Event,
    action: Callable[..., Awaitable[None]],
    *args: Any,
) -> None:
    """Run `action(*args)` now and every `seconds` until stopped."""
    while not stop.is_set():
        await action(*args)
        await _sleep_or_stop(stop, seconds)


async def index_shared_dedup(dedup: DedupStore) -> None:
    """A shared dedup store's log read into this replica's index before anything checks or
    records (in a thread: a full window of millions of records takes minutes, which the loop
    must not wait for inside a check). Redis down: the first read catches up instead."""
    started = time.monotonic()
    try:
        rows = await asyncio.to_thread(dedup.catch_up)
    except DedupUnavailable as exc:
        log.warning("could not read the shared dedup log at start", extra={"error": str(exc)})
        return
    if rows:
        seconds = round(time.monotonic() - started, 1)
        log.info("indexed the shared dedup log", extra={"records": rows, "seconds": seconds})


async def _prune(dedup: DedupStore, settings: Settings) -> None:
    """Forget dedup state older than its window."""
    windows, now = settings.dedup, time.time()
    gone = dedup.prune(now - windows.window, now - windows.title_window, now - windows.keep_keys)
    if gone:
        log.info("pruned dedup state", extra={"rows": gone})


async def _flush(dedup: DedupStore) -> None:
    """Copy dedup records a shared store missed (it was down, or we restarted) from the
    journal; the pipeline flushes after every accept, this catches up after an outage."""
    moved = dedup.flush()
    if moved:
        log.info("dedup records flushed from the journal", extra={"records": moved})


async def _poll_forever(pipeline: Pipeline, feed: FeedSpec, stop: asyncio.Event) -> None:
    """Poll one feed on its stored schedule, held to today's bounds: a restart, or a feed
    moving in from another replica, resumes it; a feed never polled, or overdue by more than
    its interval (a restart after downtime), starts within a few seconds, spread so feeds do
    not all start at once."""
    state = pipeline.resume(feed)
    wait = state.next_poll - time.time()
    if state.next_poll == 0 or wait < -state.interval_s:
        wait = random.uniform(0, min(feed.interval_s, 5.0))
    await _sleep_or_stop(stop, wait)
    while not stop.is_set():
        state = await pipeline.poll_feed(feed)
        await _sleep_or_stop(stop, state.next_poll - time.time())


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
