"""Clean text against the golden files: newswire's extraction next to plain trafilatura.

For every fixture page with a golden file (tests/data/expected/), in the layouts of real
outlets (Shafaq News in English, Arabic and Kurdish; The Jerusalem Post, a live blog among
them; a WordPress site, an AMP page, a Hebrew page, a video page ...), prints token-level
precision, recall and F1 (words, as multisets) of newswire's `extract_page` and of plain
`trafilatura.extract` with its defaults, the boilerplate each leaks (markers of datelines,
credits, captions, related links, prompts and trailers absent from the golden text), and the
milliseconds per page of both, measured in the same run.

    .venv/bin/python bench/extraction_quality.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.extract.extractor import extract_page  # noqa: E402
from newswire.extract.language import warm_up  # noqa: E402
from newswire.models import FetchedPage  # noqa: E402
from newswire.settings import ExtractSettings  # noqa: E402
from tests.test_extract import GOLDEN, OUTLETS  # noqa: E402

DATA = ROOT / "tests" / "data"
_WORD = re.compile(r"\w+", re.UNICODE)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    measure(parser.parse_args().rounds)


if __name__ == "__main__":
    main()
