"""Soak: `newswire run` for N minutes on feeds that never stop posting, memory sampled.

A local server (127.0.0.1) adds a new realistic article page every `--every` seconds to one of
10 feeds (each feed lists its newest 30 items); newswire polls every 5 s into the embedded
broker. Every `--sample` seconds the script prints the resident memory of the newswire process
and of its worker processes, the records acknowledged so far and the outbox size. The memory
columns must level off.

    .venv/bin/python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import feed_body, page_body  # noqa: E402
from newswire.broker import free_port  # noqa: E402
from tests.site import FixtureSite, Resource  # noqa: E402

FEEDS = 10
NEWEST = 30


def publish_forever(site: FixtureSite, every: float, stop: threading.Event) -> None:
    """Add one article every `every` seconds, round-robin over the feeds."""
    index = 0
    per_feed: dict[int, list[int]] = {f: [] for f in range(FEEDS)}
    while not stop.wait(every):
        feed = index % FEEDS
        site.add(f"/a/{index}", Resource(page_body(index)))
        per_feed[feed] = [index, *per_feed[feed]][:NEWEST]
        body = feed_body(site.base, per_feed[feed])
        site.add(f"/feed/{feed}", Resource(body, "application/rss+xml"))
        site.resources.pop(f"/a/{index - FEEDS * NEWEST}", None)  # the server stays small
        index += 1


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread may end while we look
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def scrape(port: int) -> dict[str, float]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("newswire_articles_published_total{", "newswire_outbox_records ")):
            name = line.split("{")[0].split(" ")[0]
            values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return values


def write_config(tmp: Path, feed_urls: list[str], metrics_port: int, interval: str = "5s") -> Path:
    """A config directory: the shipped settings and regions, these feeds polled every
    `interval`, the embedded broker, state under `tmp`, loopback allowed."""
    config = tmp / "config"
    config.mkdir()
    (config / "regions.yaml").write_text((ROOT / "config" / "regions.yaml").read_text())
    feeds = [
        {
            "url": url,
            "id": f"soak-{n}",
            "interval": interval,
            "min_interval": interval,
            "max_interval": interval,
        }
        for n, url in enumerate(feed_urls)
    ]
    outlets = [{"id": "soak", "name": "Soak", "language": "en", "feeds": feeds}]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"outlets": outlets}))
    settings = yaml.safe_load((ROOT / "config" / "newswire.yaml").read_text())
    settings["kafka"]["bootstrap_servers"] = "embedded"
    settings["kafka"]["embedded_listen"] = f"127.0.0.1:{free_port()}"
    settings["state"] = {"dir": str(tmp / "state")}
    settings["metrics"] = {"host": "127.0.0.1", "port": metrics_port}
    settings["log"] = {"level": "WARNING", "format": "json"}
    settings["http"].update(host_min_delay=0, host_concurrency=16, allow_hosts=["127.0.0.1"])
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sample", type=float, default=60, help="seconds between samples")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between new articles")
    args = parser.parse_args()
    site = FixtureSite().start()
    for f in range(FEEDS):
        site.add(f"/feed/{f}", Resource(feed_body(site.base, []), "application/rss+xml"))
    stop = threading.Event()
    threading.Thread(target=publish_forever, args=(site, args.every, stop), daemon=True).start()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        feeds = [site.url(f"/feed/{f}") for f in range(FEEDS)]
        config = write_config(Path(tmp), feeds, port)
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
        service = subprocess.Popen(
            [sys.executable, "-m", "newswire", "--config", str(config), "run"],
            stderr=subprocess.DEVNULL,
            env=env,
        )
        print("minute  main_MB  workers_MB  acked_records  outbox", flush=True)
        started = time.monotonic()
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.sample)
                workers = [c for c in children(service.pid) if "tansu" not in _cmd(c)]
                values = scrape(port)
                print(
                    f"{(time.monotonic() - started) / 60:6.1f}  {rss_kb(service.pid) / 1024:7.1f}"
                    f"  {sum(rss_kb(c) for c in workers) / 1024:10.1f}"
                    f"  {values.get('newswire_articles_published_total', 0):13.0f}"
                    f"  {values.get('newswire_outbox_records', 0):6.0f}",
                    flush=True,
                )
        finally:
            stop.set()
            service.terminate()
            service.wait(timeout=60)
            site.stop()


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
