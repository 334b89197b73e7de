"""Conditional polls per second: F feeds on a local server that answers 304 to a matching
If-None-Match, polled through newswire's own poll path (state store, host gate, schedule,
metrics) on each HTTP transport (http.transport: aiohttp, the default, and httpx), next to
bare loops sending the same conditional GETs at the same concurrency through httpx with its
own transport and with httpx-aiohttp's.

The server runs in its own process (asyncio, keep-alive, a 304 costs it a few microseconds).
All feeds are on 127.0.0.1, so the per-host limits are lifted here: this measures the poll path,
not politeness (real feeds are spread over many hosts).

    .venv/bin/python bench/poll_rate.py --feeds 5000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.config import load_config  # noqa: E402
from newswire.http.client import HttpFetcher  # noqa: E402
from newswire.models import FeedSpec, OutletSpec  # noqa: E402
from newswire.pipeline import Pipeline  # noqa: E402
from newswire.publish.broker import EmbeddedBroker, free_port  # noqa: E402
from newswire.publish.outbox import Outbox  # noqa: E402
from newswire.publish.producer import Publisher  # noqa: E402
from newswire.settings import Settings  # noqa: E402
from newswire.state import StateStore  # noqa: E402

EMPTY_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


class KeepAlive(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server for benches: each request head (GETs only, no
    bodies) is answered with `respond(head)`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(self.respond(head))

    def respond(self, head: bytes) -> bytes:
        raise NotImplementedError


class _Feeds(KeepAlive):
    """304 when If-None-Match matches the path's ETag, else 200 with an empty feed."""

    def respond(self, head: bytes) -> bytes:
        path = head.split(b" ", 2)[1]
        etag = b'"' + path.rsplit(b"/", 1)[-1] + b'"'
        if b"\r\nif-none-match: " + etag.lower() in head.lower():
            return b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n"
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "
            + etag
            + b"\r\nContent-Length: "
            + str(len(EMPTY_FEED)).encode()
            + b"\r\n\r\n"
            + EMPTY_FEED
        )


def serve(port: int, protocol: type[KeepAlive] = _Feeds) -> None:
    """Serve `protocol` on 127.0.0.1:`port` until killed (run in a process of its own)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    asyncio.run(main())


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("feed server did not start")


def bench_settings(concurrency: int, transport: str) -> Settings:
    settings = load_config(ROOT / "config", environ={}).settings
    http = settings.http.model_copy(
        update={
            "transport": transport,
            "feed_concurrency": concurrency,
            "host_concurrency": concurrency,
            "host_min_delay": 0.0,
            "max_connections": concurrency,
            "allow_hosts": ("127.0.0.1",),  # the local server; the SSRF guard refuses it
        }
    )
    return settings.model_copy(update={"http": http})


async def newswire_rounds(
    settings: Settings, bootstrap: str, store: StateStore, feeds: tuple[FeedSpec, ...], rounds: int
) -> float:
    publisher = Publisher(settings, bootstrap)
    try:
        async with HttpFetcher(settings.http) as fetcher:
            with ThreadPoolExecutor(2) as pool:
                outbox = Outbox(settings, store, publisher)  # stays empty: 304s publish nothing
                pipeline = Pipeline(settings, fetcher, store, outbox, pool)
                await pipeline.poll_all(feeds)  # prime: 200s, validators stored
                started = time.perf_counter()
                for _ in range(rounds):
                    await pipeline.poll_all(feeds)
                return len(feeds) * rounds / (time.perf_counter() - started)
    finally:
        publisher.close()


async def bare_httpx_rounds(
    urls: list[str], concurrency: int, rounds: int, aiohttp: bool = False
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = AiohttpTransport(limits=limits) if aiohttp else None
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits, transport=transport, trust_env=False) as client:

        async def poll(url: str) -> None:
            async with slots:
                etag = '"' + url.rsplit("/", 1)[-1] + '"'
                response = await client.get(url, headers={"If-None-Match": etag})
                assert response.status_code == 304

        started = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(poll(u) for u in urls))
        return len(urls) * rounds / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)  # http.feed_concurrency
    args = parser.parse_args()

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port,), daemon=True)
    server.start()
    wait_for_port(port)
    outlet = OutletSpec("bench", "Bench")
    urls = [f"http://127.0.0.1:{port}/feeds/f{i}" for i in range(args.feeds)]
    feeds = tuple(FeedSpec(f"bench.f{i}", u, outlet, 300) for i, u in enumerate(urls))
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker("127.0.0.1:0", Path(tmp) / "broker.log")
        bootstrap = broker.start()
        try:
            for transport in ("aiohttp", "httpx"):
                settings = bench_settings(args.concurrency, transport)
                store = StateStore(Path(tmp) / f"state-{transport}.db")
                rates[f"newswire, transport {transport}"] = asyncio.run(
                    newswire_rounds(settings, bootstrap, store, feeds, args.rounds)
                )
            for name, aiohttp in (("bare httpx", False), ("bare httpx over aiohttp", True)):
                rates[name] = asyncio.run(
                    bare_httpx_rounds(urls, args.concurrency, args.rounds, aiohttp)
                )
        finally:
            broker.stop()
            server.kill()
    print(f"feeds {args.feeds}, rounds {args.rounds}, concurrency {args.concurrency}")
    baseline = rates["bare httpx"]
    print(f"{'':32} {'polls/s':>8} {'x bare httpx':>13}")
    for name, rate in rates.items():
        print(f"{name:32} {rate:8.0f} {rate / baseline:13.2f}")
    print("target: newswire >= 1000 conditional polls/s")


if __name__ == "__main__":
    main()
