"""The embedded backend's near-duplicate band index, in memory: which articles (by record
number) hold a 32-bit LSH band key in a given band.

A band key per band per article is a random key: kept in SQLite's B-tree, each accepted article
dirtied one random page per band (64 then), which is what held the embedded backend to a few
hundred checks a second. Here the durable copy is the band keys stored with each record (one
sequential row), and this index is rebuilt from them when the process starts.

An entry is a 32-bit key, an 8-bit tag and a ref. An index of positional keys
(`BandIndex(per_record=BANDS)`: a sketch's band keys, in band order) tags each key with its
position and matches it only there: at tens of millions of entries a 32-bit band key alone
matches an unrelated entry of another band for about a third of checks, and each such match
is a row read and compared for nothing. The key index tags nothing (0).

Layout: a small dict of the newest entries, sealed into sorted numpy runs (keys and refs,
uint32 each, tags, uint8, a directory of where each run of equal top bits starts, and a
presence bitmap of finer top bits: about 11-13 bytes an entry) when it fills; runs of similar
size are merged, so there are O(log n) runs; a merge sums the directories of its two runs and
ORs their bitmaps where it can, instead of building them from every entry again. A lookup
asks one bitmap of all the runs' keys first (`Presence`: 8-32 bits, 1-4 bytes, an entry;
about 1 absent key in 10 passes: most keys asked of the band index are absent, the band of
an article never seen), then each run's bitmap, and reads a run's directory and the few entries
it points at only for the keys that pass: testing a key costs about 0.3 us of Python, and
numpy's per-call cost over such small arrays was more. Records are numbered in arrival
order, so the window's expiry is a cut on the ref: runs wholly older than it are dropped,
and a merge or a prune filters the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

FRESH_LIMIT = 1 << 18  # entries held in the dict before they are sealed into a run
FANOUT = 8  # a run is merged into the one before it while that one is under FANOUT x its size

MAX_DIRECTORY_BITS = 24  # a directory of 64 MB at most (4 bytes per prefix)
MAX_PRESENT_BITS = 30  # a presence bitmap of 128 MB at most
PRESENT_CHUNK = 1 << 22  # entries a bitmap is built from at a time (bounds the temporaries)
BACKGROUND_ENTRIES = 1 << 21  # a merge this large (about 60 ms here) runs in a thread

_LOW32 = 0xFFFFFFFF

_merger: ThreadPoolExecutor | None = None
_merger_made = threading.Lock()


def _merge_thread() -> ThreadPoolExecutor:
    """The one thread large merges run in (numpy releases the GIL for most of the work)."""
    global _merger
    with _merger_made:
        if _merger is None:
            _merger = ThreadPoolExecutor(max_workers=1, thread_name_prefix="band-merge")
        return _merger


def _tagged(keys: Iterable[int]) -> list[int]:
    """Keys tagged with their position, as one int each (`position << 32 | key`)."""
    return [key | position << 32 for position, key in enumerate(keys)]


def _presence(keys: np.ndarray, bits: int, into: np.ndarray | None = None) -> np.ndarray:
    """A bitmap of the top `bits` bits of sorted `keys` (bit p set: some key has prefix p),
    or those bits set in the bitmap `into`."""
    present = np.zeros(1 << (bits - 3), dtype=np.uint8) if into is None else into
    shift = np.uint32(32 - bits)
    for start in range(0, len(keys), PRESENT_CHUNK):
        prefixes = keys[start : start + PRESENT_CHUNK] >> shift
        byte = prefixes >> np.uint32(3)
        first = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
        flags = np.left_shift(np.uint8(1), (prefixes & np.uint32(7)).astype(np.uint8))
        present[byte[first]] |= np.bitwise_or.reduceat(flags, first)
    return present


def _directory(keys: np.ndarray, bits: int) -> np.ndarray:
    """Where the entries of each top-`bits` prefix of sorted `keys` start (and, last, end):
    cumulative counts, so the directory of two runs' entries is the sum of theirs."""
    counts = np.bincount(keys >> np.uint32(32 - bits), minlength=1 << bits)
    starts = np.zeros((1 << bits) + 1, dtype=np.uint32)
    np.cumsum(counts, dtype=np.uint32, out=starts[1:])
    return starts


def _directory_bits(size: int) -> int:
    """Directory bits for a run of `size` entries: about 4-8 entries a prefix."""
    return min(MAX_DIRECTORY_BITS, max(4, size.bit_length() - 2))


def _present_bits(size: int) -> int:
    """Presence bitmap bits for a run of `size` entries: 8-16 bits an entry."""
    return min(MAX_PRESENT_BITS, max(6, size.bit_length() + 3))


def _bits_of(table: np.ndarray, extra: int) -> int:
    """The prefix bits a directory (`extra` 1: one more slot) or bitmap (`extra` 0, bytes:
    8 prefixes each) was built for."""
    return (len(table) - extra).bit_length() - 1 + (0 if extra else 3)


class Run:
    """Entries sorted by key, with the offset of the first entry of each top-`bits` prefix
    and a bitmap of the finer prefixes present (both may be handed in: a merge sums and ORs
    its runs' instead of building them from all the entries again)."""

    __slots__ = ("_views", "keys", "present", "present_shift", "refs", "shift", "starts", "tags")

    def __init__(
        self,
        keys: np.ndarray,
        refs: np.ndarray,
        tags: np.ndarray,
        ordered: bool = False,
        tables: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if not ordered:
            order = np.argsort(keys, kind="stable")
            keys, refs, tags = keys[order], refs[order], tags[order]
        self.keys: np.ndarray = keys
        self.refs: np.ndarray = refs
        self.tags: np.ndarray = tags
        if tables is None:
            tables = (
                _directory(keys, _directory_bits(len(keys))),
                _presence(keys, _present_bits(len(keys))),
            )
        self.starts: np.ndarray = tables[0]
        self.present: np.ndarray = tables[1]
        self.shift = 32 - _bits_of(self.starts, 1)
        self.present_shift = 32 - _bits_of(self.present, 0)
        # the arrays read element by element as Python ints
        self._views = (keys.data, refs.data, tags.data, self.starts.data, self.present.data)

    def __len__(self) -> int:
        return len(self.keys)

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, refs, tags)."""
        return self.keys, self.refs, self.tags

    def refs_of(self, wanted: list[tuple[int, int]]) -> list[int]:
        """The refs of the entries whose (key, tag) is one of `wanted` (a 32-bit key each)."""
        keys, refs, tags, starts, present = self._views
        shift, fine = self.shift, self.present_shift
        found = []
        for key, tag in wanted:
            bit = key >> fine
            if not present[bit >> 3] >> (bit & 7) & 1:
                continue  # no key with this prefix: most asked keys end here
            prefix = key >> shift
            for at in range(starts[prefix], starts[prefix + 1]):
                if keys[at] == key and tags[at] == tag:
                    found.append(refs[at])
        return found

    def live(self, floor: int) -> Run | None:
        """This run without refs under `floor` (None: nothing left). Under half of it gone,
        the directory is lessened by the entries dropped and the bitmap kept (a bit of a
        dropped key only lets an absent key through to the directory)."""
        keys, refs, tags = self.entries()
        kept = refs >= floor
        count = int(np.count_nonzero(kept))
        if count == len(refs):
            return self
        if not count:
            return None
        if count * 2 <= len(refs):
            return Run(keys[kept], refs[kept], tags[kept], ordered=True)
        dropped = keys[~kept]
        starts = self.starts - _directory(dropped, _bits_of(self.starts, 1))
        tables = (starts, self.present)
        return Run(keys[kept], refs[kept], tags[kept], ordered=True, tables=tables)

    @staticmethod
    def merged(older: Run, newer: Run, floor: int = 0) -> Run | None:
        """The two runs as one, without refs under `floor`, in linear time (each newer entry
        after its equals; None: nothing left). The directory and bitmap are the sum and union
        of the runs' own where one of them was built for the merged size, so a small run
        merged into a large one costs its own entries, not the large run's, to index."""
        (old_keys, old_refs, old_tags) = older.entries()
        (new_keys, new_refs, new_tags) = newer.entries()
        size = len(old_keys) + len(new_keys)
        at = np.searchsorted(old_keys, new_keys, side="right") + np.arange(len(new_keys))
        rest = np.ones(size, dtype=bool)
        rest[at] = False
        keys = np.empty(size, dtype=np.uint32)
        refs = np.empty(size, dtype=np.uint32)
        tags = np.empty(size, dtype=np.uint8)
        keys[at], refs[at], tags[at] = new_keys, new_refs, new_tags
        keys[rest], refs[rest], tags[rest] = old_keys, old_refs, old_tags
        del at, rest
        tables = (
            _combined(older, newer, size, keys, directory=True),
            _combined(older, newer, size, keys, directory=False),
        )
        return Run(keys, refs, tags, ordered=True, tables=tables).live(floor)


def _combined(older: Run, newer: Run, size: int, keys: np.ndarray, directory: bool) -> np.ndarray:
    """The directory (or presence bitmap) of the two runs' `keys` merged: the larger run's
    own, plus (or ORed with) the other's built at its bits, when the larger run's was built
    for the merged size; else built from all the merged keys."""
    build = _directory if directory else _presence
    bits = _directory_bits(size) if directory else _present_bits(size)
    base, other = (older, newer) if len(older) >= len(newer) else (newer, older)
    table = base.starts if directory else base.present
    if _bits_of(table, 1 if directory else 0) != bits:
        return build(keys, bits)
    added = build(other.keys, bits)
    whole: np.ndarray = table + added if directory else table | added
    return whole


class Presence:
    """One bitmap of the top bits of every key the index's runs hold, asked before any run:
    most keys a lookup asks are absent from every run (the bands of an article never seen),
    and each run tests each key asked of it in Python (about 0.3 us a key), so with it a
    lookup's cost no longer grows with the number of runs. It has 8-32 bits an entry when
    built; a sealed run's keys are set in it as it comes, a merge changes nothing (the same
    keys), and expired keys leave their bits set (a stale bit only lets an absent key through
    to the runs), until a rebuild from the runs' keys (`stale`)."""

    __slots__ = ("bitmap", "bits", "entries", "shift", "view")

    def __init__(self, live: int) -> None:
        self.bits = _present_bits(2 * max(live, 1))
        self.bitmap = np.zeros(1 << (self.bits - 3), dtype=np.uint8)
        self.shift = 32 - self.bits
        self.view = self.bitmap.data
        self.entries = 0  # keys set since it was built (expired ones too)

    @staticmethod
    def of(key_arrays: list[np.ndarray]) -> Presence:
        """A bitmap built for the keys of these runs (sorted arrays)."""
        presence = Presence(sum(len(keys) for keys in key_arrays))
        for keys in key_arrays:
            presence.add(keys)
        return presence

    def add(self, keys: np.ndarray) -> None:
        """Set the bits of a run's sorted keys."""
        _presence(keys, self.bits, into=self.bitmap)
        self.entries += len(keys)

    def passing(self, wanted: list[int]) -> list[tuple[int, int]]:
        """The keys (tagged: `tag << 32 | key`) some run may hold, as (key, tag) pairs."""
        present, shift = self.view, self.shift
        found = []
        for tagged in wanted:
            key = tagged & _LOW32
            bit = key >> shift
            if present[bit >> 3] >> (bit & 7) & 1:
                found.append((key, tagged >> 32))
        return found

    def stale(self, live: int) -> bool:
        """True when it is to be built again for `live` entries: over 2 keys set for each
        entry held (expired ones), or under 8 bits a key set where more bits are allowed."""
        # under 8 bits a key: the bitmap's length is in bytes
        crowded = self.entries > len(self.bitmap) and self.bits < MAX_PRESENT_BITS
        return crowded or self.entries > 2 * live + FRESH_LIMIT


class BandIndex:
    """Key -> refs of the records that hold it, for refs at or after `floor`. With
    `per_record`, a record's keys are positional (that many, in order: a sketch's band keys)
    and a key matches only at its own position."""

    def __init__(self, per_record: int | None = None) -> None:
        self._per_record = per_record
        # the newest entries: key (tagged with its position: `_tagged`) -> ref, and the
        # further refs of a key (rare: a near copy); ints only, so the garbage collector
        # never walks them
        self._fresh: dict[int, int] = {}
        self._more: dict[int, list[int]] = {}
        self._fresh_entries = 0
        self._runs: list[Run] = []
        self._floor = 0
        self.holding = False  # True: a full dict waits for `seal_when_full` (no sort, no merge)
        # a large merge in the merge thread: the two runs (still in `_runs`, still answering)
        self._merging: tuple[Run, Run, Future[Run | None]] | None = None
        self._presence = Presence(0)  # of the runs' keys, asked before them
        # a bitmap built in the merge thread, and the keys of the runs sealed meanwhile
        self._rebuilding: tuple[Future[Presence], list[np.ndarray]] | None = None

    def __len__(self) -> int:
        return self._fresh_entries + sum(len(run) for run in self._runs)

    def add(self, ref: int, keys: Iterable[int]) -> None:
        """Index record `ref` under its keys, in order when positional (the dict's own
        operations, in C, for the usual case of keys not yet in it)."""
        if self._per_record:
            keys = _tagged(keys)
        fresh, new = self._fresh, dict.fromkeys(keys, ref)
        for key in fresh.keys() & new.keys():  # a key the dict holds already (a near copy)
            del new[key]
            if fresh[key] == ref:
                continue  # this ref under this key already
            more = self._more.setdefault(key, [])
            if not more or more[-1] != ref:
                more.append(ref)
                self._fresh_entries += 1
        fresh.update(new)
        self._fresh_entries += len(new)
        if not self.holding:
            self.seal_when_full()

    def full(self) -> bool:
        """True when the newest entries are to be sealed into a run (`seal_when_full`)."""
        return self._fresh_entries >= FRESH_LIMIT

    def seal_when_full(self) -> None:
        """Seal the newest entries into a run (and merge runs) when the dict is full: a sort
        and merges that take seconds over tens of millions of entries, so a caller holding a
        lock others wait for sets `holding` and calls this after letting it go."""
        if self.full():
            self._seal()

    def load(self, refs: np.ndarray, keys: np.ndarray) -> None:
        """Index many entries at once (a rebuild): `keys[i]` under `refs[i]`; positional keys
        come record after record, `per_record` each."""
        if len(refs):
            if self._per_record:
                records = len(keys) // self._per_record
                tags = np.tile(np.arange(self._per_record, dtype=np.uint8), records)
            else:
                tags = np.zeros(len(keys), dtype=np.uint8)
            self._push(Run(keys.astype(np.uint32), refs.astype(np.uint32), tags))

    def find(self, keys: Iterable[int]) -> set[int]:
        """Refs at or after the floor holding any of `keys` (in order when positional)."""
        self._take_merged()
        wanted = _tagged(keys) if self._per_record else list(keys)
        found: set[int] = set()
        for key in self._fresh.keys() & wanted:  # in C: most keys asked are in no record
            found.add(self._fresh[key])
            found.update(self._more.get(key, ()))  # a key of `_more` is in `_fresh` too
        if self._runs:
            self._take_presence()
            split = self._presence.passing(wanted)
            for run in self._runs if split else ():
                found.update(run.refs_of(split))
        return {ref for ref in found if ref >= self._floor} if found else found

    def expire(self, floor: int) -> None:
        """Forget refs under `floor`: runs wholly under it go; a run over half expired is
        filtered; the rest are filtered when next merged (and ignored until then)."""
        self._floor = max(self._floor, floor)
        merging = self._merging_runs()
        kept: list[Run] = []
        for run in self._runs:
            refs = run.refs
            if len(refs) == 0 or int(refs.max()) < self._floor:
                continue
            over_half = np.count_nonzero(refs < self._floor) * 2 > len(run)
            # a run being merged stays as it is (its merge left out what was expired when it
            # began; the rest is left to the lookups' floor and the next merge)
            filtered = run.live(self._floor) if over_half and run not in merging else run
            if filtered is not None:
                kept.append(filtered)
        self._runs = kept
        self._seal()
        self._renew_presence_when_stale()  # the expired keys' bits

    def _seal(self) -> None:
        count = len(self._fresh)
        whole = np.fromiter(self._fresh.keys(), dtype=np.uint64, count=count)
        refs = np.fromiter(self._fresh.values(), dtype=np.uint32, count=count)
        if self._more:
            extra = [(key, ref) for key, refs_ in self._more.items() for ref in refs_]
            whole = np.concatenate((whole, np.array([k for k, _ in extra], dtype=np.uint64)))
            refs = np.concatenate((refs, np.array([r for _, r in extra], dtype=np.uint32)))
        self._fresh, self._more, self._fresh_entries = {}, {}, 0
        keys = (whole & np.uint64(_LOW32)).astype(np.uint32)
        tags = (whole >> np.uint64(32)).astype(np.uint8)
        live = refs >= self._floor
        if live.any():
            self._push(Run(keys[live], refs[live], tags[live]))

    def _push(self, run: Run) -> None:
        self._runs.append(run)
        self._presence.add(run.keys)
        if self._rebuilding is not None:
            self._rebuilding[1].append(run.keys)
        self._renew_presence_when_stale()
        self._take_merged()
        self._cascade()

    def _renew_presence_when_stale(self) -> None:
        """Build the runs' bitmap again when it is stale: here for a small index, in the
        merge thread for a large one (the runs sealed meanwhile are set in it when taken)."""
        self._take_presence()
        live = sum(len(run) for run in self._runs)
        if self._rebuilding is not None or not self._presence.stale(live):
            return
        arrays = [run.keys for run in self._runs]
        if live < BACKGROUND_ENTRIES:
            self._presence = Presence.of(arrays)
        else:
            self._rebuilding = (_merge_thread().submit(Presence.of, arrays), [])

    def _take_presence(self) -> None:
        """Put a finished rebuild of the bitmap in place, with the runs sealed since."""
        if self._rebuilding is None or not self._rebuilding[0].done():
            return
        built, since = self._rebuilding
        self._rebuilding = None
        presence = built.result()  # a failure of the build itself is raised here
        for keys in since:
            presence.add(keys)
        self._presence = presence

    def _cascade(self) -> None:
        """Merge neighbouring runs while one is under FANOUT times the next (so O(log n)
        runs). A merge of BACKGROUND_ENTRIES or more goes to the merge thread, one at
        a time; its runs keep answering until it is taken, and newer runs wait behind it."""
        while (at := self._unbalanced()) is not None:
            older, newer = self._runs[at - 1], self._runs[at]
            busy = self._merging_runs()
            if older in busy or newer in busy:
                return  # wait for it
            if len(older) + len(newer) >= BACKGROUND_ENTRIES:
                if self._merging is None:
                    merged = _merge_thread().submit(Run.merged, older, newer, self._floor)
                    self._merging = (older, newer, merged)
                return
            self._runs[at - 1 : at + 1] = [self._merge(older, newer)]

    def _merging_runs(self) -> tuple[Run, ...]:
        """The two runs a background merge is making one of (none when there is none)."""
        return self._merging[:2] if self._merging is not None else ()

    def _unbalanced(self) -> int | None:
        """The index i of the newest pair of runs (i - 1, i) where run i - 1 is under FANOUT
        times run i (runs that waited behind a background merge can leave such a pair before
        the newest), or None."""
        for at in range(len(self._runs) - 1, 0, -1):
            if len(self._runs[at - 1]) < FANOUT * len(self._runs[at]):
                return at
        return None

    def _take_merged(self) -> None:
        """Put a finished background merge in place of its two runs, then merge on unless
        `holding`; dropped if either run went meanwhile (expired). The merge left out the
        refs under the floor of its start; those expired since are left to the lookups'
        floor and the next merge (filtering here would copy the run in the check's thread)."""
        if self._merging is None or not self._merging[2].done():
            return
        older, newer, merged = self._merging
        self._merging = None
        whole = merged.result()  # a failure of the merge itself is raised here
        at = next((i for i, run in enumerate(self._runs) if run is older), None)
        if at is None or at + 1 >= len(self._runs) or self._runs[at + 1] is not newer:
            return
        self._runs[at : at + 2] = [whole] if whole is not None else []
        if not self.holding:  # held: the next seal merges on
            self._cascade()

    def wait_for_merges(self) -> None:
        """Wait for the background merges (one, and those taking it starts) and take them
        (tests, benches)."""
        while self._merging is not None or self._rebuilding is not None:
            if self._merging is not None:
                self._merging[2].result()
                self._take_merged()
            if self._rebuilding is not None:
                self._rebuilding[0].result()
                self._take_presence()

    def _merge(self, older: Run, newer: Run) -> Run:
        whole = Run.merged(older, newer, self._floor)
        empty = np.zeros(0, dtype=np.uint32)
        return whole or Run(empty, empty, empty.astype(np.uint8), ordered=True)
