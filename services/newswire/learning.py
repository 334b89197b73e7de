"""Outlet boilerplate learned from the outlet's own articles: a first or last paragraph, or a
dateline-like prefix of the first ("Desk Wire – "), that recurs in `extract.learn_after` of
its published articles within `extract.learn_window` is boilerplate, and the workers remove it
from the outlet's next articles. The counts live in the state store (they survive restarts);
the per-outlet rules of feeds.yaml still apply first. Runs in the service process: the
pipeline notes each original's edges (as extracted, before the learned rules) and hands the
learned rules to the worker with each entry."""

from __future__ import annotations

import time
from collections.abc import Callable

from newswire.models import LearnedBoilerplate
from newswire.settings import ExtractSettings
from newswire.state import StateStore

PRUNE_EVERY = 1000  # notes between prunes of the counts
SINGLES_KEPT_S = 86400.0  # an edge seen once is forgotten after a day (most are content)


class OutletLearning:
    """Counts each outlet's article edges and says what is learned."""

    def __init__(
        self,
        store: StateStore,
        settings: ExtractSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._cache: dict[str, LearnedBoilerplate] = {}
        self._notes = 0

    def learned(self, outlet_id: str) -> LearnedBoilerplate:
        """The outlet's boilerplate learned so far (cached until its next note)."""
        if self._settings.learn_after == 0:
            return LearnedBoilerplate()
        if outlet_id not in self._cache:
            since = self._clock() - self._settings.learn_window
            edges = self._store.learned_edges(outlet_id, self._settings.learn_after, since)
            self._cache[outlet_id] = LearnedBoilerplate(
                first=frozenset(line for kind, line in edges if kind == "first"),
                last=frozenset(line for kind, line in edges if kind == "last"),
                prefixes=tuple(line for kind, line in edges if kind == "prefix"),
            )
        return self._cache[outlet_id]

    def note(self, outlet_id: str, edges: tuple[tuple[str, str], ...]) -> None:
        """Count a published article's edges."""
        if self._settings.learn_after == 0 or not edges:
            return
        now = self._clock()
        self._store.note_edges(outlet_id, edges, now)
        self._cache.pop(outlet_id, None)
        self._notes += 1
        if self._notes % PRUNE_EVERY == 0:
            self._store.forget_edges(now - self._settings.learn_window, now - SINGLES_KEPT_S)
