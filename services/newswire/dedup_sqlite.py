"""The embedded dedup memory: one row per accepted article in the state store's SQLite file,
and the in-memory indexes over them, rebuilt from those rows when the process starts.

    dedup_records (ref, record, keys, bands)  one row per accepted article, in arrival order:
                                              its packed record (dedup_codec), its keys'
                                              63-bit hashes, and, while it is in the
                                              near-duplicate window, its band keys
    dedup_hours (hour, ref)                   the first record of each hour: where a window
                                              starts

A write is one sequential row: keys and band keys are random by nature, and kept in SQLite's
B-tree each dirtied a page per key at every commit (a few hundred checks a second). Both
indexes map 32 bits of a hash to refs (band_index, about 12 bytes an entry; a band key is
tagged with its band); a key's full hash is checked in the rows read. Expiry cuts on the ref
of the hour a window starts in. The caller (the state store) holds the transaction.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable

import numpy as np

from newswire.band_index import BandIndex
from newswire.dedup_codec import (
    Remembered,
    hour_of,
    id_key,
    key_hash,
    pack,
    pack_bands,
    record_bands,
    record_keys,
    replaces,
    shares_a_band,
    title_digest,
    unpack,
    unpack_bands,
)
from newswire.models import DedupRecord, Published
from newswire.sketch import BANDS, compact, words

SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_records (
    ref INTEGER PRIMARY KEY,
    record BLOB NOT NULL,
    keys BLOB NOT NULL,
    bands BLOB
);
CREATE TABLE IF NOT EXISTS dedup_hours (
    hour INTEGER PRIMARY KEY,
    ref INTEGER NOT NULL
);
"""
REBUILD_BATCH = 50_000
_KEY = struct.Struct("<q")
_LOW32 = 0xFFFFFFFF


def _hashes(packed: bytes) -> list[int]:
    return [value for (value,) in _KEY.iter_unpack(packed)]


def _load(keys: BandIndex, near: BandIndex, rows: list[tuple[int, bytes, bytes | None]]) -> None:
    """Index a batch of rows (ref, key hashes, band keys) in two sorted runs."""
    refs = np.fromiter((row[0] for row in rows), dtype=np.uint32, count=len(rows))
    counts = np.fromiter((len(row[1]) // 8 for row in rows), dtype=np.int64, count=len(rows))
    hashes = np.frombuffer(b"".join(bytes(row[1]) for row in rows), dtype="<i8")
    keys.load(np.repeat(refs, counts), (hashes & _LOW32).astype(np.uint32))
    banded = [(row[0], bytes(row[2])) for row in rows if row[2] is not None]
    if banded:
        band_refs = np.fromiter((ref for ref, _ in banded), dtype=np.uint32, count=len(banded))
        bands = np.frombuffer(b"".join(blob for _, blob in banded), dtype="<u4")
        near.load(np.repeat(band_refs, BANDS), bands)


class DedupTables:
    """The dedup memory in the state store's SQLite file."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        db.executescript(SCHEMA)
        self._indexes: tuple[BandIndex, BandIndex] | None = None  # (keys, bands), at first use
        self._last_hour = self._marked_hour()

    def _marked_hour(self) -> int:
        row = self._db.execute("SELECT coalesce(max(hour), -1) FROM dedup_hours").fetchone()
        return int(row[0])

    def rolled_back(self) -> None:
        """The caller's transaction was rolled back: what memory holds of it is forgotten
        (the indexes are rebuilt at their next use)."""
        self._indexes = None
        self._last_hour = self._marked_hour()

    def record(self, record: DedupRecord) -> int:
        """File a record and its keys (inside the caller's transaction); its ref."""
        bands = record_bands(record)
        hashes = [key_hash(key) for key in record_keys(record)]
        ref = self._db.execute(
            "INSERT INTO dedup_records (record, keys, bands) VALUES (?, ?, ?)",
            (
                pack(record),
                b"".join(map(_KEY.pack, hashes)),
                pack_bands(bands) if bands is not None else None,
            ),
        ).lastrowid
        assert ref is not None
        hour = hour_of(record.at)
        if hour > self._last_hour:  # only a later hour is marked: a late record is kept longer
            self._db.execute("INSERT INTO dedup_hours (hour, ref) VALUES (?, ?)", (hour, ref))
            self._last_hour = hour
        if self._indexes is not None:
            keys, near = self._indexes
            keys.add(ref, [h & _LOW32 for h in hashes])
            if bands is not None:
                near.add(ref, bands)
        return ref

    def lookup(self, key: str) -> Remembered | None:
        """The record filed under `key`: the newest for a key whose newest wins, else the
        first."""
        return self.lookup_all([key])[0]

    def lookup_all(self, keys: list[str]) -> list[Remembered | None]:
        """`lookup` of several keys, with one pass over the index."""
        hashes = [key_hash(key) for key in keys]
        refs = sorted(self.indexes()[0].find(h & _LOW32 for h in hashes))
        rows = []
        for ref in refs:
            row = self._db.execute(
                "SELECT record, keys FROM dedup_records WHERE ref = ?", (ref,)
            ).fetchone()
            if row is not None:
                rows.append((ref, set(_hashes(bytes(row[1]))), bytes(row[0])))
        found: list[Remembered | None] = []
        for key, wanted in zip(keys, hashes, strict=True):
            filed = [(ref, blob) for ref, hashes_, blob in rows if wanted in hashes_]
            if not filed:
                found.append(None)
                continue
            chosen = max(filed) if replaces(key) else min(filed)
            found.append(unpack(chosen[1]))
        return found

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        keys = list(keys)
        for key, found in zip(keys, self.lookup_all(keys), strict=True):
            if found is not None:
                return key, found.article_id
        return None

    def seen_since(self, key: str, since: float) -> str | None:
        found = self.lookup(key)
        return found.article_id if found is not None and found.at >= since else None

    def published(self, article_id: str) -> Published | None:
        found = self.lookup(id_key(article_id))
        return found.published if found is not None else None

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        bands = tuple(bands)
        refs = sorted(self.indexes()[1].find(bands))
        found = []
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            rows = self._db.execute(
                "SELECT record, bands FROM dedup_records"
                f" WHERE ref IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for blob, held in rows:
                if held is None or not shares_a_band(unpack_bands(bytes(held)), bands):
                    continue  # a 32-bit key of another band, or a record out of the index
                seen = unpack(bytes(blob))
                if seen.sig is not None and seen.at >= since:
                    found.append((seen.article_id, seen.cluster_id or seen.article_id, seen.sig))
        return found

    def indexes(self) -> tuple[BandIndex, BandIndex]:
        """The key and band indexes, rebuilt from the rows at their first use."""
        if self._indexes is None:
            keys, near = BandIndex(), BandIndex(per_record=BANDS)
            last = 0
            while rows := self._db.execute(
                "SELECT ref, keys, bands FROM dedup_records WHERE ref > ? ORDER BY ref LIMIT ?",
                (last, REBUILD_BATCH),
            ).fetchall():
                _load(keys, near, rows)
                last = rows[-1][0]
            self._indexes = keys, near
        return self._indexes

    def first_ref(self, since: float) -> int:
        """The first ref of the first hour at or after the hour `since` falls in (past the
        last ref when there is none): every record under it is older than that hour."""
        row = self._db.execute(
            "SELECT ref FROM dedup_hours WHERE hour >= ? ORDER BY hour LIMIT 1",
            (hour_of(since),),
        ).fetchone()
        if row is not None:
            return int(row[0])
        return int(
            self._db.execute("SELECT coalesce(max(ref), 0) + 1 FROM dedup_records").fetchone()[0]
        )

    def prune(self, sketches_before: float, keys_before: float) -> int:
        """Forget records (and their keys) older than both windows, and the band keys of
        records older than the near-duplicate window; how many records went."""
        window_ref = self.first_ref(sketches_before)
        self._db.execute(
            "UPDATE dedup_records SET bands = NULL WHERE ref < ? AND bands IS NOT NULL",
            (window_ref,),
        )
        if self._indexes is not None:
            self._indexes[1].expire(window_ref)
        keep_ref = self.first_ref(min(sketches_before, keys_before))
        oldest = self._db.execute("SELECT min(ref) FROM dedup_records").fetchone()[0]
        if oldest is None or oldest >= keep_ref:
            return 0
        if self._indexes is not None:
            self._indexes[0].expire(keep_ref)
        first_hour = hour_of(min(sketches_before, keys_before))
        self._db.execute("DELETE FROM dedup_hours WHERE hour < ?", (first_hour,))
        return int(
            self._db.execute("DELETE FROM dedup_records WHERE ref < ?", (keep_ref,)).rowcount
        )

    def migrate(self) -> int:
        """Files from before the compact layout (seen_keys, published, near_sketches and the
        older sketches tables): their entries filed again as records, oldest first, then the
        old tables dropped; how many records."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        old = [t for t in ("seen_keys", "published", "near_sketches", "sketches") if t in tables]
        if not old:
            return 0
        records = sorted(_old_records(self._db, old), key=lambda r: r.at)
        for record in records:
            self.record(record)
        for table in (*old, "near_bands", "sketch_bands"):
            self._db.execute(f"DROP TABLE IF EXISTS {table}")
        return len(records)


def _old_records(db: sqlite3.Connection, tables: list[str]) -> list[DedupRecord]:
    records: list[DedupRecord] = []
    if "published" in tables:
        rows = db.execute(
            "SELECT article_id, content_hash, title, revision, source_updated, sketch, "
            "cluster_id, seen_at FROM published"
        )
        for article_id, content_hash, title, revision, updated, sig, cluster, at in rows:
            kept = Published(
                article_id,
                content_hash,
                title_digest(" ".join(words(title))),
                revision,
                updated,
                compact(bytes(sig)) if sig is not None else None,
                cluster,
            )
            records.append(DedupRecord(article_id, published=kept, at=at))
    for table in ("near_sketches", "sketches"):
        if table in tables:
            rows = db.execute(f"SELECT article_id, cluster_id, signature, seen_at FROM {table}")
            for article_id, cluster, sig, at in rows:
                records.append(DedupRecord(article_id, sketch=(cluster, bytes(sig)), at=at))
    if "seen_keys" in tables:
        by_article: dict[str, tuple[list[str], float]] = {}
        for key, article_id, at in db.execute("SELECT key, article_id, seen_at FROM seen_keys"):
            keys, first = by_article.setdefault(article_id, ([], at))
            keys.append(key)
            by_article[article_id] = (keys, min(first, at))
        for article_id, (keys, at) in by_article.items():
            records.append(DedupRecord(article_id, keys=tuple(keys), at=at))
    return records
