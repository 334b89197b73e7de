"""The compact form of what the dedup stage remembers, the same for every backend.

An accepted article leaves one record (about 150 bytes: time, ids as bytes, content hash as
bytes, title digest, the 64-byte compact signature) under a record number ("ref", in arrival
order), and what points at it: a key's 63-bit hash per identity key (canonical URL, GUID,
title, and `id:<article id>` for its published version), and a 32-bit band key per LSH band
for the near-duplicate index. SQLite keeps them in one row per article; Redis in one log
entry per article (`pack_row`: about 330 bytes for an original); both index them in memory
(band_index, 32 bits of each). Nothing else is stored per article, so a window of millions of
articles costs hundreds of bytes each (docs/performance.md)."""

from __future__ import annotations

import functools
import hashlib
import math
import operator
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newswire.models import DedupRecord, Published
from newswire.sketch import BANDS, band_keys, compact

_HEADER = struct.Struct("<dBHd")  # at, flags, revision, source_updated (NaN: none)
_BANDS = struct.Struct(f"<{BANDS}I")
_ROW_HEADER = struct.Struct("<BB")  # a log row: how many key hashes, whether band keys follow
_HASH = struct.Struct("<q")
_HAS_SKETCH, _HAS_PUBLISHED, _PUBLISHED_SIG, _PUBLISHED_NO_SIG = 1, 2, 4, 8
_HEX, _SHA256, _TEXT, _NONE, _SAME_ID = 1, 2, 3, 4, 5
_SHA256_PREFIX = "sha256:"
_HEX_PAIRS = re.compile("(?:[0-9a-f]{2})*")  # lower-case hex, whole bytes (linear)
TITLE_DIGEST_BYTES = 8
SIG_BYTES = 64


def hour_of(at: float) -> int:
    """The hour a time falls in: windows start on the first record of an hour."""
    return int(at // 3600)


@functools.lru_cache(maxsize=4096)
def key_hash(key: str) -> int:
    """A dedup key's 63-bit hash (a signed SQLite INTEGER); two keys share one by chance
    about once in 10^19 pairs. Cached: a check hashes its keys for the claim, the lookups
    and the record."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def id_key(article_id: str) -> str:
    """The key an article's published version is found under."""
    return f"id:{article_id}"


def replaces(key: str) -> bool:
    """True for keys whose newest record wins (a title seen again, a revision); the others
    keep the first article recorded under them (the original)."""
    return key.startswith(("title:", "id:"))


def record_keys(record: DedupRecord) -> tuple[str, ...]:
    """Every key a record is filed under."""
    if record.published is None:
        return record.keys
    return (*record.keys, id_key(record.article_id))


def record_bands(record: DedupRecord) -> tuple[int, ...] | None:
    """The band keys a record is indexed under (None: not in the near-duplicate index)."""
    return band_keys(record.sketch[1]) if record.sketch is not None else None


def pack_bands(keys: tuple[int, ...]) -> bytes:
    return _BANDS.pack(*keys)


def unpack_bands(blob: bytes) -> tuple[int, ...]:
    return _BANDS.unpack(blob)


def shares_a_band(held: Sequence[int], bands: Sequence[int]) -> bool:
    """True when a record's band keys `held` and a signature's `bands` agree in some band.
    The index finds records by 32 bits of a key, whichever band holds it: with tens of
    millions of entries, about one check in three finds a record holding one of its keys in
    another band, by chance (a key is salted by its band, so a real match is in the same
    one). Those are not read as candidates."""
    return any(map(operator.eq, held, bands))


@dataclass(frozen=True, slots=True)
class Row:
    """One record as the shared log holds it: its ref, its keys' hashes, its band keys (None:
    not in the near-duplicate index) and the packed record."""

    ref: int
    hashes: tuple[int, ...]
    bands: tuple[int, ...] | None
    record: bytes


def pack_row(record: DedupRecord) -> bytes:
    """A record with what indexes it, for the shared log (`row_bytes`)."""
    hashes = [key_hash(key) for key in record_keys(record)]
    return row_bytes(hashes, record_bands(record), pack(record))


def row_bytes(hashes: Sequence[int], bands: Sequence[int] | None, record: bytes) -> bytes:
    """A log row: the count of key hashes and a band flag (one byte each), the hashes (8
    bytes each), the band keys (4 bytes each), then the packed record. The hashes come first,
    where a script can compare them as bytes."""
    if len(hashes) > 0xFF:
        raise ValueError("a dedup record under more than 255 keys")
    return b"".join(
        (
            _ROW_HEADER.pack(len(hashes), bands is not None),
            *map(_HASH.pack, hashes),
            _BANDS.pack(*bands) if bands is not None else b"",
            record,
        )
    )


def unpack_row(ref: int, blob: bytes) -> Row:
    """A log row read back (`pack_row`)."""
    count, banded = _ROW_HEADER.unpack_from(blob)
    at = _ROW_HEADER.size
    hashes = tuple(value for (value,) in _HASH.iter_unpack(blob[at : at + 8 * count]))
    at += 8 * count
    bands = None
    if banded:
        bands = _BANDS.unpack_from(blob, at)
        at += _BANDS.size
    if len(hashes) != count:
        raise ValueError("a dedup row cut short")
    return Row(ref, hashes, bands, blob[at:])


_PACKED_HEAD = struct.Struct("<II")  # a packed log row: its ref, its length


@dataclass(frozen=True, slots=True)
class IndexEntries:
    """What many log rows put in the indexes, as arrays: 32 bits of each key hash with its
    row's ref, each band key with its row's ref; and the rows' refs."""

    refs: np.ndarray
    key_refs: np.ndarray
    keys: np.ndarray
    band_refs: np.ndarray
    bands: np.ndarray


def packed_row(ref: int, row: bytes) -> bytes:
    """A log row with its ref and length before it, for `index_entries`."""
    return _PACKED_HEAD.pack(ref, len(row)) + row


def index_entries(packed: bytes) -> IndexEntries:
    """The index entries of rows packed one after another, each after its ref and length (4
    bytes each): the rows' headers read one by one, their hashes and band keys gathered by
    numpy (a replica reading a log of millions)."""
    refs, key_at, counts, band_at, banded_refs = [], [], [], [], []
    at, end = 0, len(packed)
    while at < end:
        ref, size = _PACKED_HEAD.unpack_from(packed, at)
        row = at + _PACKED_HEAD.size
        count, banded = _ROW_HEADER.unpack_from(packed, row)
        refs.append(ref)
        key_at.append(row + _ROW_HEADER.size)
        counts.append(count)
        if banded:
            banded_refs.append(ref)
            band_at.append(row + _ROW_HEADER.size + 8 * count)
        at = row + size
    data = np.frombuffer(packed, dtype=np.uint8)
    per_row = np.array(counts, dtype=np.int64)
    firsts = np.repeat(np.array(key_at, dtype=np.int64), per_row)
    nth = np.arange(int(per_row.sum())) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    low = data[(firsts + 8 * nth)[:, None] + np.arange(4)]  # the hash's low 4 bytes
    band_bytes = data[np.array(band_at, dtype=np.int64)[:, None] + np.arange(_BANDS.size)]
    return IndexEntries(
        np.array(refs, dtype=np.uint32),
        np.repeat(np.array(refs, dtype=np.uint32), per_row),
        np.ascontiguousarray(low).view("<u4").ravel(),
        np.repeat(np.array(banded_refs, dtype=np.uint32), BANDS),
        np.ascontiguousarray(band_bytes).view("<u4").ravel(),
    )


def hash_needle(key: str) -> bytes:
    """A key's hash as a row holds it (`pack_row`)."""
    return _HASH.pack(key_hash(key))


def title_digest(title_words: str) -> str:
    """A normalised title as the record keeps it (hex of 8 bytes of its hash)."""
    digest = hashlib.blake2b(title_words.encode("utf-8"), digest_size=TITLE_DIGEST_BYTES)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Remembered:
    """A record read back: the article, when, its cluster and compact signature if it is in
    the near-duplicate index, and its published version if it has one."""

    article_id: str
    at: float
    cluster_id: str | None
    sig: bytes | None
    published: Published | None


def pack(record: DedupRecord) -> bytes:
    """The record's bytes."""
    published = record.published
    if published is not None and published.article_id != record.article_id:
        raise ValueError("a record's published version is of another article")
    sig = compact(record.sketch[1]) if record.sketch is not None else None
    flags = (_HAS_SKETCH if sig is not None else 0) | (_HAS_PUBLISHED if published else 0)
    parts = [b"", _token(record.article_id)]
    parts.append(_cluster(record.sketch[0] if record.sketch is not None else None, record))
    if sig is not None:
        parts.append(sig)
    if published is not None:
        parts += [
            _token(published.content_hash),
            bytes.fromhex(published.title_digest),
            _cluster(published.cluster_id, record),
        ]
        if published.sketch is None:
            flags |= _PUBLISHED_NO_SIG
        elif published.sketch != sig:
            flags |= _PUBLISHED_SIG
            parts.append(published.sketch)
    revision = published.revision if published else 0
    updated = published.source_updated if published else None
    parts[0] = _HEADER.pack(record.at, flags, revision, math.nan if updated is None else updated)
    return b"".join(parts)


def unpack(blob: bytes) -> Remembered:
    """A record from its bytes."""
    at, flags, revision, updated = _HEADER.unpack_from(blob)
    reader = _Reader(blob, _HEADER.size)
    article_id = reader.token()
    cluster_id = reader.token(article_id)
    sig = reader.take(SIG_BYTES) if flags & _HAS_SKETCH else None
    published = None
    if flags & _HAS_PUBLISHED and article_id is not None:
        content_hash = reader.token()
        digest = reader.take(TITLE_DIGEST_BYTES).hex()
        published_cluster = reader.token(article_id)
        published_sig = reader.take(SIG_BYTES) if flags & _PUBLISHED_SIG else sig
        if flags & _PUBLISHED_NO_SIG:
            published_sig = None
        published = Published(
            article_id,
            content_hash or "",
            digest,
            revision,
            None if math.isnan(updated) else updated,
            published_sig,
            published_cluster,
        )
    return Remembered(article_id or "", at, cluster_id, sig, published)


def _token(value: str | None) -> bytes:
    """An id or hash in the fewest bytes: hex digits as bytes, else its UTF-8."""
    if value is None:
        return bytes([_NONE])
    if value.startswith(_SHA256_PREFIX) and _is_hex(value[len(_SHA256_PREFIX) :]):
        raw = bytes.fromhex(value[len(_SHA256_PREFIX) :])
        return bytes([_SHA256, len(raw)]) + raw
    if _is_hex(value) and len(value) <= 510:
        raw = bytes.fromhex(value)
        return bytes([_HEX, len(raw)]) + raw
    text = value.encode("utf-8")
    if len(text) > 0xFFFF:
        raise ValueError("an id or hash of more than 64 KB")
    return bytes([_TEXT]) + len(text).to_bytes(2, "little") + text


def _cluster(cluster_id: str | None, record: DedupRecord) -> bytes:
    """A cluster id: one byte when it is the record's own article id (an original)."""
    return bytes([_SAME_ID]) if cluster_id == record.article_id else _token(cluster_id)


def _is_hex(text: str) -> bool:
    return _HEX_PAIRS.fullmatch(text) is not None


class _Reader:
    def __init__(self, blob: bytes, offset: int) -> None:
        self._blob = blob
        self._at = offset

    def take(self, size: int) -> bytes:
        chunk = self._blob[self._at : self._at + size]
        if len(chunk) != size:
            raise ValueError("a dedup record cut short")
        self._at += size
        return chunk

    def token(self, article_id: str | None = None) -> str | None:
        kind = self.take(1)[0]
        if kind == _NONE:
            return None
        if kind == _SAME_ID:
            return article_id
        if kind == _TEXT:
            return self.take(int.from_bytes(self.take(2), "little")).decode("utf-8")
        raw = self.take(self.take(1)[0])
        return (_SHA256_PREFIX if kind == _SHA256 else "") + raw.hex()
