"""The shared dedup backend: one Redis for several replicas (`dedup.backend: redis`).

Layout, under `dedup.redis_prefix` (P):

    P:seen:<key>            "<time> <article id>"      TTL title_window (title keys), else keep_keys
    P:published:<id>        hash of the published version             TTL keep_keys
    P:sketch:<id>           hash: cluster c, signature s, time t      TTL window
    P:band:<key>            set of article ids sharing an LSH band    TTL window (renewed on add)
    P:claim:<key>           the replica holding the key in flight     TTL claim_ttl
    P:lock:check            held while one article is checked and recorded

Everything expires with its window, so Redis needs no pruning. Records reach Redis through
the state store's journal (written in the outbox's accept transaction) and `flush()`; a crash
between the two leaves the journal to flush at the next start. Any Redis error becomes
`DedupUnavailable`: the entry waits for the next poll, nothing is recorded half-way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from newswire.dedup.store import DedupUnavailable, InFlight
from newswire.models import DedupRecord, Published
from newswire.settings import DedupSettings
from newswire.sketch import band_keys
from newswire.state import StateStore

log = logging.getLogger(__name__)

FLUSH_BATCH = 500
LOCK_WAIT_SECONDS = 10.0
LOCK_HOLD_SECONDS = 30.0  # a replica that dies holding the lock frees it after this

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


def connect(settings: DedupSettings) -> redis.Redis:
    """A client for `dedup.redis_url` with short timeouts (a slow Redis is an outage)."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
    )


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisDedupStore:
    """Dedup state in Redis, shared by every replica that names the same prefix."""

    shared = True

    def __init__(self, client: redis.Redis, store: StateStore, settings: DedupSettings) -> None:
        self._redis = client
        self._store = store
        self._settings = settings
        self._prefix = settings.redis_prefix
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._in_flight = InFlight()
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._pending = True  # the journal may hold records from before a restart

    def _key(self, *parts: object) -> str:
        return ":".join((self._prefix, *map(str, parts)))

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

    def release(self, keys: Iterable[str]) -> None:
        mine = self._in_flight.release(keys)
        if not mine:
            return
        try:
            self._release([self._key("claim", k) for k in mine], [self._token])
        except redis.RedisError as exc:  # the claims expire after claim_ttl
            log.warning("could not release dedup claims", extra={"error": str(exc)})

    def known(self, keys: Iterable[str]) -> tuple[str, str] | None:
        keys = list(keys)
        if not keys:
            return None
        self._flushed()
        with _reachable():
            values = self._redis.mget([self._key("seen", k) for k in keys])
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                return key, _text(value).partition(" ")[2]
        return None

    def seen_since(self, key: str, since: float) -> str | None:
        self._flushed()
        with _reachable():
            value = self._redis.get(self._key("seen", key))
        if value is None:
            return None
        at, _, article_id = _text(value).partition(" ")
        return article_id if float(at) >= since else None

    def sketch_candidates(self, bands: Iterable[int], since: float) -> list[tuple[str, str, bytes]]:
        self._flushed()
        with _reachable():
            pipe = self._redis.pipeline(transaction=False)
            for key in bands:
                pipe.smembers(self._key("band", key))
            ids = sorted({_text(member) for members in pipe.execute() for member in members})
            pipe = self._redis.pipeline(transaction=False)
            for article_id in ids:
                pipe.hmget(self._key("sketch", article_id), ["c", "s", "t"])
            sketches = pipe.execute()
        found = []
        for article_id, (cluster, sig, at) in zip(ids, sketches, strict=True):
            if sig is not None and float(at) >= since:
                found.append((article_id, _text(cluster), bytes(sig)))
        return found

    def published(self, article_id: str) -> Published | None:
        self._flushed()
        with _reachable():
            fields = self._redis.hgetall(self._key("published", article_id))
        if not fields:
            return None
        return _published_from(article_id, fields)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        lock = self._redis.lock(
            self._key("lock", "check"),
            timeout=LOCK_HOLD_SECONDS,
            blocking_timeout=LOCK_WAIT_SECONDS,
        )
        with _reachable():
            if not lock.acquire():
                raise DedupUnavailable("redis: the check lock stayed busy")
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError):  # it expires on its own
                lock.release()

    def flush(self) -> int:
        """Copy the journal to Redis, oldest first; on a Redis error what is left stays for
        the next flush (reads refuse to answer until it has gone)."""
        moved = 0
        while batch := self._store.journal_batch(FLUSH_BATCH):
            try:
                pipe = self._redis.pipeline(transaction=False)
                for _, record in batch:
                    self._write(pipe, record)
                pipe.execute()
            except redis.RedisError as exc:
                self._pending = True
                log.warning(
                    "dedup records wait for redis", extra={"error": str(exc), "flushed": moved}
                )
                return moved
            self._store.journal_remove(seq for seq, _ in batch)
            moved += len(batch)
        self._pending = False
        return moved

    def _flushed(self) -> None:
        if self._pending:
            self.flush()
        if self._pending:
            raise DedupUnavailable("redis: dedup records from the journal not yet flushed")

    def _write(self, pipe: Any, record: DedupRecord) -> None:
        settings = self._settings
        for key in record.keys:
            ttl = settings.title_window if key.startswith("title:") else settings.keep_keys
            value = f"{record.at} {record.article_id}"
            pipe.set(self._key("seen", key), value, nx=True, ex=_ttl(ttl))
        if record.sketch is not None:
            cluster, sig = record.sketch
            window = _ttl(settings.window)
            name = self._key("sketch", record.article_id)
            pipe.hset(name, mapping={"c": cluster, "s": sig, "t": record.at})
            pipe.expire(name, window)
            for band_key in band_keys(sig):
                pipe.sadd(self._key("band", band_key), record.article_id)
                pipe.expire(self._key("band", band_key), window)
        if record.published is not None:
            name = self._key("published", record.article_id)
            pipe.delete(name)
            pipe.hset(name, mapping=_published_fields(record.published))
            pipe.expire(name, _ttl(settings.keep_keys))

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


def _published_fields(published: Published) -> dict[str, str | bytes | float | int]:
    fields: dict[str, str | bytes | float | int] = {
        "content_hash": published.content_hash,
        "title": published.title,
        "revision": published.revision,
    }
    if published.source_updated is not None:
        fields["source_updated"] = published.source_updated
    if published.sketch is not None:
        fields["sketch"] = published.sketch
    if published.cluster_id is not None:
        fields["cluster_id"] = published.cluster_id
    return fields


def _published_from(article_id: str, raw: dict[Any, Any]) -> Published:
    fields = {_text(name): value for name, value in raw.items()}
    updated = fields.get("source_updated")
    cluster = fields.get("cluster_id")
    sketch = fields.get("sketch")
    return Published(
        article_id=article_id,
        content_hash=_text(fields["content_hash"]),
        title=_text(fields["title"]),
        revision=int(fields["revision"]),
        source_updated=float(updated) if updated is not None else None,
        sketch=bytes(sketch) if sketch is not None else None,
        cluster_id=_text(cluster) if cluster is not None else None,
    )
