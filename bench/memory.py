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
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.poll_rate import wait_for_port  # noqa: E402
from bench.soak import children, rss_kb, write_config  # noqa: E402
from newswire.broker import free_port  # noqa: E402
from tests.stories import story  # noqa: E402

FEEDS = 20
BATCH = 50
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


class _Server(asyncio.Protocol):
    """HTTP/1.1 keep-alive: /feed/F gives the feed's next BATCH entries (until the total is
    reached, then the last ones again); /a/N... gives article N's page."""

    cursors: ClassVar[dict[int, int]] = {}
    total = 0
    base = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].decode()
            self.transport.write(self.respond(path))

    def respond(self, path: str) -> bytes:
        if path.startswith("/feed/"):
            body, kind = self.next_batch(int(path.rsplit("/", 1)[1])), "application/rss+xml"
        else:
            body, kind = page(int(path.split("/")[2].split("?")[0])), "text/html; charset=utf-8"
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def next_batch(self, f: int) -> bytes:
        per_feed = self.total // FEEDS
        start = min(self.cursors.get(f, 0), per_feed - BATCH)
        self.cursors[f] = start + BATCH
        return feed(self.base, range(f + FEEDS * start, f + FEEDS * (start + BATCH), FEEDS))


def serve(port: int, total: int) -> None:
    _Server.total, _Server.base = total, f"http://127.0.0.1:{port}"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Server, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    asyncio.run(main())


def counters(port: int) -> dict[str, float]:
    """newswire's entry, published and duplicate counts from its /metrics."""
    import httpx

    wanted = {
        "newswire_feed_entries_total": "entries",
        "newswire_articles_published_total": "records",
        "newswire_duplicates_total": "duplicates",
    }
    values = dict.fromkeys(wanted.values(), 0.0)  # records: acked, one per article and topic
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return values
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name in wanted:
            values[wanted[name]] += float(line.rsplit(" ", 1)[1])
    return values


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident MB of the service process and of its workers (the broker not counted)."""
    workers = [c for c in children(pid) if "tansu" not in _cmdline(c)]
    return rss_kb(pid) / 1024, sum(rss_kb(c) for c in workers) / 1024


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000, help="entries between samples")
    args = parser.parse_args()
    feed_port, metrics_port = free_port(), free_port()
    spawn = multiprocessing.get_context("spawn")
    server = spawn.Process(target=serve, args=(feed_port, args.entries), daemon=True)
    server.start()
    wait_for_port(feed_port)
    feeds = [f"http://127.0.0.1:{feed_port}/feed/{f}" for f in range(FEEDS)]
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), feeds, metrics_port, interval="2s")
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
        service = subprocess.Popen(
            [sys.executable, "-m", "newswire", "--config", str(config), "run"],
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            measure(service.pid, metrics_port, args.entries, args.every)
        finally:
            service.terminate()
            service.wait(timeout=60)
            server.kill()


def measure(pid: int, metrics_port: int, total: int, every: int) -> None:
    print("entries  records  duplicates  minutes  main_MB  workers_MB  total_MB", flush=True)
    started, peak, mark = time.monotonic(), 0.0, 0
    while True:
        time.sleep(1)
        seen = counters(metrics_port)
        main_mb, workers_mb = memory_mb(pid)
        peak = max(peak, main_mb + workers_mb)
        done = seen["records"] + seen["duplicates"]
        finished = seen["entries"] >= total and done >= seen["entries"] * 0.99
        if seen["entries"] >= mark or finished:
            print(
                f"{seen['entries']:7.0f}  {seen['records']:7.0f}  {seen['duplicates']:10.0f}"
                f"  {(time.monotonic() - started) / 60:7.1f}  {main_mb:7.1f}  {workers_mb:10.1f}"
                f"  {main_mb + workers_mb:8.1f}",
                flush=True,
            )
            mark = (int(seen["entries"]) // every + 1) * every
        if finished:
            break
    print(f"peak total MB {peak:.1f}; final total MB {main_mb + workers_mb:.1f}; target < 300")


if __name__ == "__main__":
    main()
