"""Content-Encoding decoded under a cap that holds at every layer.

httpx's decoders inflate each chunk in one call, so `Content-Encoding: gzip, gzip` turns 5 KB
on the wire into gigabytes before any cap is checked. Here every layer inflates at most
`PIECE_BYTES` per call (zlib's `max_length`), hands each piece to the next layer, and counts
what it has produced against the cap: nothing larger than a piece is ever held that was not
asked for, whatever the ratio or the number of layers.

Codings: gzip (x-gzip), deflate (zlib-wrapped, or raw as some servers send it), identity.
newswire asks for gzip and deflate only; anything else is refused as a protocol error.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE_BYTES = 65_536
MAX_LAYERS = 3
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}  # deflate: zlib-wrapped first


class BodyTooLarge(Exception):
    """The body went past a configured cap."""


class UnsupportedCoding(Exception):
    """A Content-Encoding newswire did not ask for, or more layers than it allows."""


class CorruptCoding(Exception):
    """The body does not decode as its Content-Encoding says."""


class _Layer:
    """One coding: a zlib stream inflated piece by piece, with its output counted."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self._limit = limit
        self._produced = 0
        self._raw_deflate_tried = False
        self._inflater = zlib.decompressobj(_WBITS[coding])

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data`, each at most PIECE_BYTES."""
        pending = data
        while True:
            try:
                piece = self._inflater.decompress(pending, PIECE_BYTES)
            except zlib.error as exc:
                if not self._retry_as_raw_deflate():
                    raise CorruptCoding(f"{self.coding}: {exc}") from exc
                continue  # the same input, as raw deflate
            self._raw_deflate_tried = True  # the first bytes decoded: the format is settled
            pending = self._inflater.unconsumed_tail
            if piece:
                yield self._count(piece)
            if not pending and len(piece) < PIECE_BYTES:
                return

    def finish(self) -> Iterator[bytes]:
        """What the stream still holds once the body has ended."""
        yield from self.feed(b"")
        rest = self._inflater.flush(PIECE_BYTES)
        if rest:
            yield self._count(rest)

    def _retry_as_raw_deflate(self) -> bool:
        if self.coding != "deflate" or self._raw_deflate_tried:
            return False
        self._raw_deflate_tried = True
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        return True

    def _count(self, piece: bytes) -> bytes:
        self._produced += len(piece)
        if self._produced > self._limit:
            raise BodyTooLarge(
                f"over {self._limit} bytes decoded (a {self.coding} layer of the response)"
            )
        return piece


def codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding value, in the order they were applied."""
    names = [name.strip().lower() for name in (header or "").split(",")]
    names = ["gzip" if name == "x-gzip" else name for name in names]
    return [name for name in names if name and name != "identity"]


class BoundedDecoder:
    """Decodes a body through its codings (undone last applied first), every layer and the
    result capped at `limit` bytes."""

    def __init__(self, header: str | None, limit: int) -> None:
        applied = codings(header)
        if len(applied) > MAX_LAYERS:
            raise UnsupportedCoding(f"{len(applied)} content codings (at most {MAX_LAYERS})")
        unknown = [name for name in applied if name not in _WBITS]
        if unknown:
            raise UnsupportedCoding(f"Content-Encoding {unknown[0]!r} (asked for gzip, deflate)")
        self._layers = [_Layer(name, limit) for name in reversed(applied)]
        self._limit = limit
        self._size = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of one chunk from the wire."""
        yield from self._counted(self._through(0, data))

    def finish(self) -> Iterator[bytes]:
        """The last pieces, once the wire has no more."""
        yield from self._counted(self._finish_from(0))

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)

    def _finish_from(self, index: int) -> Iterator[bytes]:
        if index == len(self._layers):
            return
        for piece in self._layers[index].finish():
            yield from self._through(index + 1, piece)
        yield from self._finish_from(index + 1)

    def _counted(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self._size += len(piece)
            if self._size > self._limit:
                raise BodyTooLarge(f"over {self._limit} bytes decoded")
            yield piece
