"""The embedded state store: feed validators and seen article keys, in one SQLite file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from newswire.models import Validators

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_keys (
    key TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    seen_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed_state (
    feed_url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    last_success REAL
) WITHOUT ROWID;
"""


class StateStore:
    """SQLite in WAL mode; every write commits before the call returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        """The first (key, article id) already recorded among `keys`, if any."""
        for key in keys:
            row = self._db.execute(
                "SELECT article_id FROM seen_keys WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                return key, str(row[0])
        return None

    def remember(self, article_id: str, keys: Iterable[str]) -> None:
        """Record that `keys` identify the delivered article `article_id`."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO seen_keys (key, article_id, seen_at) VALUES (?, ?, ?)",
                [(key, article_id, now) for key in keys],
            )

    def validators(self, feed_url: str) -> Validators:
        """The validators remembered for a feed (empty if never polled)."""
        row = self._db.execute(
            "SELECT etag, last_modified FROM feed_state WHERE feed_url = ?", (feed_url,)
        ).fetchone()
        return Validators(row[0], row[1]) if row else Validators()

    def save_validators(self, feed_url: str, validators: Validators) -> None:
        """Remember a feed's validators after every entry of that poll was handled."""
        self._db.execute(
            "INSERT INTO feed_state (feed_url, etag, last_modified, last_success) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(feed_url) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, last_success = excluded.last_success",
            (feed_url, validators.etag, validators.last_modified, time.time()),
        )

    def writable(self) -> bool:
        """True when the store accepts a write (for readiness checks)."""
        try:
            self._db.execute("PRAGMA user_version = 1")
        except sqlite3.Error:
            return False
        return True
