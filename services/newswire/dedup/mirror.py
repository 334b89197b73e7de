"""A replica's index of the shared dedup log: which records (by ref) hold a key's hash or a
band key, in this process's memory.

Redis keeps the log of records (redis_store.py); a lookup there would read the index of
millions of records on the server at every check. Each replica keeps the index itself instead
(band_index: 32 bits of a key's hash, or a band key tagged with its band, and the ref; 11-13
bytes an entry), and brings it up to date with the log's tail, which every read of the shared
store returns. A lookup here names the refs worth reading; the rows read back are checked on
their full hashes, so a 32-bit collision costs a read, never a wrong answer.

Rows are applied in ref order from `offset`; a replica's own records are applied as soon as
they are written (their refs are remembered, and skipped when the tail reaches them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from newswire.band_index import BandIndex
from newswire.dedup_codec import IndexEntries, Row
from newswire.sketch import BANDS

_LOW32 = 0xFFFFFFFF


class Mirror:
    """The key and band indexes of the log up to `offset` (and this replica's own rows)."""

    def __init__(self) -> None:
        self.keys = BandIndex()
        self.near = BandIndex(per_record=BANDS)
        self.offset = 0  # every row up to this ref is applied
        self._ahead: set[int] = set()  # own rows applied before the tail reached them

    def reset(self) -> None:
        """Forget everything (the shared store lost its log), to be rebuilt from the log."""
        holding = self.keys.holding
        self.keys, self.near = BandIndex(), BandIndex(per_record=BANDS)
        self.offset, self._ahead = 0, set()
        self.hold_seals(holding)

    def apply(self, rows: Sequence[Row], through: int | None = None) -> None:
        """Index the log's next rows (in ref order), a read's tail; `through`: the log's last
        ref, when `rows` are all of it up to there. A long log is read by `load`."""
        for row in rows:
            if row.ref not in self._ahead:
                self._add(row)
        last = max(rows[-1].ref if rows else 0, through or 0)
        if last > self.offset:
            self.offset = last
            self._ahead = {ref for ref in self._ahead if ref > last}

    def load(self, entries: IndexEntries) -> None:
        """Index the log's next rows, read in bulk (`dedup_codec.index_entries`)."""
        key_refs, keys = entries.key_refs, entries.keys
        band_refs, bands = entries.band_refs, entries.bands
        if self._ahead:  # this replica's own rows, indexed already (whole rows go)
            ahead = np.fromiter(self._ahead, dtype=np.uint32)
            fresh, fresh_bands = ~np.isin(key_refs, ahead), ~np.isin(band_refs, ahead)
            key_refs, keys = key_refs[fresh], keys[fresh]
            band_refs, bands = band_refs[fresh_bands], bands[fresh_bands]
        self.keys.load(key_refs, keys)
        self.near.load(band_refs, bands)
        if len(entries.refs):
            last = int(entries.refs.max())
            if last > self.offset:
                self.offset = last
                self._ahead = {ref for ref in self._ahead if ref > last}

    def add_own(self, row: Row) -> None:
        """Index a row this replica just wrote, ahead of the tail."""
        if row.ref > self.offset and row.ref not in self._ahead:
            self._ahead.add(row.ref)
            self._add(row)

    def hold_seals(self, holding: bool) -> None:
        """While `holding`, rows are indexed without sealing or merging runs (`seal_when_full`
        does it later)."""
        self.keys.holding = self.near.holding = holding

    def sealing(self) -> bool:
        """True when `seal_when_full` has a seal to do."""
        return self.keys.full() or self.near.full()

    def seal_when_full(self) -> None:
        """Seal and merge what filled while seals were held."""
        self.keys.seal_when_full()
        self.near.seal_when_full()

    def wait_for_merges(self) -> None:
        """Wait for both indexes' merges in the merge thread (benches, tests)."""
        self.keys.wait_for_merges()
        self.near.wait_for_merges()

    def key_refs(self, hashes: Iterable[int]) -> set[int]:
        """Refs of the rows that may hold one of these key hashes."""
        return self.keys.find(h & _LOW32 for h in hashes)

    def band_refs(self, bands: Iterable[int]) -> set[int]:
        """Refs of the rows that hold one of these band keys (in band order) in its band."""
        return self.near.find(bands)

    def expire(self, near_floor: int, keep_floor: int) -> None:
        """Forget band keys under `near_floor` and key hashes under `keep_floor`."""
        self.near.expire(near_floor)
        self.keys.expire(keep_floor)

    def _add(self, row: Row) -> None:
        self.keys.add(row.ref, [h & _LOW32 for h in row.hashes])
        if row.bands is not None:
            self.near.add(row.ref, row.bands)
