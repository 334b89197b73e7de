"""Soak: `newswire run` for N minutes on feeds that never stop posting, memory sampled.

A local server (127.0.0.1) adds a new realistic article page every `--every` seconds to one of
10 feeds (each feed lists its newest 30 items); newswire polls every 5 s into the embedded
broker. Every `--sample` seconds the script prints the resident memory of the newswire process
and of its worker processes, their PSS total (shared pages counted once), the records
acknowledged so far and the outbox size. The memory columns must level off.

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
from newswire.publish.broker import free_port  # noqa: E402
from tests.site import FixtureSite, Resource  # noqa: E402

FEEDS = 10
NEWEST = 30
PUBLISHED = "newswire_articles_published_total"  # records acked, one per article and topic
OUTBOX = "newswire_outbox_records"


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


def scrape(port: int, names: tuple[str, ...]) -> dict[str, float]:
    """Each named metric from newswire's /metrics, summed over its labels (0 when absent)."""
    values = dict.fromkeys(names, 0.0)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return values
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name in values:
            values[name] += float(line.rsplit(" ", 1)[1])
    return values


def pss_kb(pid: int) -> int:
    """The process's proportional set size: its resident pages, each shared page divided by
    the number of processes sharing it (so a tree's PSS sum counts shared memory once)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def workers_of(pid: int) -> list[int]:
    """The service's worker processes (the embedded broker is not counted)."""
    return [c for c in children(pid) if "tansu" not in _cmd(c)]


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident MB of the service process and of its workers (the broker not counted)."""
    return rss_kb(pid) / 1024, sum(rss_kb(c) for c in workers_of(pid)) / 1024


def proportional_mb(pid: int) -> float:
    """The memory the service and its workers cost together: the sum of their PSS."""
    return sum(pss_kb(p) for p in [pid, *workers_of(pid)]) / 1024


def launch_service(config: Path) -> subprocess.Popen[bytes]:
    """`newswire run` on `config`, on its embedded broker whatever the environment says."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    command = [sys.executable, "-m", "newswire", "--config", str(config), "run"]
    return subprocess.Popen(command, stderr=subprocess.DEVNULL, env=env)


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
        service = launch_service(config)
        print("minute  main_RSS  workers_RSS  PSS_total  acked_records  outbox", flush=True)
        started = time.monotonic()
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.sample)
                main_mb, workers_mb = memory_mb(service.pid)
                pss = proportional_mb(service.pid)
                values = scrape(port, (PUBLISHED, OUTBOX))
                print(
                    f"{(time.monotonic() - started) / 60:6.1f}  {main_mb:8.1f}  {workers_mb:11.1f}"
                    f"  {pss:9.1f}  {values[PUBLISHED]:13.0f}  {values[OUTBOX]:6.0f}",
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
