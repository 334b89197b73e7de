"""Content-Encoding decoded piece by piece, every layer under the cap (newswire.http.content_coding)."""

from __future__ import annotations

import gzip
import random
import tracemalloc
import zlib

import pytest

from newswire.http.content_coding import (
    PIECE_BYTES,
    BodyTooLarge,
    BoundedDecoder,
    CorruptCoding,
    UnsupportedCoding,
    codings,
)
from tests.site import DATA

BODY = random.Random(7).randbytes(50_000) + b"news " * 60_000  # 350 KB, partly compressible


def decode(data: bytes, header: str | None, limit: int = 10_000_000, chunk: int = 1000) -> bytes:
    decoder = BoundedDecoder(header, limit)
    out = [piece for i in range(0, len(data), chunk) for piece in decoder.feed(data[i : i + chunk])]
    out += decoder.finish()
    assert all(len(piece) <= PIECE_BYTES for piece in out)
    return b"".join(out)


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    "header,encoded",
    [
        (None, BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),  # what some servers send as deflate
        ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
        ("deflate, gzip", gzip.compress(zlib.compress(BODY))),
        ("GZIP ,  identity", gzip.compress(BODY)),
    ],
)
def test_every_coding_decodes_to_the_body_in_bounded_pieces(
    header: str | None, encoded: bytes
) -> None:
    assert decode(encoded, header) == BODY


def test_codings_are_listed_in_the_order_applied() -> None:
    assert codings("gzip, identity, deflate") == ["gzip", "deflate"]
    assert codings(None) == []


def test_a_two_layer_bomb_is_refused_inside_its_layer_holding_little() -> None:
    bomb = (DATA / "hostile" / "gzip-gzip-3gib.bin").read_bytes()  # 5 KB: 3 GiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="gzip layer"):
            decode(bomb, "gzip, gzip", limit=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # pieces and the body so far, never a whole layer


def test_the_total_is_capped_even_when_no_layer_is_over() -> None:
    with pytest.raises(BodyTooLarge, match="over 1000 bytes decoded"):
        decode(b"x" * 5000, None, limit=1000)


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "gzip, gzip, gzip, gzip"])
def test_codings_not_asked_for_are_refused(header: str) -> None:
    with pytest.raises(UnsupportedCoding):
        BoundedDecoder(header, 1000)


def test_a_body_that_does_not_decode_is_a_corrupt_coding() -> None:
    with pytest.raises(CorruptCoding, match="gzip"):
        decode(b"not gzip at all" * 10, "gzip")
