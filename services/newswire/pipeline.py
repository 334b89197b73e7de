"""The pipeline: the only module that knows the order of the stages.

poll -> parse -> (per entry) dedup by link and GUID -> fetch -> extract + tag (worker) ->
dedup by canonical URL -> publish -> record as seen. A feed's validators are saved only when
every entry of that poll was handled, so an undelivered article is polled again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field

import httpx

from newswire import metrics
from newswire.dedup import Deduplicator, article_keys, entry_keys
from newswire.errors import Reason
from newswire.fetch import fetch_page
from newswire.models import (
    Article,
    Failure,
    FeedDocument,
    FeedEntry,
    FeedSpec,
    FetchedPage,
    NotModified,
)
from newswire.poll import fetch_feed, parse_feed
from newswire.publish import Delivered, Publisher
from newswire.settings import Settings
from newswire.state import StateStore
from newswire.worker import process_entry

log = logging.getLogger("newswire.pipeline")


@dataclass
class RunStats:
    """Counts of one run, for the CLI's summary line."""

    polls: int = 0
    entries: int = 0
    published: int = 0
    duplicates: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def failed(self, failure: Failure) -> None:
        """Count a failure under stage/reason."""
        key = f"{failure.stage}/{failure.reason.value}"
        self.failures[key] = self.failures.get(key, 0) + 1


class Pipeline:
    """Runs feeds through the stages, one poll cycle at a time."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        store: StateStore,
        publisher: Publisher,
        pool: Executor,
    ) -> None:
        self._settings = settings
        self._client = client
        self._store = store
        self._dedup = Deduplicator(store)
        self._publisher = publisher
        self._pool = pool
        self._feed_slots = asyncio.Semaphore(settings.http.feed_concurrency)
        self._page_slots = asyncio.Semaphore(settings.http.page_concurrency)
        self.stats = RunStats()

    async def poll_all(self, feeds: tuple[FeedSpec, ...]) -> None:
        """Poll every feed once and process everything new."""
        await asyncio.gather(*(self.poll_feed(feed) for feed in feeds))

    async def poll_feed(self, feed: FeedSpec) -> None:
        """One poll cycle of one feed."""
        async with self._feed_slots:
            document = await self._fetch_and_parse(feed)
        if document is None:
            return
        fetched, entries = document
        handled = await asyncio.gather(*(self.process(feed, entry) for entry in entries))
        if all(handled):
            self._store.save_validators(feed.url, fetched.validators)
        metrics.FEED_LAST_SUCCESS.labels(feed.id).set(time.time())

    async def _fetch_and_parse(
        self, feed: FeedSpec
    ) -> tuple[FeedDocument, tuple[FeedEntry, ...]] | None:
        started = time.monotonic()
        self.stats.polls += 1
        result = await fetch_feed(
            self._client, feed, self._store.validators(feed.url), self._settings.http
        )
        if isinstance(result, NotModified):
            metrics.POLLS.labels(feed.id, feed.outlet.id, "not_modified").inc()
            metrics.FEED_LAST_SUCCESS.labels(feed.id).set(time.time())
            return None
        if isinstance(result, Failure):
            self._poll_failed(feed, result)
            return None
        parsed = await asyncio.get_running_loop().run_in_executor(self._pool, parse_feed, result)
        metrics.POLL_SECONDS.labels(feed.outlet.id).observe(time.monotonic() - started)
        if isinstance(parsed, Failure):
            self._poll_failed(feed, parsed)
            return None
        if parsed.malformed:
            metrics.FEEDS_MALFORMED.labels(feed.id).inc()
            log.warning("feed malformed, entries kept", extra=_ctx(feed, parsed.malformed))
        metrics.POLLS.labels(feed.id, feed.outlet.id, "ok").inc()
        metrics.FEED_ENTRIES.labels(feed.outlet.id).inc(len(parsed.entries))
        if parsed.skipped:
            metrics.ENTRIES_SKIPPED.labels(feed.outlet.id).inc(parsed.skipped)
        self.stats.entries += len(parsed.entries)
        return result, parsed.entries

    def _poll_failed(self, feed: FeedSpec, failure: Failure) -> None:
        metrics.POLLS.labels(feed.id, feed.outlet.id, failure.reason.value).inc()
        self._count_failure(failure)
        log.warning("poll failed", extra=_ctx(feed, failure.detail, failure))

    async def process(self, feed: FeedSpec, entry: FeedEntry) -> bool:
        """Take one entry to the broker; True when it needs no retry (sent or a repeat)."""
        keys = entry_keys(entry)
        duplicate = self._dedup.claim(keys)
        if duplicate is not None:
            self._count_duplicate(duplicate.layer)
            return True
        metrics.IN_FLIGHT.inc()
        try:
            article, final_url = await self._build(feed, entry)
            if not article.text:
                self._empty(feed, article)
                return False
            more = tuple(k for k in article_keys(article, final_url) if k not in keys)
            duplicate = self._dedup.claim(more)
            if duplicate is not None:
                self._count_duplicate(duplicate.layer)
                if duplicate.article_id is not None:
                    self._dedup.alias(duplicate.article_id, keys)
                return True
            try:
                return await self._publish(article, keys + more)
            finally:
                self._dedup.release(more)
        finally:
            self._dedup.release(keys)
            metrics.IN_FLIGHT.dec()

    async def _build(self, feed: FeedSpec, entry: FeedEntry) -> tuple[Article, str | None]:
        page, reason = await self._fetch_page(feed, entry)
        started = time.monotonic()
        article = await asyncio.get_running_loop().run_in_executor(
            self._pool, process_entry, entry, page, reason, feed, self._settings.extract
        )
        metrics.EXTRACT_SECONDS.observe(time.monotonic() - started)
        metrics.EXTRACTIONS.labels(feed.outlet.id, article.extraction.method.value).inc()
        return article, page.final_url if page else None

    async def _fetch_page(
        self, feed: FeedSpec, entry: FeedEntry
    ) -> tuple[FetchedPage | None, Reason | None]:
        started = time.monotonic()
        async with self._page_slots:
            page = await fetch_page(self._client, entry.link, self._settings.http)
        metrics.FETCH_SECONDS.observe(time.monotonic() - started)
        if isinstance(page, Failure):
            metrics.PAGE_FETCHES.labels(feed.outlet.id, page.reason.value).inc()
            self._count_failure(page)
            log.info("page fetch failed, using feed text", extra=_ctx(feed, page.detail, page))
            return None, page.reason
        metrics.PAGE_FETCHES.labels(feed.outlet.id, "ok").inc()
        return page, None

    async def _publish(self, article: Article, keys: tuple[str, ...]) -> bool:
        started = time.monotonic()
        outcome = await self._publisher.publish(article)
        if isinstance(outcome, Failure):
            self._count_failure(outcome)
            log.error(
                "publish failed",
                extra={
                    "url": article.url,
                    "stage": outcome.stage,
                    "reason": outcome.reason.value,
                    "detail": outcome.detail,
                },
            )
            return False
        self._dedup.commit(article.id, keys)
        self._delivered(article, outcome, time.monotonic() - started)
        return True

    def _delivered(self, article: Article, outcome: Delivered, seconds: float) -> None:
        metrics.PUBLISH_SECONDS.observe(seconds)
        for topic in outcome.topics:
            metrics.PUBLISHED.labels(topic).inc()
        for watchlist in article.tagging.watchlists:
            metrics.REGIONS.labels(watchlist).inc()
        self.stats.published += 1
        log.info(
            "published",
            extra={"url": article.url, "article_id": article.id, "topics": list(outcome.topics)},
        )

    def _empty(self, feed: FeedSpec, article: Article) -> None:
        """Nothing to publish: no page, no text in the feed, not even a title. Counted and
        left unrecorded, so the next poll tries again."""
        failure = Failure(
            "extract", Reason.TOO_LITTLE_TEXT, "no text from page or feed", article.source_url
        )
        self._count_failure(failure)
        log.warning("nothing to publish", extra=_ctx(feed, failure.detail, failure))

    def _count_duplicate(self, layer: str) -> None:
        metrics.DUPLICATES.labels(layer).inc()
        self.stats.duplicates += 1

    def _count_failure(self, failure: Failure) -> None:
        metrics.ERRORS.labels(failure.stage, failure.reason.value).inc()
        self.stats.failed(failure)


def _ctx(feed: FeedSpec, detail: str, failure: Failure | None = None) -> dict[str, object]:
    context: dict[str, object] = {"feed": feed.id, "url": feed.url, "detail": detail}
    if failure is not None:
        context.update(stage=failure.stage, reason=failure.reason.value, url=failure.url)
    return context
