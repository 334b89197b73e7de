"""When to poll a feed next: adaptive intervals, publisher hints, jitter, and capped
exponential backoff per error class. Pure functions over FeedState; no I/O.

- After a success the interval follows how often the feed really posts (the mean gap between
  its newest entries), clamped to the feed's [min, max]; `<ttl>`, `sy:updatePeriod`,
  `Cache-Control: max-age` and `Expires` can only lengthen it (up to max), never take it under
  the minimum.
- After a failure the delay grows 2x per consecutive error of its class, up to the class cap;
  a server's Retry-After lengthens it, up to `retry_after_cap`. A feed is never given up on:
  at the cap it keeps being retried, and the first success resets the count.
- Every delay carries jitter (±`poll.jitter`), so retries do not line up.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from newswire.errors import Reason
from newswire.models import Failure, FeedSpec, FeedState
from newswire.settings import PollSettings

RECENT_ENTRIES = 20  # entries the adaptive interval looks at
_SOFT = frozenset(
    {
        Reason.TIMEOUT,
        Reason.CONNECT,
        Reason.DNS,
        Reason.PROTOCOL,
        Reason.HTTP_5XX,
        Reason.HTTP_429,
        Reason.HOST_PAUSED,
    }
)


class ErrorClass(StrEnum):
    """Soft errors are likely to pass soon; hard ones need a human or a long wait."""

    SOFT = "soft"
    HARD = "hard"


def error_class(reason: Reason) -> ErrorClass:
    """Soft: timeouts, connection and DNS errors, 5xx, 429. Hard: everything else (404,
    410, a body that is not a feed, TLS, ...)."""
    return ErrorClass.SOFT if reason in _SOFT else ErrorClass.HARD


def jittered(seconds: float, fraction: float, rng: random.Random) -> float:
    """`seconds` moved by a uniform random ±`fraction`."""
    return seconds * rng.uniform(1 - fraction, 1 + fraction)


def observed_interval(published: Sequence[datetime]) -> float | None:
    """The mean gap between the feed's newest distinct entry times, or None with fewer than
    two."""
    times = sorted({p.timestamp() for p in published}, reverse=True)[:RECENT_ENTRIES]
    if len(times) < 2:
        return None
    return (times[0] - times[-1]) / (len(times) - 1)


def next_interval(
    feed: FeedSpec,
    current: float,
    published: Sequence[datetime],
    hints: Sequence[float | None],
    adapt: bool = True,
) -> float:
    """The feed's interval after a successful poll."""
    interval = current
    observed = observed_interval(published) if adapt else None
    if observed is not None:
        interval = observed
    interval = min(max(interval, feed.min_interval_s), feed.max_interval_s)
    for hint in hints:
        if hint is not None and hint > interval:
            interval = min(hint, feed.max_interval_s)
    return interval


def backoff(reason: Reason, errors: int, poll: PollSettings) -> float:
    """The delay after the `errors`-th consecutive failure with `reason`."""
    if error_class(reason) is ErrorClass.SOFT:
        base, cap = poll.soft_backoff, poll.soft_backoff_cap
    else:
        base, cap = poll.hard_backoff, poll.hard_backoff_cap
    return float(min(base * 2 ** min(max(errors - 1, 0), 32), cap))


def after_success(
    state: FeedState,
    feed: FeedSpec,
    now: float,
    interval: float,
    poll: PollSettings,
    rng: random.Random,
) -> FeedState:
    """The state after a successful poll (a 304 included): errors reset, next poll one
    jittered interval away, never under the feed's minimum."""
    delay = max(jittered(interval, poll.jitter, rng), feed.min_interval_s)
    return replace(
        state,
        interval_s=interval,
        next_poll=now + delay,
        consecutive_errors=0,
        last_success=now,
    )


def after_failure(
    state: FeedState,
    failure: Failure,
    now: float,
    poll: PollSettings,
    retry_after_cap: float,
    rng: random.Random,
) -> FeedState:
    """The state after a failed poll: jittered backoff by class and count, never sooner
    than a Retry-After (itself capped)."""
    errors = state.consecutive_errors + 1
    delay = jittered(backoff(failure.reason, errors, poll), poll.jitter, rng)
    if failure.retry_after is not None:
        # never sooner than the server asked: its jitter only ever adds
        asked = min(failure.retry_after, retry_after_cap)
        delay = max(delay, asked * rng.uniform(1, 1 + poll.jitter))
    return replace(
        state,
        next_poll=now + delay,
        consecutive_errors=errors,
        last_error=now,
        last_reason=failure.reason.value,
    )


def within_bounds(
    state: FeedState, feed: FeedSpec, poll: PollSettings, retry_after_cap: float, now: float
) -> FeedState:
    """A stored schedule held to today's bounds (the config may have changed since it was
    stored): the interval within the feed's min and max, the next poll no later than one
    jittered interval away for a healthy feed, or than the longest backoff or Retry-After for a
    failing one."""
    interval = min(max(state.interval_s, feed.min_interval_s), feed.max_interval_s)
    if state.consecutive_errors:
        longest = max(poll.soft_backoff_cap, poll.hard_backoff_cap, retry_after_cap)
    else:
        longest = interval
    next_poll = min(state.next_poll, now + longest * (1 + poll.jitter))
    return replace(state, interval_s=interval, next_poll=next_poll)


SILENT_AFTER_GAPS = 3.0  # a feed is silent after this many of its usual gaps without an entry


def is_silent(newest: float, usual_gap: float, now: float) -> bool:
    """True when the feed's newest entry (unix time) is older than SILENT_AFTER_GAPS times
    its usual gap between entries."""
    return now - newest > SILENT_AFTER_GAPS * usual_gap
