"""The poll schedule: adaptive intervals, hints, jitter bounds, backoff per class, reset."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.errors import Reason
from newswire.feeds.schedule import (
    ErrorClass,
    after_failure,
    after_success,
    backoff,
    error_class,
    is_silent,
    jittered,
    next_interval,
    observed_interval,
    within_bounds,
)
from newswire.models import Failure, FeedSpec, FeedState, OutletSpec
from newswire.settings import PollSettings

OUTLET = OutletSpec(id="o", name="O")
FEED = FeedSpec("f", "https://o.test/rss", OUTLET, 300, min_interval_s=120, max_interval_s=3600)
POLL = PollSettings()  # soft 1m..1h, hard 30m..24h, jitter 10%
NOW = 1_800_000_000.0
NO_JITTER = PollSettings(jitter=0)


def posted_every(minutes: float, count: int = 10) -> list[datetime]:
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    return [start - timedelta(minutes=minutes * i) for i in range(count)]


def failure(reason: Reason, retry_after: float | None = None) -> Failure:
    return Failure("poll", reason, "x", FEED.url, retry_after=retry_after)


def fresh_state() -> FeedState:
    return FeedState(FEED.url, FEED.id, FEED.interval_s)


@pytest.mark.parametrize(
    "reason,kind",
    [
        (Reason.TIMEOUT, ErrorClass.SOFT),
        (Reason.CONNECT, ErrorClass.SOFT),
        (Reason.DNS, ErrorClass.SOFT),
        (Reason.HTTP_5XX, ErrorClass.SOFT),
        (Reason.HTTP_429, ErrorClass.SOFT),
        (Reason.HTTP_404, ErrorClass.HARD),
        (Reason.HTTP_410, ErrorClass.HARD),
        (Reason.NOT_A_FEED, ErrorClass.HARD),
        (Reason.PARSE_ERROR, ErrorClass.HARD),
        (Reason.TLS, ErrorClass.HARD),
    ],
)
def test_errors_are_classed(reason: Reason, kind: ErrorClass) -> None:
    assert error_class(reason) is kind


def test_soft_backoff_doubles_up_to_its_cap_and_stays_there() -> None:
    delays = [backoff(Reason.TIMEOUT, n, POLL) for n in range(1, 10)]
    assert delays[:6] == [60, 120, 240, 480, 960, 1920]
    assert delays[6:] == [3600, 3600, 3600]


def test_hard_backoff_starts_longer_and_caps_at_a_day() -> None:
    delays = [backoff(Reason.HTTP_404, n, POLL) for n in range(1, 8)]
    assert delays[:3] == [1800, 3600, 7200]
    assert delays[-1] == 86400
    assert backoff(Reason.HTTP_410, 10_000, POLL) == 86400  # no overflow, never "disabled"


def test_failures_back_off_and_the_first_success_resets() -> None:
    state = fresh_state()
    waits = []
    for _ in range(8):
        state = after_failure(
            state, failure(Reason.HTTP_5XX), NOW, NO_JITTER, 21600, random.Random(1)
        )
        waits.append(state.next_poll - NOW)
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert state.consecutive_errors == 8 and state.last_reason == "http_5xx"
    assert state.last_error == NOW

    state = after_success(state, FEED, NOW + 10, 300, NO_JITTER, random.Random(1))
    assert state.consecutive_errors == 0 and state.last_success == NOW + 10
    assert state.next_poll == NOW + 10 + 300
    again = after_failure(state, failure(Reason.TIMEOUT), NOW, NO_JITTER, 21600, random.Random(1))
    assert again.next_poll - NOW == 60  # the count started over


def test_retry_after_is_honoured_over_a_shorter_backoff_and_capped() -> None:
    rng = random.Random(7)
    asked = after_failure(fresh_state(), failure(Reason.HTTP_429, 900), NOW, POLL, 21600, rng)
    assert 900 <= asked.next_poll - NOW <= 990  # never sooner than asked; jitter only adds
    greedy = after_failure(fresh_state(), failure(Reason.HTTP_429, 10**7), NOW, POLL, 7200, rng)
    assert 7200 <= greedy.next_poll - NOW <= 7920  # a week is capped at retry_after_cap


@given(
    seconds=st.floats(min_value=1, max_value=1e6),
    fraction=st.floats(min_value=0, max_value=0.9),
    seed=st.integers(0, 2**32),
)
def test_jitter_stays_within_its_bounds(seconds: float, fraction: float, seed: int) -> None:
    value = jittered(seconds, fraction, random.Random(seed))
    assert seconds * (1 - fraction) - 1e-9 <= value <= seconds * (1 + fraction) + 1e-9


def test_jitter_spreads_retries_that_would_line_up() -> None:
    rng = random.Random(3)
    states = [
        after_failure(fresh_state(), failure(Reason.TIMEOUT), NOW, POLL, 21600, rng)
        for _ in range(200)
    ]
    waits = sorted(s.next_poll - NOW for s in states)
    assert waits[0] >= 54 and waits[-1] <= 66
    assert waits[-1] - waits[0] > 8  # spread over most of ±10%
    assert len({round(w, 3) for w in waits}) > 150


def test_success_interval_never_goes_under_the_minimum_even_with_jitter() -> None:
    rng = random.Random(5)
    for _ in range(200):
        state = after_success(fresh_state(), FEED, NOW, FEED.min_interval_s, POLL, rng)
        assert state.next_poll - NOW >= FEED.min_interval_s


def test_interval_follows_how_often_the_feed_posts() -> None:
    assert observed_interval(posted_every(10)) == 600
    assert next_interval(FEED, 300, posted_every(10), ()) == 600
    assert next_interval(FEED, 300, posted_every(0.5), ()) == 120  # busy feed: the minimum
    assert next_interval(FEED, 300, posted_every(600), ()) == 3600  # quiet feed: the maximum
    assert next_interval(FEED, 300, posted_every(10), (), adapt=False) == 300


def test_interval_is_kept_without_enough_dates() -> None:
    assert observed_interval(posted_every(10, count=1)) is None
    assert next_interval(FEED, 450, posted_every(10, count=1), ()) == 450
    same_time = [datetime(2026, 11, 21, tzinfo=UTC)] * 5
    assert next_interval(FEED, 450, same_time, ()) == 450


def test_only_the_newest_entries_count() -> None:
    dates = posted_every(5, count=20) + posted_every(5000, count=20)[5:]
    assert observed_interval(dates) == 300


def test_publisher_hints_lengthen_but_never_past_the_maximum_or_under_the_minimum() -> None:
    busy = posted_every(0.5)
    assert next_interval(FEED, 300, busy, (1800.0,)) == 1800  # <ttl>30</ttl>
    assert next_interval(FEED, 300, busy, (None, 900.0, 1200.0)) == 1200  # the longest wins
    assert next_interval(FEED, 300, busy, (86400.0,)) == 3600  # a day: capped at the maximum
    assert next_interval(FEED, 300, busy, (10.0,)) == 120  # max-age=10: not under the minimum


def test_silent_after_three_usual_gaps() -> None:
    assert not is_silent(newest=NOW - 1799, usual_gap=600, now=NOW)
    assert is_silent(newest=NOW - 1801, usual_gap=600, now=NOW)


def test_a_stored_schedule_is_held_to_todays_bounds() -> None:
    lowered = FeedSpec("f", "https://o.test/rss", OUTLET, 30, min_interval_s=10, max_interval_s=30)
    stored = FeedState("https://o.test/rss", "f", 3600.0, next_poll=NOW + 3600, last_success=NOW)
    held = within_bounds(stored, lowered, POLL, 21600.0, NOW)
    assert held.interval_s == 30
    assert NOW < held.next_poll <= NOW + 30 * 1.1  # one jittered interval at most
    assert held.last_success == stored.last_success


def test_a_failing_feeds_backoff_is_held_to_the_longest_backoff_or_retry_after() -> None:
    poll = POLL.model_copy(
        update={"soft_backoff_cap": 300.0, "hard_backoff": 60.0, "hard_backoff_cap": 600.0}
    )
    stored = FeedState("u", "f", 300.0, next_poll=NOW + 86400, consecutive_errors=5)
    held = within_bounds(stored, FEED, poll, 900.0, NOW)
    assert held.next_poll == pytest.approx(NOW + 900 * 1.1)  # Retry-After cap is the longest


def test_a_schedule_within_its_bounds_is_left_as_it_is() -> None:
    stored = FeedState("u", "f", 600.0, next_poll=NOW + 500, last_success=NOW - 100)
    assert within_bounds(stored, FEED, POLL, 21600.0, NOW) == stored
