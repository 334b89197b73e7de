"""Region tagging: precision and recall on the labelled texts, and its cost next to extraction.

Prints, for tests/data/tagging/labelled.yaml (62 English and 16 Arabic texts with the traps
of the issue) and holdout.yaml (20 texts written after the rules were settled), micro-averaged
precision and recall at country level and at place level, with every error named. Then the
speed with the full gazetteer: the matcher's build time, documents per second on the labelled
texts and on the fixture pages' golden texts (whole articles), and, measured in the same run,
milliseconds per page of newswire's extraction over the same pages, so the tagging share of the
per-article time is a ratio of two figures taken together.

    .venv/bin/python bench/tagging_quality.py [--rounds 20]

Targets (issue 6): country P >= 0.97, R >= 0.95; place P >= 0.9, R >= 0.9; tagging under 5% of
the per-article time.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.config import load_config  # noqa: E402
from newswire.extract.extractor import extract_page  # noqa: E402
from newswire.extract.language import warm_up  # noqa: E402
from newswire.models import FetchedPage  # noqa: E402
from newswire.settings import ExtractSettings  # noqa: E402
from newswire.tag.tagger import Tagger  # noqa: E402
from tests.tagging_support import Labelled, evaluate, load_labelled  # noqa: E402
from tests.test_extract import GOLDEN, OUTLETS  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from throughput import page_body  # noqa: E402

DATA = ROOT / "tests" / "data"


def report(name: str, tagger: Tagger, items: list[Labelled]) -> None:
    countries, places = evaluate(tagger, items)
    print(
        f"{name:<22} {len(items):>4}  country P {countries.precision:.3f} R {countries.recall:.3f}"
        f"   place P {places.precision:.3f} R {places.recall:.3f}"
    )
    for error in countries.errors:
        print(f"    country {error}")
    for error in places.errors:
        print(f"    place   {error}")


def per_second(work: list[tuple[str, str]], tagger: Tagger, rounds: int) -> tuple[float, float]:
    """(documents per second, ms per document)."""
    start = time.perf_counter()
    for _ in range(rounds):
        for title, text in work:
            tagger.tag(title, text)
    elapsed = time.perf_counter() - start
    count = rounds * len(work)
    return count / elapsed, elapsed / count * 1000


def fixture_pages() -> list[tuple[FetchedPage, str]]:
    """The golden fixture pages (small: the article and little else) and their outlets."""
    pages = []
    for name, (outlet, _page_type) in GOLDEN.items():
        url = f"https://fixtures.test/{name}"
        html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
        pages.append((FetchedPage(url, url, html, datetime(2026, 11, 21, tzinfo=UTC)), outlet))
    return pages


def heavy_pages(count: int) -> list[tuple[FetchedPage, str]]:
    """Distinct stories in ~120 KB of real-page chrome (bench/throughput.py's pages)."""
    pages = []
    for index in range(count):
        url = f"https://fixtures.test/story/{index}"
        html = page_body(index).decode("utf-8")
        pages.append((FetchedPage(url, url, html, datetime(2026, 11, 21, tzinfo=UTC)), "generic"))
    return pages


def extract_then_tag(
    pages: list[tuple[FetchedPage, str]], tagger: Tagger, rounds: int
) -> tuple[float, float, float]:
    """(extraction ms/page, tagging ms/page, average text chars), measured together."""
    settings = ExtractSettings()
    texts = [extract_page(page, OUTLETS[outlet], settings) for page, outlet in pages]
    start = time.perf_counter()
    for _ in range(rounds):
        for page, outlet in pages:
            extract_page(page, OUTLETS[outlet], settings)
    extract_ms = (time.perf_counter() - start) / (rounds * len(pages)) * 1000
    start = time.perf_counter()
    for _ in range(rounds * 4):
        for text in texts:
            tagger.tag(text.title or "", text.text)
    tag_ms = (time.perf_counter() - start) / (rounds * 4 * len(pages)) * 1000
    return extract_ms, tag_ms, sum(len(t.text) for t in texts) / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    gazetteer = load_config(ROOT / "config", environ={}).gazetteer
    start = time.perf_counter()
    tagger = Tagger(gazetteer)
    built = time.perf_counter() - start
    print(f"gazetteer: {len(gazetteer.places)} places, {tagger.size} folded names and variants;"
          f" matcher built in {built:.2f} s (once per worker process)\n")  # fmt: skip

    labelled = load_labelled(DATA / "tagging" / "labelled.yaml")
    holdout = load_labelled(DATA / "tagging" / "holdout.yaml")
    report("labelled, English", tagger, [i for i in labelled if i.language == "en"])
    report("labelled, Arabic", tagger, [i for i in labelled if i.language == "ar"])
    report("labelled, all", tagger, labelled)
    report("holdout (unseen)", tagger, holdout)

    warm_up()
    short_rate, short_ms = per_second([(i.title, i.text) for i in labelled], tagger, args.rounds)
    print(f"\ntagging, labelled texts: {short_rate:8.0f} docs/s  {short_ms:6.3f} ms/doc")
    print("per article, extraction and tagging measured together:")
    for name, pages in (("fixture pages", fixture_pages()), ("heavy pages", heavy_pages(20))):
        extract_ms, tag_ms, chars = extract_then_tag(pages, tagger, max(1, args.rounds // 4))
        share = tag_ms / (extract_ms + tag_ms)
        print(f"  {name:<14} {len(pages):>3} pages, text {chars:5.0f} chars: extract "
              f"{extract_ms:6.2f} ms, tag {tag_ms:5.3f} ms ({1000 / tag_ms:6.0f} docs/s)"
              f" -> tagging {share:.1%} of extract + tag")  # fmt: skip
    print("target: tagging under 5% of the per-article time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
