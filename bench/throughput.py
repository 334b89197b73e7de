"""Throughput of `newswire run --once` on a local site, next to a naive loop and the CPU limit.

Serves N article pages (the fixture pages, each copy made distinct) behind F RSS feeds from a
local HTTP server, starts the embedded broker, and measures in the same run:
  1. newswire: `newswire run --once` as a subprocess (start-up included), articles/s;
  2. naive:    one sequential loop of feedparser + httpx + trafilatura + kafka-python;
  3. limit:    newswire's own extract + tag over the same pages in a process pool, no I/O.
Prints the figures and the ratios newswire/limit and newswire/naive. The limit is timed once
its workers are up, so the like-for-like ratio is newswire's steady rate (first to last
article accepted) over it; the start-up-included ratio is printed too (a fixed cost of about
2 s: interpreter and imports, loading the models, so it depends on --pages).

    .venv/bin/python bench/throughput.py --pages 200 --feeds 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import trafilatura
import yaml
from kafka import KafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.config import load_config  # noqa: E402
from newswire.models import FeedEntry, FetchedPage  # noqa: E402
from newswire.publish.broker import EmbeddedBroker  # noqa: E402
from newswire.service import worker_pool  # noqa: E402
from newswire.worker import process_entry  # noqa: E402
from tests.site import FixtureSite, Resource  # noqa: E402
from tests.stories import story_html  # noqa: E402


def chrome(index: int) -> tuple[str, str]:
    """The weight of a real news page around the article (~120 KB): a mega-menu, teaser
    rails, inline scripts and JSON blobs, a footer link farm."""
    menu = "".join(
        f'<li><a href="/section/{s}/{k}">Section {s} topic {k}</a></li>'
        for s in range(12)
        for k in range(25)
    )
    teasers = "".join(
        f'<div class="teaser"><a href="/story/{index + t}"><img src="/img/{t}.jpg" '
        f'alt="teaser {t}"><h3>Related headline number {t} about the region</h3></a>'
        f'<p class="dek">A short teaser paragraph for story {t}, with a date and a byline.</p>'
        f'<span class="time">{t} hours ago</span></div>'
        for t in range(60)
    )
    script = "<script>window.__STATE__=" + '{"k":"' + "x" * 30000 + '"}</script>'
    footer = "".join(f'<a href="/footer/{k}">Footer link {k}</a> ' for k in range(200))
    head = f'<nav class="mega-menu"><ul>{menu}</ul></nav>{script}'
    tail = f'<aside class="rail">{teasers}</aside><footer class="links">{footer}</footer>'
    return head, tail


def page_body(index: int) -> bytes:
    """A distinct story (not a near-duplicate of another) in a realistically heavy page."""
    head, tail = chrome(index)
    return story_html(index, head, tail)


def feed_body(base: str, items: list[int]) -> bytes:
    entries = "".join(
        f"<item><title>Story {i}</title><link>{base}/a/{i}</link><guid>story-{i}</guid>"
        f"<pubDate>Sat, 21 Nov 2026 10:00:00 GMT</pubDate></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
        f"{entries}</channel></rss>"
    ).encode()


def serve(site: FixtureSite, pages: int, feeds: int) -> list[str]:
    for i in range(pages):
        site.add(f"/a/{i}", Resource(page_body(i)))
    urls = []
    for f in range(feeds):
        items = list(range(f, pages, feeds))
        urls.append(
            site.add(f"/feed/{f}", Resource(feed_body(site.base, items), "application/rss+xml"))
        )
    return urls


def run_newswire(tmp: Path, bootstrap: str, feed_urls: list[str]) -> tuple[float, float]:
    """Wall time of `run --once`, and the time from its first to its last publish."""
    config = tmp / "config"
    config.mkdir()
    (config / "regions.yaml").write_text((ROOT / "config" / "regions.yaml").read_text())
    outlets = [
        {
            "id": "bench",
            "name": "Bench",
            "language": "en",
            "feeds": [{"url": u, "id": f"bench-{n}"} for n, u in enumerate(feed_urls)],
        }
    ]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"outlets": outlets}))
    settings = yaml.safe_load((ROOT / "config" / "newswire.yaml").read_text())
    settings["kafka"]["bootstrap_servers"] = bootstrap
    settings["state"] = {"dir": str(tmp / "state")}
    settings["metrics"] = {"host": "127.0.0.1", "port": 0}
    settings["log"] = {"level": "INFO", "format": "json"}
    # every "outlet" here is the one local server: lift the per-host politeness limits that
    # would otherwise serialise 20 outlets' pages through one host's slots
    settings["http"].update(host_min_delay=0, host_concurrency=64, allow_hosts=["127.0.0.1"])
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "newswire", "--config", str(config), "run", "--once"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    stamps = [datetime.fromisoformat(e["ts"]) for e in events if e["msg"] == "accepted"]
    return wall, (max(stamps) - min(stamps)).total_seconds()


def run_naive(bootstrap: str, feed_urls: list[str]) -> tuple[float, int]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    started = time.perf_counter()
    count = 0
    with httpx.Client() as client:
        for url in feed_urls:
            for entry in feedparser.parse(client.get(url).content).entries:
                html = client.get(entry.link).text
                text = trafilatura.extract(html, url=entry.link, with_metadata=True) or ""
                producer.send("naive.articles", text.encode()).get(timeout=30)
                count += 1
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed, count


def run_limit(pages: int) -> float:
    config = load_config(ROOT / "config", environ={})
    feed = config.feeds[0]
    now = datetime.now(UTC)
    jobs = []
    for i in range(pages):
        link = f"http://127.0.0.1/a/{i}"
        entry = FeedEntry(feed_id=feed.id, outlet_id=feed.outlet.id, link=link, title=f"S{i}")
        jobs.append((entry, FetchedPage(link, link, page_body(i).decode(), now)))
    with worker_pool(config) as pool:
        list(pool.map(_noop, range(os.cpu_count() or 1)))  # workers up before timing
        started = time.perf_counter()
        futures = [
            pool.submit(process_entry, e, p, None, feed, config.settings.extract) for e, p in jobs
        ]
        for future in futures:
            future.result()
        return time.perf_counter() - started


def _noop(_: int) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=10)
    args = parser.parse_args()
    site = FixtureSite().start()
    broker = EmbeddedBroker("127.0.0.1:0")
    bootstrap = broker.start()
    try:
        feed_urls = serve(site, args.pages, args.feeds)
        with tempfile.TemporaryDirectory() as tmp:
            newswire_s, steady_s = run_newswire(Path(tmp), bootstrap, feed_urls)
        naive_s, naive_n = run_naive(bootstrap, feed_urls)
        limit_s = run_limit(args.pages)
    finally:
        broker.stop()
        site.stop()
    rate = args.pages / newswire_s
    print(f"pages={args.pages} feeds={args.feeds} cores={os.cpu_count()}")
    steady = (args.pages - 1) / steady_s
    print(f"newswire run --once : {newswire_s:7.2f} s  {rate:7.1f} articles/s (start-up included)")
    print(f"newswire steady     : {steady_s:7.2f} s  {steady:7.1f} articles/s (accepted, steady)")
    print(f"naive loop          : {naive_s:7.2f} s  {naive_n / naive_s:7.1f} articles/s")
    print(f"limit (extract+tag) : {limit_s:7.2f} s  {args.pages / limit_s:7.1f} articles/s")
    limit = args.pages / limit_s  # timed from warm workers: no start-up in it
    print(f"newswire / limit    : {steady / limit:.2f} steady (neither with start-up)")
    print(f"                      {rate / limit:.2f} with newswire's start-up included")
    print(f"newswire / naive    : {rate / (naive_n / naive_s):.2f}")


if __name__ == "__main__":
    main()
