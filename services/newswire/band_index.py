"""The embedded backend's near-duplicate band index, in memory: which articles (by record
number) hold a 32-bit LSH band key.

A band key per band per article is a random key: kept in SQLite's B-tree, each accepted article
dirtied one random page per band (64 then), which is what held the embedded backend to a few
hundred checks a second. Here the durable copy is the band keys stored with each record (one
sequential row), and this index is rebuilt from them when the process starts.

Layout: a small dict of the newest entries, sealed into sorted numpy runs (keys and refs,
uint32 each, and a directory of where each run of equal top bits starts: about 9 bytes an
entry) when it fills; runs of similar size are merged, so there are O(log n) runs. A lookup
reads, per run, the directory and the few entries it points at, for all its keys at once: a
binary search of a run of 64 million entries costs about 80 us of cache misses for 32 keys,
the directory about 10. Records are numbered in arrival order, so the window's expiry is a cut
on the ref: runs wholly older than it are dropped, and a merge or a prune filters the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

FRESH_LIMIT = 1 << 17  # entries held in the dict before they are sealed into a run
FANOUT = 8  # a run is merged into the one before it while that one is under FANOUT x its size

MAX_DIRECTORY_BITS = 24  # a directory of 64 MB at most (4 bytes per prefix)
FEW_KEYS = 8  # up to this many keys, a lookup reads elements; more, it runs numpy over all
WIDTH = 8  # entries a numpy lookup reads per key (a prefix holds 2-4 on average)
_WIDE = np.arange(WIDTH, dtype=np.uint32)


class Run:
    """Entries sorted by key, with the offset of the first entry of each top-`bits` prefix."""

    __slots__ = ("_views", "keys", "refs", "shift", "starts")

    def __init__(self, keys: np.ndarray, refs: np.ndarray, ordered: bool = False) -> None:
        if not ordered:
            order = np.argsort(keys, kind="stable")
            keys, refs = keys[order], refs[order]
        # WIDTH unused entries at the end, so a lookup reads WIDTH entries from any start
        self.keys: np.ndarray = np.concatenate((keys, np.zeros(WIDTH, dtype=np.uint32)))
        self.refs: np.ndarray = np.concatenate((refs, np.zeros(WIDTH, dtype=np.uint32)))
        bits = min(MAX_DIRECTORY_BITS, max(4, len(keys).bit_length() - 2))
        self.shift = np.uint32(32 - bits)
        counts = np.bincount(keys >> self.shift, minlength=1 << bits)
        self.starts: np.ndarray = np.zeros((1 << bits) + 1, dtype=np.uint32)
        np.cumsum(counts, dtype=np.uint32, out=self.starts[1:])
        del counts
        # the same arrays read element by element as Python ints (a lookup of a few keys)
        self._views = (self.keys.data, self.refs.data, self.starts.data)

    def __len__(self) -> int:
        return len(self.keys) - WIDTH

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, refs) without the padding."""
        return self.keys[:-WIDTH], self.refs[:-WIDTH]

    def refs_of(self, wanted: np.ndarray) -> list[int]:
        """The refs of the entries whose key is one of `wanted` (uint32)."""
        if len(wanted) <= FEW_KEYS:
            return self._refs_of_few(wanted.tolist())
        prefix = wanted >> self.shift
        low = self.starts[prefix]
        high = self.starts[prefix + 1]
        at = low[:, None] + _WIDE
        hit = (self.keys[at] == wanted[:, None]) & (at < high[:, None])
        found: list[int] = self.refs[at[hit]].tolist()
        crowded = high - low > WIDTH
        if crowded.any():  # a prefix with more entries than WIDTH: read the rest one by one
            found += self._refs_of_few(wanted[crowded].tolist(), skip=WIDTH)
        return found

    def _refs_of_few(self, wanted: list[int], skip: int = 0) -> list[int]:
        keys, refs, starts = self._views
        shift = int(self.shift)
        found = []
        for key in wanted:
            prefix = key >> shift
            for at in range(starts[prefix] + skip, starts[prefix + 1]):
                if keys[at] == key:
                    found.append(refs[at])
        return found

    def live(self, floor: int) -> Run | None:
        """This run without refs under `floor` (None: nothing left)."""
        keys, refs = self.entries()
        kept = refs >= floor
        count = int(np.count_nonzero(kept))
        if count == len(refs):
            return self
        return Run(keys[kept], refs[kept], ordered=True) if count else None

    @staticmethod
    def merged(older: Run, newer: Run) -> Run:
        """The two runs as one, in linear time (each newer entry after its equals)."""
        (old_keys, old_refs), (new_keys, new_refs) = older.entries(), newer.entries()
        size = len(old_keys) + len(new_keys)
        at = np.searchsorted(old_keys, new_keys, side="right") + np.arange(len(new_keys))
        rest = np.ones(size, dtype=bool)
        rest[at] = False
        keys = np.empty(size, dtype=np.uint32)
        refs = np.empty(size, dtype=np.uint32)
        keys[at], refs[at] = new_keys, new_refs
        keys[rest], refs[rest] = old_keys, old_refs
        return Run(keys, refs, ordered=True)


class BandIndex:
    """Band key -> refs of the records that hold it, for refs at or after `floor`."""

    def __init__(self) -> None:
        # the newest entries: key -> ref, and the further refs of a key (rare: a near copy);
        # ints only, so the garbage collector never walks them
        self._fresh: dict[int, int] = {}
        self._more: dict[int, list[int]] = {}
        self._fresh_entries = 0
        self._fresh_keys = 0
        self._runs: list[Run] = []
        self._floor = 0

    def __len__(self) -> int:
        return self._fresh_entries + sum(len(run) for run in self._runs)

    def add(self, ref: int, keys: Iterable[int]) -> None:
        """Index record `ref` under its band keys."""
        fresh = self._fresh
        for key in keys:
            first = fresh.setdefault(key, ref)
            if first == ref:
                if len(fresh) == self._fresh_keys:
                    continue  # this ref under this key already
                self._fresh_keys += 1
            else:
                more = self._more.setdefault(key, [])
                if more and more[-1] == ref:
                    continue
                more.append(ref)
            self._fresh_entries += 1
        if self._fresh_entries >= FRESH_LIMIT:
            self._seal()

    def load(self, refs: np.ndarray, keys: np.ndarray) -> None:
        """Index many entries at once (a rebuild): `keys[i]` under `refs[i]`."""
        if len(refs):
            self._push(Run(keys.astype(np.uint32), refs.astype(np.uint32)))

    def find(self, keys: Iterable[int]) -> set[int]:
        """Refs at or after the floor holding any of `keys`."""
        wanted = np.fromiter(keys, dtype=np.uint32)
        found: set[int] = set()
        for key in wanted.tolist():
            ref = self._fresh.get(key)
            if ref is not None:
                found.add(ref)
                found.update(self._more.get(key, ()))
        for run in self._runs:
            found.update(run.refs_of(wanted))
        return {ref for ref in found if ref >= self._floor}

    def expire(self, floor: int) -> None:
        """Forget refs under `floor`: runs wholly under it go; a run over half expired is
        filtered; the rest are filtered when next merged (and ignored until then)."""
        self._floor = max(self._floor, floor)
        kept: list[Run] = []
        for run in self._runs:
            refs = run.entries()[1]
            if len(refs) == 0 or int(refs.max()) < self._floor:
                continue
            over_half = np.count_nonzero(refs < self._floor) * 2 > len(run)
            filtered = run.live(self._floor) if over_half else run
            if filtered is not None:
                kept.append(filtered)
        self._runs = kept
        self._seal()

    def _seal(self) -> None:
        count = len(self._fresh)
        keys = np.fromiter(self._fresh.keys(), dtype=np.uint32, count=count)
        refs = np.fromiter(self._fresh.values(), dtype=np.uint32, count=count)
        if self._more:
            extra = [(key, ref) for key, refs_ in self._more.items() for ref in refs_]
            keys = np.concatenate((keys, np.array([k for k, _ in extra], dtype=np.uint32)))
            refs = np.concatenate((refs, np.array([r for _, r in extra], dtype=np.uint32)))
        self._fresh, self._more, self._fresh_entries, self._fresh_keys = {}, {}, 0, 0
        live = refs >= self._floor
        if live.any():
            self._push(Run(keys[live], refs[live]))

    def _push(self, run: Run) -> None:
        self._runs.append(run)
        while len(self._runs) >= 2 and len(self._runs[-2]) < FANOUT * len(self._runs[-1]):
            newer = self._runs.pop()
            older = self._runs.pop()
            self._runs.append(self._merge(older, newer))

    def _merge(self, older: Run, newer: Run) -> Run:
        whole = Run.merged(older, newer)
        empty = np.zeros(0, dtype=np.uint32)
        return whole.live(self._floor) or Run(empty, empty, ordered=True)
