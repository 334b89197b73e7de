"""Where the dedup stage keeps what it has seen: the interface both backends share, and the
embedded one (the SQLite state store of one process).

A backend answers four questions (a key known? a title key seen since? sketches sharing a
band? what was published under an id?), holds claims on keys while their article is in
flight, and guards the check-then-record step with `exclusive()`. Records are written by the
outbox's accept transaction: into the local tables (embedded backend), or into a journal that
`flush()` copies to the shared store (`shared` backends such as Redis), so a record never
exists before its article is durably in the outbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Protocol

from newswire.models import Published
from newswire.state import StateStore


class DedupUnavailable(Exception):
    """The shared dedup store cannot be reached; the entry is tried again at the next poll."""


class DedupStore(Protocol):
    """The dedup stage's memory of keys, titles, sketches and published versions."""

    shared: bool  # True: records go through the state store's journal, then flush()

    def claim(self, keys: tuple[str, ...]) -> tuple[str, bool] | None:
        """Claim `keys` for an article in flight; else (a key held, held by another replica)."""

    def release(self, keys: Iterable[str]) -> None:
        """Give up claims on `keys`."""

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        """The first (key, article id) recorded among `keys`."""

    def seen_since(self, key: str, since: float) -> str | None:
        """The article id recorded for `key` at or after `since`."""

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        """(article id, cluster id, compact signature) of sketches sharing a band, seen since
        `since`."""

    def claim_new(self, keys: tuple[str, ...]) -> tuple[str, str | None, bool] | None:
        """Claim `keys` unless one is held (key, None, held by another replica) or recorded
        (key, article id, False): `claim`, then `known`, in one step where the backend can."""

    def recent(
        self,
        title: str | None,
        title_since: float,
        bands: tuple[int, ...],
        since: float,
        keys: tuple[str, ...] = (),
    ) -> tuple[tuple[str, str] | None, str | None, list[tuple[str, str, bytes]]]:
        """The first (key, article id) recorded among `keys`, the article's claimed identity
        keys (a shared store may answer a claim from this process's index, so another replica
        can record a key while it is claimed here), `seen_since(title, title_since)` and
        `sketch_candidates(bands, since)`, in one step where the backend can (no title: None;
        no bands: no candidates)."""

    def published(self, article_id: str) -> Published | None:
        """What was last published under `article_id`."""

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold while checking an article and recording it, so two checks never interleave."""

    def flush(self) -> int:
        """Copy journalled records to the shared store; how many went."""

    def prune(self, sketches_before: float, titles_before: float, keys_before: float) -> int:
        """Forget what is older than its window; how many entries went."""

    def reachable(self) -> bool:
        """True when the store answers (for readiness checks)."""

    def catch_up(self) -> int:
        """Bring this process's index of a shared store up to date (at start, before the
        first check); how many records it read."""

    def close(self) -> None:
        """Let go of what the store holds for the other replicas (at the service's end)."""


class InFlight:
    """The keys this process's articles in flight hold (every backend keeps them)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def held(self, keys: Iterable[str]) -> str | None:
        """The first of `keys` already held here."""
        return next((key for key in keys if key in self._keys), None)

    def hold(self, keys: Iterable[str]) -> None:
        self._keys.update(keys)

    def release(self, keys: Iterable[str]) -> list[str]:
        """Let go of `keys`; the ones that were held."""
        mine = [key for key in keys if key in self._keys]
        self._keys.difference_update(mine)
        return mine


class LocalDedupStore:
    """The embedded backend: the SQLite state store, claims in this process's memory."""

    shared = False

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._in_flight = InFlight()

    def claim(self, keys: tuple[str, ...]) -> tuple[str, bool] | None:
        busy = self._in_flight.held(keys)
        if busy is not None:
            return busy, False
        self._in_flight.hold(keys)
        return None

    def release(self, keys: Iterable[str]) -> None:
        self._in_flight.release(keys)

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        return self._store.known(keys)

    def seen_since(self, key: str, since: float) -> str | None:
        return self._store.seen_since(key, since)

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        return self._store.sketch_candidates(bands, since)

    def claim_new(self, keys: tuple[str, ...]) -> tuple[str, str | None, bool] | None:
        held = self.claim(keys)
        if held is not None:
            return held[0], None, held[1]
        try:
            found = self.known(keys)
        except BaseException:
            self.release(keys)
            raise
        if found is None:
            return None
        self.release(keys)
        return found[0], found[1], False

    def recent(
        self,
        title: str | None,
        title_since: float,
        bands: tuple[int, ...],
        since: float,
        keys: tuple[str, ...] = (),
    ) -> tuple[tuple[str, str] | None, str | None, list[tuple[str, str, bytes]]]:
        """As the protocol says; `keys` were all checked at their claim (one process: no key
        is recorded while claimed here), so none is left to confirm."""
        seen = self.seen_since(title, title_since) if title else None
        return None, seen, self.sketch_candidates(bands, since) if bands else []

    def published(self, article_id: str) -> Published | None:
        return self._store.published(article_id)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        yield  # one process, one event loop: the check and the record run without a pause

    def flush(self) -> int:
        return 0

    def prune(self, sketches_before: float, titles_before: float, keys_before: float) -> int:
        return self._store.prune(sketches_before, titles_before, keys_before)

    def reachable(self) -> bool:
        return self._store.writable()

    def catch_up(self) -> int:
        return 0  # the rows are this process's own: indexed at the first check

    def close(self) -> None:
        pass  # the state store is closed by its owner
