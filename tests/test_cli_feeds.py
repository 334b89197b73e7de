"""`newswire feeds` (feed health from the state store) and `newswire discover` (a homepage's
feeds, checked, as feeds.yaml), run as a user runs them, against a server on 127.0.0.1."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from newswire.models import FeedState, Validators
from newswire.ops.feed_table import duration, feeds_table
from newswire.state import STATE_FILE, StateStore
from tests.builders import CONFIG
from tests.site import FixtureSite, Resource
from tests.test_cli import newswire

HOMEPAGE = b"""<!DOCTYPE html><html lang="en-GB"><head><title>Desk | Home</title>
<meta property="og:site_name" content="Iraq Desk">
<link rel="alternate" type="application/rss+xml" title="All" href="/en/rss">
<link rel="alternate" type="application/atom+xml" href="{{BASE}}/en/atom">
<link rel="alternate" type="application/feed+json" href="/feed.json">
<link rel="stylesheet" href="/site.css">
</head><body><h1>Desk</h1></body></html>"""


def test_durations_read_like_a_person_wrote_them() -> None:
    assert [duration(s) for s in (0, 45, 60, 300, 3660, 7200, 90000, 86400 * 3 + 59)] == [
        "0s",
        "45s",
        "1m",
        "5m",
        "1h1m",
        "2h",
        "1d1h",
        "3d",
    ]


def test_feeds_table_rows() -> None:
    now = 1_800_000_000.0
    failing = FeedState("u1", "desk.rss", 300, now + 240, 3, now - 3600, now - 5, "http_5xx", 12)
    fresh = FeedState("u2", "desk.atom", 600)
    header, first, second = feeds_table([failing, fresh], now).splitlines()
    assert header.split()[:2] == ["feed", "last"]
    assert first.split() == [
        "desk.rss",
        "1h",
        "ago",
        "5s",
        "ago",
        "http_5xx",
        "3",
        "5m",
        "in",
        "4m",
        "12",
    ]
    assert second.split() == ["desk.atom", "never", "never", "-", "0", "10m", "due", "now", "0"]


def test_feeds_command_reads_the_state_store(tmp_path: Path) -> None:
    polled, never = CONFIG.feeds[0], CONFIG.feeds[1]
    store = StateStore(tmp_path / STATE_FILE)
    now = time.time()
    store.save_feed_state(
        FeedState(
            polled.url,
            polled.id,
            900,
            now + 2 * 86400 - 1800,  # 1d23h30m: beyond today's longest backoff (24h + 10%)
            2,
            now - 7200,
            now - 10800,
            "timeout",
            40,
            Validators('"e"'),
        )
    )
    store.close()
    env = dict(os.environ, NEWSWIRE_STATE__DIR=str(tmp_path))
    result = newswire("feeds", env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.decode().splitlines()[1:]}
    assert set(rows) == {feed.id for feed in CONFIG.feeds}
    assert rows[polled.id][1:] == [
        "2h",
        "ago",
        "3h",
        "ago",
        "timeout",
        "2",
        "15m",
        "in",
        "1d2h",  # shown as the service will hold it: within today's bounds
        "40",
    ]
    assert rows[never.id][1:3] == ["never", "never"] and "due now" in " ".join(rows[never.id])


@pytest.mark.integration
def test_discover_prints_the_working_feeds_as_feeds_yaml(site: FixtureSite) -> None:
    home = site.add("/en", Resource(HOMEPAGE))
    site.add_file("/en/rss", "feeds/shafaq-en.xml", "application/rss+xml")
    site.add_file("/feed.json", "feeds/formats/jsonfeed11.json", "application/feed+json")
    # /en/atom is not served: the server answers 404
    result = newswire("discover", home)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert f"# {site.url('/en/atom')}: http_404" in out
    assert f"# {site.url('/en/rss')}: 3 entries" in out
    (outlet,) = yaml.safe_load(out)
    assert outlet == {
        "id": "127-0-0-1",
        "name": "Iraq Desk",
        "homepage": home,
        "language": "en",
        "feeds": [{"url": site.url("/en/rss")}, {"url": site.url("/feed.json")}],
    }


@pytest.mark.integration
def test_discover_says_so_when_nothing_works(site: FixtureSite) -> None:
    home = site.add("/", Resource(b"<html><head><title>Bare</title></head><body></body></html>"))
    result = newswire("discover", home)
    assert result.returncode == 1
    assert b"no working feed" in result.stderr
    gone = newswire("discover", site.url("/nothing-here"))
    assert gone.returncode == 1 and b"http_404" in gone.stderr
