"""The state store: feed schedules and validators survive a restart; old files are upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from newswire.models import DedupRecord, FeedSpec, FeedState, OutboxRecord, OutletSpec, Validators
from newswire.state import StateStore

FEED = FeedSpec("o.rss", "https://o.test/rss", OutletSpec(id="o", name="O"), 300)


def test_a_feed_never_polled_is_due_now_with_its_configured_interval(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "s.db").feed_state(FEED)
    assert state == FeedState(FEED.url, FEED.id, 300)
    assert state.next_poll == 0 and state.validators == Validators()


def test_feed_state_round_trips_across_a_reopen(tmp_path: Path) -> None:
    saved = FeedState(
        feed_url=FEED.url,
        feed_id=FEED.id,
        interval_s=610.5,
        next_poll=1_800_000_123.5,
        consecutive_errors=3,
        last_success=1_799_999_000.0,
        last_error=1_800_000_000.0,
        last_reason="http_5xx",
        items_seen=42,
        validators=Validators('"e"', "Sat, 21 Nov 2026 00:00:00 GMT"),
        body_hash="ab" * 32,
    )
    store = StateStore(tmp_path / "s.db")
    store.save_feed_state(saved)
    store.close()
    reopened = StateStore(tmp_path / "s.db")
    assert reopened.feed_state(FEED) == saved
    assert reopened.feed_states() == [saved]
    assert reopened.writable()


def test_a_state_file_from_the_first_release_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE feed_state (feed_url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, "
        "last_success REAL) WITHOUT ROWID;"
        "INSERT INTO feed_state VALUES ('https://o.test/rss', '\"old\"', NULL, 1.0);"
    )
    db.commit()
    db.close()
    state = StateStore(path).feed_state(FEED)
    assert state.validators == Validators('"old"', None)
    assert (state.interval_s, state.next_poll, state.consecutive_errors) == (300, 0, 0)


def test_dedup_tables_of_earlier_releases_are_filed_again_on_open(tmp_path: Path) -> None:
    from newswire.dedup_codec import title_digest
    from newswire.sketch import band_keys, compact, signature
    from tests.stories import story

    sig = signature(" ".join(story(5)[1]))
    assert sig is not None
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the tables as earlier releases wrote them
        db.execute(
            "CREATE TABLE sketches (article_id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, "
            "signature BLOB NOT NULL, seen_at REAL NOT NULL) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE sketch_bands (band INTEGER NOT NULL, key INTEGER NOT NULL, "
            "article_id TEXT NOT NULL, PRIMARY KEY (band, key, article_id)) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE seen_keys (key TEXT PRIMARY KEY, article_id TEXT NOT NULL, "
            "seen_at REAL NOT NULL) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE published (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
            "title TEXT NOT NULL, revision INTEGER NOT NULL, source_updated REAL, sketch BLOB, "
            "cluster_id TEXT, seen_at REAL NOT NULL) WITHOUT ROWID"
        )
        db.execute("INSERT INTO sketches VALUES (?, ?, ?, ?)", ("a" * 32, "c" * 32, sig, 100.0))
        db.execute(
            "INSERT INTO seen_keys VALUES (?, ?, ?)", ("url:https://x.test/a", "a" * 32, 100.0)
        )
        db.execute(
            "INSERT INTO published VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("a" * 32, "sha256:" + "0f" * 32, "The Title!", 1, 90.0, sig, "c" * 32, 100.0),
        )
    store = StateStore(path)
    assert store.sketch_candidates(band_keys(sig), 50.0) == [("a" * 32, "c" * 32, compact(sig))]
    assert store.known(["url:https://x.test/a"]) == ("url:https://x.test/a", "a" * 32)
    published = store.published("a" * 32)
    assert published is not None and published.title_digest == title_digest("the title")
    assert (published.revision, published.source_updated, published.sketch) == (
        1,
        90.0,
        compact(sig),
    )
    tables = {row[0] for row in store._db.execute("SELECT name FROM sqlite_master")}
    assert tables.isdisjoint({"sketches", "sketch_bands", "seen_keys", "published"})
    assert store.prune(10_000.0, 0.0, 10_000.0) == 3  # its three records, from hour 0
    assert store.sketch_candidates(band_keys(sig), 0.0) == []
    assert store.known(["url:https://x.test/a"]) is None


def test_taken_journal_records_go_with_the_next_journalled_accept_or_at_close(
    tmp_path: Path,
) -> None:
    """A flush costs no commit of its own: records the shared store took leave the journal's
    reads at once, and the file with the next journalled record's transaction (or at close)."""
    path = tmp_path / "journal.db"
    state = StateStore(path)

    def on_disk() -> list[int]:
        with closing(sqlite3.connect(path)) as db:
            return [seq for (seq,) in db.execute("SELECT seq FROM dedup_journal ORDER BY seq")]

    for n in "123":
        state.accept([], DedupRecord(n * 32, (f"url:{n}",)), journal=True)
    assert [seq for seq, _ in state.journal_batch(10)] == [1, 2, 3]
    state.journal_remove([1, 2])
    assert [(seq, r.article_id) for seq, r in state.journal_batch(10)] == [(3, "3" * 32)]
    assert on_disk() == [1, 2, 3]
    state.accept([], DedupRecord("4" * 32, ("url:4",)), journal=True)
    assert on_disk() == [3, 4]
    state.journal_remove([3, 4])
    state.close()
    assert on_disk() == []
    assert StateStore(path).journal_batch(10) == []


def test_a_rolled_back_accept_keeps_taken_journal_records_due_for_deletion(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rollback.db"
    state = StateStore(path)
    state.accept([], DedupRecord("1" * 32, ("url:1",)), journal=True)
    state.journal_remove([1])

    def failing() -> Iterator[OutboxRecord]:  # the outbox rows fail after the journal's delete
        raise RuntimeError("disk full")
        yield

    with pytest.raises(RuntimeError, match="disk full"):
        state.accept(failing(), DedupRecord("2" * 32, ("url:2",)), journal=True)
    assert [seq for seq, _ in state.journal_batch(10)] == []
    state.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT seq FROM dedup_journal").fetchall() == []


def test_the_journal_is_read_from_the_file_until_it_is_known_whole_then_from_memory(
    tmp_path: Path,
) -> None:
    """Records journalled before a restart are read from the file; once a read finds the
    journal whole, a flush takes what was accepted since from memory. Every batch matches
    what a fresh reader of the file sees."""
    path = tmp_path / "memo.db"
    first = StateStore(path)
    for n in "12":
        first.accept([], DedupRecord(n * 32, (f"url:{n}",), at=float(n)), journal=True)
    first.close()
    state = StateStore(path)
    reads: list[str] = []
    state._db.set_trace_callback(
        lambda sql: reads.append(sql) if sql.startswith("SELECT seq, record") else None
    )

    def from_file() -> list[tuple[int, DedupRecord]]:
        return StateStore(path).journal_batch(10)  # a fresh reader: the file only

    assert state.journal_batch(1) == from_file()[:1]  # a full batch: more may be there
    assert state.journal_batch(10) == from_file()  # fewer than asked: the whole journal
    assert len(reads) == 2
    state.journal_remove([1, 2])
    for n in "345":
        state.accept([], DedupRecord(n * 32, (f"url:{n}",), at=float(n)), journal=True)
    assert state.journal_batch(10) == [(seq, r) for seq, r in from_file() if seq > 2]
    assert [r.article_id for _, r in state.journal_batch(2)] == ["3" * 32, "4" * 32]
    state.journal_remove([3, 4])
    assert [r.article_id for _, r in state.journal_batch(10)] == ["5" * 32]
    assert len(reads) == 2  # none of these went to the file


def test_a_rolled_back_accept_leaves_nothing_in_the_journal_in_memory(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "memo-rollback.db")
    assert state.journal_batch(10) == []  # known whole (empty) from here on

    def failing() -> Iterator[OutboxRecord]:
        raise RuntimeError("disk full")
        yield

    with pytest.raises(RuntimeError, match="disk full"):
        state.accept(failing(), DedupRecord("1" * 32, ("url:1",)), journal=True)
    assert state.journal_batch(10) == []
    state.accept([], DedupRecord("2" * 32, ("url:2",)), journal=True)
    assert [r.article_id for _, r in state.journal_batch(10)] == ["2" * 32]
