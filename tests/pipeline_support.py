"""Run the pipeline in-process the way the service does: poll, accept into the outbox,
drain the outbox to the real broker."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from newswire.dedup.store import DedupStore
from newswire.http.client import HttpFetcher
from newswire.models import FeedSpec, FeedState
from newswire.pipeline import Pipeline, RunStats
from newswire.publish.outbox import Outbox
from newswire.publish.producer import Publisher
from newswire.settings import Settings
from newswire.state import StateStore


async def poll_and_drain(
    settings: Settings,
    bootstrap: str,
    store: StateStore,
    pool: Executor,
    feeds: tuple[FeedSpec, ...],
    publisher: Publisher | None = None,
    dedup: DedupStore | None = None,
) -> tuple[RunStats, list[FeedState]]:
    """Poll each feed once, then drain the outbox (within outbox.drain_deadline). Pass a
    `publisher` made earlier (and closed by the caller) to poll after the broker went away;
    a `dedup` store to share one (the embedded one over `store` by default)."""
    own = publisher is None
    publisher = publisher or Publisher(settings, bootstrap)
    try:
        outbox = Outbox(settings, store, publisher)
        async with HttpFetcher(settings.http) as fetcher:
            pipeline = Pipeline(settings, fetcher, store, outbox, pool, dedup=dedup)
            states = list(await asyncio.gather(*(pipeline.poll_feed(f) for f in feeds)))
        done = asyncio.Event()
        done.set()
        await outbox.drain(done)
        pipeline.stats.unsent = outbox.size
        return pipeline.stats, states
    finally:
        if own:
            publisher.close()
