"""Crash safety: `newswire run` killed with SIGKILL at 20 random moments while feeds keep
posting, then run to completion: every article is on the topic, and an article seen twice
always has the same id (at-least-once, never under two ids)."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from newswire.publish.broker import free_port
from tests.kafka_support import read_messages, unique_prefix
from tests.service_support import run_command, running_service, service_config
from tests.site import FixtureSite, Resource
from tests.stories import story_html
from tests.test_service import published, wait_for

pytestmark = pytest.mark.integration
FEEDS = 3
KILLS = 20


def feed_xml(base: str, items: list[int]) -> bytes:
    body = "".join(
        f"<item><title>Report {i}</title><link>{base}/story/{i}</link><guid>s-{i}</guid></item>"
        for i in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def add_story(site: FixtureSite, index: int, per_feed: dict[int, list[int]]) -> None:
    site.add(f"/story/{index}", Resource(story_html(index)))
    per_feed[index % FEEDS].append(index)
    feed = index % FEEDS
    site.add(f"/feed/{feed}", Resource(feed_xml(site.base, per_feed[feed]), "application/rss+xml"))


def test_killed_at_random_moments_nothing_is_lost_and_repeats_keep_their_id(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(20261121)
    per_feed: dict[int, list[int]] = defaultdict(list)
    stories = 0
    for _ in range(6):
        add_story(site, stories, per_feed)
        stories += 1
    prefix, port = unique_prefix(), free_port()
    feeds = [
        {"url": site.url(f"/feed/{f}"), "id": f"crash-{f}", "interval": "1s", "min_interval": "1s"}
        for f in range(FEEDS)
    ]
    config = service_config(
        tmp_path, feeds, kafka_bootstrap, prefix, port, log={"level": "WARNING"}
    )
    command = run_command(config)

    for _ in range(KILLS):
        service = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.5))  # start-up, polling, extraction, outbox, idle
        service.send_signal(signal.SIGKILL)
        service.wait()
        for _ in range(2):  # the feeds keep posting while newswire is down
            add_story(site, stories, per_feed)
            stories += 1

    with running_service(config):
        topic = f"{prefix}.articles"
        wait_for(
            lambda: len({m["url"] for m in read_messages(kafka_bootstrap, topic)}) >= stories,
            timeout=120,
        )
        # the last run itself delivered (at least) the two stories posted after the last kill
        assert published(port) >= 2

    ids_by_url: dict[str, set[str]] = defaultdict(set)
    for message in read_messages(kafka_bootstrap, f"{prefix}.articles"):
        ids_by_url[message["url"]].add(message["id"])
    assert len(ids_by_url) == stories  # every article arrived
    assert all(len(ids) == 1 for ids in ids_by_url.values())  # repeats keep their id
    assert len({i for ids in ids_by_url.values() for i in ids}) == stories
