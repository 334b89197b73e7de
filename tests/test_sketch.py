"""The near-duplicate sketch: newswire's MinHash gives datasketch's signatures bit for bit
(sketches already stored stay comparable), without loading scipy."""

from __future__ import annotations

import subprocess
import sys

from datasketch import MinHash  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.sketch import PERMUTATIONS, SEED, minhash, shingles, signature
from tests.stories import story

ARABIC = (
    "قالت مصادر أمنية في محافظة دير الزور إن غارات جوية استهدفت مواقع قرب مدينة البوكمال "
    "الحدودية مع العراق فجر الثلاثاء وأسفرت عن سقوط قتلى وجرحى بحسب ما أفاد به سكان محليون "
    "وأضافت المصادر أن الطائرات حلقت لساعات فوق المنطقة قبل أن تنفذ الضربات على المواقع"
)


def datasketch_signature(text: str) -> bytes:
    runs = shingles(text)
    assert runs is not None
    theirs = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme="affine32")
    theirs.update_batch(list(runs))
    packed: bytes = theirs.hashvalues.astype("<u4").tobytes()
    return packed


def test_signatures_equal_datasketchs_on_stories_and_arabic() -> None:
    texts = [" ".join(story(n)[1]) for n in range(40)] + [ARABIC]
    for text in texts:
        assert signature(text) == datasketch_signature(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=300, unique=True))
def test_minhash_equals_datasketchs_on_any_shingles(shingles: list[bytes]) -> None:
    theirs = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme="affine32")
    theirs.update_batch(shingles)
    assert minhash(shingles).tolist() == theirs.hashvalues.tolist()


def test_sketching_does_not_load_scipy() -> None:
    code = (
        "import sys\n"
        "from newswire.sketch import signature\n"
        f"assert signature({' '.join(story(1)[1])!r}) is not None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'datasketch')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
