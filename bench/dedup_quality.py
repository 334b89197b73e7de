"""Precision and recall of the near-duplicate layer on a labelled set.

Originals: the project's fixture articles (their clean text as newswire extracts it) and
generated stories that share one vocabulary and a handful of places (hard negatives: same
topic, different text). Duplicates: each original with systematic edits: syndication (new
first sentence, credit line), a removed sentence, paragraphs swapped, truncation to 70%,
boilerplate added, all of them at once, and (hardest) the lead and the last paragraph
rewritten. Negatives: every pair of distinct originals.
A pair is predicted a duplicate when it shares an LSH band and its estimated similarity
reaches the threshold; figures are printed for several thresholds, the configured one marked,
next to the layout before the compact index (64 bands, similarity on the full signatures).

    .venv/bin/python bench/dedup_quality.py
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.settings import DedupSettings  # noqa: E402
from newswire.sketch import (  # noqa: E402
    band_keys,
    compact,
    compact_similarity,
    signature,
    similarity,
)
from tests.builders import fixture_article  # noqa: E402
from tests.stories import story  # noqa: E402

Edit = Callable[[list[str]], list[str]]


def syndicated(p: list[str]) -> list[str]:
    return [
        "A different first sentence from the syndicating desk. " + p[0],
        *p[1:],
        "(Reporting by the wire service; editing by the Middle East desk)",
    ]


def sentence_removed(p: list[str]) -> list[str]:
    longest = max(range(len(p)), key=lambda i: len(p[i]))
    cut = p[longest].split(". ")
    return [*p[:longest], ". ".join(cut[:-1] or cut), *p[longest + 1 :]]


def swapped(p: list[str]) -> list[str]:
    return [p[1], p[0], *p[2:]] if len(p) > 1 else p


def truncated(p: list[str]) -> list[str]:
    words = " ".join(p).split()
    return [" ".join(words[: int(len(words) * 0.7)])]


def boilerplate(p: list[str]) -> list[str]:
    return [
        "Read also: Oil prices rise as talks resume",
        *p,
        "Follow us on Telegram for the latest news",
        "Subscribe to our newsletter",
    ]


def rewritten_ends(p: list[str]) -> list[str]:
    """The lead and the last paragraph replaced: a heavy rewrite, half of a short article."""
    return [
        "A new lead written by another outlet about the same events.",
        *p[1:-1],
        "The outlet added its own closing paragraph with background.",
    ]


def everything(p: list[str]) -> list[str]:
    return boilerplate(syndicated(sentence_removed(swapped(p))))


EDITS: dict[str, Edit] = {
    "syndicated": syndicated,
    "sentence removed": sentence_removed,
    "paragraphs swapped": swapped,
    "truncated to 70%": truncated,
    "boilerplate": boilerplate,
    "all edits": everything,
    "lead and end rewritten": rewritten_ends,
}


def outlet_of(page: str) -> str:
    """A configured outlet to build a fixture page under (the page's own where it has one)."""
    return "jerusalem-post" if page.startswith("jpost") else "shafaq-news"


def originals() -> list[list[str]]:
    names = [p.stem for p in sorted((ROOT / "tests" / "data" / "site").glob("*.html"))]
    texts = [
        fixture_article(n, outlet_of(n), f"https://x.test/{n}").text.split("\n\n") for n in names
    ]
    return texts + [story(i)[1] for i in range(60)]


def predicted(a: bytes, b: bytes, threshold: float) -> bool:
    """newswire's decision: a shared band, then the compact signatures' estimate."""
    shares_band = bool(set(band_keys(a)) & set(band_keys(b)))
    return shares_band and compact_similarity(compact(a), compact(b)) >= threshold


def previous_bands(sig: bytes) -> set[bytes]:
    """The layout before the compact index: 64 bands of 2 rows."""
    return {bytes([band]) + sig[band * 8 : band * 8 + 8] for band in range(64)}


def predicted_before(a: bytes, b: bytes, threshold: float) -> bool:
    """The decision before the compact index: 64 bands, the full 32-bit signatures."""
    return bool(previous_bands(a) & previous_bands(b)) and similarity(a, b) >= threshold


def scores(
    positives: list[tuple[str, bytes, bytes]],
    negatives: list[tuple[bytes, bytes]],
    threshold: float,
    decide: Callable[[bytes, bytes, float], bool],
) -> tuple[float, float, int, int]:
    """(precision, recall, false positives, false negatives)."""
    tp = sum(decide(a, b, threshold) for _, a, b in positives)
    fp = sum(decide(a, b, threshold) for a, b in negatives)
    precision = tp / (tp + fp) if tp + fp else 1.0
    return precision, tp / len(positives), fp, len(positives) - tp


def main() -> None:
    texts = originals()
    sigs = [signature("\n\n".join(t)) for t in texts]
    positives: list[tuple[str, bytes, bytes]] = []
    for text, sig in zip(texts, sigs, strict=True):
        for name, edit in EDITS.items():
            other = signature("\n\n".join(edit(text)))
            if sig is not None and other is not None:
                positives.append((name, sig, other))
    negatives = [(a, b) for a, b in itertools.combinations([s for s in sigs if s], 2)]
    configured = DedupSettings().near_threshold
    print(
        f"originals {len(texts)}, duplicate pairs {len(positives)}, distinct pairs {len(negatives)}"
    )
    print("threshold  newswire: precision recall (FP / FN)   before the compact index")
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        now = scores(positives, negatives, threshold, predicted)
        before = scores(positives, negatives, threshold, predicted_before)
        mark = "  <- dedup.near_threshold" if threshold == configured else ""
        print(
            f"{threshold:9.2f}  {now[0]:9.3f} {now[1]:6.3f} ({now[2]} / {now[3]})"
            f"   {before[0]:9.3f} {before[1]:6.3f} ({before[2]} / {before[3]}){mark}"
        )
    print("recall by edit at the configured threshold:")
    for name in EDITS:
        pairs = [(a, b) for n, a, b in positives if n == name]
        hits = sum(predicted(a, b, configured) for a, b in pairs)
        print(f"  {name:20} {hits / len(pairs):.3f}")
    closest = max(compact_similarity(compact(a), compact(b)) for a, b in negatives)
    print(f"most similar distinct pair: {closest:.3f} (full signatures: ", end="")
    print(f"{max(similarity(a, b) for a, b in negatives):.3f})")


if __name__ == "__main__":
    main()
