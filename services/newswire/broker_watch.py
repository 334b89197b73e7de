"""Watching the Kafka broker while the service runs: newswire_broker_reachable kept current,
one log line when the broker goes away and one when it is back (kafka-python's own retries are
kept out of the log unless log.level is DEBUG), and an embedded broker that exited restarted
(its topics created again) or, if it cannot be, the service stopped."""

from __future__ import annotations

import asyncio
import logging

from newswire import metrics
from newswire.errors import BrokerError
from newswire.publish.broker import EmbeddedBroker, any_reachable
from newswire.publish.producer import create_configured_topics
from newswire.settings import Settings

log = logging.getLogger("newswire.broker")


class BrokerWatch:
    """One check every few seconds (`check`), from the service's loop."""

    def __init__(self, settings: Settings, bootstrap: str, embedded: EmbeddedBroker | None) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._embedded = embedded
        self._reachable = True  # the service starts only when it is

    async def check(self, stop: asyncio.Event) -> None:
        """Restart an embedded broker that exited (or stop the service if that fails), then
        record whether a broker answers, saying so when that changes."""
        embedded = self._embedded
        if embedded is not None and embedded.exit_status() is not None:
            restarted = await self._restart(embedded)
            if not restarted:
                stop.set()
                return
        reachable = await asyncio.to_thread(any_reachable, self._bootstrap)
        metrics.BROKER_REACHABLE.set(1 if reachable else 0)
        if reachable != self._reachable:
            if reachable:
                log.info("Kafka broker reachable again", extra={"listen": self._bootstrap})
            else:
                log.warning(
                    "no Kafka broker reachable; accepted articles wait in the outbox",
                    extra={"listen": self._bootstrap},
                )
        self._reachable = reachable

    async def _restart(self, broker: EmbeddedBroker) -> bool:
        status = broker.exit_status()
        log.error(
            "the embedded broker exited; restarting it (what it held is gone, the outbox "
            "sends what it has not acknowledged)",
            extra={"detail": f"exit status {status}", "listen": self._bootstrap},
        )
        try:
            await asyncio.to_thread(broker.start)
            await asyncio.to_thread(create_configured_topics, self._settings, self._bootstrap)
        except BrokerError as exc:
            log.error("cannot restart the embedded broker; stopping", extra={"detail": str(exc)})
            return False
        log.info("embedded Kafka broker restarted", extra={"listen": self._bootstrap})
        return True
