"""The compact dedup memory: records packed and read back whole, and the in-memory band index
answering as a plain dict of sets would, through seals, merges and expiry."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire import band_index
from newswire.band_index import BandIndex
from newswire.dedup.mirror import Mirror
from newswire.dedup_codec import (
    Row,
    index_entries,
    key_hash,
    pack,
    pack_row,
    packed_row,
    record_keys,
    row_bytes,
    title_digest,
    unpack,
    unpack_row,
)
from newswire.models import DedupRecord, Published
from newswire.sketch import band_keys, compact, signature
from tests.stories import story

SIG = signature(" ".join(story(2)[1]))
OTHER = signature(" ".join(story(5)[1]))
HEX_ID = st.text("0123456789abcdef", min_size=32, max_size=32)
ANY_ID = HEX_ID | st.text(min_size=0, max_size=40)


@given(
    article_id=ANY_ID,
    cluster=st.none() | ANY_ID,
    content_hash=st.just("sha256:" + "ab" * 32) | st.text(max_size=20),
    revision=st.integers(0, 65535),
    updated=st.none() | st.floats(0, 4e9),
    with_sketch=st.booleans(),
    with_published=st.booleans(),
    at=st.floats(0, 4e9),
)
def test_a_record_reads_back_as_it_was_filed(
    article_id: str,
    cluster: str | None,
    content_hash: str,
    revision: int,
    updated: float | None,
    with_sketch: bool,
    with_published: bool,
    at: float,
) -> None:
    assert SIG is not None
    published = (
        Published(article_id, content_hash, title_digest("a b"), revision, updated, None, cluster)
        if with_published
        else None
    )
    sketch = (cluster or article_id, SIG) if with_sketch else None
    record = DedupRecord(article_id, ("url:x",), sketch, published, at)
    seen = unpack(pack(record))
    assert (seen.article_id, seen.at, seen.published) == (article_id, at, published)
    assert seen.sig == (compact(SIG) if with_sketch else None)
    assert seen.cluster_id == (sketch[0] if sketch else None)


def test_a_log_row_carries_the_records_key_hashes_band_keys_and_bytes() -> None:
    assert SIG is not None
    article_id = "0123456789abcdef" * 2
    published = Published(
        article_id, "sha256:" + "ab" * 32, title_digest("t"), 3, 1.7e9, compact(SIG), article_id
    )
    record = DedupRecord(article_id, ("url:x", "guid:y"), (article_id, SIG), published, 1.7e9)
    row = unpack_row(7, pack_row(record))
    assert row.ref == 7
    assert row.hashes == tuple(key_hash(key) for key in record_keys(record))
    assert row.bands == band_keys(SIG)
    assert unpack(row.record).published == published
    assert len(pack_row(record)) < 350  # the bytes a row costs in the log, before Redis's own
    bare = unpack_row(8, pack_row(DedupRecord("b" * 32, ("url:z",))))
    assert (bare.hashes, bare.bands) == ((key_hash("url:z"),), None)


def _rows(count: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    return [
        Row(
            ref,
            tuple(rng.getrandbits(63) for _ in range(rng.randint(1, 4))),
            tuple(rng.getrandbits(32) for _ in range(32)) if rng.random() < 0.5 else None,
            b"",
        )
        for ref in range(1, count + 1)
    ]


def test_the_mirror_indexes_a_long_log_read_in_bulk_as_tails_read_one_by_one() -> None:
    rows = _rows(300, seed=3)
    one_by_one, bulk = Mirror(), Mirror()
    for start in range(0, 300, 7):
        one_by_one.apply(rows[start : start + 7])
    packed = b"".join(
        packed_row(row.ref, row_bytes(row.hashes, row.bands, row.record)) for row in rows
    )
    bulk.load(index_entries(packed))
    assert one_by_one.offset == bulk.offset == 300
    for row in rows[::13]:
        assert row.ref in bulk.key_refs(row.hashes[:1])
        assert bulk.key_refs(row.hashes) == one_by_one.key_refs(row.hashes)
        if row.bands is not None:
            assert bulk.band_refs(row.bands) == one_by_one.band_refs(row.bands)


def test_rows_read_in_bulk_index_as_rows_read_one_by_one() -> None:
    """A replica catching up gathers the rows' key hashes and band keys with numpy
    (`index_entries`); the index is the one the rows give one by one."""
    assert SIG is not None
    records = [
        DedupRecord("a" * 32, ("url:a", "guid:a", "title:o:a b c d"), ("a" * 32, SIG)),
        DedupRecord("b" * 32, ("url:b",)),
        DedupRecord("c" * 32, tuple(f"url:c{n}" for n in range(9)), ("c" * 32, OTHER)),
    ]
    rows = [unpack_row(ref, pack_row(record)) for ref, record in enumerate(records, start=5)]
    packed = b"".join(
        packed_row(row.ref, pack_row(record)) for row, record in zip(rows, records, strict=True)
    )
    bulk, one_by_one = Mirror(), Mirror()
    bulk.load(index_entries(packed))
    one_by_one.apply(rows)
    assert bulk.offset == one_by_one.offset == 7
    for row in rows:
        assert bulk.key_refs(row.hashes) == one_by_one.key_refs(row.hashes) == {row.ref}
        if row.bands is not None:
            assert bulk.band_refs(row.bands) == one_by_one.band_refs(row.bands) == {row.ref}
    assert len(bulk.keys) == len(one_by_one.keys) == 13 and len(bulk.near) == 64


def test_the_mirror_takes_its_own_rows_ahead_of_the_tail_once() -> None:
    first, own, other = _rows(3, seed=4)
    index = Mirror()
    index.apply([first])
    index.add_own(own)  # written by this replica: indexed before the tail reaches it
    assert index.key_refs(own.hashes) == {2} and index.offset == 1
    index.apply([own, other], through=3)  # the tail brings it back: not indexed twice
    assert index.offset == 3 and index.key_refs(own.hashes) == {2}
    assert len(index.keys) == sum(len(row.hashes) for row in (first, own, other))
    index.expire(near_floor=3, keep_floor=2)
    assert index.key_refs(first.hashes) == set() and index.key_refs(own.hashes) == {2}
    index.reset()
    assert (index.offset, index.key_refs(other.hashes)) == (0, set())


def drawn_keys(rng: random.Random, pool: list[int]) -> list[int]:
    """Nine keys, about half of them from `pool` (keys several refs share)."""
    return [rng.choice(pool) if rng.random() < 0.5 else rng.getrandbits(32) for _ in range(9)]


def indexed(index: BandIndex, truth: dict[int, set[int]], ref: int, keys: list[int]) -> None:
    """Add to the index, and to the dict of sets it must answer as."""
    index.add(ref, keys)
    for key in keys:
        truth.setdefault(key, set()).add(ref)


def test_the_band_index_answers_as_a_dict_of_sets_would(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)  # seal and merge often
    rng = random.Random(5)
    index, truth = BandIndex(), dict[int, set[int]]()
    pool = [rng.getrandbits(32) for _ in range(300)]  # shared keys: several refs each
    for ref in range(1, 800):
        indexed(index, truth, ref, drawn_keys(rng, pool))
        if ref % 97 == 0:
            few, many = pool[:3], [*pool[:40], *rng.sample(sorted(truth), 20)]
            for wanted in (few, many):
                expected = set().union(*(truth.get(k, set()) for k in wanted))
                assert index.find(wanted) == expected
    assert len(index) == sum(len(refs) for refs in truth.values()) and len(index._runs) > 1
    index.expire(500)
    for key in pool:
        assert index.find([key]) == {ref for ref in truth.get(key, ()) if ref >= 500}
    assert len(index) < sum(len(refs) for refs in truth.values())  # expired runs were cut


def test_a_runs_presence_bitmap_holds_every_key_and_few_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bitmap a lookup asks first never hides a key the run holds (built in chunks, so
    a byte shared by two chunks too), and lets few absent keys through."""
    monkeypatch.setattr(band_index, "PRESENT_CHUNK", 1000)
    rng = np.random.default_rng(11)
    keys = rng.integers(0, 2**32, 20_000, dtype=np.uint32)
    run = band_index.Run(keys, np.arange(20_000, dtype=np.uint32), np.zeros(20_000, np.uint8))
    held = keys.tolist()
    holds = set(held)
    assert sorted(run.refs_of([(k, 0) for k in held])) == list(range(20_000))
    absent = [int(k) for k in rng.integers(0, 2**32, 20_000, dtype=np.uint32) if k not in holds]
    bitmap = run._views[4]
    passing = [
        k
        for k in absent
        if bitmap[(k >> run.present_shift) >> 3] >> ((k >> run.present_shift) & 7) & 1
    ]
    assert len(passing) < 0.15 * len(absent)
    assert run.refs_of([(k, 0) for k in absent]) == []


def random_run(rng: np.random.Generator, size: int, first_ref: int) -> band_index.Run:
    keys = rng.integers(0, 2**32, size, dtype=np.uint32)
    keys[: size // 10] = keys[size // 10 : 2 * (size // 10)]  # equal keys, other refs
    refs = np.arange(first_ref, first_ref + size, dtype=np.uint32)
    return band_index.Run(keys, refs, rng.integers(0, 4, size, dtype=np.uint8))


@pytest.mark.parametrize(
    ("older", "newer"),
    [(6000, 700), (700, 6000), (4000, 5000), (3000, 0)],
    ids=["small-into-large", "large-newer", "tables-rebuilt", "empty-newer"],
)
def test_a_merged_runs_tables_are_those_of_its_entries(older: int, newer: int) -> None:
    """A merge sums the larger run's directory with the other's and ORs their bitmaps when
    the larger was built for the merged size (else builds them): either way the tables are
    the ones its entries would be given, and every entry is found."""
    rng = np.random.default_rng(older + newer)
    old, new = random_run(rng, older, 0), random_run(rng, newer, older)
    merged = band_index.Run.merged(old, new)
    assert merged is not None
    rebuilt = band_index.Run(*merged.entries(), ordered=True)
    assert np.array_equal(merged.starts, rebuilt.starts)
    assert np.array_equal(merged.present, rebuilt.present)
    assert np.all(np.diff(merged.keys.astype(np.int64)) >= 0)
    wanted = sorted(set(zip(merged.keys.tolist(), merged.tags.tolist(), strict=True)))
    assert sorted(merged.refs_of(wanted)) == list(range(older + newer))


@pytest.mark.parametrize("floor", [1000, 5000], ids=["under-half-gone", "over-half-gone"])
def test_a_merge_leaves_out_refs_under_the_floor(floor: int) -> None:
    """Entries under the floor are left out; the directory is that of the entries kept (the
    dropped ones subtracted, or built again), and the bitmap holds every key kept."""
    rng = np.random.default_rng(floor)
    old, new = random_run(rng, 6000, 0), random_run(rng, 700, 6000)
    merged = band_index.Run.merged(old, new, floor)
    assert merged is not None and int(merged.refs.min()) >= floor and len(merged) == 6700 - floor
    rebuilt = band_index.Run(*merged.entries(), ordered=True)
    assert np.array_equal(merged.starts, rebuilt.starts)
    wanted = sorted(set(zip(old.keys.tolist(), old.tags.tolist(), strict=True)))
    assert sorted(merged.refs_of(wanted)) == list(range(floor, 6000))
    assert band_index.Run.merged(old, new, 7000) is None


def test_the_runs_bitmap_lets_few_absent_keys_reach_the_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One bitmap of the runs' keys is asked before the runs: an absent key reaches them only
    through a chance bit (about 1 in 10 here), however many runs there are."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 4096)
    rng = random.Random(12)
    index = BandIndex(per_record=32)
    for ref in range(1, 3001):
        index.add(ref, [rng.getrandbits(32) for _ in range(32)])
    asked: list[int] = []
    refs_of = band_index.Run.refs_of

    def counted(run: band_index.Run, wanted: list[tuple[int, int]]) -> list[int]:
        asked.append(len(wanted))
        return refs_of(run, wanted)

    monkeypatch.setattr(band_index.Run, "refs_of", counted)
    runs = len(index._runs)
    for _ in range(200):
        assert index.find([rng.getrandbits(32) for _ in range(32)]) == set()
    assert runs >= 2 and sum(asked) < 0.2 * 200 * 32 * runs
    rng.seed(12)
    first = [rng.getrandbits(32) for _ in range(32)]
    assert index.find(first) == {1}  # a held key passes, from the oldest run


def test_a_bitmap_rebuilt_in_the_merge_thread_holds_the_runs_sealed_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large index's bitmap is built again in the merge thread (it grew, or holds many
    expired keys); runs sealed while it is built are set in it when it is taken, so no key
    is ever hidden, and a rebuild after expiry holds fewer keys."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)
    monkeypatch.setattr(band_index, "BACKGROUND_ENTRIES", 256)
    built, release = band_index.Presence.of, threading.Event()

    def held(key_arrays: list[np.ndarray]) -> band_index.Presence:
        if threading.current_thread() is not threading.main_thread():
            assert release.wait(10)
        return built(key_arrays)

    monkeypatch.setattr(band_index.Presence, "of", staticmethod(held))
    rng = random.Random(4)
    index, truth = BandIndex(), dict[int, set[int]]()
    pool = [rng.getrandbits(32) for _ in range(300)]
    ref = 0
    while index._rebuilding is None:
        ref += 1
        indexed(index, truth, ref, drawn_keys(rng, pool))
    for later in range(ref + 1, ref + 200):  # sealed while the rebuild waits
        indexed(index, truth, later, drawn_keys(rng, pool))
    ref = later
    wanted = [*pool[:40], *rng.sample(sorted(truth), 40)]
    assert index.find(wanted) == set().union(*(truth.get(k, set()) for k in wanted))
    release.set()
    index.wait_for_merges()
    assert index._rebuilding is None
    for key in [*pool, *rng.sample(sorted(truth), 200)]:
        assert index.find([key]) == truth.get(key, set())
    before = index._presence.entries
    index.expire(ref - 50)
    index.wait_for_merges()
    assert index._presence.entries < before
    for key in pool:
        assert index.find([key]) == {r for r in truth.get(key, ()) if r >= ref - 50}


def test_a_rebuilt_index_equals_the_one_built_entry_by_entry() -> None:
    rng = np.random.default_rng(3)
    refs = np.arange(1, 5001, dtype=np.uint32)
    keys = rng.integers(0, 2**32, (5000, 4), dtype=np.uint32)
    keys[100] = keys[7]  # a near copy shares its keys
    built, loaded = BandIndex(per_record=4), BandIndex(per_record=4)
    for ref, row in zip(refs.tolist(), keys.tolist(), strict=True):
        built.add(ref, row)
    loaded.load(np.repeat(refs, 4), keys.reshape(-1))
    for row in (keys[7], keys[4999], rng.integers(0, 2**32, 4, dtype=np.uint32)):
        assert loaded.find(row.tolist()) == built.find(row.tolist())
    assert loaded.find(keys[7].tolist()) == {8, 101}


@pytest.mark.parametrize("sealed", [False, True])
def test_a_band_key_is_found_only_in_its_own_band(
    monkeypatch: pytest.MonkeyPatch, sealed: bool
) -> None:
    """A key held in band 3 of a record is not found by a query holding it in band 0 (a
    chance match of 32 bits across bands: a row read for nothing), in the newest entries and
    in sealed, merged and rebuilt runs."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 8)
    index, loaded = BandIndex(per_record=4), BandIndex(per_record=4)
    index.add(1, [11, 12, 13, 99])
    index.add(2, [99, 22, 23, 24])
    loaded.load(
        np.array([1] * 4 + [2] * 4, dtype=np.uint32),
        np.array([11, 12, 13, 99, 99, 22, 23, 24], dtype=np.uint32),
    )
    if sealed:
        for ref in range(3, 6):  # seals and merges the dict into runs
            index.add(ref, [ref * 100 + band for band in range(4)])
        assert index._runs and index._fresh_entries < 8
    for built in (index, loaded):
        assert built.find([99, 0, 0, 0]) == {2}
        assert built.find([0, 0, 0, 99]) == {1}
        assert built.find([0, 99, 0, 0]) == set()


def test_a_held_band_index_seals_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """While held (a replica inside the check lock), a full dict is not sorted into a run;
    lookups answer the same; `seal_when_full` seals afterwards."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)
    index = BandIndex()
    index.holding = True
    for ref in range(1, 40):
        index.add(ref, [ref * 10 + band for band in range(4)])
    assert index._runs == [] and len(index) == 156
    assert index.find([10, 391]) == {1, 39}
    index.holding = False
    index.seal_when_full()
    assert len(index._runs) == 1 and index._fresh == {}
    assert index.find([10, 391]) == {1, 39}
    index.seal_when_full()  # nothing new: no second run
    assert len(index._runs) == 1


def test_large_merges_run_in_the_merge_thread_and_answer_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Merges of BACKGROUND_ENTRIES or more run in a thread; until one is taken its two runs
    answer, newer runs pile up behind it, and every lookup answers as a dict of sets would."""
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)
    monkeypatch.setattr(band_index, "BACKGROUND_ENTRIES", 500)
    merged = band_index.Run.merged
    threads: list[str] = []

    def recorded(
        older: band_index.Run, newer: band_index.Run, floor: int = 0
    ) -> band_index.Run | None:
        threads.append(threading.current_thread().name)
        return merged(older, newer, floor)

    monkeypatch.setattr(band_index.Run, "merged", staticmethod(recorded))
    rng = random.Random(8)
    index, truth = BandIndex(), dict[int, set[int]]()
    pool = [rng.getrandbits(32) for _ in range(300)]
    for ref in range(1, 1500):
        indexed(index, truth, ref, drawn_keys(rng, pool))
        if ref % 101 == 0:
            wanted = [*pool[:40], *rng.sample(sorted(truth), 20)]
            assert index.find(wanted) == set().union(*(truth.get(k, set()) for k in wanted))
        if ref == 1000:
            index.expire(300)
            truth = {k: {r for r in refs if r >= 300} for k, refs in truth.items()}
    index.wait_for_merges()
    assert any(name.startswith("band-merge") for name in threads)
    assert any(name == threading.main_thread().name for name in threads)  # small ones inline
    for key in pool:
        assert index.find([key]) == truth.get(key, set())
    assert len(index._runs) < 12


def test_a_merge_in_the_thread_leaves_the_index_answering_until_it_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(band_index, "FRESH_LIMIT", 64)
    monkeypatch.setattr(band_index, "BACKGROUND_ENTRIES", 128)
    merged, release = band_index.Run.merged, threading.Event()

    def held(older: band_index.Run, newer: band_index.Run, floor: int = 0) -> band_index.Run | None:
        assert release.wait(10)
        return merged(older, newer, floor)

    monkeypatch.setattr(band_index.Run, "merged", staticmethod(held))
    index = BandIndex()
    for ref in range(1, 33):  # 4 keys each: a seal every 16 articles, the second merges
        index.add(ref, [ref * 10 + band for band in range(4)])
    assert index._merging is not None and len(index._runs) == 2
    for ref in range(33, 100):  # newer runs wait behind the merge
        index.add(ref, [ref * 10 + band for band in range(4)])
    assert index.find([10, 321, 991]) == {1, 32, 99}
    runs_before = len(index._runs)
    release.set()
    index.wait_for_merges()
    assert index._merging is None and len(index._runs) < runs_before
    assert index.find([10, 321, 991]) == {1, 32, 99}
    assert len(index) == 99 * 4
