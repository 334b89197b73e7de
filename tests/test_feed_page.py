"""The feed-health page for people (/feeds) and its data (/feeds.json): the same rows as
`newswire feeds`, failing feeds first, everything escaped; rendered by a real headless
Chromium (Debian's), whose screenshot must show the table."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from newswire.models import FeedState
from newswire.ops.feed_page import feeds_html
from newswire.ops.feed_table import FeedBoard, feeds_json, in_order
from newswire.ops.health import OpsServer
from newswire.publish.broker import free_port
from tests.kafka_support import unique_prefix
from tests.service_support import running_service, service_config
from tests.site import FixtureSite, Resource
from tests.test_ops import tool
from tests.test_service import wait_for

NOW = 1_800_000_000.0
FAILING = FeedState(
    "http://a.test/rss", "a-failing", 300.0, NOW + 1800, 3, NOW - 7200, NOW - 60, "http_404"
)
NEVER = FeedState("http://b.test/rss", "b-never", 300.0, 0.0)
HEALTHY = FeedState("http://c.test/rss", "c-healthy", 600.0, NOW + 300, 0, NOW - 30, None, None, 12)
ROW_COLOURS = {"failing": (0xF8, 0xD0, 0xCC), "never": (0xFB, 0xE7, 0xB5), "ok": (0xDF, 0xF2, 0xDF)}
HEADER = (0x2B, 0x4A, 0x6F)


def test_failing_feeds_come_first_then_never_polled_then_the_rest() -> None:
    assert [s.feed_id for s in in_order([HEALTHY, NEVER, FAILING])] == [
        "a-failing",
        "b-never",
        "c-healthy",
    ]


def test_the_json_rows_carry_status_times_and_counts() -> None:
    rows = feeds_json([HEALTHY, FAILING], NOW)
    assert rows[0] == {
        "feed": "a-failing",
        "url": "http://a.test/rss",
        "status": "failing",
        "last_success": "2027-01-15T06:00:00+00:00",
        "last_error": "2027-01-15T07:59:00+00:00",
        "reason": "http_404",
        "consecutive_errors": 3,
        "interval_seconds": 300.0,
        "next_poll": "2027-01-15T08:30:00+00:00",
        "published": 0,
    }
    assert rows[1]["status"] == "ok" and rows[1]["published"] == 12


def test_the_page_escapes_what_it_shows() -> None:
    hostile = FeedState(
        "http://x.test/", "<script>alert(1)</script>", 60.0, 0.0, 1, None, NOW, "<b>"
    )
    page = feeds_html([hostile], NOW)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;" in page


@pytest.fixture
def ops() -> Iterator[OpsServer]:
    board = FeedBoard()
    for state in (HEALTHY, NEVER, FAILING):
        board.update(state)
    server = OpsServer("127.0.0.1", 0, lambda: {"config": True}, board.snapshot)
    server.start()
    yield server
    server.stop()


def test_the_ops_endpoint_serves_the_page_and_the_json(ops: OpsServer) -> None:
    base = f"http://127.0.0.1:{ops.port}"
    page = httpx.get(f"{base}/feeds", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.index("a-failing") < page.text.index("b-never") < page.text.index("c-healthy")
    rows = httpx.get(f"{base}/feeds.json", timeout=5).json()
    assert [(r["feed"], r["status"]) for r in rows] == [
        ("a-failing", "failing"),
        ("b-never", "never"),
        ("c-healthy", "ok"),
    ]


def test_headless_chromium_renders_the_table_with_a_row_per_feed(
    ops: OpsServer, tmp_path: Path
) -> None:
    chromium = tool("chromium")
    shot = tmp_path / "feeds.png"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,500",
        "--hide-scrollbars", f"--screenshot={shot}",
    ]  # fmt: skip
    subprocess.run(
        [chromium, *flags, f"http://127.0.0.1:{ops.port}/feeds"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    image = Image.open(shot).convert("RGB")
    colours: dict[tuple[int, int, int], list[int]] = {}
    for y in range(image.height):
        for x in range(0, min(image.width, 400), 4):
            colours.setdefault(image.getpixel((x, y)), []).append(y)  # type: ignore[arg-type]
    header_rows = colours.get(HEADER, [])
    assert header_rows, "no table header in the screenshot"
    tops = {kind: min(colours.get(rgb, [10**6])) for kind, rgb in ROW_COLOURS.items()}
    assert all(top < 10**6 for top in tops.values()), f"a row is missing: {tops}"
    # drawn in order, under the header: failing, then never polled, then healthy
    assert min(header_rows) < tops["failing"] < tops["never"] < tops["ok"]


@pytest.mark.integration
def test_a_running_service_lists_its_failing_feed_first(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    ok = site.add(
        "/ok.xml",
        Resource(
            b'<rss version="2.0"><channel><title>t</title></channel></rss>', "application/rss+xml"
        ),
    )
    feeds = [
        {"id": "ok", "url": ok, "interval": "1h"},
        {"id": "typo", "url": site.url("/nope.xml"), "interval": "1h"},
    ]
    port = free_port()
    config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), port)

    def statuses() -> list[tuple[str, str]]:
        try:
            rows = httpx.get(f"http://127.0.0.1:{port}/feeds.json", timeout=5).json()
        except httpx.HTTPError:
            return []
        return [(r["feed"], r["status"]) for r in rows]

    with running_service(config):
        wait_for(lambda: statuses() == [("typo", "failing"), ("ok", "ok")], what="both polled")
        page = httpx.get(f"http://127.0.0.1:{port}/feeds", timeout=5).text
    assert "http_404" in page
    assert page.index(">typo<") < page.index(">ok<")  # the failing feed's row first
