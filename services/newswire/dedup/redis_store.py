"""The shared dedup backend: one Redis for several replicas (`dedup.backend: redis`).

Redis holds the log of what the replicas recorded; each replica indexes it in its own memory
(mirror.py) and asks Redis only for the rows its index points at. Every key shares one hash
tag, `{P}` for `dedup.redis_prefix` P, so the scripts below run on a Redis Cluster (or Valkey,
Dragonfly, KeyDB) as on one server: a cluster keeps them in one slot.

    {P}:log                 a stream: one entry per record, id "<ref>-0", field "r": the row
                            (dedup_codec.pack_row: key hashes, band keys, packed record)
    {P}:seq                 the last ref given
    {P}:hours               sorted set: the first ref of each hour (score: the hour), marked
                            only for an hour later than the last marked (a late record is
                            kept with the hour after it, never dropped early)
    {P}:claim:<key>         the replica holding the key in flight     TTL claim_ttl
    {P}:lock:check          held while one article is checked and recorded, and kept by a
                            replica's record for its next check (a lease: lease.py)
    {P}:lock:wanted         a replica waiting for the check lock (a lease is let go for it)

A read is one script: it brings back the log's rows since the replica's last read (its tail,
which the replica indexes) and the rows its index names, and it claims keys or takes the
check lock in the same step. A check is up to two reads (a claim the index cannot answer;
title and near-duplicate lookup under the lock) and a record, one script that appends the
row, trims the log to its window, lets the claims go and keeps the lock for the replica's next
check unless another replica waits for it; a check that starts holding the lock so kept, whose
index names no row, makes no read. Redis does a few stream operations a check,
whatever the window holds. Records reach Redis through the state store's journal (written in
the outbox's accept transaction) and `flush()`; a crash between the two leaves the journal to
flush at the next start. The check's own record is sent ahead of its reply (redis_link), so a
check waits for one round trip or none; it leaves the journal when its reply is read. Any
Redis error becomes `DedupUnavailable`: the entry waits for the next poll, nothing is recorded
half-way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.cluster import RedisCluster

from newswire.dedup.lease import Lease
from newswire.dedup.mirror import Mirror
from newswire.dedup.redis_link import AheadFailed, ScriptLink
from newswire.dedup.redis_upgrade import upgrade
from newswire.dedup.store import DedupUnavailable, InFlight
from newswire.dedup_codec import (
    Remembered,
    Row,
    hash_needle,
    hour_of,
    id_key,
    index_entries,
    key_hash,
    pack,
    packed_row,
    record_bands,
    record_keys,
    replaces,
    row_bytes,
    shares_a_band,
    unpack,
    unpack_row,
)
from newswire.models import DedupRecord, Published
from newswire.settings import DedupSettings
from newswire.state import StateStore

log = logging.getLogger(__name__)
_T = TypeVar("_T")

FLUSH_BATCH = 500
LOCK_WAIT_SECONDS = 10.0
LOCK_HOLD_MS = 30_000  # a replica that dies holding the lock frees it after this
WISH_MS = 1_000  # a replica waiting for the lock says so for this long (renewed as it tries)
TAIL_ROWS = 1_000  # log rows a read brings back at most; a replica further behind reads on
CATCH_UP_ROWS = 5_000  # rows read at a time by a replica catching up (a start, a backlog)
CATCH_UP_LOAD = 200_000  # rows indexed at a time then (fewer, larger runs to merge)
MAX_CANDIDATES = 256  # rows a near check reads at most (the newest): a hot band is boilerplate
# s since the index last read the log's end that it counts as current: its new keys are
# claimed here, and a read that takes the check lock does not catch up first
CURRENT_WITHIN = 1.0

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
# Whether the check lock's value `held` is `token`'s: its token, or its token marked by the
# record that kept the lock for it ("<token>#<offer>": lease.py).
_MINE = """
local function mine(held, token)
  return held == token or (held and string.sub(held, 1, #token + 1) == token .. '#')
end
"""
# Let the check lock KEYS[1] go if it is ARGV[1]'s: marked by offer ARGV[2] if one is given.
_LET_GO = (
    _MINE
    + """
local held = redis.call('GET', KEYS[1])
if (ARGV[2] == '' and mine(held, ARGV[1])) or held == ARGV[1] .. '#' .. ARGV[2] then
  redis.call('DEL', KEYS[1])
end
return 0
"""
)
# Delete the claims of KEYS that ARGV[1] holds (never another replica's).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""
# Shared by the read scripts: KEYS[1] is the seq, KEYS[2] the log; ARGV[3] the last ref the
# replica has read, ARGV[4] how many rows to return at most, and from ARGV[first] on the refs
# of the rows wanted. Returns the log's last ref, its rows after ARGV[3], and the rows wanted
# (entries as XRANGE gives them: {id, {'r', row}}).
_COMMON = """
local function rows_of(first)
  local found = {}
  for i = first, #ARGV do
    local entry = redis.call('XRANGE', KEYS[2], ARGV[i], ARGV[i])[1]
    if entry then found[#found + 1] = entry end
  end
  return found
end
local function read(first)
  local last = tonumber(redis.call('GET', KEYS[1]) or '0')
  local tail = redis.call('XRANGE', KEYS[2], tonumber(ARGV[3]) + 1, '+', 'COUNT', ARGV[4])
  return last, tail, rows_of(first)
end
"""
# Claim keys unless one is held or recorded: KEYS 1 seq, 2 log, then n claim keys; ARGV 1 this
# replica's token, 2 the claim's TTL in ms, 3-4 as in `read`, then n 8-byte key hashes, then
# the refs wanted. Returns {i} (key i held by another replica), or {0 (claimed) or -1 (a row
# read holds a key; nothing claimed), last ref, tail, rows}.
_CLAIM_NEW = (
    _COMMON
    + """
local n = #KEYS - 2
for i = 1, n do
  local holder = redis.call('GET', KEYS[2 + i])
  if holder and holder ~= ARGV[1] then return {i} end
end
local last, tail, wanted = read(5 + n)
local function holds(entries)
  for _, entry in ipairs(entries) do
    local row = entry[2][2]
    for j = 0, string.byte(row, 1) - 1 do
      local hash = string.sub(row, 3 + 8 * j, 10 + 8 * j)
      for i = 1, n do
        if hash == ARGV[4 + i] then return true end
      end
    end
  end
  return false
end
if holds(tail) or holds(wanted) then return {-1, last, tail, wanted} end
for i = 1, n do redis.call('SET', KEYS[2 + i], ARGV[1], 'PX', ARGV[2]) end
return {0, last, tail, wanted}
"""
)
# Read, taking the check lock first when asked: KEYS 1 seq, 2 log, 3 the lock, 4 the lock's
# `wanted` (a replica waits for it: a lease is not kept then); ARGV 1 this replica's token
# ('': the lock is not wanted), 2 the lock's hold in ms, 3-4 as in `read`, 5 how long a wish
# for the lock lasts in ms, then the refs wanted. Returns {0} (the lock is another replica's:
# this one says it waits) or {1, last ref, tail, rows}.
_READ = (
    _COMMON
    + _MINE
    + """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if not mine(redis.call('GET', KEYS[3]), ARGV[1]) then
      redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[5])
      return {0}
    end
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
  if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
end
local last, tail, wanted = read(6)
return {1, last, tail, wanted}
"""
)
# File one record: KEYS 1 seq, 2 hours, 3 log, 4 the check lock, 5 its `wanted`, then the
# claims this replica held on the record's keys (released: the record answers for them now).
# ARGV: 1 the row, 2 its hour, 3 how long rows are kept (s), 4 the hour the kept window starts
# in, 5 this replica's token, 6 'keep' when the record is a check's (the lock, if still this
# replica's, is kept for its next check, a lease, marked with offer ARGV[8]; or let go, if
# another replica waits for it), else ''; 7 the lock's hold in ms. Returns {ref, 1 when the
# lock was kept, else 0}. The log is trimmed to the rows of the kept window (whole stream nodes:
# `~`), and lives its window past its last record; the seq never expires (refs only grow).
_RECORD = (
    _MINE
    + """
local ref = redis.call('INCR', KEYS[1])
local hour, keep, first_hour = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if not last[2] or hour > tonumber(last[2]) then
  redis.call('ZADD', KEYS[2], hour, ref)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (first_hour - 48))
end
redis.call('EXPIRE', KEYS[2], keep)
redis.call('XADD', KEYS[3], ref .. '-0', 'r', ARGV[1])
local floor = redis.call('ZRANGEBYSCORE', KEYS[2], first_hour, '+inf', 'LIMIT', 0, 1)[1]
if floor then redis.call('XTRIM', KEYS[3], 'MINID', '~', floor) end
redis.call('EXPIRE', KEYS[3], keep)
for i = 6, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[5] then redis.call('DEL', KEYS[i]) end
end
local kept = 0
if ARGV[6] == 'keep' and mine(redis.call('GET', KEYS[4]), ARGV[5]) then
  local waiting = redis.call('GET', KEYS[5])
  if waiting and waiting ~= ARGV[5] then
    redis.call('DEL', KEYS[4])
  else
    redis.call('SET', KEYS[4], ARGV[5] .. '#' .. ARGV[8], 'PX', ARGV[7])
    kept = 1
  end
end
return {ref, kept}
"""
)


Client = redis.Redis | RedisCluster


def connect(settings: DedupSettings) -> Client:
    """A client for `dedup.redis_url` with short timeouts (a slow Redis is an outage): a
    cluster client, following the slot map from that node, with `dedup.redis_cluster`. It
    connects at its first command, so a Redis down at start is an outage like any other (the
    store's scripts then run on one connection of its pool: redis_link.py)."""
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
        self._seq, self._hours = f"{self._prefix}seq", f"{self._prefix}hours"
        self._log, self._lock = f"{self._prefix}log", f"{self._prefix}lock:check"
        self._waiting = f"{self._prefix}lock:wanted"  # a replica waits for the lock
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._in_flight = InFlight()
        self._mirror = Mirror()
        self._link = ScriptLink(client)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._claim_new = client.register_script(_CLAIM_NEW)
        self._read = client.register_script(_READ)
        self._record = client.register_script(_RECORD)
        self._let_go = client.register_script(_LET_GO)
        # held here with no Redis claim of theirs: claimed in the process (`claim_new`), or
        # their claims let go with a record (`release` then has nothing to send for them)
        self._unclaimed: set[str] = set()
        self._read_at = float("-inf")  # monotonic time of the index's last read to the end
        self._ahead_hashes: set[int] = set()  # key hashes of the record sent ahead, unsettled
        self._wants_lock = False  # inside `exclusive`: the first read takes the check lock
        self._locked = False  # this replica holds the check lock
        self._lease = Lease(self._let_lock_go)  # the lock kept across checks (lease.py)
        self._leased = False  # this check started holding the lease: no read is needed
        self._pending = True  # the journal may hold records from before a restart
        self._layout_ready = False  # the log layout checked for (a bucket layout moved in)

    def _script(self, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a script on the kept connection. When the record sent ahead of it failed (it
        ran without that record), the journal is flushed again and it runs once more."""
        try:
            return self._link.run(script, keys, args)
        except AheadFailed:
            self._flushed()
            return self._link.run(script, keys, args)

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
            held = int(
                self._script(
                    self._claim, [self._key("claim", k) for k in keys], [self._token, ttl_ms]
                )
            )
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
        if self._new_here(hashes):
            self._in_flight.hold(keys)
            self._unclaimed.update(keys)
            return None
        with _reachable():
            answer = self._script(
                self._claim_new,
                [self._seq, self._log, *(self._key("claim", k) for k in keys)],
                [
                    self._token,
                    int(self._settings.claim_ttl * 1000),
                    self._mirror.offset,
                    TAIL_ROWS,
                    *map(hash_needle, keys),
                    *self._wanted(hashes, ()),
                ],
            )
            which = int(answer[0])
            if which > 0:
                return keys[which - 1], None, True
            found = _first_recorded(keys, self._rows(answer, hashes, ()))
        if which == 0:
            self._in_flight.hold(keys)
            if found is not None:  # found past the first page of a long tail: claimed anyway
                self.release(keys)
        if found is None:
            if which != 0:
                raise RuntimeError("the claim script saw a key recorded that its rows do not hold")
            return None
        return found[0], found[1], False

    def _new_here(self, hashes: Sequence[int]) -> bool:
        """True when these key hashes are new to this replica's index, read to the log's end
        within CURRENT_WITHIN (and to none of the record sent ahead): the keys are then
        claimed in this process only, with no round trip, and `recent` confirms them under
        the check lock. Another replica may hold one in flight meanwhile (two feeds carrying
        one link); both fetch it, and the second check finds it recorded by the first (every
        key the check is given is confirmed, so a replica whose claim is in Redis finds it
        recorded by one that claimed it here)."""
        if not self._current():
            return False
        if not self._ahead_hashes.isdisjoint(hashes):
            return False  # the claim script reads the record's reply, then finds it
        return not self._mirror.key_refs(hashes)

    def _current(self) -> bool:
        """True when the index read the log to its end within CURRENT_WITHIN."""
        return time.monotonic() - self._read_at <= CURRENT_WITHIN

    def recent(
        self,
        title: str | None,
        title_since: float,
        bands: tuple[int, ...],
        since: float,
        keys: tuple[str, ...] = (),
    ) -> tuple[tuple[str, str] | None, str | None, list[tuple[str, str, bytes]]]:
        self._flushed()
        hashes = [key_hash(key) for key in ([title] if title else []) + list(keys)]
        rows = self._locked_read(hashes, bands)
        known = _first_recorded(keys, rows)
        seen = _recorded(rows, title) if title else None
        titled = seen.article_id if seen is not None and seen.at >= title_since else None
        return known, titled, _candidates(_sharing_a_band(rows, bands), since)

    def release(self, keys: Iterable[str]) -> None:
        let_go = self._in_flight.release(keys)
        mine = [key for key in let_go if key not in self._unclaimed]
        self._unclaimed.difference_update(keys)
        if not mine:
            return
        try:
            self._link.run(self._release, [self._key("claim", k) for k in mine], [self._token])
        except redis.RedisError as exc:  # the claims expire after claim_ttl
            log.warning("could not release dedup claims", extra={"error": str(exc)})

    def _records(self, keys: list[str]) -> list[Remembered | None]:
        """The record filed under each key (`_recorded`)."""
        self._flushed()
        rows = self._locked_read([key_hash(k) for k in keys], ())
        return [_recorded(rows, key) for key in keys]

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
        bands = tuple(bands)
        self._flushed()
        return _candidates(_sharing_a_band(self._locked_read([], bands), bands), since)

    def published(self, article_id: str) -> Published | None:
        found = self._records([id_key(article_id)])[0]
        return found.published if found is not None else None

    def _wanted(self, hashes: Sequence[int], bands: Sequence[int]) -> list[int]:
        """The refs of the rows this replica's index says may hold these key hashes, and of
        the newest MAX_CANDIDATES holding one of these band keys."""
        refs = self._mirror.key_refs(hashes) if hashes else set()
        if bands:
            refs.update(sorted(self._mirror.band_refs(bands), reverse=True)[:MAX_CANDIDATES])
        return sorted(refs)

    def _locked_read(self, hashes: Sequence[int], bands: Sequence[int]) -> list[Row]:
        """The rows that may hold these key hashes or band keys (`_rows`), taking the check
        lock in the same script inside `exclusive`. An index that is not `_current` (a
        replica idle, stalled or just started) catches up before the lock is taken, so the
        other replicas never wait on the lock for a long tail."""
        locking = self._wants_lock and not self._locked
        if locking and not self._current():
            with _reachable():
                self.catch_up()
        refs = self._wanted(hashes, bands)
        if self._leased and not refs:
            return []  # the lock stayed this replica's since its index read the log's end

        def attempt() -> list[Any] | None:
            answer: list[Any] = self._script(
                self._read,
                [self._seq, self._log, self._lock, self._waiting],
                [
                    self._token if locking else "",
                    LOCK_HOLD_MS,
                    self._mirror.offset,
                    TAIL_ROWS,
                    WISH_MS,
                    *refs,
                ],
            )
            return None if int(answer[0]) == 0 else answer  # {0}: the lock is busy

        answer = self._until_locked(attempt)
        self._locked = self._locked or locking
        with _reachable():
            return self._rows(answer, hashes, bands)

    def _rows(self, answer: list[Any], hashes: Sequence[int], bands: Sequence[int]) -> list[Row]:
        """A read's rows: the ones asked for by ref and the log's tail, which the index takes
        in. A tail of TAIL_ROWS (a replica behind: a start, a backlog) is read to the end,
        then the rows are asked for again of the index brought up to date. A log that ends
        before the index does was lost (a Redis restarted empty): the index is rebuilt."""
        last = int(answer[1])
        tail = [_row(entry) for entry in answer[2]]
        if last < self._mirror.offset:
            log.warning(
                "the shared dedup log is behind this replica: rebuilding its index",
                extra={"log_ends_at": last, "index_at": self._mirror.offset},
            )
            self._mirror.reset()
            return self._reread(hashes, bands)
        whole = len(tail) < TAIL_ROWS
        self._mirror.apply(tail, through=last if whole else None)
        if not whole:
            return self._reread(hashes, bands)
        self._read_at = time.monotonic()
        rows = {row.ref: row for row in map(_row, answer[3])}
        rows.update((row.ref, row) for row in tail)
        return list(rows.values())

    def _reread(self, hashes: Sequence[int], bands: Sequence[int]) -> list[Row]:
        """Read the log to its end into the index, then the rows it names."""
        self.catch_up()
        answer = self._script(
            self._read,
            [self._seq, self._log, self._lock, self._waiting],
            [
                "",
                LOCK_HOLD_MS,
                self._mirror.offset,
                TAIL_ROWS,
                WISH_MS,
                *self._wanted(hashes, bands),
            ],
        )
        return self._rows(answer, hashes, bands)

    def catch_up(self) -> int:
        """Read the log from this replica's index to its end into the index; how many rows
        came. CATCH_UP_ROWS rows a read (XRANGE: Redis only copies them out), indexed
        CATCH_UP_LOAD at a time from the rows packed one after another (numpy gathers their
        keys: `dedup_codec.index_entries`). A read does it when its tail is long, so a
        replica's first check after a start pays for it unless this ran before."""
        self._upgraded()
        read, packed, last = 0, bytearray(), self._mirror.offset
        with _reachable():
            while True:
                entries: Any = self._redis.xrange(self._log, min=str(last + 1), count=CATCH_UP_ROWS)
                for entry_id, fields in entries or []:
                    last = int(bytes(entry_id).split(b"-", 1)[0])
                    packed += packed_row(last, bytes(fields[b"r"]))
                read += len(entries or [])
                done = len(entries or []) < CATCH_UP_ROWS
                if packed and (done or len(packed) >= CATCH_UP_LOAD * 300):
                    self._mirror.load(index_entries(bytes(packed)))
                    packed = bytearray()
                if done:
                    return read

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the check lock (`SET NX PX` with this replica's token, tried until
        LOCK_WAIT_SECONDS) from the first read inside, which takes it in its own script; the
        check's record, written while it is held, keeps it for this replica's next check (a
        lease: lease.py) unless another replica waits for it, in which case the record lets
        it go. So the lock costs a check no round trip of its own, and a check that starts
        holding the lease, whose index names no row to read, makes no read at all. A check
        whose record could not be written (it waits in the journal) keeps the lock: another
        replica checking now could not see that record and might pass its copy; the
        journal's next flush sends the record (or the lock expires after LOCK_HOLD_MS, if
        Redis stays out of reach that long). Rows the index takes in meanwhile are not
        sealed into runs until the check is over, and the lease is let go before a seal: a
        seal that merges the largest runs takes seconds at millions of articles, and every
        other replica would wait on the lock for it."""
        self._wants_lock = True
        self._lease.begin()
        if self._lease.worth_waiting():  # the last record kept the lock: did this one?
            with contextlib.suppress(redis.RedisError):  # a failure leaves its record pending
                self._link.settle()
        self._leased = self._lease.held()
        self._locked = self._locked or self._leased
        self._mirror.hold_seals(True)  # the index's sorts and merges wait for the lock to go
        try:
            yield
        finally:
            self._wants_lock = self._leased = False
            self._mirror.hold_seals(False)
            self._let_go_unrecorded()
            if self._mirror.sealing():
                self._lease.let_go()
            self._lease.end()
            self._mirror.seal_when_full()

    def _let_go_unrecorded(self) -> None:
        """Let the check lock go when no record took it (a check that made no record);
        never while a record sent ahead may be missing, nor while one waits in the journal."""
        if not self._locked:
            return
        self._lease.drop()
        with contextlib.suppress(redis.RedisError):  # it failed: the lock waits with it
            self._link.settle()
        if self._locked and not self._pending:
            self._locked = False
            with contextlib.suppress(redis.RedisError):  # it expires on its own
                self._link.run(self._let_go, [self._lock], [self._token, ""])

    def _let_lock_go(self, offer: int) -> None:
        """Let the check lock go if it bears `offer`'s mark (lease.py), on a connection of its
        own (the lease's thread calls this); a failure leaves it to expire."""
        try:
            self._let_go(keys=[self._lock], args=[self._token, offer])
        except redis.RedisError as exc:
            log.warning("could not let the dedup check lock go", extra={"error": str(exc)})

    def close(self) -> None:
        """Let a lease on the check lock go (the other replicas need not wait for it)."""
        self._lease.close()

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

    def _upgraded(self) -> None:
        """At first use: a window of the bucket layout moved into the log (redis_upgrade)."""
        if self._layout_ready:
            return
        with _reachable():
            moved = upgrade(self._redis, self._prefix, self._token, _ttl(self._keep()))
        if moved is not None:
            log.warning("moved the shared dedup window into the log layout", extra={"rows": moved})
        self._layout_ready = True

    def flush(self) -> int:
        """Copy the journal to Redis, oldest first; on a Redis error what is left stays for
        the next flush (reads refuse to answer until it has gone). The journal's last record,
        the check just made, is sent ahead (redis_link): Redis files it, and lets the check
        lock go, as it arrives; its reply is read with the next script's (or the next
        flush), and the record leaves the journal then, or stays there if it failed."""
        try:
            self._upgraded()
        except DedupUnavailable as exc:
            self._pending = True
            log.warning("dedup records wait for redis", extra={"error": str(exc), "flushed": 0})
            return 0
        with contextlib.suppress(AheadFailed):  # a record that failed is still in the journal
            self._link.settle()
        moved = 0
        while batch := self._store.journal_batch(FLUSH_BATCH):
            done: list[int] = []
            drained = len(batch) < FLUSH_BATCH
            try:
                for seq, record in batch[:-1] if drained else batch:
                    self._write(record)
                    done.append(seq)
                if drained:  # the lock goes with the journal's last record, the one just checked
                    self._send_ahead(*batch[-1])
            except redis.RedisError as exc:
                self._store.journal_remove(done)
                self._pending = True
                log.warning(
                    "dedup records wait for redis",
                    extra={"error": str(exc), "flushed": moved + len(done)},
                )
                return moved + len(done)
            self._store.journal_remove(done)
            moved += len(done) + drained
            if drained:
                break
        self._pending = False
        return moved

    def _flushed(self) -> None:
        self._upgraded()
        if self._pending:
            self.flush()
        if self._pending:
            raise DedupUnavailable("redis: dedup records from the journal not yet flushed")

    def _write(self, record: DedupRecord, client: Any = None) -> None:
        """File one record: one script, so a record is in Redis whole or not at all (`_filing`).
        `client`: a pipeline to queue it on (the index then takes the row from the log's
        tail)."""
        keys, args, row, claimed = self._filing(record)
        if client is not None:
            self._record(keys, args, client=client)
        else:
            ref = int(self._link.run(self._record, keys, args)[0])
            self._mirror.add_own(Row(ref, row.hashes, row.bands, row.record))
        self._unclaimed.update(claimed)

    def _send_ahead(self, seq: int, record: DedupRecord) -> None:
        """File the journal's last record (`_filing`, keeping the check lock if held), its
        reply read later: it leaves the journal then, this replica's index takes its row, and
        the lease learns whether the lock was kept; a failure leaves it in the journal for
        the next flush, and the lock held."""
        offer = self._lease.offer() if self._locked else None  # None: no lock goes with it
        keys, args, row, claimed = self._filing(record, offer)

        def settled(reply: Any) -> None:
            self._ahead_hashes.clear()
            if reply is None:
                self._pending = True
                if offer is not None:  # the record failed: the lock is still this replica's
                    self._locked = True
                    self._lease.answered(offer, False)
                return
            self._store.journal_remove([seq])
            self._mirror.add_own(Row(int(reply[0]), row.hashes, row.bands, row.record))
            if offer is not None:
                self._lease.answered(offer, bool(int(reply[1])))

        self._ahead_hashes.update(row.hashes)
        self._link.send_ahead(self._record, keys, args, settled)
        self._unclaimed.update(claimed)
        self._locked = False

    def _filing(
        self, record: DedupRecord, offer: int | None = None
    ) -> tuple[list[Any], list[Any], Row, list[str]]:
        """The record script's keys and arguments for `record`, its row (ref 0 until Redis
        gives one), and the keys whose claims it releases: the claims this replica holds on
        its keys go with the record (`release` then has nothing left to send). With an
        `offer` (the journal's last record, checked under the lock this replica holds), the
        check lock is kept for the next check, marked with it (or let go, if another replica
        waits for it)."""
        hashes = tuple(key_hash(key) for key in record_keys(record))
        bands, packed = record_bands(record), pack(record)
        claimed = [
            k
            for k in record.keys
            if k not in self._unclaimed and self._in_flight.held((k,)) is not None
        ]
        keep = self._keep()
        keys = [
            self._seq,
            self._hours,
            self._log,
            self._lock,
            self._waiting,
            *(self._key("claim", k) for k in claimed),
        ]
        window_starts = hour_of(time.time() - keep)
        row = row_bytes(hashes, bands, packed)
        args: list[Any] = [
            row,
            hour_of(record.at),
            _ttl(keep),
            window_starts,
            self._token,
            "" if offer is None else "keep",
            LOCK_HOLD_MS,
            offer or 0,
        ]
        return keys, args, Row(0, hashes, bands, packed), claimed

    def prune(self, sketches_before: float, titles_before: float, keys_before: float) -> int:
        """Let this replica's index forget band keys older than the near-duplicate window and
        key hashes older than both windows (Redis trims the log itself); nothing is counted."""
        try:
            near = self._first_ref(sketches_before)
            keep = self._first_ref(min(sketches_before, keys_before))
        except redis.RedisError as exc:
            log.warning("could not read the dedup windows from redis", extra={"error": str(exc)})
            return 0
        self._mirror.expire(near, keep)
        return 0

    def _first_ref(self, since: float) -> int:
        """The first ref of the first hour at or after the hour `since` falls in (past the
        last ref when there is none)."""
        found: Any = self._redis.zrangebyscore(self._hours, hour_of(since), "+inf", start=0, num=1)
        if found:
            return int(found[0])
        return int(self._redis.get(self._seq) or 0) + 1

    def reachable(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


def _ttl(seconds: float) -> int:
    """A window as a Redis TTL: whole seconds, at least one."""
    return max(1, int(seconds))


def _row(entry: Any) -> Row:
    """A log entry as a script returns it: {id, {'r', row}}."""
    entry_id, fields = entry
    return unpack_row(int(bytes(entry_id).split(b"-", 1)[0]), bytes(fields[1]))


def _recorded(rows: Iterable[Row], key: str) -> Remembered | None:
    """The record filed under `key` among `rows`: the newest for a key whose newest wins,
    else the first."""
    wanted = key_hash(key)
    filed = [row for row in rows if wanted in row.hashes]
    if not filed:
        return None
    pick = max if replaces(key) else min
    return unpack(pick(filed, key=lambda row: row.ref).record)


def _first_recorded(keys: Sequence[str], rows: list[Row]) -> tuple[str, str] | None:
    """The first of `keys` recorded among `rows`, and its article id."""
    for key in keys:
        found = _recorded(rows, key)
        if found is not None:
            return key, found.article_id
    return None


def _sharing_a_band(rows: Iterable[Row], bands: Sequence[int]) -> list[Row]:
    """The newest MAX_CANDIDATES rows sharing a band with `bands` (`shares_a_band`)."""
    found = [row for row in rows if row.bands is not None and shares_a_band(row.bands, bands)]
    found.sort(key=lambda row: row.ref, reverse=True)
    return found[:MAX_CANDIDATES]


def _candidates(rows: Iterable[Row], since: float) -> list[tuple[str, str, bytes]]:
    """(article id, cluster id, compact signature) of the records in the window."""
    found = []
    for row in rows:
        seen = unpack(row.record)
        if seen.sig is not None and seen.at >= since:
            found.append((seen.article_id, seen.cluster_id or seen.article_id, seen.sig))
    return found
