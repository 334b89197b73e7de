"""The shared dedup backend: one Redis for several replicas (`dedup.backend: redis`).

Every key shares one hash tag, `{P}` for `dedup.redis_prefix` P, so the scripts below run on a
Redis Cluster (or Valkey, Dragonfly, KeyDB) as on one server: a cluster keeps them in one slot.

    {P}:rec:<ref // 272>    272 fixed slots of 150 bytes: the packed records (dedup_codec)
                            (a record too long for its slot: {P}:big:<ref>)
    {P}:k:<bucket>          a string of 10-byte entries: 6 bytes of a key's hash, the ref
                            (2^16 buckets, by the hash's low 16 bits)
    {P}:b:<bucket>          a string of 6-byte entries: 2 bytes of a band key, the ref
                            (2^18 buckets, by the band key's low 18 bits)
    {P}:seq                 the last ref given
    {P}:hours               sorted set: the first ref of each hour (score: the hour), marked
                            only for an hour later than the last marked (a late record is
                            kept with the hour after it, never dropped early)
    {P}:claim:<key>         the replica holding the key in flight     TTL claim_ttl
    {P}:lock:check          held while one article is checked and recorded

A lookup is one script (entries found by the hash, records read by their ref, all in Redis):
a check is a claim-or-known lookup and a title-and-near lookup that takes the check lock; a
record is one script, which lets the lock go; each reads only a few kilobytes whatever the
window holds. An append drops its bucket's entries older than the window (they are in ref
order); records carry their window as a TTL, and a bucket twice its window past its last
append, so Redis needs no pruning. Records reach Redis through the state store's journal
(written in the outbox's accept transaction) and `flush()`; a crash between the two leaves
the journal to flush at the next start. Any Redis error becomes
`DedupUnavailable`: the entry waits for the next poll, nothing is recorded half-way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.cluster import RedisCluster

from newswire.dedup.store import DedupUnavailable, InFlight
from newswire.dedup_codec import (
    Remembered,
    hour_of,
    id_key,
    key_hash,
    pack,
    record_bands,
    record_keys,
    replaces,
    unpack,
)
from newswire.models import DedupRecord, Published
from newswire.settings import DedupSettings
from newswire.state import StateStore

log = logging.getLogger(__name__)
_T = TypeVar("_T")

FLUSH_BATCH = 500
LOCK_WAIT_SECONDS = 10.0
LOCK_HOLD_MS = 30_000  # a replica that dies holding the lock frees it after this

# All of KEYS claimed for ARGV[1] (for ARGV[2] ms), or none: the 1-based index of a key
# another replica holds.
_CLAIM = """
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then return i end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 0
"""
# Delete the claims of KEYS that ARGV[1] holds (never another replica's).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""
# records per {P}:rec string and bytes per record slot: 40,800 bytes, just under an allocator
# size class (40 KB), so a chunk takes what it holds
CHUNK, SLOT = 272, 150
KEY_BUCKETS, BAND_BUCKETS = 1 << 16, 1 << 18
# An entry is the rest of its hash above the bucket's bits, then the record's 4-byte ref: a
# key's 63-bit hash keeps 48 bits (16 pick the bucket), a 32-bit band key 14 (18 pick it), so
# an entry is told apart on as many bits as before, in 10 and 6 bytes
KEY_ENTRY, BAND_ENTRY = 10, 6
MAX_CANDIDATES = 256  # refs a near check reads at most (the newest): a hot band is boilerplate
# Shared by the scripts (its first line tells Dragonfly that they compute key names, the
# records' and the seq's, all inside the hash tag; Redis reads it as a comment; not tested on
# Dragonfly here): the first ref of the window starting in hour `hour` (the first ref
# of the first hour since; past the last ref given when there is none), the refs of an
# entry `needle` in a bucket (entries of `size` bytes, the ref in the last 4), a record by ref.
_COMMON = f"""--!df flags=allow-undeclared-keys
local CHUNK, SLOT, KEY_ENTRY, BAND_ENTRY = {CHUNK}, {SLOT}, {KEY_ENTRY}, {BAND_ENTRY}
local function floor_ref(hours, hour)
  local found = redis.call('ZRANGEBYSCORE', hours, hour, '+inf', 'LIMIT', 0, 1)
  if found[1] then return tonumber(found[1]) end
  return tonumber(redis.call('GET', string.sub(hours, 1, -6) .. 'seq') or '0') + 1
end
local function refs_of(bucket, needle, size, floor)
  local refs, pos = {{}}, 1
  while true do
    local at = string.find(bucket, needle, pos, true)
    if not at then return refs end
    if (at - 1) % size == 0 then
      local ref = struct.unpack('<I4', bucket, at + size - 4)
      if ref >= floor then refs[#refs + 1] = ref end
      pos = at + size
    else
      pos = at + 1
    end
  end
end
local function read_record(prefix, ref)
  local off = (ref % CHUNK) * SLOT
  local slot = redis.call('GETRANGE', prefix .. 'rec:' .. math.floor(ref / CHUNK), off,
    off + SLOT - 1)
  if #slot < 2 then return '' end
  local size = struct.unpack('<I2', slot)
  if size == 65535 then return redis.call('GET', prefix .. 'big:' .. ref) or '' end
  return string.sub(slot, 3, 2 + size)
end
-- the newest live record filed under a key (its bucket, its needle), or '' (none)
local function keyed_record(prefix, bucket, needle, floor)
  local refs = refs_of(redis.call('GET', bucket) or '', needle, KEY_ENTRY, floor)
  if refs[1] then return read_record(prefix, refs[#refs]) end
  return ''
end
-- append to `out` the newest MAX_CANDIDATES records sharing a band: band buckets are
-- KEYS[first..], each with its needle `shift` places further in ARGV
local function near_records(prefix, first, shift, floor, out)
  local seen, refs = {{}}, {{}}
  if first > #KEYS then return out end
  local buckets = redis.call('MGET', unpack(KEYS, first))
  for i = first, #KEYS do
    local bucket = buckets[i - first + 1] or ''
    for _, ref in ipairs(refs_of(bucket, ARGV[i + shift], BAND_ENTRY, floor)) do
      if not seen[ref] then seen[ref] = true; refs[#refs + 1] = ref end
    end
  end
  table.sort(refs, function(a, b) return a > b end)
  local base = #out
  for i = 1, math.min(#refs, {MAX_CANDIDATES}) do out[base + i] = read_record(prefix, refs[i]) end
  return out
end
"""
# The records filed under keys: KEYS[1] the hours set, then one bucket per key; ARGV[1] the
# key prefix, ARGV[2] the hour the window starts in, then one 8-byte needle per key. The
# newest live record for each key, or '' (none).
_LOOKUP = (
    _COMMON
    + """
local floor = floor_ref(KEYS[1], ARGV[2])
local out = {}
for i = 2, #KEYS do
  out[#out + 1] = keyed_record(ARGV[1], KEYS[i], ARGV[i + 1], floor)
end
return out
"""
)
# The records sharing a band: KEYS[1] the hours set, then one bucket per band; ARGV[1] the key
# prefix, ARGV[2] the hour the window starts in, then one 4-byte needle per band.
_NEAR = (
    _COMMON
    + """
return near_records(ARGV[1], 2, 1, floor_ref(KEYS[1], ARGV[2]), {})
"""
)
# Claim keys unless one is held or recorded: KEYS[1] the hours set, then n claim keys, then
# their n key buckets; ARGV: 1 the key prefix, 2 the hour records start in, 3 this replica's
# token, 4 the claim's TTL in ms, then n 8-byte needles. Returns {0} (claimed), {i} (key i
# held by another replica) or {i, record} (key i recorded).
_CLAIM_NEW = (
    _COMMON
    + """
local n = (#KEYS - 1) / 2
for i = 1, n do
  local holder = redis.call('GET', KEYS[1 + i])
  if holder and holder ~= ARGV[3] then return {i} end
end
local floor = floor_ref(KEYS[1], ARGV[2])
for i = 1, n do
  local record = keyed_record(ARGV[1], KEYS[1 + n + i], ARGV[4 + i], floor)
  if record ~= '' then return {i, record} end
end
for i = 1, n do redis.call('SET', KEYS[1 + i], ARGV[3], 'PX', ARGV[4]) end
return {0}
"""
)
# A title key's newest record and the records sharing a band, at once, taking the check lock
# first when asked: KEYS[1] the hours set, KEYS[2] the lock, KEYS[3] the title's bucket, then
# one bucket per band; ARGV: 1 the key prefix, 2 the hour records start in, 3 the hour the
# near window starts in, 4 the title's needle ('' for none), 5 this replica's token ('': the
# lock is not wanted), 6 the lock's hold in ms, then one needle per band. Returns {0} (the
# lock is another replica's) or {title record or '', candidate records...}.
_RECENT = (
    _COMMON
    + """
if ARGV[5] ~= '' and not redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[6]) then
  if redis.call('GET', KEYS[2]) ~= ARGV[5] then return {0} end
end
local out = {''}
if ARGV[4] ~= '' then
  out[1] = keyed_record(ARGV[1], KEYS[3], ARGV[4], floor_ref(KEYS[1], ARGV[2]))
end
return near_records(ARGV[1], 4, 3, floor_ref(KEYS[1], ARGV[3]), out)
"""
)
# File one record: KEYS[1] seq, KEYS[2] hours, then the key buckets, the band buckets, the
# claims this replica held on the record's keys (released: the record answers for them now),
# and the check lock when this replica holds it (released: the check is recorded).
# ARGV: 1 the record, 2 its hour, 3 the key prefix, 4 the TTL of records and keys, 5 the
# near-duplicate window's TTL, 6 the hour records start in, 7 the hour the near window starts
# in, 8 '1'/'0' per key (its newest record wins), 9 how many keys, then the keys' 8-byte
# needles, how many bands, the bands' 4-byte needles, and this replica's token. Returns the
# ref.
_RECORD = (
    _COMMON
    + """
local ref = redis.call('INCR', KEYS[1])
local hour = tonumber(ARGV[2])
local prefix, keep_ttl, near_ttl = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if not last[2] or hour > tonumber(last[2]) then
  redis.call('ZADD', KEYS[2], hour, ref)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (tonumber(ARGV[6]) - 48))
  redis.call('EXPIRE', KEYS[2], keep_ttl)
end
local chunk = prefix .. 'rec:' .. math.floor(ref / CHUNK)
if redis.call('EXISTS', chunk) == 0 then
  redis.call('SET', chunk, string.rep('\0', CHUNK * SLOT))
end
local record, off = ARGV[1], (ref % CHUNK) * SLOT
if #record <= SLOT - 2 then
  redis.call('SETRANGE', chunk, off, struct.pack('<I2', #record) .. record)
else
  redis.call('SET', prefix .. 'big:' .. ref, record, 'EX', keep_ttl)
  redis.call('SETRANGE', chunk, off, struct.pack('<I2', 65535))
end
redis.call('EXPIRE', chunk, keep_ttl)
local own = struct.pack('<I4', ref)
-- An append rewrites its bucket whole (GET, SET): APPEND would leave the string its doubled
-- room (Redis grows appended strings greedily, up to twice their length), and bucket strings
-- are most of the memory. Entries are in ref order, so the expired ones are a head, cut on
-- the way. The SET gives a bucket twice its window to live past its last append, in the
-- same call, so an idle bucket goes within two windows.
local function append(bucket, needle, size, floor, ttl, unique)
  local old = redis.call('GET', bucket) or ''
  local cut = 0
  while cut < #old and struct.unpack('<I4', old, cut + size - 3) < floor do cut = cut + size end
  if cut > 0 then old = string.sub(old, cut + 1) end
  if unique and #refs_of(old, needle, size, floor) > 0 then
    if cut > 0 then redis.call('SET', bucket, old, 'KEEPTTL') end
    return
  end
  redis.call('SET', bucket, old .. needle .. own, 'EX', 2 * ttl)
end
local keys_floor = floor_ref(KEYS[2], ARGV[6])
local near_floor = floor_ref(KEYS[2], ARGV[7])
local nkeys = tonumber(ARGV[9])
for i = 1, nkeys do
  local unique = string.sub(ARGV[8], i, i) == '0'
  append(KEYS[2 + i], ARGV[9 + i], KEY_ENTRY, keys_floor, keep_ttl, unique)
end
local nbands = tonumber(ARGV[10 + nkeys])
for i = nkeys + 1, nkeys + nbands do
  append(KEYS[2 + i], ARGV[10 + i], BAND_ENTRY, near_floor, near_ttl, false)
end
for i = 3 + nkeys + nbands, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[11 + nkeys + nbands] then redis.call('DEL', KEYS[i]) end
end
return ref
"""
)


Client = redis.Redis | RedisCluster


def connect(settings: DedupSettings) -> Client:
    """A client for `dedup.redis_url` with short timeouts (a slow Redis is an outage): a
    cluster client, following the slot map from that node, with `dedup.redis_cluster`."""
    timeouts: dict[str, Any] = {
        "socket_timeout": settings.redis_timeout,
        "socket_connect_timeout": settings.redis_timeout,
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **timeouts)
    return redis.Redis.from_url(settings.redis_url, **timeouts)


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise DedupUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


class RedisDedupStore:
    """Dedup state in Redis, shared by every replica that names the same prefix."""

    shared = True

    def __init__(self, client: Client, store: StateStore, settings: DedupSettings) -> None:
        self._redis = client
        self._store = store
        self._settings = settings
        self._prefix = "{" + settings.redis_prefix + "}:"
        self._hours, self._seq = f"{self._prefix}hours", f"{self._prefix}seq"
        self._lock = f"{self._prefix}lock:check"
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._in_flight = InFlight()
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._lookup = client.register_script(_LOOKUP)
        self._near = client.register_script(_NEAR)
        self._record = client.register_script(_RECORD)
        self._claim_new = client.register_script(_CLAIM_NEW)
        self._recent = client.register_script(_RECENT)
        self._released: set[str] = set()  # held here, their Redis claims gone with a record
        self._wants_lock = False  # inside `exclusive`: the first read takes the check lock
        self._locked = False  # this replica holds the check lock
        self._pending = True  # the journal may hold records from before a restart

    def _key(self, kind: str, name: object) -> str:
        return f"{self._prefix}{kind}:{name}"

    def _keep(self) -> float:
        """How long a record and its keys are kept: the longer of the two windows."""
        return max(self._settings.keep_keys, self._settings.window)

    def claim(self, keys: tuple[str, ...]) -> tuple[str, bool] | None:
        busy = self._in_flight.held(keys)
        if busy is not None:
            return busy, False
        if not keys:
            return None
        ttl_ms = int(self._settings.claim_ttl * 1000)
        with _reachable():
            held = int(self._claim([self._key("claim", k) for k in keys], [self._token, ttl_ms]))
        if held:
            return keys[held - 1], True
        self._in_flight.hold(keys)
        return None

    def claim_new(self, keys: tuple[str, ...]) -> tuple[str, str | None, bool] | None:
        busy = self._in_flight.held(keys)
        if busy is not None:
            return busy, None, False
        if not keys:
            return None
        hashes = [key_hash(k) for k in keys]
        self._flushed()
        with _reachable():
            answer = self._claim_new(
                [
                    self._hours,
                    *(self._key("claim", k) for k in keys),
                    *(self._key("k", h % KEY_BUCKETS) for h in hashes),
                ],
                [
                    self._prefix,
                    hour_of(time.time() - self._keep()),
                    self._token,
                    int(self._settings.claim_ttl * 1000),
                    *map(_needle, hashes),
                ],
            )
        which = int(answer[0])
        if which == 0:
            self._in_flight.hold(keys)
            return None
        if len(answer) == 1:
            return keys[which - 1], None, True
        return keys[which - 1], unpack(bytes(answer[1])).article_id, False

    def recent(
        self, title: str | None, title_since: float, bands: tuple[int, ...], since: float
    ) -> tuple[str | None, list[tuple[str, str, bytes]]]:
        title_hash = key_hash(title) if title else 0
        self._flushed()
        keys = [
            self._hours,
            self._lock,
            self._key("k", title_hash % KEY_BUCKETS),
            *(self._key("b", band % BAND_BUCKETS) for band in bands),
        ]
        locking = self._wants_lock and not self._locked
        args: list[bytes | str | int] = [
            self._prefix,
            hour_of(time.time() - self._keep()),
            hour_of(since),
            _needle(title_hash) if title else b"",
            self._token if locking else "",
            LOCK_HOLD_MS,
            *(_band_needle(band) for band in bands),
        ]

        def attempt() -> list[Any] | None:
            answer: list[Any] = self._recent(keys, args)
            return None if isinstance(answer[0], int) else answer  # {0}: the lock is busy

        blobs = self._until_locked(attempt)
        self._locked = self._locked or locking
        seen = unpack(bytes(blobs[0])) if blobs[0] else None
        titled = seen.article_id if seen is not None and seen.at >= title_since else None
        return titled, _candidates(blobs[1:], since)

    def release(self, keys: Iterable[str]) -> None:
        mine = [key for key in self._in_flight.release(keys) if key not in self._released]
        self._released.difference_update(keys)
        if not mine:
            return
        try:
            self._release([self._key("claim", k) for k in mine], [self._token])
        except redis.RedisError as exc:  # the claims expire after claim_ttl
            log.warning("could not release dedup claims", extra={"error": str(exc)})

    def _records(self, keys: list[str]) -> list[Remembered | None]:
        """The newest live record filed under each key."""
        hashes = [key_hash(k) for k in keys]
        buckets = [self._key("k", h % KEY_BUCKETS) for h in hashes]
        self._flushed()
        self._hold_lock()
        with _reachable():
            blobs = self._lookup(
                [self._hours, *buckets],
                [self._prefix, hour_of(time.time() - self._keep()), *map(_needle, hashes)],
            )
        return [unpack(bytes(blob)) if blob else None for blob in blobs]

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        keys = list(keys)
        if not keys:
            return None
        for key, found in zip(keys, self._records(keys), strict=True):
            if found is not None:
                return key, found.article_id
        return None

    def seen_since(self, key: str, since: float) -> str | None:
        found = self._records([key])[0]
        return found.article_id if found is not None and found.at >= since else None

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        bands = list(bands)
        buckets = [self._key("b", band % BAND_BUCKETS) for band in bands]
        self._flushed()
        self._hold_lock()
        with _reachable():
            blobs = self._near(
                [self._hours, *buckets],
                [self._prefix, hour_of(since), *(_band_needle(band) for band in bands)],
            )
        return _candidates(blobs, since)

    def published(self, article_id: str) -> Published | None:
        found = self._records([id_key(article_id)])[0]
        return found.published if found is not None else None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the check lock (`SET NX PX` with this replica's token, tried until
        LOCK_WAIT_SECONDS) from the first read inside: `recent`, the read a check starts with,
        takes it in its own script, and the record written while it is held lets it go in its
        script, so the lock costs a check no round trip of its own."""
        self._wants_lock = True
        try:
            yield
        finally:
            self._wants_lock = False
            if self._locked:
                self._locked = False
                with contextlib.suppress(redis.RedisError):  # it expires on its own
                    self._release([self._lock], [self._token])

    def _hold_lock(self) -> None:
        """Take the check lock inside `exclusive` before a read other than `recent`."""
        if self._wants_lock and not self._locked:
            self._until_locked(
                lambda: self._redis.set(self._lock, self._token, nx=True, px=LOCK_HOLD_MS) or None
            )
            self._locked = True

    @staticmethod
    def _until_locked(attempt: Callable[[], _T | None]) -> _T:
        """`attempt` tried until it answers (None: the check lock is another replica's); Redis
        errors are `DedupUnavailable`, and so is a lock still busy after LOCK_WAIT_SECONDS."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.001
        with _reachable():
            while (answer := attempt()) is None:
                if time.monotonic() >= deadline:
                    raise DedupUnavailable("redis: the check lock stayed busy")
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        return answer

    def flush(self) -> int:
        """Copy the journal to Redis, oldest first; on a Redis error what is left stays for
        the next flush (reads refuse to answer until it has gone)."""
        moved = 0
        while batch := self._store.journal_batch(FLUSH_BATCH):
            done: list[int] = []
            try:
                drained = len(batch) < FLUSH_BATCH
                for at, (seq, record) in enumerate(batch, start=1):
                    # the lock goes with the journal's last record, the one just checked
                    self._write(record, last=drained and at == len(batch))
                    done.append(seq)
            except redis.RedisError as exc:
                self._store.journal_remove(done)
                self._pending = True
                log.warning(
                    "dedup records wait for redis",
                    extra={"error": str(exc), "flushed": moved + len(done)},
                )
                return moved + len(done)
            self._store.journal_remove(done)
            moved += len(done)
        self._pending = False
        return moved

    def _flushed(self) -> None:
        if self._pending:
            self.flush()
        if self._pending:
            raise DedupUnavailable("redis: dedup records from the journal not yet flushed")

    def _write(self, record: DedupRecord, client: Any = None, last: bool = False) -> None:
        """File one record: one script, so a record is in Redis whole or not at all. The
        claims this replica holds on its keys go with it (released here; `release` then has
        nothing left to send), and with the `last` record of the journal the check lock, held
        while it was checked. `client`: a pipeline to queue it on."""
        keys = record_keys(record)
        claimed = [k for k in record.keys if self._in_flight.held((k,)) is not None]
        hashes = [key_hash(k) for k in keys]
        bands = record_bands(record) or ()
        now = time.time()
        self._record(
            [
                self._seq,
                self._hours,
                *(self._key("k", h % KEY_BUCKETS) for h in hashes),
                *(self._key("b", band % BAND_BUCKETS) for band in bands),
                *(self._key("claim", k) for k in claimed),
                *((self._lock,) if last and self._locked else ()),
            ],
            [
                pack(record),
                hour_of(record.at),
                self._prefix,
                _ttl(self._keep()),
                _ttl(self._settings.window),
                hour_of(now - self._keep()),
                hour_of(now - self._settings.window),
                "".join("1" if replaces(k) else "0" for k in keys),
                len(keys),
                *map(_needle, hashes),
                len(bands),
                *(_band_needle(band) for band in bands),
                self._token,
            ],
            client=client,
        )
        self._released.update(claimed)
        if last:
            self._locked = False

    def prune(self, sketches_before: float, titles_before: float, keys_before: float) -> int:
        return 0  # every Redis entry carries its window as a TTL

    def reachable(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


def _ttl(seconds: float) -> int:
    """A window as a Redis TTL: whole seconds, at least one."""
    return max(1, int(seconds))


def _candidates(blobs: Iterable[bytes], since: float) -> list[tuple[str, str, bytes]]:
    """(article id, cluster id, compact signature) of the records in the window."""
    found = []
    for blob in blobs:
        seen = unpack(bytes(blob))
        if seen.sig is not None and seen.at >= since:
            found.append((seen.article_id, seen.cluster_id or seen.article_id, seen.sig))
    return found


def _needle(key_hash: int) -> bytes:
    """A key entry's first bytes: its hash above the bucket's 16 bits."""
    return (key_hash >> 16).to_bytes(8, "little")[: KEY_ENTRY - 4]


def _band_needle(band: int) -> bytes:
    """A band entry's first bytes: the band key above the bucket's 18 bits."""
    return (band >> 18).to_bytes(2, "little")
