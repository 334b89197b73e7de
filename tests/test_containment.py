"""Unexpected errors in a running service are contained to their feed or entry
(`errors.contain: true`, the service's default): logged, counted as internal_error, the entry
dead-lettered once with what the feed gave, the feed backed off, the other feeds untouched.
With `errors.contain: false` (every other test) the same error propagates: bugs crash loudly.

The errors are injected (a bug stands in for one no fixture can name in advance); the feeds,
pages, state store and broker are real, and parsing runs in threads so the injection reaches
it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from newswire import pipeline as pipeline_module
from newswire.feeds import poll
from newswire.models import FeedSpec
from newswire.settings import Settings
from newswire.state import StateStore
from newswire.worker import load_models
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite, Resource
from tests.stories import story_html
from tests.test_pipeline import sample, with_fresh_topic

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"


class Injected(RuntimeError):
    """The stand-in bug."""


@pytest.fixture(scope="module")
def threads() -> Iterator[ThreadPoolExecutor]:
    load_models(CONFIG.gazetteer, CONFIG.settings.extract)
    with ThreadPoolExecutor(2) as executor:
        yield executor


def containing(settings: Settings, contain: bool = True) -> Settings:
    return settings.model_copy(
        update={"errors": settings.errors.model_copy(update={"contain": contain})}
    )


def feed_of(
    site: FixtureSite, path: str, stories: list[int], titles: dict[int, str] | None = None
) -> FeedSpec:
    titles = titles or {}
    items = "".join(
        f"<item><title>{titles.get(i, f'Story {i}')}</title><link>{{{{BASE}}}}/story/{i}</link>"
        f"<description>Summary of story {i}.</description></item>"
        for i in stories
    )
    for i in stories:
        site.add(f"/story/{i}", Resource(story_html(i)))
    body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    url = site.add(path, Resource(body, RSS))
    return FeedSpec(path.strip("/"), url, FEEDS["shafaq-news"].outlet, 300)


def run(
    settings: Settings, bootstrap: str, store: StateStore, pool: Any, feeds: tuple[FeedSpec, ...]
) -> Any:
    return asyncio.run(poll_and_drain(settings, bootstrap, store, pool, feeds))


def test_a_poll_that_crashes_is_contained_to_its_feed_and_backs_it_off(
    site: FixtureSite,
    kafka_bootstrap: str,
    tmp_path: Path,
    threads: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = containing(with_fresh_topic(kafka_bootstrap))
    broken = feed_of(site, "/broken.xml", [1])
    healthy = feed_of(site, "/healthy.xml", [2, 3])
    real_fetch = pipeline_module.fetch_feed

    async def fetch(fetcher: Any, feed: FeedSpec, validators: Any) -> Any:
        if feed.id == broken.id:
            raise Injected("a bug met while polling")
        return await real_fetch(fetcher, feed, validators)

    monkeypatch.setattr(pipeline_module, "fetch_feed", fetch)
    before = sample("newswire_errors_total", stage="poll", reason="internal_error")
    store = StateStore(tmp_path / "state.db")
    stats, states = run(settings, kafka_bootstrap, store, threads, (broken, healthy))

    assert stats.published == 2  # the healthy feed is untouched
    crashed = next(s for s in states if s.feed_id == broken.id)
    assert crashed.consecutive_errors == 1
    assert crashed.last_reason == "internal_error"
    # backed off like a hard failure (poll.hard_backoff 30m, +-10% jitter)
    assert crashed.last_error is not None
    assert crashed.next_poll - crashed.last_error >= 0.9 * settings.poll.hard_backoff
    assert sample("newswire_errors_total", stage="poll", reason="internal_error") == before + 1

    with pytest.raises(Injected):  # contain: false, as in every other test
        run(containing(settings, False), kafka_bootstrap, store, threads, (broken,))


def test_an_entry_that_crashes_is_dead_lettered_once_and_the_others_are_published(
    site: FixtureSite,
    kafka_bootstrap: str,
    tmp_path: Path,
    threads: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = containing(with_fresh_topic(kafka_bootstrap))
    feed = feed_of(site, "/mixed.xml", [10, 11, 12])
    real_fetch_page = pipeline_module.fetch_page

    async def fetch_page(fetcher: Any, url: str) -> Any:
        if url.endswith("/story/11"):
            raise Injected("a bug met while fetching one page")
        return await real_fetch_page(fetcher, url)

    monkeypatch.setattr(pipeline_module, "fetch_page", fetch_page)
    store = StateStore(tmp_path / "state.db")
    first, _ = run(settings, kafka_bootstrap, store, threads, (feed,))
    site.add("/mixed.xml", Resource(site.resources["/mixed.xml"].body + b" ", RSS))  # new bytes
    run(settings, kafka_bootstrap, store, threads, (feed,))

    assert first.published == 2
    urls = sorted(
        m["url"].removeprefix(site.base)
        for m in read_messages(kafka_bootstrap, settings.topics.articles)
    )
    assert urls == ["/story/10", "/story/12"]
    letters = read_messages(kafka_bootstrap, settings.topics.dead_letters)
    assert len(letters) == 1  # not again at the second poll: its keys were recorded
    assert letters[0]["stage"] == "pipeline"
    assert letters[0]["reason"] == "internal_error"
    assert "Injected: a bug met while fetching one page" in letters[0]["detail"]
    assert letters[0]["entry"]["link"].endswith("/story/11")
    assert letters[0]["entry"]["title"] == "Story 11"


def test_a_feed_item_that_cannot_be_read_is_dead_lettered_raw_once(
    site: FixtureSite,
    kafka_bootstrap: str,
    tmp_path: Path,
    threads: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = containing(with_fresh_topic(kafka_bootstrap))
    feed = feed_of(site, "/items.xml", [20, 21, 22], titles={21: "Unreadable 21"})
    real_to_entry = poll.to_entry

    def to_entry(raw: Any, spec: FeedSpec, language: str | None) -> Any:
        if "Unreadable" in raw.get("title", ""):
            raise Injected("a bug met converting one item")
        return real_to_entry(raw, spec, language)

    monkeypatch.setattr(poll, "to_entry", to_entry)
    store = StateStore(tmp_path / "state.db")
    first, _ = run(settings, kafka_bootstrap, store, threads, (feed,))
    site.add("/items.xml", Resource(site.resources["/items.xml"].body + b" ", RSS))
    run(settings, kafka_bootstrap, store, threads, (feed,))

    assert first.published == 2
    letters = read_messages(kafka_bootstrap, settings.topics.dead_letters)
    assert len(letters) == 1
    assert (letters[0]["stage"], letters[0]["reason"]) == ("poll", "internal_error")
    assert letters[0]["url"] == feed.url
    raw = json.loads(letters[0]["entry_raw"])
    assert raw["title"] == "Unreadable 21"
    assert raw["link"].endswith("/story/21")

    with pytest.raises(Injected):
        run(
            containing(settings, False),
            kafka_bootstrap,
            StateStore(tmp_path / "b.db"),
            threads,
            (feed,),
        )
