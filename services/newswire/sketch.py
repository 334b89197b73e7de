"""Near-duplicate sketches: a MinHash signature of an article's clean text, and the LSH band
keys that index it.

Text is folded (case, punctuation, Arabic letter forms) into words; the shingles are runs of
SHINGLE_WORDS words; the signature has PERMUTATIONS 32-bit values, cut into BANDS bands of
ROWS rows. Two texts whose Jaccard similarity is s share at least one band with probability
1 - (1 - s^ROWS)^BANDS (0.998 at s = 0.3, 0.15 at s = 0.05); candidates are then checked on
the whole signature against `dedup.near_threshold`. The figures come from
bench/dedup_quality.py: edited copies score 0.4-0.9, distinct same-topic reports under 0.06.
Pure functions: they run in the worker processes.

The MinHash is datasketch's (2.x `MinHash(num_perm=128, seed=1, scheme="affine32")`: SHA-1's
first 32 bits of each shingle, mixed by MurmurHash3's finalizer, then permuted by a*h+b mod
2^32 with odd a, (a, b) drawn from numpy's RandomState(seed)), computed here in a few numpy
lines because importing datasketch loads scipy (44 MB and 0.4 s per process, for its LSH
parameter search, which newswire does not use). tests/test_sketch.py checks the signatures
equal datasketch's bit for bit.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

import numpy as np

from newswire.text import normalise

PERMUTATIONS = 128
BANDS = 64
ROWS = PERMUTATIONS // BANDS
SHINGLE_WORDS = 5
MIN_WORDS = 25  # shorter texts get no sketch: too few shingles to compare fairly
SEED = 1
PREFIX = f"minhash{PERMUTATIONS}-w{SHINGLE_WORDS}:"
_WORD = re.compile(r"\w+", re.UNICODE)
_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})


def words(text: str) -> list[str]:
    """The text's words, case-folded, Arabic letter forms folded, punctuation dropped."""
    return _WORD.findall(normalise(text).casefold().translate(_ARABIC))


def shingles(text: str) -> set[bytes] | None:
    """The text's runs of SHINGLE_WORDS words, or None for a text under MIN_WORDS words."""
    tokens = words(text)
    if len(tokens) < MIN_WORDS:
        return None
    return {
        " ".join(tokens[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> bytes | None:
    """The MinHash signature of the text's shingles (PERMUTATIONS uint32, little endian),
    or None for a text under MIN_WORDS words."""
    runs = shingles(text)
    return None if runs is None else minhash(runs).astype("<u4").tobytes()


def _permutations(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) pairs datasketch draws for `count` affine32 permutations (a odd: each
    permutation is a bijection of the 32-bit values)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, count, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, count, dtype=np.uint32)
    return a, b


_A, _B = _permutations(PERMUTATIONS, SEED)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (a bijection that spreads the bits), element-wise."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = values ^ (values >> np.uint32(16))
    return mixed


def minhash(shingles: Iterable[bytes]) -> np.ndarray:
    """PERMUTATIONS minimum hash values (uint32) of a non-empty set of shingles."""
    hashes = np.fromiter(
        (int.from_bytes(hashlib.sha1(shingle).digest()[:4], "little") for shingle in shingles),
        dtype=np.uint32,
    ).reshape(-1, 1)
    permuted = _fmix32(hashes) * _A + _B  # uint32 arithmetic wraps: mod 2^32
    minimum: np.ndarray = permuted.min(axis=0)
    return minimum


def similarity(first: bytes, second: bytes) -> float:
    """The Jaccard similarity two signatures estimate."""
    a = np.frombuffer(first, dtype="<u4")
    b = np.frombuffer(second, dtype="<u4")
    return float(np.mean(a == b))


def band_keys(sig: bytes) -> list[int]:
    """One 63-bit key per LSH band of a signature (the band's number is hashed in, so equal
    rows in different bands never collide); two signatures are candidates when they share a
    key."""
    size = ROWS * 4
    keys = []
    for band in range(BANDS):
        rows = sig[band * size : (band + 1) * size]
        digest = hashlib.blake2b(band.to_bytes(2, "little") + rows, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)  # fits SQLite's INTEGER
    return keys


def encode(sig: bytes | None) -> str | None:
    """The signature as it appears in a message."""
    return PREFIX + base64.b64encode(sig).decode() if sig is not None else None
