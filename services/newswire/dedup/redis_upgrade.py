"""Moving a shared dedup window from the bucket layout (newswire before the log) into the
log, once, so that an upgrade forgets nothing the replicas recorded.

The bucket layout kept, under the same hash tag as the log:

    {P}:rec:<ref // 272>    272 slots of 150 bytes: a 2-byte size, then the packed record
                            (size 65535: the record is {P}:big:<ref>)
    {P}:k:<bucket>          10-byte entries: bits 16-63 of a key's hash, then the ref
                            (2^16 buckets, by the hash's low 16 bits)
    {P}:b:<bucket>          6-byte entries: bits 18-31 of a band key, then the ref
                            (2^18 buckets, by the band key's low 18 bits)
    {P}:seq, {P}:hours      as the log layout keeps them (left as they are: refs carry over)

A bucket's bits and its entry's make the whole hash or band key, so each record's row is
rebuilt whole, appended to the log under its own ref, and the buckets and slots are deleted.
One replica moves the window while holding `{P}:lock:upgrade`; the others' reads are refused
(`DedupUnavailable`: their entries wait for the next poll) until `{P}:layout` says "log".
Replicas of the bucket layout must be stopped first: what they record afterwards is not moved.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from newswire.dedup.store import DedupUnavailable
from newswire.dedup_codec import row_bytes
from newswire.sketch import BANDS

LAYOUT = b"log"
CHUNK, SLOT = 272, 150
KEY_BUCKETS, BAND_BUCKETS = 1 << 16, 1 << 18
KEY_ENTRY, BAND_ENTRY = 10, 6
BIG = 0xFFFF
BATCH = 2_000  # commands a pipeline carries
MOVE_HOLD_MS = 600_000  # a replica that dies while moving frees the move after this


def upgrade(client: Any, prefix: str, token: str, keep_seconds: int) -> int | None:
    """Move the bucket layout under `prefix` into its log; how many rows (None: the log
    layout is in place already, or there was nothing to move). `keep_seconds`: the log's
    TTL, as a record sets it."""
    marker, moving = f"{prefix}layout", f"{prefix}lock:upgrade"
    if client.get(marker) == LAYOUT:
        return None
    if not client.set(moving, token, nx=True, px=MOVE_HOLD_MS):
        raise DedupUnavailable("redis: another replica is moving the dedup window into the log")
    try:
        if next(iter(client.scan_iter(match=f"{prefix}rec:*", count=1000)), None) is None:
            client.set(marker, LAYOUT)
            return None
        log = f"{prefix}log"
        client.delete(log)  # rows of a move cut short: written again below
        rows = _rows(client, prefix)
        for start in range(0, len(rows), BATCH):
            pipe = client.pipeline(transaction=False)
            for ref, row in rows[start : start + BATCH]:
                pipe.xadd(log, {"r": row}, id=f"{ref}-0")
            pipe.execute()
        if rows:
            client.expire(log, keep_seconds)
        _delete_buckets(client, prefix)
        client.set(marker, LAYOUT)
        return len(rows)
    finally:
        if client.get(moving) == token.encode():
            client.delete(moving)


def _rows(client: Any, prefix: str) -> list[tuple[int, bytes]]:
    """(ref, log row) of every record the buckets point at and the slots still hold."""
    hashes: defaultdict[int, list[int]] = defaultdict(list)
    for bucket, blob in _buckets(client, f"{prefix}k:", KEY_BUCKETS):
        for needle, ref in _entries(blob, KEY_ENTRY):
            hashes[ref].append(needle << 16 | bucket)
    bands: defaultdict[int, list[int]] = defaultdict(list)
    for bucket, blob in _buckets(client, f"{prefix}b:", BAND_BUCKETS):
        for needle, ref in _entries(blob, BAND_ENTRY):
            bands[ref].append(needle << 18 | bucket)
    refs = sorted(hashes.keys() | bands.keys())
    records = _records(client, prefix, refs)
    rows = []
    for ref in refs:
        record = records.get(ref)
        if record:  # a slot gone with its chunk's TTL: the record expired
            banded = bands.get(ref)
            whole = banded if banded is not None and len(banded) == BANDS else None
            rows.append((ref, row_bytes(hashes.get(ref, []), whole, record)))
    return rows


def _buckets(client: Any, stem: str, count: int) -> list[tuple[int, bytes]]:
    """(bucket number, value) of the buckets named `stem`<number> that exist."""
    numbers = set()
    for name in client.scan_iter(match=f"{stem}*", count=1000):
        suffix = bytes(name).decode()[len(stem) :]
        if suffix.isdigit() and int(suffix) < count:
            numbers.add(int(suffix))
    ordered = sorted(numbers)
    return [(ordered[at], blob) for at, blob in _read(client, [f"{stem}{n}" for n in ordered])]


def _entries(blob: bytes, size: int) -> list[tuple[int, int]]:
    """(needle, ref) of a bucket's entries: the needle's bytes, then a 4-byte ref."""
    return [
        (
            int.from_bytes(blob[at : at + size - 4], "little"),
            int.from_bytes(blob[at + size - 4 : at + size], "little"),
        )
        for at in range(0, len(blob) - size + 1, size)
    ]


def _read(client: Any, names: list[str]) -> list[tuple[int, bytes]]:
    """(position in `names`, value) of the strings that exist, read BATCH to a pipeline."""
    found = []
    for start in range(0, len(names), BATCH):
        pipe = client.pipeline(transaction=False)
        for name in names[start : start + BATCH]:
            pipe.get(name)
        for offset, value in enumerate(pipe.execute()):
            if value:
                found.append((start + offset, bytes(value)))
    return found


def _records(client: Any, prefix: str, refs: list[int]) -> dict[int, bytes]:
    """The packed record in each ref's slot (or its own string, for a long one)."""
    chunks = sorted({ref // CHUNK for ref in refs})
    held = dict(_read(client, [f"{prefix}rec:{chunk}" for chunk in chunks]))
    slots = {chunks[at]: blob for at, blob in held.items()}
    records, big = {}, []
    for ref in refs:
        blob = slots.get(ref // CHUNK, b"")
        at = (ref % CHUNK) * SLOT
        size = int.from_bytes(blob[at : at + 2], "little") if len(blob) >= at + 2 else 0
        if size == BIG:
            big.append(ref)
        elif size:
            records[ref] = blob[at + 2 : at + 2 + size]
    for at, blob in _read(client, [f"{prefix}big:{ref}" for ref in big]):
        records[big[at]] = blob
    return records


def _delete_buckets(client: Any, prefix: str) -> None:
    for pattern in ("rec:*", "big:*", "k:*", "b:*"):
        names = list(client.scan_iter(match=f"{prefix}{pattern}", count=1000))
        for start in range(0, len(names), BATCH):
            client.unlink(*names[start : start + BATCH])
