"""Every feed's health as a table: for `newswire feeds` (from the state store) and the ops
endpoint's /feeds page and /feeds.json (from the board the pipeline keeps current). Failing
feeds come first."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from newswire.models import FeedState

COLUMNS = (
    "feed",
    "last success",
    "last error",
    "reason",
    "errors",
    "interval",
    "next poll",
    "published",
)


class FeedBoard:
    """The latest state of each feed this process polls, safe to read from another thread."""

    def __init__(self) -> None:
        self._states: dict[str, FeedState] = {}
        self._lock = threading.Lock()

    def update(self, state: FeedState) -> None:
        """Record a feed's latest state."""
        with self._lock:
            self._states[state.feed_id] = state

    def snapshot(self) -> list[FeedState]:
        """Every feed's latest state."""
        with self._lock:
            return list(self._states.values())


def status(state: FeedState) -> str:
    """failing (its last poll failed), never (not polled successfully yet), or ok."""
    if state.consecutive_errors:
        return "failing"
    return "ok" if state.last_success is not None else "never"


def in_order(states: Sequence[FeedState]) -> list[FeedState]:
    """Failing feeds first (most consecutive errors first), then never polled, then the rest;
    by feed id within each."""
    rank = {"failing": 0, "never": 1, "ok": 2}
    return sorted(states, key=lambda s: (rank[status(s)], -s.consecutive_errors, s.feed_id))


def feed_rows(states: Sequence[FeedState], now: float) -> list[tuple[str, ...]]:
    """The table's rows, one per feed, failing feeds first."""
    return [_row(state, now) for state in in_order(states)]


def feeds_json(states: Sequence[FeedState], now: float) -> list[dict[str, object]]:
    """The same rows for machines: status, times in ISO 8601 (UTC), seconds as numbers."""
    return [
        {
            "feed": state.feed_id,
            "url": state.feed_url,
            "status": status(state),
            "last_success": _iso(state.last_success),
            "last_error": _iso(state.last_error),
            "reason": state.last_reason,
            "consecutive_errors": state.consecutive_errors,
            "interval_seconds": state.interval_s,
            "next_poll": _iso(state.next_poll or now),
            "published": state.items_seen,
        }
        for state in in_order(states)
    ]


def _iso(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when, UTC).isoformat()


def feeds_table(states: Sequence[FeedState], now: float) -> str:
    """One aligned row per feed, header first."""
    rows = [COLUMNS, *feed_rows(states, now)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _row(state: FeedState, now: float) -> tuple[str, ...]:
    return (
        state.feed_id,
        _ago(state.last_success, now),
        _ago(state.last_error, now),
        state.last_reason or "-",
        str(state.consecutive_errors),
        duration(state.interval_s),
        _due(state.next_poll, now),
        str(state.items_seen),
    )


def duration(seconds: float) -> str:
    """45s, 5m, 2h10m, 1d4h: at most the two largest units."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    amounts = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        amounts.append((count, name))
    first = next(i for i, (count, _) in enumerate(amounts) if count)
    return "".join(f"{count}{name}" for count, name in amounts[first : first + 2] if count)


def _ago(when: float | None, now: float) -> str:
    return "never" if when is None else f"{duration(max(now - when, 0))} ago"


def _due(when: float, now: float) -> str:
    return "due now" if when <= now else f"in {duration(when - now)}"
