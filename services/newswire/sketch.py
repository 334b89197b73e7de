"""Near-duplicate sketches: a MinHash signature (datasketch) of an article's clean text, and
the LSH band keys that index it.

Text is folded (case, punctuation, Arabic letter forms) into words; the shingles are runs of
SHINGLE_WORDS words; the signature has PERMUTATIONS 32-bit values, cut into BANDS bands of
ROWS rows. Two texts whose Jaccard similarity is s share at least one band with probability
1 - (1 - s^ROWS)^BANDS (0.998 at s = 0.3, 0.15 at s = 0.05); candidates are then checked on
the whole signature against `dedup.near_threshold`. The figures come from
bench/dedup_quality.py: edited copies score 0.4-0.9, distinct same-topic reports under 0.06.
Pure functions: they run in the worker processes.
"""

from __future__ import annotations

import base64
import hashlib
import re

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


def signature(text: str) -> bytes | None:
    """The MinHash signature of the text's word shingles (PERMUTATIONS uint32, little
    endian), or None for a text under MIN_WORDS words."""
    tokens = words(text)
    if len(tokens) < MIN_WORDS:
        return None
    shingles = {
        " ".join(tokens[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    }
    # imported here: datasketch loads scipy (0.4 s), which only the workers need
    from datasketch import MinHash  # type: ignore[import-untyped]

    minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    minhash.update_batch(list(shingles))
    packed: bytes = minhash.hashvalues.astype("<u4").tobytes()
    return packed


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
