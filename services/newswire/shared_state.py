"""Feed state shared by the replicas of a group (cluster.mode: group): each feed's schedule,
validators, error counts and body hash in Redis (the dedup backend's server and prefix), so
a feed that moves to another replica keeps its schedule and is polled conditionally there.

Every save is written through to the replica's own state store too; while Redis is out of
reach, reads fall back to it (counted as `state/state_unavailable`), so polling goes on
with what this replica last knew rather than stopping.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from typing import Any, Protocol

import redis
from redis.cluster import RedisCluster

from newswire import metrics
from newswire.errors import Reason
from newswire.models import FeedSpec, FeedState, Validators
from newswire.state import StateStore

log = logging.getLogger("newswire.shared_state")


class FeedStates(Protocol):
    """Where the pipeline reads and saves feed state."""

    def feed_state(self, feed: FeedSpec) -> FeedState:
        """The feed's remembered state (a feed never polled is due now)."""
        ...

    def save_feed_state(self, state: FeedState) -> None:
        """Remember the feed's new state."""
        ...


class SharedFeedStates:
    """Feed state in Redis, written through to the local store."""

    def __init__(self, client: redis.Redis | RedisCluster, local: StateStore, prefix: str) -> None:
        self._redis = client
        self._local = local
        self._prefix = prefix

    def _key(self, feed_url: str) -> str:
        return f"{self._prefix}:feed:{feed_url}"

    def feed_state(self, feed: FeedSpec) -> FeedState:
        """From Redis; from the local store when Redis has none or is out of reach."""
        try:
            raw = self._redis.get(self._key(feed.url))
        except redis.RedisError as exc:
            self._unavailable("read", feed.url, exc)
            return self._local.feed_state(feed)
        if raw is None:
            return self._local.feed_state(feed)
        state = state_from_json(raw)
        return replace(state, feed_id=feed.id, interval_s=state.interval_s or feed.interval_s)

    def save_feed_state(self, state: FeedState) -> None:
        """Into the local store, then Redis (a failure there is counted and logged)."""
        self._local.save_feed_state(state)
        try:
            self._redis.set(self._key(state.feed_url), state_json(state))
        except redis.RedisError as exc:
            self._unavailable("write", state.feed_url, exc)

    def _unavailable(self, action: str, url: str, exc: redis.RedisError) -> None:
        metrics.ERRORS.labels("state", Reason.STATE_UNAVAILABLE.value).inc()
        detail = f"{action}: {type(exc).__name__}: {exc}"
        log.warning(
            "shared feed state unavailable; using the local state",
            extra={"url": url, "detail": detail},
        )


def state_json(state: FeedState) -> str:
    """A feed state as the JSON kept in Redis (every field; validators as an object)."""
    return json.dumps(asdict(state))


def state_from_json(raw: bytes | str) -> FeedState:
    """The feed state `state_json` wrote."""
    data: dict[str, Any] = json.loads(raw)
    return FeedState(validators=Validators(**data.pop("validators")), **data)
