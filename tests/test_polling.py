"""Polling through the pipeline against a real server on 127.0.0.1 and the real broker:
conditional GET flows, stale validators, unchanged bodies, backoff growth and reset,
Retry-After, interval adaptation, slow, oversized and redirected feeds, and their metrics."""

from __future__ import annotations

import asyncio
import email.utils
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from newswire.models import FeedSpec, FeedState
from newswire.publish.producer import configured_topics, ensure_topics
from newswire.settings import Settings
from newswire.state import StateStore
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages, unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite, Resource
from tests.stories import story

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"
OUTLET = FEEDS["shafaq-news"].outlet
LAST_MODIFIED = "Fri, 20 Nov 2026 09:10:00 GMT"


def rss(*items: tuple[str, str, datetime | None], extra: str = "") -> bytes:
    body = ""
    for path, title, when in items:
        date = f"<pubDate>{email.utils.format_datetime(when)}</pubDate>" if when else ""
        text = story(zlib.crc32(path.encode()))[1][0]  # distinct: no near-duplicates
        body += (
            f"<item><title>{title}</title><link>{{{{BASE}}}}{path}</link>{date}"
            f"<description>{text}</description></item>"
        )
    return f'<rss version="2.0"><channel><title>t</title>{extra}{body}</channel></rss>'.encode()


@dataclass
class Poller:
    """One pipeline over a real broker topic and a state file, polled feed by feed."""

    settings: Settings
    bootstrap: str
    store: StateStore
    pool: ProcessPoolExecutor

    def poll(self, feed: FeedSpec) -> FeedState:
        cycle = poll_and_drain(self.settings, self.bootstrap, self.store, self.pool, (feed,))
        _, (state,) = asyncio.run(cycle)
        return state

    def published(self) -> list[dict[str, object]]:
        return read_messages(self.bootstrap, self.settings.topics.articles)


@pytest.fixture
def poller(kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor) -> Poller:
    topics = CONFIG.settings.topics.model_copy(update={"articles": f"{unique_prefix()}.articles"})
    settings = CONFIG.settings.model_copy(
        update={
            "topics": topics,
            "routes": (),
            "poll": CONFIG.settings.poll.model_copy(update={"jitter": 0.0}),
            "http": CONFIG.settings.http.model_copy(
                update={"host_min_delay": 0.0, "total_timeout": 3.0, "max_wire_bytes": 200_000}
            ),
        }
    )
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, configured_topics(settings))
    return Poller(settings, kafka_bootstrap, StateStore(tmp_path / "state.db"), pool)


def feed_at(url: str, **kwargs: object) -> FeedSpec:
    options: dict[str, object] = {"min_interval_s": 120, "max_interval_s": 3600}
    options.update(kwargs)
    return FeedSpec("polling-test", url, OUTLET, 300, **options)  # type: ignore[arg-type]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def polls(outcome: str) -> float:
    return sample(
        "newswire_polls_total", feed="polling-test", outlet="shafaq-news", outcome=outcome
    )


@pytest.mark.parametrize(
    "validators,header",
    [
        ({"etag": '"v1"'}, "If-None-Match"),
        ({"last_modified": LAST_MODIFIED}, "If-Modified-Since"),
    ],
)
def test_304_flow_with_each_validator(
    site: FixtureSite, poller: Poller, validators: dict[str, str], header: str
) -> None:
    url = site.add("/rss", Resource(rss(("/a", "Strikes", None)), RSS, **validators))
    feed = feed_at(url)
    first = poller.poll(feed)
    assert len(poller.published()) == 1 and first.items_seen == 1
    assert header not in site.requests[0].headers

    before = polls("not_modified")
    second = poller.poll(feed)
    feed_requests = [r for r in site.requests if r.path == "/rss"]
    assert feed_requests[-1].headers[header] == next(iter(validators.values()))
    assert polls("not_modified") == before + 1
    assert second.consecutive_errors == 0 and second.last_success is not None
    assert second.last_success >= (first.last_success or 0)
    assert len(poller.published()) == 1


def test_stale_validators_are_ignored_when_the_feed_says_so(
    site: FixtureSite, poller: Poller
) -> None:
    site.add("/rss", Resource(rss(("/a", "Strikes", None)), RSS, etag='"forever"'))
    trusting, sceptical = (
        feed_at(site.url("/rss")),
        feed_at(site.url("/rss"), ignore_validators=True),
    )
    poller.poll(trusting)
    site.add(
        "/rss",
        Resource(rss(("/a", "Strikes", None), ("/b", "Shelling", None)), RSS, etag='"forever"'),
    )

    poller.poll(trusting)  # the server's ETag never changes: a 304, the new item missed
    assert len(poller.published()) == 1

    poller.poll(sceptical)
    last = [r for r in site.requests if r.path == "/rss"][-1]
    assert "If-None-Match" not in last.headers
    assert {m["title"] for m in poller.published()} == {"Strikes", "Shelling"}


def test_new_validators_on_an_unchanged_body_skip_the_parse(
    site: FixtureSite, poller: Poller
) -> None:
    body = rss(("/a", "Strikes", None))
    url = site.add("/rss", Resource(body, RSS, etag='"v1"'))
    feed = feed_at(url)
    poller.poll(feed)
    site.add("/rss", Resource(body, RSS, etag='"v2"'))  # same bytes, new ETag

    before = polls("unchanged")
    state = poller.poll(feed)
    assert polls("unchanged") == before + 1
    assert state.validators.etag == '"v2"'  # remembered, so the next poll can be a 304
    assert site.hits("/a") == 1  # the article page was not fetched again


def test_backoff_grows_per_error_and_the_first_success_resets_it(
    site: FixtureSite, poller: Poller
) -> None:
    url = site.add("/rss", Resource(status=500))
    feed = feed_at(url)
    waits = []
    for _ in range(4):
        state = poller.poll(feed)
        waits.append(round(state.next_poll - (state.last_error or 0)))
    assert waits == [60, 120, 240, 480]  # soft: 1m doubling (jitter 0 in this test)
    assert state.consecutive_errors == 4 and state.last_reason == "http_5xx"
    assert sample("newswire_feed_consecutive_errors", feed="polling-test") == 4

    site.add("/rss", Resource(rss(("/a", "Strikes", None)), RSS))
    state = poller.poll(feed)
    assert state.consecutive_errors == 0 and state.last_reason == "http_5xx"
    assert round(state.next_poll - (state.last_success or 0)) == 300
    assert sample("newswire_feed_consecutive_errors", feed="polling-test") == 0


def test_a_hard_error_backs_off_longer(site: FixtureSite, poller: Poller) -> None:
    state = poller.poll(feed_at(site.url("/gone")))  # the server answers 404
    assert state.last_reason == "http_404"
    assert round(state.next_poll - (state.last_error or 0)) == 1800


def test_an_html_page_at_the_feed_url_is_a_hard_not_a_feed_error(
    site: FixtureSite, poller: Poller
) -> None:
    url = site.add("/rss", Resource(b"<!DOCTYPE html><html><body>Moved</body></html>"))
    state = poller.poll(feed_at(url))
    assert state.last_reason == "not_a_feed"
    assert round(state.next_poll - (state.last_error or 0)) == 1800


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_from_the_server_sets_the_next_poll(
    site: FixtureSite, poller: Poller, form: str
) -> None:
    import time

    value = "5400" if form == "seconds" else email.utils.formatdate(time.time() + 5400, usegmt=True)
    url = site.add("/rss", Resource(status=429, headers={"Retry-After": value}))
    state = poller.poll(feed_at(url))
    assert state.last_reason == "http_429"
    assert 5390 <= state.next_poll - (state.last_error or 0) <= 5401  # not the 60 s backoff


def test_interval_adapts_to_how_often_the_feed_posts(site: FixtureSite, poller: Poller) -> None:
    now = datetime.now(UTC)
    items = [(f"/p{i}", f"Story {i}", now - timedelta(minutes=10 * i)) for i in range(6)]
    url = site.add("/rss", Resource(rss(*items), RSS))
    lags_before = sample("newswire_freshness_lag_seconds_count")
    lag_sum_before = sample("newswire_freshness_lag_seconds_sum")
    state = poller.poll(feed_at(url))
    assert state.interval_s == 600
    assert round(state.next_poll - (state.last_success or 0)) == 600
    assert sample("newswire_feed_interval_seconds", feed="polling-test") == 600
    # freshness: six articles published 0, 10, ... 50 minutes before they were acknowledged
    assert sample("newswire_freshness_lag_seconds_count") == lags_before + 6
    lag_sum = sample("newswire_freshness_lag_seconds_sum") - lag_sum_before
    assert 150 * 60 <= lag_sum <= 150 * 60 + 6 * 60
    assert sample("newswire_feeds_silent") == 0


def test_a_feed_quiet_for_three_of_its_usual_gaps_is_counted_silent(
    site: FixtureSite, poller: Poller
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    items = [(f"/p{i}", f"Story {i}", two_hours_ago - timedelta(minutes=3 * i)) for i in range(4)]
    url = site.add("/rss", Resource(rss(*items), RSS))
    poller.poll(feed_at(url))  # usual gap 3 min, clamped to the 2 min floor: silent after 9 min
    assert sample("newswire_feeds_silent") == 1


def test_ttl_and_max_age_lengthen_the_interval(site: FixtureSite, poller: Poller) -> None:
    url = site.add(
        "/rss",
        Resource(
            rss(("/a", "Strikes", None), extra="<ttl>20</ttl>"),
            RSS,
            headers={"Cache-Control": "max-age=1500"},
        ),
    )
    assert poller.poll(feed_at(url)).interval_s == 1500  # max-age beats a 20-minute ttl
    site.add("/rss", Resource(rss(("/a", "Strikes", None), extra="<ttl>40</ttl>"), RSS))
    assert poller.poll(feed_at(url)).interval_s == 2400


def test_a_redirected_feed_resolves_relative_links_against_where_it_landed(
    site: FixtureSite, poller: Poller
) -> None:
    site.add(
        "/feeds/v2/rss",
        Resource(rss(("/a", "Strikes", None)).replace(b"{{BASE}}/a", b"story-a"), RSS),
    )
    site.add("/feeds/v2/story-a", Resource(status=404))
    url = site.add("/rss", Resource(status=301, location="/feeds/v2/rss"))
    state = poller.poll(feed_at(url))
    assert state.consecutive_errors == 0
    assert site.hits("/feeds/v2/story-a") == 1
    assert [m["source_url"] for m in poller.published()] == [site.url("/feeds/v2/story-a")]


def test_slow_and_oversized_feeds_fail_with_their_reason(site: FixtureSite, poller: Poller) -> None:
    slow = site.add("/slow", Resource(rss(("/a", "Strikes", None)), RSS, trickle=0.05))
    big = site.add("/big", Resource(b"<rss>" + b" " * 300_000 + b"</rss>", RSS))
    assert poller.poll(feed_at(slow)).last_reason == "timeout"
    assert poller.poll(feed_at(big)).last_reason == "too_large"
