"""`newswire feeds`: every configured feed's health from the state store, as a table."""

from __future__ import annotations

from collections.abc import Sequence

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


def feeds_table(states: Sequence[FeedState], now: float) -> str:
    """One aligned row per feed, header first."""
    rows = [COLUMNS] + [_row(state, now) for state in states]
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
