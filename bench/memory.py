"""Memory under load: N feed entries (100,000 by default) through `newswire run`, resident
memory of the service and of its worker processes every 10,000 entries, peak and final.

A feed server in its own process (127.0.0.1, keep-alive) hands each poll of each of 20
feeds the next 50 entries, so every entry is seen once and the pipeline sets the pace. Of
every four entries two are new stories, one is an earlier story edited (a changed title and
sentence) under a new URL, one is an earlier entry's URL with tracking parameters added: the
identity, title and near-duplicate layers all work and remember. newswire polls each feed
every 2 s into the embedded broker (whose memory is not counted), with its state on disk as
in production. Before the first sample the service has warmed up (models loaded, first
articles through); the baseline row is that point. The memory columns must level off.

    .venv/bin/python bench/memory.py --entries 100000
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.poll_rate import KeepAlive, serve, wait_for_port  # noqa: E402
from bench.soak import launch_service, memory_mb, proportional_mb, scrape, write_config  # noqa: E402
from newswire.publish.broker import free_port  # noqa: E402
from tests.stories import story  # noqa: E402

FEEDS = 20
BATCH = 50
ENTRIES = "newswire_feed_entries_total"
RECORDS = "newswire_articles_published_total"  # records acked, one per article and topic
DUPLICATES = "newswire_duplicates_total"
IN_FLIGHT = "newswire_articles_in_flight"
OUTBOX = "newswire_outbox_records"
HEAD = "<header><nav>" + "".join(f'<a href="/s/{i}">Section {i}</a>' for i in range(30))
HEAD += "</nav></header>"


def article_path(n: int) -> str:
    """The link of entry n: new stories, edited repeats under new URLs, old URLs with
    tracking parameters."""
    if n % 4 == 3:
        return f"/a/{n - 3}?utm_source=feed{n % FEEDS}&utm_medium=rss&fbclid=x{n}"
    return f"/a/{n}"


def page(n: int) -> bytes:
    """Article n's page: its own story, or (n % 4 == 2) story n - 2 edited."""
    source = n - 2 if n % 4 == 2 else n
    title, paragraphs = story(source)
    if source != n:
        rng = random.Random(n)
        title = title.replace("report", "update")
        words = paragraphs[1].split()
        words[rng.randrange(len(words))] = "reportedly"
        paragraphs = [paragraphs[0], " ".join(words), *paragraphs[2:]]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>{HEAD}<article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def feed(base: str, numbers: range) -> bytes:
    items = "".join(
        f"<item><title>{story(n - 2 if n % 4 == 2 else n)[0]}</title>"
        f"<link>{base}{article_path(n)}</link><guid>{base}/guid/{n}</guid></item>"
        for n in numbers
    )
    return f'<rss version="2.0"><channel><title>bench</title>{items}</channel></rss>'.encode()


class _Server(KeepAlive):
    """/feed/F gives the feed's next BATCH entries (until the total is reached, then the last
    ones again); /a/N... gives article N's page."""

    cursors: ClassVar[dict[int, int]] = {}
    total = 0
    base = ""

    def respond(self, head: bytes) -> bytes:
        path = head.split(b" ", 2)[1].decode()
        if path.startswith("/feed/"):
            body, kind = self.next_batch(int(path.rsplit("/", 1)[1])), "application/rss+xml"
        else:
            body, kind = page(int(path.split("/")[2].split("?")[0])), "text/html; charset=utf-8"
        status = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}"
        return status.encode() + b"\r\n\r\n" + body

    def next_batch(self, f: int) -> bytes:
        per_feed = self.total // FEEDS
        start = min(self.cursors.get(f, 0), per_feed - BATCH)
        self.cursors[f] = start + BATCH
        return feed(self.base, range(f + FEEDS * start, f + FEEDS * (start + BATCH), FEEDS))


def serve_articles(port: int, total: int) -> None:
    _Server.total, _Server.base = total, f"http://127.0.0.1:{port}"
    serve(port, _Server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="entries between samples")
    args = parser.parse_args()
    feed_port, metrics_port = free_port(), free_port()
    spawn = multiprocessing.get_context("spawn")
    server = spawn.Process(target=serve_articles, args=(feed_port, args.entries), daemon=True)
    server.start()
    wait_for_port(feed_port)
    feeds = [f"http://127.0.0.1:{feed_port}/feed/{f}" for f in range(FEEDS)]
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), feeds, metrics_port, interval="2s")
        service = launch_service(config)
        try:
            measure(service.pid, metrics_port, args.entries, args.every)
        finally:
            service.terminate()
            service.wait(timeout=60)
            server.kill()


def measure(pid: int, metrics_port: int, total: int, every: int) -> None:
    """Sample every `every` entries until all `total` are seen and none is in flight or
    waiting in the outbox."""
    print(
        "entries  records  duplicates  minutes  main_RSS  workers_RSS  RSS_sum  PSS_total",
        flush=True,
    )
    started, peak, peak_rss, mark = time.monotonic(), 0.0, 0.0, 0
    while True:
        time.sleep(1)
        seen = scrape(metrics_port, (ENTRIES, RECORDS, DUPLICATES, IN_FLIGHT, OUTBOX))
        main_mb, workers_mb = memory_mb(pid)
        pss = proportional_mb(pid)
        peak, peak_rss = max(peak, pss), max(peak_rss, main_mb + workers_mb)
        finished = seen[ENTRIES] >= total and seen[IN_FLIGHT] == 0 and seen[OUTBOX] == 0
        if seen[ENTRIES] >= mark or finished:
            print(
                f"{seen[ENTRIES]:7.0f}  {seen[RECORDS]:7.0f}  {seen[DUPLICATES]:10.0f}"
                f"  {(time.monotonic() - started) / 60:7.1f}  {main_mb:8.1f}  {workers_mb:11.1f}"
                f"  {main_mb + workers_mb:7.1f}  {pss:9.1f}",
                flush=True,
            )
            mark = (int(seen[ENTRIES]) // every + 1) * every
        if finished:
            break
    print(
        f"PSS total (shared pages counted once): peak {peak:.1f} MB, final {pss:.1f} MB;"
        f" target < 300. RSS summed over the processes (shared pages counted in each):"
        f" peak {peak_rss:.1f} MB, final {main_mb + workers_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
