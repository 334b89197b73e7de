"""Dates from strangers (feeds, JSON Feed, pages): parsed into aware UTC datetimes, or None.

Real feeds carry MySQL zero dates (`0000-00-00 00:00:00`), `0001-01-01T00:00:00+01:00` and
`9999-12-31T23:59:59-01:00`; converted naively they raise ValueError or OverflowError.
Nothing here raises: a date that does not parse, overflows on conversion to UTC, or falls
outside [EARLIEST_YEAR, LATEST_YEAR] (placeholders, not dates) is None.
"""

from __future__ import annotations

import calendar
import email.utils
import time
from datetime import UTC, datetime

EARLIEST_YEAR = 1900
LATEST_YEAR = 2100


def plausible(value: datetime | None) -> datetime | None:
    """`value` as aware UTC (naive taken as UTC), or None when it cannot be or is a
    placeholder outside the plausible years."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST_YEAR <= utc.year <= LATEST_YEAR else None


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """A UTC struct_time (as feedparser gives) as a datetime, or None."""
    if value is None:
        return None
    try:
        return plausible(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def parse_date(value: object) -> datetime | None:
    """An RFC 822 (e-mail, RSS) or ISO 8601 date string as UTC, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return plausible(email.utils.parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    return parse_iso(text)


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 date string ("Z" accepted) as UTC, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return plausible(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        return None
