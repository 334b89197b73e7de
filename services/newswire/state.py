"""The embedded state store: each feed's schedule, counters and validators, and the seen
article keys, in one SQLite file."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from newswire.dedup_codec import title_digest
from newswire.dedup_sqlite import DedupTables
from newswire.models import (
    DedupRecord,
    FeedSpec,
    FeedState,
    OutboxRecord,
    Published,
    Validators,
)
from newswire.sketch import compact, words

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    published_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dedup_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entry_attempts (
    key TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    last_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outlet_edges (
    outlet_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    line TEXT NOT NULL,
    articles INTEGER NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (outlet_id, kind, line)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outlet_edges_count ON outlet_edges (outlet_id, articles);
CREATE TABLE IF NOT EXISTS feed_state (
    feed_url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    last_success REAL
) WITHOUT ROWID;
"""
# Columns added after the first release; added to older files at open.
STATE_FILE = "newswire.sqlite3"  # under state.dir
FEED_COLUMNS = {
    "feed_id": "TEXT",
    "interval_s": "REAL",
    "next_poll": "REAL",
    "consecutive_errors": "INTEGER NOT NULL DEFAULT 0",
    "last_error": "REAL",
    "last_reason": "TEXT",
    "items_seen": "INTEGER NOT NULL DEFAULT 0",
    "body_hash": "TEXT",
}
_FEED_FIELDS = (
    "feed_url, feed_id, interval_s, next_poll, consecutive_errors, last_success, last_error, "
    "last_reason, items_seen, etag, last_modified, body_hash"
)


class StateStore:
    """SQLite in WAL mode; every write commits before the call returns (but the deletion of
    journalled records the shared store has taken: `journal_remove`)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self._dedup = DedupTables(self._db)
        self._journal_taken = 0  # journalled records up to this seq are in the shared store
        self._journal_deleted = 0  # and deleted from the file up to this one
        # the journalled records past `_journal_taken`, as accepted here; None until a read
        # of the file finds them all (records from before a restart are only in the file)
        self._journal_pending: list[tuple[int, DedupRecord]] | None = None
        with self._transaction():
            self._dedup.migrate()

    def _add_missing_columns(self) -> None:
        have = {row[1] for row in self._db.execute("PRAGMA table_info(feed_state)")}
        for name, kind in FEED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE feed_state ADD COLUMN {name} {kind}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One explicit transaction (the connection is in autocommit mode, where sqlite3's own
        context manager would not BEGIN): all of it is committed, or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._dedup.rolled_back()
            self._journal_deleted = 0  # deleted again with the next journalled record
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database (journalled records the shared store took are deleted first)."""
        if self._journal_taken > self._journal_deleted:
            with self._transaction():
                self._forget_taken()
        self._db.close()

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        """The first (key, article id) already recorded among `keys`, if any."""
        return self._dedup.known(keys)

    def accept(
        self, records: Iterable[OutboxRecord], record: DedupRecord, journal: bool = False
    ) -> None:
        """In one transaction: the article's records into the outbox, and its dedup record
        (keys as seen, its sketch (cluster id, signature) indexed, its published version)
        into the local tables, or into the journal for a shared dedup store (`journal`). A
        crash either side of it loses nothing: before, the entry is polled again; after, the
        outbox still holds the records."""
        journalled = None
        with self._transaction():
            if journal:
                self._forget_taken()
                journalled = self._db.execute(
                    "INSERT INTO dedup_journal (record) VALUES (?)", (_record_json(record),)
                ).lastrowid
            else:
                self._dedup.record(record)
            self._into_outbox(list(records))
        if journalled is not None and self._journal_pending is not None:
            self._journal_pending.append((journalled, record))

    def _into_outbox(self, records: list[OutboxRecord]) -> None:
        if not records:
            return
        self._db.executemany(
            "INSERT INTO outbox (topic, key, value, headers, article_id, url, published_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.topic,
                    r.key,
                    r.value,
                    _headers_json(r.headers),
                    r.article_id,
                    r.url,
                    r.published_at,
                )
                for r in records
            ],
        )

    def journal_batch(self, limit: int) -> list[tuple[int, DedupRecord]]:
        """The oldest `limit` dedup records waiting for the shared store, with their seq: from
        memory once a read of the file has found them all (a check flushes the record it just
        accepted without reading it back), else from the file."""
        if self._journal_pending is not None:
            return self._journal_pending[:limit]
        rows = self._db.execute(
            "SELECT seq, record FROM dedup_journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (self._journal_taken, limit),
        )
        batch = [(seq, _record_from_json(text)) for seq, text in rows]
        if len(batch) < limit:
            self._journal_pending = list(batch)
        return batch

    def journal_remove(self, seqs: Iterable[int]) -> None:
        """Forget journalled records the shared store has taken (the oldest, in order): at
        once for `journal_batch`, on disk with the next journalled record's transaction (or
        at close), so a flush costs no commit of its own. A crash before that files them in
        the shared store again at the next start, which is idempotent (a key keeps its first
        record or its newest, a sketch its cluster)."""
        self._journal_taken = max(seqs, default=self._journal_taken)
        if self._journal_pending is not None:
            taken = self._journal_taken
            self._journal_pending = [entry for entry in self._journal_pending if entry[0] > taken]

    def _forget_taken(self) -> None:
        if self._journal_taken > self._journal_deleted:
            self._db.execute("DELETE FROM dedup_journal WHERE seq <= ?", (self._journal_taken,))
            self._journal_deleted = self._journal_taken

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        """(article id, cluster id, compact signature) of indexed articles sharing a band key,
        seen since `since`."""
        return self._dedup.sketch_candidates(bands, since)

    def published(self, article_id: str) -> Published | None:
        """What was last published under `article_id`, if it is remembered."""
        return self._dedup.published(article_id)

    def seen_since(self, key: str, since: float) -> str | None:
        """The article id recorded for `key` if it was recorded since `since`."""
        return self._dedup.seen_since(key, since)

    def prune(self, sketches_before: float, titles_before: float, keys_before: float) -> int:
        """Forget dedup records older than their windows (title keys answer only within
        theirs: `seen_since`), and entry attempts older than `keys_before`; how many went."""
        with self._transaction():
            gone = self._dedup.prune(sketches_before, keys_before)
            gone += self._db.execute(
                "DELETE FROM entry_attempts WHERE last_at < ?", (keys_before,)
            ).rowcount
        return gone

    def note_edges(self, outlet_id: str, edges: Iterable[tuple[str, str]], now: float) -> None:
        """Count an article's edges (first and last paragraph, first-paragraph prefix) for
        its outlet's boilerplate learning."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outlet_edges (outlet_id, kind, line, articles, last_at) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT(outlet_id, kind, line) DO UPDATE SET "
                "articles = articles + 1, last_at = excluded.last_at",
                [(outlet_id, kind, line, now) for kind, line in edges],
            )

    def learned_edges(
        self, outlet_id: str, min_articles: int, since: float
    ) -> list[tuple[str, str]]:
        """The outlet's edges seen in at least `min_articles` articles, the latest since
        `since`: (kind, line)."""
        rows = self._db.execute(
            "SELECT kind, line FROM outlet_edges WHERE outlet_id = ? AND articles >= ? "
            "AND last_at >= ? ORDER BY length(line) DESC",
            (outlet_id, min_articles, since),
        ).fetchall()
        return [(str(kind), str(line)) for kind, line in rows]

    def forget_edges(self, before: float, singles_before: float) -> int:
        """Forget edges not seen since `before`, and those seen in one article only (most
        of them: an article's own first and last lines) not since `singles_before`."""
        with self._transaction():
            return int(
                self._db.execute(
                    "DELETE FROM outlet_edges WHERE last_at < ? OR (articles = 1 AND last_at < ?)",
                    (before, singles_before),
                ).rowcount
            )

    def note_attempt(self, key: str, now: float) -> int:
        """Count one more poll that tried the entry known by `key` and found no text in it;
        return how many have so far (kept across restarts, pruned with the keys)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO entry_attempts (key, attempts, last_at) VALUES (?, 1, ?) "
                "ON CONFLICT(key) DO UPDATE SET attempts = attempts + 1, last_at = ?",
                (key, now, now),
            )
            row = self._db.execute(
                "SELECT attempts FROM entry_attempts WHERE key = ?", (key,)
            ).fetchone()
        return int(row[0])

    def outbox_batch(self, limit: int) -> list[OutboxRecord]:
        """The oldest `limit` records waiting for the broker, in the order they came."""
        rows = self._db.execute(
            "SELECT seq, topic, key, value, headers, article_id, url, published_at, attempts "
            "FROM outbox ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            OutboxRecord(
                topic=topic,
                key=bytes(key),
                value=bytes(value),
                headers=_headers_from_json(headers),
                article_id=article_id,
                url=url,
                published_at=published_at,
                seq=seq,
                attempts=attempts,
            )
            for seq, topic, key, value, headers, article_id, url, published_at, attempts in rows
        ]

    def outbox_remove(self, seqs: Iterable[int]) -> None:
        """Forget records the broker acknowledged (or that went to the dead-letter topic)."""
        with self._transaction():
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def outbox_attempted(self, seqs: Iterable[int]) -> None:
        """Count one more failed attempt for each record."""
        with self._transaction():
            self._db.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [(s,) for s in seqs]
            )

    def outbox_size(self) -> int:
        """Records waiting for the broker."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def feed_state(self, feed: FeedSpec) -> FeedState:
        """The remembered state of a feed; a feed never polled is due now."""
        row = self._db.execute(
            f"SELECT {_FEED_FIELDS} FROM feed_state WHERE feed_url = ?", (feed.url,)
        ).fetchone()
        if row is None:
            return FeedState(feed_url=feed.url, feed_id=feed.id, interval_s=feed.interval_s)
        state = _to_state(row)
        return replace(state, feed_id=feed.id, interval_s=state.interval_s or feed.interval_s)

    def feed_states(self) -> list[FeedState]:
        """Every feed the store knows, by feed id."""
        rows = self._db.execute(f"SELECT {_FEED_FIELDS} FROM feed_state ORDER BY feed_id")
        return [_to_state(row) for row in rows]

    def save_feed_state(self, state: FeedState) -> None:
        """Remember a feed's schedule, counters and validators."""
        self._db.execute(
            f"INSERT OR REPLACE INTO feed_state ({_FEED_FIELDS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                state.feed_url,
                state.feed_id,
                state.interval_s,
                state.next_poll,
                state.consecutive_errors,
                state.last_success,
                state.last_error,
                state.last_reason,
                state.items_seen,
                state.validators.etag,
                state.validators.last_modified,
                state.body_hash,
            ),
        )

    def writable(self) -> bool:
        """True when the store accepts a write (for readiness checks)."""
        try:
            self._db.execute("PRAGMA user_version = 1")
        except sqlite3.Error:
            return False
        return True


def _to_state(row: tuple[Any, ...]) -> FeedState:
    url, feed_id, interval, next_poll, errors, success, error, reason, seen, etag, lm, hsh = row
    return FeedState(
        feed_url=url,
        feed_id=feed_id or "",
        interval_s=interval or 0.0,
        next_poll=next_poll or 0.0,
        consecutive_errors=errors,
        last_success=success,
        last_error=error,
        last_reason=reason,
        items_seen=seen,
        validators=Validators(etag, lm),
        body_hash=hsh,
    )


def _headers_json(headers: tuple[tuple[str, bytes], ...]) -> str:
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


def _headers_from_json(text: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, base64.b64decode(value)) for name, value in json.loads(text))


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None


def _record_json(record: DedupRecord) -> str:
    published = record.published
    return json.dumps(
        {
            "article_id": record.article_id,
            "keys": list(record.keys),
            "sketch": [record.sketch[0], _b64(record.sketch[1])] if record.sketch else None,
            "published": None
            if published is None
            else {
                "article_id": published.article_id,
                "content_hash": published.content_hash,
                "title_digest": published.title_digest,
                "revision": published.revision,
                "source_updated": published.source_updated,
                "sketch": _b64(published.sketch),
                "cluster_id": published.cluster_id,
            },
            "at": record.at,
        }
    )


def _record_from_json(text: str) -> DedupRecord:
    data = json.loads(text)
    sketch = data["sketch"]
    published = data["published"]
    return DedupRecord(
        article_id=data["article_id"],
        keys=tuple(data["keys"]),
        sketch=(sketch[0], base64.b64decode(sketch[1])) if sketch else None,
        published=None if published is None else _published_from_json(published),
        at=data["at"],
    )


def _published_from_json(fields: dict[str, Any]) -> Published:
    """A journalled published version (one journalled before the compact layout carries its
    title and full signature: digested and compacted here)."""
    fields = dict(fields)
    sketch = _unb64(fields.pop("sketch"))
    if "title" in fields:
        fields["title_digest"] = title_digest(" ".join(words(fields.pop("title"))))
        sketch = compact(sketch) if sketch is not None else None
    return Published(**fields, sketch=sketch)
