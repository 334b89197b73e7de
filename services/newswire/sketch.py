"""Near-duplicate sketches: a MinHash signature of an article's clean text, the LSH band keys
that index it, and the compact form the dedup state keeps of it.

Text is folded (case, punctuation, Arabic letter forms) into words; the shingles are runs of
SHINGLE_WORDS words; the signature has PERMUTATIONS 32-bit values. The first BANDS x ROWS of
them make BANDS bands of ROWS rows. Two texts whose Jaccard similarity is s share at least one
band with probability 1 - (1 - s^ROWS)^BANDS (0.95 at s = 0.3, 0.996 at s = 0.4, 0.08 at
s = 0.05); candidates are then checked against `dedup.near_threshold` on the compact signature:
the low COMPACT_BITS bits of every value (b-bit MinHash: 64 bytes instead of 512), whose
agreement, corrected for chance, estimates the same similarity. The figures come from
bench/dedup_quality.py: edited copies score 0.4-0.9, distinct same-topic reports under 0.06;
docs/performance.md argues the band count from what the index costs per article.
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
import functools
import hashlib
import re
from collections.abc import Iterable

import numpy as np

from newswire.text import normalise

PERMUTATIONS = 128
BANDS = 32
ROWS = 2
COMPACT_BITS = 4
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


_BAND_SALT = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)


@functools.lru_cache(maxsize=256)
def band_keys(sig: bytes) -> tuple[int, ...]:
    """One 32-bit key per LSH band of a signature: its ROWS values and the band's number
    mixed by SplitMix64's finalizer (equal rows in different bands never collide); two
    signatures are candidates when they share a key. A key shared by chance (1 in 2^32 per
    pair and band) only costs a candidate check. Cached like `compact`: a check reads an
    original's keys for its lookup, then for its record."""
    rows = np.frombuffer(sig, dtype="<u4")[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    mixed = (rows[:, 0] << np.uint64(32) | rows[:, 1]) ^ _BAND_SALT
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed = mixed ^ (mixed >> np.uint64(31))
    return tuple((mixed >> np.uint64(32)).tolist())


@functools.lru_cache(maxsize=256)
def compact(sig: bytes) -> bytes:
    """The signature's b-bit form: the low COMPACT_BITS bits of each value, packed two to a
    byte (PERMUTATIONS // 2 bytes)."""
    low = np.frombuffer(sig, dtype="<u4") & np.uint32((1 << COMPACT_BITS) - 1)
    nibbles = low.astype(np.uint8)
    packed: bytes = (nibbles[0::2] | (nibbles[1::2] << np.uint8(4))).tobytes()
    return packed


def _nibbles(packed: bytes) -> np.ndarray:
    raw = np.frombuffer(packed, dtype=np.uint8)
    return np.stack((raw & np.uint8(15), raw >> np.uint8(4)), axis=1).reshape(-1)


def compact_similarity(first: bytes, second: bytes) -> float:
    """The Jaccard similarity two compact signatures estimate: the share of equal values,
    less the 1 in 2^COMPACT_BITS that agree by chance, rescaled (b-bit MinHash, Li and
    Koenig 2010); 0 when they agree no more than chance."""
    agree = float(np.mean(_nibbles(first) == _nibbles(second)))
    chance = 1 / (1 << COMPACT_BITS)
    return max(0.0, (agree - chance) / (1 - chance))


def encode(sig: bytes | None) -> str | None:
    """The signature as it appears in a message."""
    return PREFIX + base64.b64encode(sig).decode() if sig is not None else None
