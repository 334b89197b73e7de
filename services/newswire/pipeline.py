"""The pipeline: the only module that knows the order of the stages.

poll -> parse -> (per entry) dedup by link and GUID -> fetch -> extract + tag (worker) ->
dedup by canonical URL -> (exclusively) dedup by title and sketch, accept into the outbox with
the dedup record (one transaction) -> the outbox sends to the broker. After every poll the
feed's schedule (newswire.feeds.schedule) is stored; its validators and body hash only when every
entry of that poll was handled, so an undelivered article is polled again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from newswire import metrics
from newswire.dedup.layers import (
    Deduplicator,
    Duplicate,
    article_keys,
    as_published,
    entry_keys,
    indexed_sketch,
    is_material,
    source_updated,
    title_key,
)
from newswire.dedup.store import DedupStore, DedupUnavailable, LocalDedupStore
from newswire.errors import Reason
from newswire.feeds.poll import body_digest, parse_feed
from newswire.feeds.schedule import (
    after_failure,
    after_success,
    is_silent,
    next_interval,
    observed_interval,
    within_bounds,
)
from newswire.http.client import HttpFetcher
from newswire.http.fetch import fetch_feed, fetch_page
from newswire.learning import OutletLearning
from newswire.models import (
    Article,
    DedupRecord,
    Failure,
    FeedDocument,
    FeedEntry,
    FeedSpec,
    FeedState,
    FetchedPage,
    NotModified,
    OutboxRecord,
    ParsedFeed,
    Published,
    RejectedEntry,
)
from newswire.ops.feed_table import FeedBoard
from newswire.pool import OverBudget
from newswire.publish.outbox import Outbox, entry_letter, rejected_letter
from newswire.publish.producer import fitted_records
from newswire.settings import Settings
from newswire.shared_state import FeedStates
from newswire.state import StateStore
from newswire.worker import process_entry

log = logging.getLogger("newswire.pipeline")


@dataclass
class RunStats:
    """Counts of one run, for the CLI's summary line."""

    polls: int = 0
    entries: int = 0
    published: int = 0  # accepted into the outbox
    duplicates: int = 0
    unsent: int = 0  # records still in the outbox when the run ended
    failures: dict[str, int] = field(default_factory=dict)

    def failed(self, failure: Failure) -> None:
        """Count a failure under stage/reason."""
        key = f"{failure.stage}/{failure.reason.value}"
        self.failures[key] = self.failures.get(key, 0) + 1


class EntryOutcome(StrEnum):
    """What became of one feed entry."""

    PUBLISHED = "published"
    REPEAT = "repeat"  # a duplicate: nothing to do
    RETRY = "retry"  # not delivered: the next poll tries again


class Pipeline:
    """Runs feeds through the stages, one poll of one feed at a time."""

    def __init__(
        self,
        settings: Settings,
        fetcher: HttpFetcher,
        store: StateStore,
        outbox: Outbox,
        pool: Executor,
        rng: random.Random | None = None,
        dedup: DedupStore | None = None,
        feed_states: FeedStates | None = None,
        board: FeedBoard | None = None,
    ) -> None:
        self._settings = settings
        self._fetcher = fetcher
        self._store = store
        self._feed_states = feed_states or store
        self._board = board or FeedBoard()  # the latest state of each feed, for /feeds
        self._dedup = Deduplicator(dedup or LocalDedupStore(store), settings.dedup)
        self._outbox = outbox
        self._pool = pool
        self._rng = rng or random.Random()
        self._feed_slots = asyncio.Semaphore(settings.http.feed_concurrency)
        self._page_slots = asyncio.Semaphore(settings.http.page_concurrency)
        self._activity: dict[str, tuple[float, float]] = {}  # feed id -> newest entry, gap
        self._learning = OutletLearning(store, settings.extract)
        self.stats = RunStats()

    async def poll_all(self, feeds: tuple[FeedSpec, ...]) -> None:
        """Poll every feed once, due or not, and process everything new."""
        for feed in feeds:
            self.resume(feed)
        await asyncio.gather(*(self.poll_feed(feed) for feed in feeds))

    def resume(self, feed: FeedSpec) -> FeedState:
        """Start tracking a feed: its stored schedule held to today's bounds (and stored so),
        and its gauges set now, not at its first success: the last success is the stored one,
        or, for a feed that never succeeded, now (newswire has been trying since), so a feed
        that never succeeds goes stale after three intervals like any other."""
        settings = self._settings
        state = self._feed_states.feed_state(feed)
        held = within_bounds(state, feed, settings.poll, settings.http.retry_after_cap, time.time())
        if held != state:
            self._feed_states.save_feed_state(held)
        metrics.FEED_LAST_SUCCESS.labels(feed.id).set(held.last_success or time.time())
        self._export_schedule(feed, held)
        self._board.update(held)
        return held

    async def poll_feed(self, feed: FeedSpec) -> FeedState:
        """One poll of one feed; returns (and stores) the feed's new state and schedule.
        An unexpected error in this poll is contained to the feed (`errors.contain`): logged
        with the feed, counted as internal_error, and the feed backed off like a failure."""
        state = self._feed_states.feed_state(feed)
        started, now = time.monotonic(), time.time()
        self.stats.polls += 1
        try:
            new_state = await self._poll(feed, state, now)
        except Exception as exc:
            if not self._settings.errors.contain:
                raise
            failure = Failure("poll", Reason.INTERNAL_ERROR, _describe(exc), feed.url)
            log.error(
                "poll crashed; the feed is backed off",
                extra=_ctx(feed, failure.detail, failure),
                exc_info=exc,
            )
            new_state = self._poll_failed(feed, state, now, failure)
        metrics.POLL_SECONDS.labels(feed.id).observe(time.monotonic() - started)
        self._feed_states.save_feed_state(new_state)
        self._export_schedule(feed, new_state)
        self._board.update(new_state)
        silent = sum(1 for newest, gap in self._activity.values() if is_silent(newest, gap, now))
        metrics.FEEDS_SILENT.set(silent)
        return new_state

    def _export_schedule(self, feed: FeedSpec, state: FeedState) -> None:
        metrics.FEED_CONSECUTIVE_ERRORS.labels(feed.id).set(state.consecutive_errors)
        metrics.FEED_INTERVAL.labels(feed.id).set(state.interval_s)
        metrics.FEED_NEXT_POLL.labels(feed.id).set(state.next_poll)

    async def _poll(self, feed: FeedSpec, state: FeedState, now: float) -> FeedState:
        async with self._feed_slots:
            result = await fetch_feed(self._fetcher, feed, state.validators)
        if isinstance(result, NotModified):
            return self._succeeded(feed, state, now, "not_modified", (), (result.fresh_for,))
        if isinstance(result, Failure):
            return self._poll_failed(feed, state, now, result)
        return await self._document(feed, state, now, result)

    async def _document(
        self, feed: FeedSpec, state: FeedState, now: float, document: FeedDocument
    ) -> FeedState:
        digest = body_digest(document.body)
        if digest == state.body_hash:
            # new validators, same bytes: nothing to parse; remember the new validators
            unchanged = replace(state, validators=document.validators)
            return self._succeeded(feed, unchanged, now, "unchanged", (), (document.fresh_for,))
        parsed = await self._parse(feed, document)
        if isinstance(parsed, Failure):
            return self._poll_failed(feed, state, now, parsed)
        parsed = self._capped(feed, parsed)
        self._parsed(feed, parsed)
        for rejected in parsed.rejected:
            await self._reject(feed, rejected)
        outcomes = await asyncio.gather(*(self.process(feed, e) for e in parsed.entries))
        published = sum(1 for o in outcomes if o is EntryOutcome.PUBLISHED)
        state = replace(state, items_seen=state.items_seen + published)
        if EntryOutcome.RETRY not in outcomes:
            # every entry handled: the next poll may skip what this one saw
            state = replace(state, validators=document.validators, body_hash=digest)
        dates = tuple(e.published for e in parsed.entries if e.published is not None)
        self._note_activity(feed, dates)
        hints = (parsed.update_hint_s, document.fresh_for)
        return self._succeeded(feed, state, now, "ok", dates, hints)

    async def _parse(self, feed: FeedSpec, document: FeedDocument) -> ParsedFeed | Failure:
        """Parse in a worker; a parse over the worker's time or memory budget fails the
        poll."""
        loop = asyncio.get_running_loop()
        try:
            contain = self._settings.errors.contain
            return await loop.run_in_executor(self._pool, parse_feed, document, contain)
        except OverBudget as exc:
            return Failure("poll", Reason.OVER_BUDGET, str(exc), feed.url)

    def _capped(self, feed: FeedSpec, parsed: ParsedFeed) -> ParsedFeed:
        """At most poll.max_entries entries of one poll (the first ones: feeds list the newest
        first); the rest are counted as skipped."""
        limit = self._settings.poll.max_entries
        if len(parsed.entries) <= limit:
            return parsed
        log.warning("feed over poll.max_entries", extra=_ctx(feed, f"{len(parsed.entries)}"))
        extra = len(parsed.entries) - limit
        return replace(parsed, entries=parsed.entries[:limit], skipped=parsed.skipped + extra)

    def _note_activity(self, feed: FeedSpec, dates: tuple[datetime, ...]) -> None:
        """Remember the feed's newest entry and usual gap, for the silent-feeds gauge."""
        gap = observed_interval(dates)
        if gap is not None:
            newest = max(d.timestamp() for d in dates)
            self._activity[feed.id] = (newest, max(gap, feed.min_interval_s))

    def _parsed(self, feed: FeedSpec, parsed: ParsedFeed) -> None:
        if parsed.malformed:
            metrics.FEEDS_MALFORMED.labels(feed.id).inc()
            log.warning("feed malformed, entries kept", extra=_ctx(feed, parsed.malformed))
        metrics.FEED_ENTRIES.labels(feed.outlet.id).inc(len(parsed.entries))
        if parsed.skipped:
            metrics.ENTRIES_SKIPPED.labels(feed.outlet.id).inc(parsed.skipped)
        self.stats.entries += len(parsed.entries)

    def _succeeded(
        self,
        feed: FeedSpec,
        state: FeedState,
        now: float,
        outcome: str,
        dates: tuple[datetime, ...],
        hints: tuple[float | None, ...],
    ) -> FeedState:
        metrics.POLLS.labels(feed.id, feed.outlet.id, outcome).inc()
        metrics.FEED_LAST_SUCCESS.labels(feed.id).set(now)
        if state.consecutive_errors:
            recovered = _ctx(feed, f"after {state.consecutive_errors} failed polls")
            log.info("feed recovered", extra={**recovered, "reason": state.last_reason})
        poll = self._settings.poll
        interval = next_interval(feed, state.interval_s, dates, hints, adapt=poll.adapt)
        return after_success(state, feed, now, interval, poll, self._rng)

    def _poll_failed(
        self, feed: FeedSpec, state: FeedState, now: float, failure: Failure
    ) -> FeedState:
        metrics.POLLS.labels(feed.id, feed.outlet.id, failure.reason.value).inc()
        self._count_failure(failure)
        new_state = after_failure(
            state, failure, now, self._settings.poll, self._settings.http.retry_after_cap, self._rng
        )
        context = _ctx(feed, failure.detail, failure)
        context.update(
            consecutive_errors=new_state.consecutive_errors,
            retry_in=round(new_state.next_poll - now, 1),
        )
        log.warning("poll failed", extra=context)
        return new_state

    async def process(self, feed: FeedSpec, entry: FeedEntry) -> EntryOutcome:
        """Take one entry to the broker (a shared dedup store out of reach: try again later).
        An unexpected error is contained to the entry (`errors.contain`): it is
        dead-lettered with the original entry and its keys recorded, so it is not retried
        forever."""
        try:
            return await self._process(feed, entry)
        except DedupUnavailable as exc:
            failure = Failure("dedup", Reason.DEDUP_UNAVAILABLE, str(exc), entry.link)
            self._count_failure(failure)
            log.warning("dedup store unavailable", extra=_ctx(feed, failure.detail, failure))
            return EntryOutcome.RETRY
        except Exception as exc:
            if not self._settings.errors.contain:
                raise
            failure = Failure("pipeline", Reason.INTERNAL_ERROR, _describe(exc), entry.link)
            await self._dead_letter_entry(feed, entry, entry_keys(entry), failure, exc)
            return EntryOutcome.REPEAT

    async def _process(self, feed: FeedSpec, entry: FeedEntry) -> EntryOutcome:
        keys = entry_keys(entry)
        duplicate = self._dedup.claim(keys)
        if duplicate is not None:
            return await self._known_entry(feed, entry, keys, duplicate)
        metrics.IN_FLIGHT.inc()
        try:
            page, reason = await self._fetch_page(feed, entry)
            if reason is Reason.HOST_PAUSED:
                return EntryOutcome.RETRY  # the page is there, the host asked us to wait
            article = await self._build_or_dead_letter(feed, entry, keys, page, reason)
            if article is None:
                return EntryOutcome.REPEAT
            if not article.text:
                return await self._no_text(feed, entry, keys, article)
            final_url = page.final_url if page else None
            # an entry without a link has no URL of its own to know it by (its url is the feed's)
            found = article_keys(article, final_url) if entry.link else ()
            more = tuple(k for k in found if k not in keys)
            duplicate = self._dedup.claim(more)
            if duplicate is not None:
                return await self._known_page(keys, duplicate)
            try:
                return await self._deliver(article, keys + more)
            finally:
                self._dedup.release(more)
        finally:
            self._dedup.release(keys)
            metrics.IN_FLIGHT.dec()

    async def _known_entry(
        self, feed: FeedSpec, entry: FeedEntry, keys: tuple[str, ...], duplicate: Duplicate
    ) -> EntryOutcome:
        """An entry whose link or GUID is known or in flight: a repeat, unless the feed says
        it was updated (then it may be a revision). In flight at another replica: that one
        may fail, so this poll does not count the entry as handled."""
        if duplicate.elsewhere:
            return EntryOutcome.RETRY
        prior = self._dedup.revisable(duplicate, entry)
        if prior is None or not self._dedup.hold(keys):
            self._count_duplicate(duplicate.layer)
            return EntryOutcome.REPEAT
        try:
            return await self._revise(feed, entry, keys, prior)
        finally:
            self._dedup.release(keys)

    async def _known_page(self, keys: tuple[str, ...], duplicate: Duplicate) -> EntryOutcome:
        """The page's canonical URL or redirect target is known: the entry's own keys become
        aliases of the article delivered under it."""
        if duplicate.elsewhere:
            return EntryOutcome.RETRY
        self._count_duplicate(duplicate.layer)
        if duplicate.article_id is not None:
            await self._outbox.wait_for_room()
            self._accept(DedupRecord(duplicate.article_id, keys))
        return EntryOutcome.REPEAT

    async def _revise(
        self, feed: FeedSpec, entry: FeedEntry, keys: tuple[str, ...], prior: Published
    ) -> EntryOutcome:
        """A known entry the feed says was updated: fetched again, and published as the next
        revision (same id and key, `revision` + 1, the previous hash) if its title or text
        changed materially; otherwise only the update time is remembered."""
        page, reason = await self._fetch_page(feed, entry)
        if reason is Reason.HOST_PAUSED:
            return EntryOutcome.RETRY
        article = await self._build_or_dead_letter(feed, entry, keys, page, reason)
        if article is None or not article.text:
            return EntryOutcome.REPEAT
        await self._outbox.wait_for_room()
        if not is_material(prior, article):
            touched = replace(prior, source_updated=source_updated(article))
            self._accept(DedupRecord(prior.article_id, keys, published=touched))
            self._count_duplicate("unchanged")
            return EntryOutcome.REPEAT
        revised = replace(
            article,
            id=prior.article_id,
            cluster_id=prior.cluster_id or prior.article_id,
            revision=prior.revision + 1,
            previous_hash=prior.content_hash,
        )
        metrics.REVISIONS.inc()
        self._publish(revised, keys)
        return EntryOutcome.PUBLISHED

    async def _build_or_dead_letter(
        self,
        feed: FeedSpec,
        entry: FeedEntry,
        keys: tuple[str, ...],
        page: FetchedPage | None,
        reason: Reason | None,
    ) -> Article | None:
        """The article, or None when extraction crashed (the entry is then dead-lettered)."""
        try:
            return await self._build_within_budget(feed, entry, page, reason)
        except BrokenProcessPool:
            raise  # a worker process died: the pool is gone, the service must restart
        except Exception as exc:  # a bug in extraction: dead-letter it, never retry forever
            await self._extraction_crashed(feed, entry, keys, exc)
            return None

    async def _build_within_budget(
        self, feed: FeedSpec, entry: FeedEntry, page: FetchedPage | None, reason: Reason | None
    ) -> Article:
        """The article; a page over the worker's time or memory budget is left out, and the
        article is built from the feed's own text, with the reason."""
        try:
            return await self._build(feed, entry, page, reason)
        except OverBudget as exc:
            if page is None:
                raise  # the feed's own text over budget: nothing left to fall back on
            failure = Failure("extract", Reason.OVER_BUDGET, str(exc), entry.link)
        self._count_failure(failure)
        log.warning(
            "page over budget; the feed's text is used", extra=_ctx(feed, failure.detail, failure)
        )
        return await self._build(feed, entry, None, Reason.OVER_BUDGET)

    async def _build(
        self, feed: FeedSpec, entry: FeedEntry, page: FetchedPage | None, reason: Reason | None
    ) -> Article:
        started = time.monotonic()
        learned = self._learning.learned(feed.outlet.id)
        article = await asyncio.get_running_loop().run_in_executor(
            self._pool, process_entry, entry, page, reason, feed, self._settings.extract, learned
        )
        metrics.EXTRACT_SECONDS.observe(time.monotonic() - started)
        metrics.EXTRACTIONS.labels(feed.outlet.id, article.extraction.method.value).inc()
        return article

    async def _fetch_page(
        self, feed: FeedSpec, entry: FeedEntry
    ) -> tuple[FetchedPage | None, Reason | None]:
        if entry.link is None:
            return None, Reason.NO_LINK  # nothing to fetch: the feed's text is the article
        started = time.monotonic()
        async with self._page_slots:
            page = await fetch_page(self._fetcher, entry.link)
        metrics.FETCH_SECONDS.observe(time.monotonic() - started)
        if isinstance(page, Failure):
            metrics.PAGE_FETCHES.labels(feed.outlet.id, page.reason.value).inc()
            self._count_failure(page)
            log.info("page fetch failed", extra=_ctx(feed, page.detail, page))
            return None, page.reason
        metrics.PAGE_FETCHES.labels(feed.outlet.id, "ok").inc()
        return page, None

    async def _deliver(self, article: Article, keys: tuple[str, ...]) -> EntryOutcome:
        """The title and near-duplicate layers, then the outcome their policy says: an
        original is published in its own cluster; a repeat is dropped (its keys remembered),
        diverted to the duplicates topic, or published with `duplicate_of` and `cluster_id`.
        A near copy's sketch is indexed in its story's cluster, whatever the policy; a title
        repeat's is not (an outlet's reused title says nothing of the text).
        The check and the accept run under the dedup store's exclusive hold with no pause
        between them, so two copies in flight at once cannot both pass as originals. A link
        or GUID the store claimed from its own index (a shared store) is confirmed there too:
        recorded since (another replica took the same link), its keys become aliases."""
        await self._outbox.wait_for_room()
        dedup = self._settings.dedup
        title = title_key(article, dedup.title_min_words)
        with metrics.DEDUP_SECONDS.time(), self._dedup.exclusive():
            match = self._dedup.match(article, title, keys)
            if match is None:
                original = replace(article, cluster_id=article.id)
                self._publish(original, keys + ((title,) if title else ()), index=True)
                return EntryOutcome.PUBLISHED
            self._count_duplicate(match.layer)
            if match.recorded_link is not None:
                self._accept(DedupRecord(match.recorded_link, keys))  # its keys become aliases
                return EntryOutcome.REPEAT
            near = match.layer == "near"
            policy = dedup.near_policy if near else dedup.title_policy
            repeat = replace(article, duplicate_of=match.article_id, cluster_id=match.cluster_id)
            if policy == "drop":  # remembered, nothing sent
                sketch = indexed_sketch(repeat) if near else None
                self._accept(DedupRecord(article.id, keys, sketch))
                return EntryOutcome.REPEAT
            divert = (self._settings.topics.duplicates,) if policy == "divert" else None
            self._publish(repeat, keys, topics=divert, index=near)
            return EntryOutcome.REPEAT

    def _publish(
        self,
        article: Article,
        keys: tuple[str, ...],
        topics: tuple[str, ...] | None = None,
        index: bool = False,
    ) -> None:
        """Accept the article into the outbox (durably, with its dedup keys and, when
        `index`, its sketch under its cluster); the outbox sends it to the broker. Callers
        wait for room in the outbox first."""
        article, records = fitted_records(article, self._settings, topics)
        sketch = indexed_sketch(article) if index else None
        original = article.duplicate_of is None
        kept = as_published(article) if original else None
        self._accept(DedupRecord(article.id, keys, sketch, kept), records)
        if original:
            for watchlist in article.tagging.watchlists:
                metrics.REGIONS.labels(watchlist).inc()
            self.stats.published += 1
        if index and original:  # an original's first version: its edges count once
            self._learning.note(article.outlet.id, article.extraction.edges)
        log.info(
            "accepted",
            extra={
                "url": article.url,
                "article_id": article.id,
                "topics": [r.topic for r in records],
                "duplicate_of": article.duplicate_of,
            },
        )

    def _accept(self, record: DedupRecord, records: Sequence[OutboxRecord] = ()) -> None:
        """Into the outbox with the dedup record in one transaction; a shared dedup store
        then takes the record from the journal (the embedded one has nothing to flush)."""
        self._outbox.accept(records, record, self._dedup.shared)
        self._dedup.flush()

    async def _extraction_crashed(
        self, feed: FeedSpec, entry: FeedEntry, keys: tuple[str, ...], exc: Exception
    ) -> None:
        """A crash in extraction: the entry goes to the dead-letter topic."""
        failure = Failure("extract", Reason.EXTRACT_ERROR, _describe(exc), entry.link)
        await self._dead_letter_entry(feed, entry, keys, failure, exc)

    async def _dead_letter_entry(
        self,
        feed: FeedSpec,
        entry: FeedEntry,
        keys: tuple[str, ...],
        failure: Failure,
        exc: Exception | None,
        attempts: int = 1,
    ) -> None:
        """Send the original entry to the dead-letter topic and record its keys as seen."""
        letter = entry_letter(entry, failure, self._settings.topics.dead_letters, attempts)
        await self._outbox.wait_for_room()
        self._accept(DedupRecord(letter.article_id, keys), [letter])
        self._dead_lettered(feed, failure, exc)

    async def _reject(self, feed: FeedSpec, rejected: RejectedEntry) -> None:
        """A feed item that could not be read as an entry: dead-lettered once (its hash is
        recorded), with the raw item."""
        keys = (rejected.key,)
        if self._dedup.claim(keys) is not None:
            return  # dead-lettered at an earlier poll, or in flight
        try:
            failure = Failure("poll", Reason.INTERNAL_ERROR, rejected.error, feed.url)
            letter = rejected_letter(rejected, failure, self._settings.topics.dead_letters)
            await self._outbox.wait_for_room()
            self._accept(DedupRecord(letter.article_id, keys), [letter])
            self._dead_lettered(feed, failure, None)
        finally:
            self._dedup.release(keys)

    def _dead_lettered(self, feed: FeedSpec, failure: Failure, exc: Exception | None) -> None:
        self._count_failure(failure)
        metrics.DEAD_LETTERS.labels(failure.stage, failure.reason.value).inc()
        log.error(
            "entry sent to the dead-letter topic",
            extra=_ctx(feed, failure.detail, failure),
            exc_info=exc,
        )

    async def _no_text(
        self, feed: FeedSpec, entry: FeedEntry, keys: tuple[str, ...], article: Article
    ) -> EntryOutcome:
        """Nothing to publish: no page text, no text in the feed, not even a title. Counted
        and left unrecorded, so the next poll tries again (a page may be down a while), up to
        `poll.max_attempts` polls; then the entry is dead-lettered, its keys recorded, and it
        is not tried again. Attempts are kept in the state store (across restarts)."""
        attempts = self._store.note_attempt(keys[0], time.time())
        detail = f"no text from page or feed (attempt {attempts})"
        failure = Failure("extract", Reason.TOO_LITTLE_TEXT, detail, entry.link or feed.url)
        if attempts < self._settings.poll.max_attempts:
            self._count_failure(failure)
            log.warning("nothing to publish", extra=_ctx(feed, failure.detail, failure))
            return EntryOutcome.RETRY
        await self._dead_letter_entry(feed, entry, keys, failure, None, attempts)
        return EntryOutcome.REPEAT

    def _count_duplicate(self, layer: str) -> None:
        metrics.DUPLICATES.labels(layer).inc()
        self.stats.duplicates += 1

    def _count_failure(self, failure: Failure) -> None:
        metrics.ERRORS.labels(failure.stage, failure.reason.value).inc()
        self.stats.failed(failure)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def _ctx(feed: FeedSpec, detail: str, failure: Failure | None = None) -> dict[str, object]:
    context: dict[str, object] = {"feed": feed.id, "url": feed.url, "detail": detail}
    if failure is not None:
        context.update(stage=failure.stage, reason=failure.reason.value, url=failure.url)
    return context
