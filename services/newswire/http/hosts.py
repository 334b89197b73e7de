"""Per-host politeness: at most N requests in flight per host, a minimum delay between their
starts, and a pause of the whole host when it answers 429 or 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from newswire import metrics

OTHER_HOSTS = "other"  # metric label for hosts outside the feed list (bounded cardinality)
_PRUNE_AT = 4096


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    paused_until: float = 0.0
    users: int = 0


class HostGate:
    """Admits requests host by host. `known_hosts` (the feed list's hosts) get their own
    metric label; every other host is counted under "other"."""

    def __init__(
        self,
        concurrency: int,
        min_delay: float,
        known_hosts: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._concurrency = concurrency
        self._min_delay = min_delay
        self._known = known_hosts
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    def label(self, host: str) -> str:
        """The metric label of a host."""
        return host if host in self._known else OTHER_HOSTS

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's request slots, started no sooner than its delay allows."""
        state = self._state(host)
        state.users += 1
        try:
            async with state.slots:
                await self._wait_turn(state)
                metrics.HOST_IN_FLIGHT.labels(self.label(host)).inc()
                try:
                    yield
                finally:
                    metrics.HOST_IN_FLIGHT.labels(self.label(host)).dec()
        finally:
            state.users -= 1

    def pause(self, host: str, seconds: float) -> None:
        """Hold back every request to `host` for `seconds` (a 429 or 503 was answered)."""
        state = self._state(host)
        until = self._clock() + seconds
        if until > state.paused_until:
            state.paused_until = until
            metrics.HOST_PAUSES.labels(self.label(host)).inc()

    def paused_for(self, host: str) -> float:
        """Seconds left of the host's pause (0 when it is not paused)."""
        state = self._hosts.get(host)
        return max(0.0, state.paused_until - self._clock()) if state else 0.0

    async def _wait_turn(self, state: _Host) -> None:
        while True:
            now = self._clock()
            wait = max(state.paused_until, state.next_start) - now
            if wait <= 0:
                state.next_start = now + self._min_delay
                return
            await asyncio.sleep(wait)

    def _state(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            if len(self._hosts) >= _PRUNE_AT:
                self._prune()
            state = self._hosts[host] = _Host(asyncio.Semaphore(self._concurrency))
        return state

    def _prune(self) -> None:
        """Forget idle hosts whose delay and pause have run out, so memory stays bounded."""
        now = self._clock()
        for host, state in list(self._hosts.items()):
            if state.users == 0 and max(state.paused_until, state.next_start) <= now:
                del self._hosts[host]
