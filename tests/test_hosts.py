"""Per-host politeness against a real server on 127.0.0.1: concurrent requests counted on the
server side, the minimum delay between starts, 429/503 pausing the whole host, Retry-After in
both forms, and the cache hints that feed the schedule."""

from __future__ import annotations

import asyncio
import email.utils
import itertools

import pytest

from newswire.errors import Reason
from newswire.http.client import HttpFetcher, HttpResponse, freshness, parse_retry_after
from newswire.models import Failure
from newswire.settings import HttpSettings
from tests.site import FixtureSite, Resource

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0


def http_settings(**overrides: object) -> HttpSettings:
    base: dict[str, object] = {"host_min_delay": 0, "host_concurrency": 64, "total_timeout": 5}
    base["allow_hosts"] = ["127.0.0.1"]
    base.update(overrides)
    return HttpSettings.model_validate(base)


async def get_all(settings: HttpSettings, urls: list[str]) -> list[HttpResponse | Failure]:
    async with HttpFetcher(settings) as fetcher:
        return list(await asyncio.gather(*(fetcher.get(u, stage="fetch") for u in urls)))


def slow_pages(site: FixtureSite, count: int) -> list[str]:
    return [site.add(f"/p{i}", Resource(b"<html>ok</html>", delay=0.2)) for i in range(count)]


def test_at_most_n_requests_in_flight_per_host(site: FixtureSite) -> None:
    urls = slow_pages(site, 12)
    results = asyncio.run(get_all(http_settings(host_concurrency=2), urls))
    assert all(isinstance(r, HttpResponse) and r.status == 200 for r in results)
    assert site.max_active == 2


def test_without_the_limit_the_same_requests_overlap_more(site: FixtureSite) -> None:
    urls = slow_pages(site, 12)
    asyncio.run(get_all(http_settings(host_concurrency=12), urls))
    assert site.max_active > 2  # so the test above measures the gate, not the server


def test_requests_to_one_host_start_at_least_the_minimum_delay_apart(site: FixtureSite) -> None:
    urls = [site.add(f"/q{i}", Resource(b"ok")) for i in range(5)]
    asyncio.run(get_all(http_settings(host_min_delay=0.2), urls))
    starts = sorted(r.at for r in site.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The gate spaces the starts 0.2 s apart; the server sees them after the connect, whose
    # time varies on a loaded machine (the first one's fresh connect can take tens of ms
    # off the span: 0.744 s was seen), so each gap is checked loosely and the whole span
    # (four delays, 0.8 s; without the gate about 0) with room for that.
    assert len(starts) == 5 and min(gaps) >= 0.1
    assert starts[-1] - starts[0] >= 0.6


def test_a_429_pauses_the_whole_host_for_its_retry_after(site: FixtureSite) -> None:
    busy = site.add("/busy", Resource(status=429, headers={"Retry-After": "1"}))
    other = site.add("/other", Resource(b"ok"))

    async def scenario() -> tuple[HttpResponse | Failure, HttpResponse | Failure]:
        async with HttpFetcher(http_settings()) as fetcher:
            first = await fetcher.get(busy, stage="poll")
            return first, await fetcher.get(other, stage="fetch")

    first, second = asyncio.run(scenario())
    assert isinstance(first, HttpResponse) and first.retry_after == 1.0
    assert isinstance(second, HttpResponse) and second.status == 200
    busy_at, other_at = (r.at for r in site.requests)
    assert other_at - busy_at >= 0.95


def test_a_503_without_retry_after_pauses_for_host_pause(site: FixtureSite) -> None:
    down = site.add("/down", Resource(status=503))
    after = site.add("/after", Resource(b"ok"))

    async def scenario() -> float:
        async with HttpFetcher(http_settings(host_pause=0.5)) as fetcher:
            await fetcher.get(down, stage="poll")
            paused = fetcher.gate.paused_for("127.0.0.1")
            await fetcher.get(after, stage="poll")
            return paused

    assert 0.3 < asyncio.run(scenario()) <= 0.5
    assert site.requests[1].at - site.requests[0].at >= 0.45


def test_a_host_paused_past_the_deadline_fails_at_once_without_a_request(
    site: FixtureSite,
) -> None:
    week = site.add("/week", Resource(status=429, headers={"Retry-After": "604800"}))
    page = site.add("/page", Resource(b"ok"))

    async def scenario() -> HttpResponse | Failure:
        async with HttpFetcher(http_settings(retry_after_cap=3600)) as fetcher:
            await fetcher.get(week, stage="poll")
            return await fetcher.get(page, stage="fetch")

    result = asyncio.run(scenario())
    assert isinstance(result, Failure) and result.reason is Reason.HOST_PAUSED
    assert result.retry_after is not None and 3500 < result.retry_after <= 3600  # capped
    assert site.hits("/page") == 0


def test_retry_after_as_an_http_date_from_a_real_server(site: FixtureSite) -> None:
    import time

    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    url = site.add("/later", Resource(status=503, headers={"Retry-After": when}))
    (result,) = asyncio.run(get_all(http_settings(host_pause=0.1), [url]))
    assert isinstance(result, HttpResponse)
    assert result.retry_after is not None and 115 <= result.retry_after <= 120


@pytest.mark.parametrize(
    "value,seconds",
    [
        ("120", 120.0),
        ("0", 0.0),
        (email.utils.formatdate(NOW + 3600, usegmt=True), 3600.0),
        (email.utils.formatdate(NOW - 60, usegmt=True), 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "cache_control,expires,seconds",
    [
        ("public, max-age=600", None, 600.0),
        ('max-age="90"', None, 90.0),
        ("s-maxage=999, max-age=60", email.utils.formatdate(NOW + 5, usegmt=True), 60.0),
        (None, email.utils.formatdate(NOW + 1800, usegmt=True), 1800.0),
        ("no-cache", None, None),
        (None, "0", None),  # an invalid Expires: no hint
        (None, None, None),
    ],
)
def test_cache_hints(cache_control: str | None, expires: str | None, seconds: float | None) -> None:
    assert freshness(cache_control, expires, now=NOW) == seconds


def test_requests_go_through_the_configured_proxy(site: FixtureSite) -> None:
    # The fixture server plays the proxy: it receives the absolute URL and answers itself,
    # so nothing is sent to feeds.example (which does not exist).
    site.add("http://feeds.example/rss", Resource(b"<rss/>", "application/rss+xml"))
    (result,) = asyncio.run(get_all(http_settings(proxy=site.base), ["http://feeds.example/rss"]))
    assert isinstance(result, HttpResponse) and result.status == 200
    assert [r.path for r in site.requests] == ["http://feeds.example/rss"]
