"""`newswire run` as a long-running service: cycles on the interval, stops on SIGTERM, and its
embedded broker never outlives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from newswire.config import load_config
from newswire.models import FeedState
from newswire.publish.broker import free_port, port_open
from newswire.state import STATE_FILE, StateStore
from tests.kafka_support import read_messages, unique_prefix
from tests.service_support import run_command, running_service, service_config
from tests.site import FixtureSite, Resource
from tests.stories import story_html

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"


def feed_with(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{{{{BASE}}}}{path}</link></item>"
        for path, title in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def write_config(tmp: Path, feed_url: str, kafka: dict[str, object], metrics_port: int) -> Path:
    """One feed polled every second, on the given Kafka settings."""
    feeds = [{"url": feed_url, "interval": "1s", "min_interval": "1s"}]
    bootstrap = str(kafka["bootstrap_servers"])
    return service_config(tmp, feeds, bootstrap, unique_prefix(), metrics_port, kafka=kafka)


def wait_for(
    condition: Callable[[], object], timeout: float = 60.0, what: str = "condition"
) -> float:
    """Poll `condition()` until true; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not met within {timeout}s")
        time.sleep(0.2)
    return time.monotonic() - started


def published(metrics_port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("newswire_articles_published_total{")
    )


def test_run_polls_again_on_its_interval_and_exits_0_on_sigterm(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    strikes = "/en/Iraq-News/strikes"
    green_zone = "/en/Security/green-zone"
    site.add_file(strikes, "site/shafaq-albukamal-strikes.html", "text/html")
    site.add_file(green_zone, "site/shafaq-baghdad-green-zone.html", "text/html")
    feed_url = site.add("/en/rss", Resource(feed_with([(strikes, "Strikes")]), RSS))
    prefix = unique_prefix()
    port = free_port()
    kafka = {"bootstrap_servers": kafka_bootstrap}
    config = write_config(tmp_path, feed_url, kafka, port)
    settings = yaml.safe_load((config / "newswire.yaml").read_text())
    settings["topics"] = {"articles": f"{prefix}.articles"}
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))

    service = subprocess.Popen(
        [sys.executable, "-m", "newswire", "--config", str(config), "run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: published(port) >= 1)
        site.add(
            "/en/rss", Resource(feed_with([(strikes, "Strikes"), (green_zone, "Rocket")]), RSS)
        )
        wait_for(lambda: published(port) >= 2)
        service.send_signal(signal.SIGTERM)
        _, stderr = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, stderr[-3000:]
    urls = [
        m["url"].removeprefix(site.base)
        for m in read_messages(kafka_bootstrap, f"{prefix}.articles")
    ]
    assert sorted(urls) == sorted([strikes, green_zone])
    assert site.hits("/en/rss") >= 2  # polled again on its 1 s interval
    finished = [json.loads(line) for line in stderr.splitlines() if '"run finished"' in line]
    assert finished and finished[0]["summary"]["published"] == 2, stderr[-2000:]


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    """The children of every thread of `pid`; a thread that ends while it is read is skipped."""
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pids.extend(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return pids


def test_embedded_broker_and_workers_die_with_a_killed_service(
    site: FixtureSite, tmp_path: Path
) -> None:
    feed_url = site.add("/rss", Resource(feed_with([]), RSS))
    broker_port, metrics_port = free_port(), free_port()
    kafka = {"bootstrap_servers": "embedded", "embedded_listen": f"127.0.0.1:{broker_port}"}
    config = write_config(tmp_path, feed_url, kafka, metrics_port)
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    service = subprocess.Popen(
        [sys.executable, "-m", "newswire", "--config", str(config), "run"],
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for(lambda: site.hits("/rss") >= 1)
        assert port_open("127.0.0.1", broker_port)
        with httpx.Client() as client:
            assert client.get(f"http://127.0.0.1:{metrics_port}/readyz").status_code == 200
        children = child_pids(service.pid)
        assert len(children) >= 2  # the broker and at least one extraction worker
    finally:
        service.kill()
        service.wait()
    wait_for(lambda: not port_open("127.0.0.1", broker_port), timeout=15)
    wait_for(lambda: not any(alive(pid) for pid in children), timeout=15)


def test_a_restart_resumes_each_feeds_schedule_from_the_state_store(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    resting = site.add("/resting", Resource(feed_with([]), RSS))
    due = site.add("/due", Resource(feed_with([]), RSS))
    config = write_config(tmp_path, due, {"bootstrap_servers": kafka_bootstrap}, free_port())
    feeds = yaml.safe_load((config / "feeds.yaml").read_text())
    feeds["outlets"][0]["feeds"].append({"url": resting, "interval": "1s", "min_interval": "1s"})
    (config / "feeds.yaml").write_text(yaml.safe_dump(feeds))
    loaded = load_config(config, environ={})
    store = StateStore(loaded.state_dir / STATE_FILE)
    resting_spec = next(f for f in loaded.feeds if f.url == resting)
    # the previous run polled it and scheduled the next poll an hour from now
    store.save_feed_state(FeedState(resting, resting_spec.id, 3600, time.time() + 3600))
    store.close()

    metrics_port = yaml.safe_load((config / "newswire.yaml").read_text())["metrics"]["port"]
    with running_service(config, stop_within=30):
        wait_for(lambda: site.hits("/due") >= 3)  # the other feed: polled every second
        assert site.hits("/resting") == 0
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "newswire_broker_reachable 1.0" in metrics


def test_sigterm_with_slow_pages_in_flight_exits_0_within_the_deadline_and_loses_nothing(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    paths = [f"/en/slow/{n}" for n in range(6)]
    for n, path in enumerate(paths):
        site.add(path, Resource(story_html(n), delay=1.5))  # one page at a time, 1.5 s each
    feed_url = site.add("/en/rss", Resource(feed_with([(p, f"Slow {p}") for p in paths]), RSS))
    prefix, port = unique_prefix(), free_port()
    config = write_config(tmp_path, feed_url, {"bootstrap_servers": kafka_bootstrap}, port)
    settings = yaml.safe_load((config / "newswire.yaml").read_text())
    settings["topics"] = {"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"}
    settings["http"].update(host_concurrency=1, host_min_delay=0)
    settings["poll"] = {"stop_deadline": "2s"}
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))
    service = subprocess.Popen(run_command(config), stderr=subprocess.DEVNULL)
    wait_for(lambda: published(port) >= 1)  # the first page is through, the rest in flight
    stopped = time.monotonic()
    service.send_signal(signal.SIGTERM)
    service.wait(timeout=60)
    assert service.returncode == 0
    assert time.monotonic() - stopped < 2 + 30  # the stop deadline, then the drain deadline
    first_run = {m["url"] for m in read_messages(kafka_bootstrap, f"{prefix}.articles")}
    assert 1 <= len(first_run) < len(paths)  # stopped mid-feed

    with running_service(config):
        topic = f"{prefix}.articles"
        wait_for(lambda: len({m["url"] for m in read_messages(kafka_bootstrap, topic)}) == 6)
    messages = read_messages(kafka_bootstrap, f"{prefix}.articles")
    assert len({m["id"] for m in messages}) == 6  # each once by id
