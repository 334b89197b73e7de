"""The dedup backends behind one interface: the embedded SQLite store and Redis shared by
replicas (a real redis-server on loopback). Every behaviour test runs on both; the Redis ones
add what sharing needs: claims seen by another replica, the journal surviving a crash and an
outage, the exclusive check, and windows kept as TTLs."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from newswire import band_index
from newswire.dedup import redis_store as dedup_redis
from newswire.dedup.layers import Deduplicator, entry_keys
from newswire.dedup.redis_store import RedisDedupStore, connect, redacted
from newswire.dedup.store import DedupStore, DedupUnavailable, LocalDedupStore
from newswire.dedup_codec import hour_of, key_hash, pack, record_bands, record_keys, title_digest
from newswire.models import DedupRecord, FeedEntry, Published
from newswire.service import index_shared_dedup
from newswire.settings import DedupSettings
from newswire.sketch import band_keys, compact, signature
from newswire.state import StateStore
from tests.redis_support import RedisServer
from tests.stories import story

SIG = signature(" ".join(story(3)[1]))
OTHER_SIG = signature(" ".join(story(4)[1]))


def entry(link: str, guid: str | None = None) -> FeedEntry:
    return FeedEntry(feed_id="f", outlet_id="shafaq-news", link=link, title="t", guid=guid)


def redis_settings(server: RedisServer, **more: object) -> DedupSettings:
    return DedupSettings(backend="redis", redis_url=server.url, redis_timeout=1.0, **more)


class Replica:
    """One process's view: its own state store (outbox, journal) and a dedup backend."""

    def __init__(self, path: Path, make: str, server: RedisServer | None) -> None:
        self.state = StateStore(path)
        self.backend: DedupStore
        if make.startswith("redis"):
            assert server is not None
            settings = redis_settings(server, redis_cluster=server.cluster)
            self.backend = RedisDedupStore(connect(settings), self.state, settings)
        else:
            self.backend = LocalDedupStore(self.state)
        self.dedup = Deduplicator(self.backend)

    def accept(
        self,
        article_id: str,
        keys: tuple[str, ...],
        sketch: tuple[str, bytes] | None = None,
        published: Published | None = None,
    ) -> None:
        """What the pipeline does: the outbox transaction, then a flush for a shared store."""
        record = DedupRecord(article_id, keys, sketch, published)
        self.state.accept([], record, journal=self.backend.shared)
        self.backend.flush()


SERVERS = {"sqlite": None, "redis": "redis_server", "redis-cluster": "redis_cluster_server"}


@pytest.fixture(params=list(SERVERS))
def replica(request: pytest.FixtureRequest, tmp_path: Path) -> Replica:
    """One replica on each backend: SQLite, Redis, and a Redis Cluster through a cluster
    client (a one-node cluster: it refuses keys of different slots in one script)."""
    kind = str(request.param)
    server = SERVERS[kind]
    return Replica(tmp_path / "a.db", kind, request.getfixturevalue(server) if server else None)


def test_claim_known_release_cycle(replica: Replica) -> None:
    keys = entry_keys(entry("https://shafaq.com/en/a", guid="g1"))
    assert replica.dedup.claim(keys) is None
    busy = replica.dedup.claim(keys)
    assert busy is not None and busy.article_id is None and not busy.elsewhere
    replica.accept("a" * 32, keys)
    replica.dedup.release(keys)
    found = replica.dedup.claim(entry_keys(entry("https://other.test/x", guid="g1")))
    assert found is not None and (found.layer, found.article_id) == ("guid", "a" * 32)


def test_title_keys_answer_within_their_window(replica: Replica) -> None:
    replica.accept("b" * 32, ("title:shafaq-news:drone strike hits border crossing",))
    key = "title:shafaq-news:drone strike hits border crossing"
    assert replica.backend.seen_since(key, time.time() - 60) == "b" * 32
    assert replica.backend.seen_since(key, time.time() + 60) is None
    assert replica.backend.seen_since("title:shafaq-news:other", 0) is None


def test_sketch_candidates_share_a_band_within_the_window(
    replica: Replica,
) -> None:
    assert SIG is not None and OTHER_SIG is not None
    replica.accept("c" * 32, ("url:https://x.test/c",), sketch=("c" * 32, SIG))
    found = replica.backend.sketch_candidates(band_keys(SIG), time.time() - 60)
    assert found == [("c" * 32, "c" * 32, compact(SIG))]
    assert replica.backend.sketch_candidates(band_keys(SIG), time.time() + 60) == []
    assert replica.backend.sketch_candidates(band_keys(OTHER_SIG), 0) == []


def test_a_key_found_in_another_band_of_a_record_is_not_a_candidate(replica: Replica) -> None:
    # the index finds records by a key whichever band holds it; only the same band counts
    assert SIG is not None and OTHER_SIG is not None
    replica.accept("c" * 32, ("url:https://x.test/c",), sketch=("c" * 32, SIG))
    held, other = band_keys(SIG), band_keys(OTHER_SIG)
    same_band = (held[0], *other[1:])
    another_band = (held[-1], *other[1:])  # the record's last key, asked in the first band
    assert [c[0] for c in replica.backend.sketch_candidates(same_band, 0)] == ["c" * 32]
    assert replica.backend.sketch_candidates(another_band, 0) == []
    assert replica.backend.recent(None, 0, another_band, 0)[2] == []


def test_published_versions_round_trip(replica: Replica) -> None:
    assert SIG is not None
    kept = Published(
        "d" * 32, "h1", title_digest("title"), 2, 1_700_000_000.5, compact(SIG), "e" * 32
    )
    replica.accept("d" * 32, ("url:https://x.test/d",), published=kept)
    assert replica.backend.published("d" * 32) == kept
    bare = Published("f" * 32, "sha256:" + "ab" * 32, title_digest("t"), 0, None)
    replica.accept("f" * 32, (), published=bare)
    assert replica.backend.published("f" * 32) == bare
    assert replica.backend.published("0" * 32) is None


def test_nothing_is_recorded_before_the_accept(replica: Replica) -> None:
    keys = ("url:https://x.test/held",)
    assert replica.dedup.claim(keys) is None
    assert replica.backend.known(keys) is None  # claimed, not recorded
    replica.dedup.release(keys)  # not delivered: free again, still unknown
    assert replica.dedup.claim(keys) is None


def test_two_replicas_see_each_others_claims_and_records(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    keys = entry_keys(entry("https://shafaq.com/en/shared", guid="s1"))
    assert first.dedup.claim(keys) is None
    held = second.dedup.claim(keys)
    assert held is not None and held.elsewhere and held.article_id is None
    second.dedup.release(keys)  # not its claim: the first replica's stays
    assert second.dedup.claim(keys) is not None
    first.accept("a" * 32, keys)
    first.dedup.release(keys)
    found = second.dedup.claim(keys)
    assert found is not None and (found.article_id, found.elsewhere) == ("a" * 32, False)


def test_a_new_key_is_claimed_in_the_replica_and_confirmed_by_its_check(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 3600.0)  # a slow machine's pauses
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    client = redis.Redis.from_url(redis_server.url)
    first.accept("0" * 32, ("url:https://x.test/known",))
    for replica in (first, second):  # each index reads the log to its end now
        assert replica.backend.known(("url:https://x.test/known",)) is not None
    keys = entry_keys(entry("https://shafaq.com/en/syndicated", guid="s2"))
    scripts = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert first.dedup.claim(keys) is None  # new to both indexes: held in the replica only
    assert second.dedup.claim(keys) is None  # two feeds carrying one link: both fetch it
    assert first.dedup.claim(keys) is not None  # in flight here
    assert client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0) == scripts
    assert client.keys("{newswire}:claim:*") == []
    with first.dedup.exclusive():  # the first check confirms the keys and records them
        assert first.backend.recent(None, 0, (), 0, keys) == (None, None, [])
        first.accept("a" * 32, keys)
    first.dedup.release(keys)
    with second.dedup.exclusive():  # the second finds them recorded since its claim
        found = second.backend.recent(None, 0, (), 0, keys)
        assert found == ((keys[0], "a" * 32), None, [])
        second.accept("a" * 32, keys)  # its keys: aliases, as the pipeline files them
    second.dedup.release(keys)
    assert client.keys("{newswire}:claim:*") == []
    held = second.dedup.claim(keys)  # known now, in its index: asked of Redis
    assert held is not None and (held.article_id, held.elsewhere) == ("a" * 32, False)


def test_a_key_claimed_in_redis_is_confirmed_too_when_another_replica_claimed_it_here(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    assert first.backend.known(("url:https://x.test/warm",)) is None  # its index is current
    keys = ("url:https://x.test/raced",)
    assert second.dedup.claim(keys) is None  # its index never read: the claim is in Redis
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 3600.0)  # a slow machine's pauses
    assert first.dedup.claim(keys) is None  # new to a current index: claimed here
    with first.dedup.exclusive():
        assert first.backend.recent(None, 0, (), 0, keys) == (None, None, [])
        first.accept("a" * 32, keys)
    first.dedup.release(keys)
    with second.dedup.exclusive():  # the check finds what was recorded under its claim
        assert second.backend.recent(None, 0, (), 0, keys) == ((keys[0], "a" * 32), None, [])
    second.dedup.release(keys)


def test_a_replica_that_dies_holding_claims_frees_them_after_claim_ttl(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = redis_settings(redis_server, claim_ttl=0.3)
    dead = RedisDedupStore(connect(settings), StateStore(tmp_path / "d.db"), settings)
    alive = RedisDedupStore(connect(settings), StateStore(tmp_path / "l.db"), settings)
    assert dead.claim(("url:https://x.test/orphan",)) is None
    assert alive.claim(("url:https://x.test/orphan",)) == ("url:https://x.test/orphan", True)
    time.sleep(0.5)
    assert alive.claim(("url:https://x.test/orphan",)) is None


def test_the_journal_survives_a_crash_before_the_flush(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    path = tmp_path / "crash.db"
    crashed = Replica(path, "redis", redis_server)
    keys = ("url:https://x.test/journal",)
    crashed.state.accept([], DedupRecord("a" * 32, keys), journal=True)  # dies before the flush
    crashed.state.close()
    other = Replica(tmp_path / "other.db", "redis", redis_server)
    assert other.backend.known(keys) is None  # not in Redis yet: only in the journal
    restarted = Replica(path, "redis", redis_server)
    assert restarted.backend.known(keys) == (keys[0], "a" * 32)  # flushed before reading
    assert other.backend.known(keys) == (keys[0], "a" * 32)
    assert restarted.state.journal_batch(10) == []


def test_an_outage_is_a_typed_error_and_the_journal_waits_for_redis(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 3600.0)  # the stop may take a while
    replica = Replica(tmp_path / "r.db", "redis", redis_server)
    keys = ("url:https://x.test/outage",)
    assert replica.backend.known(keys) is None
    redis_server.stop()
    other = ("url:https://x.test/other",)
    assert replica.dedup.claim(other) is None  # new to an index that read the log just now
    with pytest.raises(DedupUnavailable, match="redis"), replica.dedup.exclusive():
        replica.backend.recent(None, 0, (), 0, other)  # the check confirms it: no answer
    replica.dedup.release(other)
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 0.0)  # the index's read too old
    with pytest.raises(DedupUnavailable, match="redis"):
        replica.dedup.claim(other)
    assert not replica.backend.reachable()
    replica.accept("a" * 32, keys)  # accepted into the outbox; the flush fails quietly
    assert len(replica.state.journal_batch(10)) == 1
    with pytest.raises(DedupUnavailable):
        replica.backend.known(keys)
    redis_server.start()  # empty: what the journal holds must come again
    assert replica.backend.known(keys) == (keys[0], "a" * 32)
    assert replica.state.journal_batch(10) == []


def test_exclusive_check_waits_for_the_other_replica_then_gives_up(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    order: list[str] = []
    holding = threading.Event()

    def hold_briefly() -> None:
        with first.dedup.exclusive():
            first.backend.recent(None, 0, (), 0)  # a check's first read takes the lock
            order.append("first in")
            holding.set()
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    holding.wait(5)
    with second.dedup.exclusive():
        second.backend.known(["url:x"])  # waits for the first to let go
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]

    monkeypatch.setattr(dedup_redis, "LOCK_WAIT_SECONDS", 0.2)
    with first.dedup.exclusive():
        first.backend.recent(None, 0, (), 0)
        with pytest.raises(DedupUnavailable, match="lock"), second.dedup.exclusive():
            second.backend.recent(None, 0, (), 0)


def test_redis_entries_expire_with_their_windows(redis_server: RedisServer, tmp_path: Path) -> None:
    settings = redis_settings(redis_server, window=3600, title_window=600, keep_keys=86400)
    state = StateStore(tmp_path / "ttl.db")
    backend = RedisDedupStore(connect(settings), state, settings)
    assert SIG is not None
    published = Published("a" * 32, "h", title_digest("t"), 0, None)
    record = DedupRecord("a" * 32, ("url:u", "title:o:t"), ("a" * 32, SIG), published)
    state.accept([], record, journal=True)
    assert backend.flush() == 1
    client = redis.Redis.from_url(redis_server.url)
    names = {name.decode() for name in client.scan_iter("{newswire}:*")}
    assert names == {"{newswire}:seq", "{newswire}:hours", "{newswire}:log", "{newswire}:layout"}
    # the log and the hour marks live the longer window past the last record; the ref
    # counter and the layout's mark never expire; a claim went with the record
    assert 0 < client.ttl("{newswire}:log") <= 86400
    assert 0 < client.ttl("{newswire}:hours") <= 86400
    assert client.ttl("{newswire}:seq") == client.ttl("{newswire}:layout") == -1
    assert client.xlen("{newswire}:log") == 1


def test_redis_urls_are_logged_without_their_password() -> None:
    assert redacted("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("redis://user:s3cret@cache/1") == "redis://user:***@cache/1"
    assert redacted("redis://cache:6379/0") == "redis://cache:6379/0"


def test_the_one_node_cluster_refuses_keys_of_two_slots(redis_cluster_server: RedisServer) -> None:
    """What makes the cluster runs above a check of the key layout: a script whose keys are
    in two slots fails there, so every script of the backend keeps its keys in one."""
    client = redis.Redis.from_url(redis_cluster_server.url)
    with pytest.raises(redis.ResponseError, match="same slot"):
        client.eval("return 1", 2, "newswire:a", "newswire:b")
    assert client.eval("return 1", 2, "{newswire}:a", "{newswire}:b") == 1


@pytest.fixture
def one_row_nodes(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's redis-server with one row a stream node, so the log's approximate trim
    (whole nodes) is exact; Redis's default (100) again after the test."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.config_set("stream-node-max-entries", 1)
        yield redis_server
        client.config_set("stream-node-max-entries", 100)


def test_the_log_and_the_index_forget_what_is_older_than_its_window(
    one_row_nodes: RedisServer, tmp_path: Path
) -> None:
    """The log keeps rows for the longer window (keys, 1 day here): the old article's URL is
    still known. Pruning drops its band keys from the replica's index once the near-duplicate
    window (1 hour) has passed, so only the new article is a near candidate; the log's rows
    older than a day are trimmed as records arrive."""
    redis_server = one_row_nodes
    settings = redis_settings(redis_server, window=3600, keep_keys=86400)
    state = StateStore(tmp_path / "w.db")
    backend = RedisDedupStore(connect(settings), state, settings)
    client = redis.Redis.from_url(redis_server.url)
    assert SIG is not None
    ancient, old, new = "9" * 32, "a" * 32, "b" * 32
    now = time.time()
    for article, url, at in (
        (ancient, "url:ancient", now - 3 * 86400),
        (old, "url:old", now - 3 * 3600),
    ):
        state.accept([], DedupRecord(article, (url,), (article, SIG), at=at), journal=True)
    assert backend.flush() == 2
    state.accept([], DedupRecord(new, ("url:new",), (new, SIG), at=now), journal=True)
    assert backend.flush() == 1
    assert [found[0] for found in backend.sketch_candidates(band_keys(SIG), 0)] == [new, old]
    backend.prune(now - 3600, now - 600, now - 86400)
    assert [found[0] for found in backend.sketch_candidates(band_keys(SIG), 0)] == [new]
    assert backend.known(["url:old"]) == ("url:old", old)
    kept = [entry_id for entry_id, _ in client.xrange("{newswire}:log")]
    assert kept == [b"2-0", b"3-0"]  # the ancient row was trimmed when the old one came


def test_recent_answers_the_title_and_the_near_layer_at_once(replica: Replica) -> None:
    assert SIG is not None and OTHER_SIG is not None
    title = "title:shafaq-news:drone strike hits border crossing"
    replica.accept("c" * 32, (title,), sketch=("c" * 32, SIG))
    now = time.time()
    assert replica.backend.recent(title, now - 60, band_keys(SIG), now - 60) == (
        None,
        "c" * 32,
        [("c" * 32, "c" * 32, compact(SIG))],
    )
    assert replica.backend.recent(title, now + 60, band_keys(OTHER_SIG), now - 60) == (
        None,
        None,
        [],
    )
    assert replica.backend.recent(None, 0, (), 0) == (None, None, [])


def test_the_check_lock_goes_with_the_journals_last_record(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A backlog in the journal (an outage) is flushed before the article just checked; the
    lock goes with that article's record (kept for the replica's next check, a lease), not
    with the first of the backlog; the lease is let go once the replica idles."""
    replica = Replica(tmp_path / "lock.db", "redis", redis_server)
    backend = replica.backend
    assert isinstance(backend, RedisDedupStore)
    replica.state.accept([], DedupRecord("a" * 32, ("url:old",)), journal=True)  # backlog
    calls: list[tuple[str, bool]] = []
    run, send_ahead = backend._link.run, backend._link.send_ahead

    def recording(script: Any, keys: list[str], args: list[object]) -> object:
        if script is backend._record:
            calls.append(("run", args[5] == "keep"))
        return run(script, keys, args)

    def recording_ahead(script: Any, keys: list[str], args: list[object], settled: Any) -> None:
        calls.append(("ahead", args[5] == "keep"))
        send_ahead(script, keys, args, settled)

    backend._link.run = recording  # type: ignore[method-assign]
    backend._link.send_ahead = recording_ahead  # type: ignore[method-assign]
    client = redis.Redis.from_url(redis_server.url)
    with replica.dedup.exclusive():
        assert not client.exists("{newswire}:lock:check")  # taken by the check's first read
        replica.backend.recent(None, 0, (), 0)
        assert client.exists("{newswire}:lock:check")
        replica.accept("b" * 32, ("url:new",))
    backend._link.settle()  # the record was sent ahead: its reply read, it has run
    # the backlog, flushed by the first read before the lock is taken, is the journal's last
    # record then: sent ahead, it runs at once (no record has run on the connection yet);
    # the check's own record is sent ahead with the lock, to keep it
    assert calls == [("ahead", False), ("run", False), ("ahead", True)]
    assert _lock_goes(client) < 2.0  # the lease, idle, is let go (lease.IDLE)
    assert backend.known(["url:old"]) == ("url:old", "a" * 32)


def _holds_lock(client: redis.Redis, backend: RedisDedupStore) -> bool:
    """True when the check lock is `backend`'s (its token, or its token marked by a lease)."""
    held = client.get("{newswire}:lock:check")
    token = backend._token.encode()
    return held is not None and (held == token or held.startswith(token + b"#"))


def _lock_goes(client: redis.Redis, within: float = 5.0) -> float:
    """Seconds until the check lock is gone (at most `within`)."""
    started = time.monotonic()
    while client.exists("{newswire}:lock:check") and time.monotonic() - started < within:
        time.sleep(0.002)
    return time.monotonic() - started


def _bucket_layout(client: redis.Redis, records: list[DedupRecord]) -> None:
    """Records filed as the bucket layout (before the log) filed them, refs 1, 2, ...: packed
    records in 150-byte slots of 272-slot strings (a long one in its own string), a key's
    hash split into a bucket (low 16 bits) and a 10-byte entry, a band key into a bucket (low
    18 bits) and a 6-byte entry (see redis_upgrade)."""
    buckets: dict[str, bytes] = {}
    chunks: dict[int, bytearray] = {}
    for ref, record in enumerate(records, start=1):
        blob = pack(record)
        slot = chunks.setdefault(ref // 272, bytearray(272 * 150))
        at = (ref % 272) * 150
        if len(blob) <= 148:
            slot[at : at + 2 + len(blob)] = len(blob).to_bytes(2, "little") + blob
        else:
            slot[at : at + 2] = b"\xff\xff"
            client.set(f"{{newswire}}:big:{ref}", blob)
        own = ref.to_bytes(4, "little")
        for hashed in map(key_hash, record_keys(record)):
            name = f"{{newswire}}:k:{hashed % 65536}"
            buckets[name] = buckets.get(name, b"") + (hashed >> 16).to_bytes(6, "little") + own
        for band in record_bands(record) or ():
            name = f"{{newswire}}:b:{band % 262144}"
            buckets[name] = buckets.get(name, b"") + (band >> 18).to_bytes(2, "little") + own
    for chunk, slot in chunks.items():
        client.set(f"{{newswire}}:rec:{chunk}", bytes(slot))
    client.mset(buckets)
    client.set("{newswire}:seq", len(records))
    client.zadd("{newswire}:hours", {"1": hour_of(records[0].at)})


def test_a_window_of_the_bucket_layout_is_moved_into_the_log_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """What replicas recorded before the log layout is answered after an upgrade: keys,
    published versions, near candidates, a record too long for its slot; the buckets go."""
    assert SIG is not None
    now = time.time()
    published = Published("a" * 32, "sha256:" + "ab" * 32, title_digest("t"), 2, None)
    records = [
        DedupRecord("a" * 32, ("url:a", "guid:a"), ("a" * 32, SIG), published, at=now - 60),
        DedupRecord("b" * 32, ("url:b",), at=now - 30),
        DedupRecord("long id " * 30, ("url:long",), at=now - 10),  # over 148 bytes packed
    ]
    client = redis.Redis.from_url(redis_server.url)
    _bucket_layout(client, records)
    client.xadd("{newswire}:log", {"r": b"cut short"}, id="1-0")  # a move that died midway
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    assert first.backend.known(["url:b"]) == ("url:b", "b" * 32)
    assert first.backend.known(["guid:a"]) == ("guid:a", "a" * 32)
    assert first.backend.known(["url:long"]) == ("url:long", "long id " * 30)
    assert first.backend.published("a" * 32) == published
    assert [c[0] for c in first.backend.sketch_candidates(band_keys(SIG), 0)] == ["a" * 32]
    names = {name.decode() for name in client.scan_iter("{newswire}:*")}
    assert names == {"{newswire}:seq", "{newswire}:hours", "{newswire}:log", "{newswire}:layout"}
    assert client.xlen("{newswire}:log") == 3
    first.accept("c" * 32, ("url:c",))  # the next ref follows the moved ones
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    assert second.backend.known(["url:c"]) == ("url:c", "c" * 32)
    assert client.xlen("{newswire}:log") == 4  # moved once


def test_a_replica_waits_while_another_moves_the_window(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    _bucket_layout(client, [DedupRecord("b" * 32, ("url:b",), at=time.time())])
    client.set("{newswire}:lock:upgrade", "another replica")
    replica = Replica(tmp_path / "w.db", "redis", redis_server)
    with pytest.raises(DedupUnavailable, match="moving"):
        replica.backend.known(["url:b"])
    replica.state.accept([], DedupRecord("c" * 32, ("url:c",)), journal=True)
    assert replica.backend.flush() == 0  # the record waits in the journal
    client.delete("{newswire}:lock:upgrade")
    assert replica.backend.known(["url:b"]) == ("url:b", "b" * 32)  # the journal went first
    assert replica.backend.known(["url:c"]) == ("url:c", "c" * 32)


def test_a_replica_far_behind_reads_the_log_in_batches_then_answers(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that starts on a log longer than a read's tail reads it to the end (several
    reads, indexed in several loads), then answers for a key in the middle of it and for the
    near copies of an article at its start."""
    assert SIG is not None
    monkeypatch.setattr(dedup_redis, "TAIL_ROWS", 2)
    monkeypatch.setattr(dedup_redis, "CATCH_UP_ROWS", 3)
    monkeypatch.setattr(dedup_redis, "CATCH_UP_LOAD", 4)
    writer = Replica(tmp_path / "w.db", "redis", redis_server)
    writer.accept("0" * 32, ("url:first",), sketch=("0" * 32, SIG))
    for n in range(1, 12):
        writer.accept(f"{n:032x}", (f"url:{n}",))
    late = Replica(tmp_path / "late.db", "redis", redis_server)
    assert late.backend.known(["url:7"]) == ("url:7", f"{7:032x}")
    assert isinstance(late.backend, RedisDedupStore) and late.backend._mirror.offset == 12
    assert [c[0] for c in late.backend.sketch_candidates(band_keys(SIG), 0)] == ["0" * 32]
    assert late.backend.claim_new(("url:11",)) == ("url:11", f"{11:032x}", False)


def test_a_replica_behind_the_log_catches_up_before_it_takes_the_check_lock(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica whose index last read the log a while ago (idle, stalled) reads the log's
    new rows before its check takes the lock, not while the other replicas wait on it."""
    monkeypatch.setattr(dedup_redis, "TAIL_ROWS", 2)
    writer = Replica(tmp_path / "w.db", "redis", redis_server)
    reader = Replica(tmp_path / "r.db", "redis", redis_server)
    backend = reader.backend
    assert isinstance(backend, RedisDedupStore)
    assert backend.known(["url:0"]) is None  # its index is current
    for n in range(1, 8):
        writer.accept(f"{n:032x}", (f"url:{n}",))
    backend._read_at -= 2 * dedup_redis.CURRENT_WITHIN  # as if it had stalled since
    locked_at_catch_up = []
    catch_up = backend.catch_up

    def watched() -> int:
        locked_at_catch_up.append(backend._locked)
        return catch_up()

    monkeypatch.setattr(backend, "catch_up", watched)
    with reader.dedup.exclusive():
        known, _, _ = backend.recent(None, 0, (), 0, ("url:6",))
        assert backend._locked
    assert known == ("url:6", f"{6:032x}")
    assert locked_at_catch_up == [False]
    assert backend._mirror.offset == 7


def test_a_replica_indexes_the_shared_log_at_start_and_waits_out_a_redis_outage(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The service reads the log into a replica's index before the loop checks anything (in
    a thread); with Redis down that is a warning, and the first read catches up later."""
    writer = Replica(tmp_path / "w.db", "redis", redis_server)
    for n in range(3):
        writer.accept(f"{n:032x}", (f"url:{n}",))
    starting = Replica(tmp_path / "s.db", "redis", redis_server)
    assert isinstance(starting.backend, RedisDedupStore)
    caplog.set_level(logging.INFO, logger="newswire.service")
    asyncio.run(index_shared_dedup(starting.backend))
    assert starting.backend._mirror.offset == 3
    assert "indexed the shared dedup log" in caplog.text
    assert LocalDedupStore(StateStore(tmp_path / "l.db")).catch_up() == 0

    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    settings = DedupSettings(backend="redis", redis_url=url, redis_timeout=0.5)
    down = RedisDedupStore(connect(settings), StateStore(tmp_path / "d.db"), settings)
    asyncio.run(index_shared_dedup(down))
    assert "could not read the shared dedup log at start" in caplog.text


def test_both_backends_answer_alike_over_a_random_history(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The same random history of records (keys shared between articles, titles recorded
    again, revisions, sketches of a few texts) filed in SQLite and in Redis: every question
    gets the same answer from both, the Redis one through a second replica's index too."""
    rng = random.Random(24)
    sigs = [signature(" ".join(story(n)[1])) for n in range(2, 6)]
    keys = [f"url:{n}" for n in range(12)] + [f"guid:g{n}" for n in range(6)]
    keys += [f"title:o:story {n} of the day" for n in range(5)]
    local = Replica(tmp_path / "local.db", "sqlite", None)
    shared = Replica(tmp_path / "shared.db", "redis", redis_server)
    now = time.time()
    for step in range(120):
        article = f"{rng.randrange(30):032x}"
        picked = tuple(dict.fromkeys(rng.sample(keys, rng.randint(1, 3))))
        sig = rng.choice([None, *sigs])
        published = None
        if rng.random() < 0.4:
            published = Published(article, f"h{step}", title_digest(f"t{step}"), step, None)
        record = DedupRecord(
            article, picked, (article, sig) if sig else None, published, at=now - 600 + step
        )
        for replica in (local, shared):
            replica.state.accept([], record, journal=replica.backend.shared)
            replica.backend.flush()
    reader = Replica(tmp_path / "reader.db", "redis", redis_server)
    seen: list[str | None] = []
    for key in keys:
        answers = {r.backend.known([key]) for r in (local, shared, reader)}
        assert len(answers) == 1, key
        since = {r.backend.seen_since(key, now - 540) for r in (local, shared, reader)}
        assert len(since) == 1, key
        seen.append(since.pop())
    titles = [keys.index(key) for key in keys if key.startswith("title:")]
    assert None in seen and any(seen[i] for i in titles)  # some too old, titles answered
    versions = []
    for n in range(30):
        article = f"{n:032x}"
        answers = {repr(r.backend.published(article)) for r in (local, shared, reader)}
        assert len(answers) == 1, article
        versions.append(answers.pop())
    assert 5 < sum(v != "None" for v in versions) < 30
    for sig in sigs:
        assert sig is not None
        found = [
            sorted(r.backend.sketch_candidates(band_keys(sig), now - 560))
            for r in (local, shared, reader)
        ]
        assert found[0] == found[1] == found[2] and found[0]


def test_a_check_whose_record_failed_keeps_the_lock_until_the_record_is_written(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that times out waits in the journal; the check lock stays with its replica,
    so another replica cannot check a copy against a window that lacks the story. The next
    flush writes the record and lets the lock go with it."""
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    backend = first.backend
    assert isinstance(backend, RedisDedupStore)
    run = backend._link.run
    failures = [redis.TimeoutError("Timeout reading from socket")]

    def record_times_out(script: Any, keys: list[str], args: list[object]) -> object:
        if script is backend._record and failures:
            raise failures.pop()
        return run(script, keys, args)

    backend._link.run = record_times_out  # type: ignore[method-assign]
    story = ("a" * 32, SIG)
    with first.dedup.exclusive():
        assert first.backend.recent(None, 0, band_keys(SIG), 0) == (None, None, [])
        first.accept("a" * 32, ("url:https://x.test/story",), story)  # the flush fails
    client = redis.Redis.from_url(redis_server.url)
    assert _holds_lock(client, backend)
    assert len(first.state.journal_batch(10)) == 1

    monkeypatch.setattr(dedup_redis, "LOCK_WAIT_SECONDS", 0.2)
    with pytest.raises(DedupUnavailable, match="lock"), second.dedup.exclusive():
        second.backend.recent(None, 0, band_keys(SIG), 0)  # the copy's check waits

    assert first.backend.flush() == 1  # the story's record, and the lock with it
    assert _lock_goes(client) < 2.0  # the lease, idle, is let go
    with second.dedup.exclusive():
        _, _, candidates = second.backend.recent(None, 0, band_keys(SIG), 0)
    assert [c[0] for c in candidates] == ["a" * 32]


def _checked(replica: Replica, article_id: str, url: str) -> None:
    """One check as the pipeline makes it: the read under the lock, then the accept."""
    assert SIG is not None
    with replica.dedup.exclusive():
        replica.backend.recent(None, 0, band_keys(SIG), 0)
        replica.accept(article_id, (url,), (article_id, SIG))


def test_a_record_sent_ahead_that_did_not_run_is_filed_before_the_next_read(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's record is sent ahead of its reply. When Redis refuses it (here: the server
    lost the script), the record stays in the journal and the check lock with the replica;
    the next read files it first, so a repeat of the story is known, and the lock goes."""
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    backend = first.backend
    assert isinstance(backend, RedisDedupStore)
    client = redis.Redis.from_url(redis_server.url)
    _checked(first, "0" * 32, "url:https://x.test/earlier")  # the record script is loaded
    client.script_flush()
    _checked(first, "a" * 32, "url:https://x.test/story")  # sent ahead: NOSCRIPT
    assert _holds_lock(client, backend)
    monkeypatch.setattr(dedup_redis, "LOCK_WAIT_SECONDS", 0.2)
    with pytest.raises(DedupUnavailable, match="lock"), second.dedup.exclusive():
        second.backend.recent(None, 0, band_keys(SIG), 0)  # the copy's check waits

    repeat = first.dedup.claim(("url:https://x.test/story",))
    assert repeat is not None and repeat.article_id == "a" * 32
    assert first.state.journal_batch(10) == []
    assert _lock_goes(client) < 2.0  # the lease, idle, is let go
    with second.dedup.exclusive():
        _, _, candidates = second.backend.recent(None, 0, band_keys(SIG), 0)
    assert sorted(c[0] for c in candidates) == ["0" * 32, "a" * 32]


def test_a_record_sent_ahead_whose_connection_went_is_filed_again(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The connection closes under a record sent ahead (a restart, an idle timeout): it may
    or may not have run, so it is filed again from the journal before the next read (a
    record filed twice answers as once)."""
    replica = Replica(tmp_path / "one.db", "redis", redis_server)
    backend = replica.backend
    assert isinstance(backend, RedisDedupStore)
    client = redis.Redis.from_url(redis_server.url)
    _checked(replica, "0" * 32, "url:https://x.test/earlier")
    backend._link.settle()
    kept = backend._link._conn  # the link's connection (other tests' may still be open)
    kept.send_command("CLIENT", "ID")
    link = str(kept.read_response())
    assert SIG is not None
    with replica.dedup.exclusive():
        replica.backend.recent(None, 0, band_keys(SIG), 0)  # the lock taken, the reply read
        client.client_kill_filter(_id=link)
        replica.accept("a" * 32, ("url:https://x.test/story",), ("a" * 32, SIG))  # sent ahead
    assert _holds_lock(client, backend)  # never reached it
    repeat = replica.dedup.claim(("url:https://x.test/story",))
    assert repeat is not None and repeat.article_id == "a" * 32
    assert replica.state.journal_batch(10) == []
    assert replica.backend.known(["url:https://x.test/earlier"]) == (
        "url:https://x.test/earlier",
        "0" * 32,
    )
    assert _lock_goes(client) < 2.0  # the lease, idle, is let go


def test_the_index_seals_what_a_check_took_in_after_the_lock_has_gone(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows a check's read brings in (another replica's records) fill the replica's index;
    its sort and merge (seconds at millions of articles) wait until the check lock is let
    go, so no other replica waits on the lock for them."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)
    # the index read the log's end lately: the check's own read brings the new rows
    monkeypatch.setattr(dedup_redis, "CURRENT_WITHIN", 3600.0)
    first = Replica(tmp_path / "one.db", "redis", redis_server)
    second = Replica(tmp_path / "two.db", "redis", redis_server)
    backend = first.backend
    assert isinstance(backend, RedisDedupStore)
    assert backend.known(["url:https://y.test/none"]) is None
    client = redis.Redis.from_url(redis_server.url)
    for n in range(4):  # 4 x 32 band keys from the other replica
        sig = signature(" ".join(story(10 + n)[1]))
        assert sig is not None
        second.accept(f"{n:032x}", (f"url:https://y.test/{n}",), (f"{n:032x}", sig))
    near = backend._mirror.near
    assert SIG is not None
    with first.dedup.exclusive():
        first.backend.recent(None, 0, band_keys(SIG), 0)
        assert _holds_lock(client, backend)
        assert near._runs == [] and len(near) == 128  # taken in, not sealed under the lock
    assert len(near._runs) == 1 and len(near) == 128
    assert _lock_goes(client) < 2.0  # the lease, idle, is let go


def _reads(backend: RedisDedupStore) -> list[int]:
    """Counts the read scripts `backend` runs, into the list returned (one item a read)."""
    reads: list[int] = []
    run = backend._link.run

    def counting(script: Any, keys: list[str], args: list[object]) -> object:
        if script is backend._read:
            reads.append(1)
        return run(script, keys, args)

    backend._link.run = counting  # type: ignore[method-assign]
    return reads


@pytest.mark.parametrize("trusted", [True, False])
def test_a_replica_keeps_the_check_lock_across_its_checks_and_lets_it_go_idle(
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    trusted: bool,
) -> None:
    """A check's record keeps the check lock for the replica's next check (a lease): that
    check, whose index names no row, reads nothing from Redis, and its record is filed. A
    lease not trusted any more (lease.TRUST after the record that kept it) is read through
    as before. Once the replica idles, the lease is let go."""
    from newswire.dedup import lease

    if not trusted:
        monkeypatch.setattr(lease, "TRUST", 0.0)
    replica = Replica(tmp_path / "lease.db", "redis", redis_server)
    backend = replica.backend
    assert isinstance(backend, RedisDedupStore)
    client = redis.Redis.from_url(redis_server.url)
    reads = _reads(backend)
    _checked(replica, "0" * 32, "url:https://x.test/first")
    assert len(reads) == 1 and _holds_lock(client, backend)  # kept: the lease
    other = signature(" ".join(story(7)[1]))
    assert other is not None
    with replica.dedup.exclusive():
        assert backend.recent(None, 0, band_keys(other), 0) == (None, None, [])
        replica.accept("1" * 32, ("url:https://x.test/second",), ("1" * 32, other))
    assert len(reads) == (1 if trusted else 2)
    assert _lock_goes(client) < 2.0
    assert backend.known(["url:https://x.test/second"]) == ("url:https://x.test/second", "1" * 32)


def test_a_lease_lets_the_lock_go_to_a_waiting_replica_which_sees_the_record(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that finds the lock kept by another's lease says it waits (`wanted`); the
    holder's next record lets the lock go instead of keeping it, and the waiting check
    reads that record: a near copy of the story recorded there is a duplicate. The holder's
    check after it reads again, and finds the other's record."""
    from newswire.dedup import lease

    monkeypatch.setattr(lease, "IDLE", 60.0)  # only a waiting replica or `close` lets it go
    holder = Replica(tmp_path / "one.db", "redis", redis_server)
    waiter = Replica(tmp_path / "two.db", "redis", redis_server)
    backend = holder.backend
    assert isinstance(backend, RedisDedupStore) and isinstance(waiter.backend, RedisDedupStore)
    client = redis.Redis.from_url(redis_server.url)
    reads = _reads(backend)
    _checked(holder, "0" * 32, "url:https://x.test/first")
    assert SIG is not None and OTHER_SIG is not None
    seen: list[object] = []

    def waiting_check() -> None:
        with waiter.dedup.exclusive():
            seen.append(waiter.backend.recent(None, 0, band_keys(SIG), 0)[2])
            waiter.accept("b" * 32, ("url:https://y.test/copy",), ("b" * 32, OTHER_SIG))

    thread = threading.Thread(target=waiting_check)
    thread.start()
    deadline = time.monotonic() + 5
    while not client.exists("{newswire}:lock:wanted") and time.monotonic() < deadline:
        time.sleep(0.002)
    assert client.get("{newswire}:lock:wanted") == waiter.backend._token.encode()
    with holder.dedup.exclusive():  # the lease: no read; the record lets the lock go
        assert backend.recent(None, 0, band_keys(OTHER_SIG), 0) == (None, None, [])
        holder.accept("a" * 32, ("url:https://x.test/story",), ("a" * 32, SIG))
    thread.join(timeout=10)
    assert len(reads) == 1
    assert len(seen) == 1  # its candidates: the story, recorded by the holder, among them
    assert ("a" * 32, "a" * 32, compact(SIG)) in seen[0]  # type: ignore[operator]
    waiter.backend.close()  # its lease goes at once
    assert not client.exists("{newswire}:lock:check")
    with holder.dedup.exclusive():  # let go: read again, and the copy is there
        assert backend.recent(None, 0, band_keys(OTHER_SIG), 0)[2] == [
            ("b" * 32, "b" * 32, compact(OTHER_SIG))
        ]
    assert len(reads) == 2
    backend.close()
    assert not client.exists("{newswire}:lock:check")
