"""Precision and recall of the near-duplicate layer on a labelled set.

Originals: the project's fixture articles (their clean text as newswire extracts it) and
generated stories that share one vocabulary and a handful of places (hard negatives: same
topic, different text). Duplicates: each original with systematic edits: syndication (new
first sentence, credit line), a removed sentence, paragraphs swapped, truncation to 70%,
boilerplate added, all of them at once, and (hardest) the lead and the last paragraph
rewritten. Negatives: every pair of distinct originals.
A pair is predicted a duplicate when it shares an LSH band and its estimated similarity
reaches the threshold; figures are printed for several thresholds, the configured one marked.

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
from newswire.sketch import band_keys, signature, similarity  # noqa: E402
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


def originals() -> list[list[str]]:
    names = [p.stem for p in sorted((ROOT / "tests" / "data" / "site").glob("*.html"))]
    outlet = {"shafaq": "shafaq-news", "jpost": "jerusalem-post"}
    texts = [
        fixture_article(n, outlet[n.split("-")[0]], f"https://x.test/{n}").text.split("\n\n")
        for n in names
    ]
    return texts + [story(i)[1] for i in range(60)]


def predicted(a: bytes, b: bytes, threshold: float) -> bool:
    shares_band = bool(set(band_keys(a)) & set(band_keys(b)))
    return shares_band and similarity(a, b) >= threshold


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
    print("threshold  precision  recall   (false pos / false neg)")
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        tp = sum(predicted(a, b, threshold) for _, a, b in positives)
        fp = sum(predicted(a, b, threshold) for a, b in negatives)
        fn = len(positives) - tp
        precision = tp / (tp + fp) if tp + fp else 1.0
        mark = "  <- dedup.near_threshold" if threshold == configured else ""
        print(
            f"{threshold:9.2f}  {precision:9.3f}  {tp / len(positives):6.3f}   ({fp} / {fn}){mark}"
        )
    print("recall by edit at the configured threshold:")
    for name in EDITS:
        pairs = [(a, b) for n, a, b in positives if n == name]
        hits = sum(predicted(a, b, configured) for a, b in pairs)
        print(f"  {name:20} {hits / len(pairs):.3f}")
    closest = max(similarity(a, b) for a, b in negatives)
    print(f"most similar distinct pair: {closest:.3f}")


if __name__ == "__main__":
    main()
