"""Clean text against the golden files: newswire's extraction next to plain trafilatura.

For every fixture page with a golden file (tests/data/expected/), in the layouts of real
outlets (Shafaq News in English, Arabic and Kurdish; The Jerusalem Post, a live blog among
them; a WordPress site, an AMP page, a Hebrew page, a video page ...), prints token-level
precision, recall and F1 (words, as multisets) of newswire's `extract_page` and of plain
`trafilatura.extract` with its defaults, the boilerplate each leaks (markers of datelines,
credits, captions, related links, prompts and trailers absent from the golden text), and the
milliseconds per page of both, measured in the same run.

    .venv/bin/python bench/extraction_quality.py [--rounds 20]

With `--corpus DIR` it measures a public set instead: a folder in the layout of trafilatura's
evaluation set (990 pages; `gold.jsonl` lines `{"id", "url", "file", "with", "without"}`,
`pages/<id>.html.gz`), which a user builds from https://github.com/adbar/trafilatura (commit
e90b0ef5, `tests/evaldata.json` with the pages of `tests/eval/` and `tests/cache/`). Counted as
upstream's `tests/eval_common.py` counts: a `with` snippet found in the whitespace-normalised
text is a true positive, missing a false negative; a `without` snippet found a false positive.
It prints newswire (the text the pipeline would publish for the page, with no feed text to fall
back on), plain `trafilatura.extract` with its defaults and with `fast=True`: precision,
recall, F1, ms per page and the time ratio, F1 per declared page language, the pages newswire
leaves empty, and the pages where newswire loses most against plain trafilatura.

    .venv/bin/python bench/extraction_quality.py --corpus DIR
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.extract.extractor import extract_page, extract_text  # noqa: E402
from newswire.extract.language import warm_up  # noqa: E402
from newswire.http.fetch import decode_html  # noqa: E402
from newswire.models import FeedEntry, FetchedPage, OutletSpec  # noqa: E402
from newswire.settings import ExtractSettings  # noqa: E402
from tests.test_extract import GOLDEN, OUTLETS  # noqa: E402

DATA = ROOT / "tests" / "data"
_WORD = re.compile(r"\w+", re.UNICODE)
_LANG = re.compile(r"""<html[^>]*?\blang=["']?([a-zA-Z]{2})""", re.IGNORECASE)
# Boilerplate seen on news pages; a marker found in a text but not in its golden file is a leak.
MARKERS = (
    "Shafaq News/",
    "شفق نيوز/",
    "شەفەق نیوز/",
    "As reported by",
    "(photo credit",
    "(Photo:",
    "(تصوير:",
    "(وێنە:",
    "(צילום:",
    "Read More:",
    "Read also",
    "Related:",
    "اقرأ أيضاً",
    "بخوێنەوە",
    "קראו עוד",
    "More on this story",
    "Subscribe",
    "Stay updated",
    "Share this",
    "Follow us",
    "تابعونا",
    "Download our app",
    "We use cookies",
    "By Sarah Ahmed",
    "Omar Al-Mansouri, Doha",
    "Duration:",
    "©",
    "Leave a Reply",
    "Finally! My father",
    "Most Read",
    "|---|",
)


def tokens(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.casefold()))


def scores(output: str, golden: str) -> tuple[int, int, int]:
    """(shared tokens, output tokens, golden tokens)."""
    out, gold = tokens(output), tokens(golden)
    return sum((out & gold).values()), sum(out.values()), sum(gold.values())


def leaks(output: str, golden: str, title: str | None) -> list[str]:
    found = [m for m in MARKERS if m in output and m not in golden]
    lines = output.split("\n")
    if title and any(line.strip() == title for line in lines) and title not in golden:
        found.append("the title")
    return found


def page_of(name: str) -> FetchedPage:
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    url = f"https://fixtures.test/{name}"
    return FetchedPage(url, url, html, datetime(2026, 11, 21, tzinfo=UTC))


def caption_leaks(name: str, output: str, golden: str) -> list[str]:
    """A figure caption of the page printed in the text (the golden never has one)."""
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    captions = re.findall(r"<figcaption[^>]*>([^<]+)</figcaption>", html)
    captions += re.findall(r'class="caption">([^<]+)<', html)
    return [f"caption {c[:30]!r}..." for c in captions if c.strip() in output and c not in golden]


def measure(rounds: int) -> None:
    settings = ExtractSettings()
    warm_up()  # the service loads the language model before its workers start
    totals = {"newswire": [0, 0, 0], "trafilatura": [0, 0, 0]}
    seconds = {"newswire": 0.0, "trafilatura": 0.0}
    leaked = {"newswire": 0, "trafilatura": 0}
    print(f"{'page':<30} {'newswire F1':>11} {'plain F1':>9}  leaks (newswire / plain)")
    for name in sorted(GOLDEN):
        golden = (DATA / "expected" / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
        page = page_of(name)
        outlet = OUTLETS[GOLDEN[name][0]]
        ours = extract_page(page, outlet, settings)
        plain = trafilatura.extract(page.html, url=page.final_url) or ""
        row = []
        for label, output in (("newswire", ours.text), ("trafilatura", plain)):
            shared, out, gold = scores(output, golden)
            for i, value in enumerate((shared, out, gold)):
                totals[label][i] += value
            row.append(2 * shared / (out + gold) if out + gold else 0.0)
        our_leaks = leaks(ours.text, golden, ours.title) + caption_leaks(name, ours.text, golden)
        plain_leaks = leaks(plain, golden, ours.title) + caption_leaks(name, plain, golden)
        leaked["newswire"] += len(our_leaks)
        leaked["trafilatura"] += len(plain_leaks)
        print(
            f"{name:<30} {row[0]:>11.3f} {row[1]:>9.3f}  "
            f"{len(our_leaks)} / {len(plain_leaks)}: {', '.join(plain_leaks) or '-'}"
            + (f"  NEWSWIRE LEAKS: {our_leaks}" if our_leaks else "")
        )
    for _ in range(rounds):
        for name in GOLDEN:
            page, outlet = page_of(name), OUTLETS[GOLDEN[name][0]]
            started = time.perf_counter()
            extract_page(page, outlet, settings)
            seconds["newswire"] += time.perf_counter() - started
            started = time.perf_counter()
            trafilatura.extract(page.html, url=page.final_url)
            seconds["trafilatura"] += time.perf_counter() - started
    print()
    for label, (shared, out, gold) in totals.items():
        precision, recall = shared / out, shared / gold
        f1 = 2 * precision * recall / (precision + recall)
        ms = seconds[label] / (rounds * len(GOLDEN)) * 1000
        print(
            f"{label:<12} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
            f"leaks {leaked[label]}  {ms:.1f} ms/page"
        )
    print(f"newswire ms / plain trafilatura ms: {seconds['newswire'] / seconds['trafilatura']:.2f}")
    print(f"pages: {len(GOLDEN)}; timing over {rounds} rounds")


@dataclass
class Counts:
    """Upstream's counting, summed over pages."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    seconds: float = 0.0
    empty: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fn, self.fp = self.tp + other.tp, self.fn + other.fn, self.fp + other.fp

    def prf(self) -> tuple[float, float, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def fold(text: str) -> str:
    return " ".join(text.split())


def count(text: str, gold: dict[str, Any]) -> Counts:
    found = fold(text)
    with_ = [fold(snippet) in found for snippet in gold.get("with", [])]
    without = [fold(snippet) in found for snippet in gold.get("without", [])]
    return Counts(tp=sum(with_), fn=len(with_) - sum(with_), fp=sum(without))


def corpus_pages(corpus: Path) -> Iterator[tuple[dict[str, Any], FetchedPage, str]]:
    """(gold, the page, its declared language) for every page of the set."""
    for line in (corpus / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        gold = json.loads(line)
        raw = (corpus / gold["file"]).read_bytes()
        html = decode_html(gzip.decompress(raw) if gold["file"].endswith(".gz") else raw)
        page = FetchedPage(gold["url"], gold["url"], html, datetime(2026, 11, 21, tzinfo=UTC))
        declared = _LANG.search(html[:5000])
        yield gold, page, (declared.group(1).lower() if declared else "?")


def newswire_text(page: FetchedPage, settings: ExtractSettings) -> str:
    """What the pipeline publishes for this page when the feed gives nothing but the link."""
    outlet = OutletSpec("corpus", "Corpus")
    entry = FeedEntry(feed_id="corpus", outlet_id="corpus", link=page.url, title="")
    return extract_text(page, None, entry, outlet, settings).text


def measure_corpus(corpus: Path, show: int) -> None:
    settings = ExtractSettings()
    warm_up()
    runs: dict[str, Callable[[FetchedPage], str]] = {
        "newswire": lambda page: newswire_text(page, settings),
        "trafilatura": lambda page: trafilatura.extract(page.html, url=page.final_url) or "",
        "trafilatura fast": lambda page: (
            trafilatura.extract(page.html, url=page.final_url, fast=True) or ""
        ),
    }
    totals = {name: Counts() for name in runs}
    by_language: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    losses: list[tuple[int, str, str]] = []
    emptied: list[str] = []
    pages = 0
    for gold, page, language in corpus_pages(corpus):
        pages += 1
        got: dict[str, Counts] = {}
        for name, run in runs.items():
            started = time.perf_counter()
            text = run(page)
            totals[name].seconds += time.perf_counter() - started
            got[name] = count(text, gold)
            totals[name].add(got[name])
            by_language[language][name].add(got[name])
            if not text.strip():
                totals[name].empty += 1
                if name == "newswire":
                    emptied.append(gold["id"])
        ours, plain = got["newswire"], got["trafilatura"]
        lost = (plain.tp - plain.fp) - (ours.tp - ours.fp)
        if lost > 0:
            losses.append(
                (lost, gold["id"], f"TP {ours.tp} vs {plain.tp}, FP {ours.fp} vs {plain.fp}")
            )
    baseline = totals["trafilatura"].seconds
    print(f"pages: {pages}")
    head = ("precision", "recall", "F1", "ms/page", "x plain", "empty")
    print(f"{'':18} {head[0]:>9} {head[1]:>7} {head[2]:>6} {head[3]:>8} {head[4]:>8} {head[5]:>6}")
    for name, total in totals.items():
        precision, recall, f1 = total.prf()
        ms = total.seconds / pages * 1000
        ratio = total.seconds / baseline
        print(
            f"{name:18} {precision:9.3f} {recall:7.3f} {f1:6.3f} {ms:8.1f} {ratio:8.2f} "
            f"{total.empty:6}"
        )
    print("F1 by the page's declared language (languages with 10 pages or more):")
    for language, counts in sorted(by_language.items(), key=lambda kv: -kv[1]["newswire"].tp):
        if sum(c.tp + c.fn for c in counts.values()) < 10 * len(runs):
            continue
        row = "  ".join(f"{name} {counts[name].prf()[2]:.3f}" for name in runs)
        print(f"  {language:6} {row}")
    print(f"pages newswire leaves empty: {len(emptied)} {emptied[:show]}")
    print(f"pages where newswire loses most against plain trafilatura ({len(losses)} lose):")
    for lost, page_id, detail in sorted(losses, reverse=True)[:show]:
        print(f"  -{lost} {page_id}: {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--corpus", type=Path, help="a folder in extraction-dev's layout")
    parser.add_argument("--show", type=int, default=15, help="pages listed per finding")
    args = parser.parse_args()
    if args.corpus:
        measure_corpus(args.corpus, args.show)
    else:
        measure(args.rounds)


if __name__ == "__main__":
    main()
