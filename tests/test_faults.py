"""HTTP faults from the local server against a running `newswire run`: resets, timeouts,
500s, garbage bytes, wrong content types, invalid UTF-8, a 50 MB feed (declared and not), a
gzip bomb, a trickling server, an XML entity bomb, a feed of 2,000 items. The service stays up
with bounded memory and counts each outcome under its reason."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest

from newswire.publish.broker import free_port
from tests.kafka_support import unique_prefix
from tests.service_support import running_service, service_config
from tests.site import DATA, FixtureSite, Resource
from tests.test_service import wait_for

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"
GOOD = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b']><rss version="2.0"><channel><title>&i;</title><item><title>&i;</title>'
    b"<link>{{BASE}}/missing</link></item></channel></rss>"
)


def faults() -> dict[str, tuple[Resource, str]]:
    """feed id -> (what the server does, the outcome newswire must count)."""
    big = b"<rss>" + b" " * 50_000_000 + b"</rss>"
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # ~200 KB on the wire
    many = "".join(
        f"<item><title>n{i}</title><link>{{{{BASE}}}}/missing/{i}</link></item>"
        for i in range(2000)
    )
    return {
        "reset": (Resource(reset=True), "protocol"),
        "garbage": (Resource(raw=b"\x16\x03\x01\x02\x00garbage\r\n\r\n"), "protocol"),
        "slow-headers": (Resource(GOOD, RSS, delay=4), "timeout"),
        "server-error": (Resource(b"oops", status=500), "http_5xx"),
        "png": (
            Resource((DATA / "feeds" / "odd" / "not-xml-at-all.xml").read_bytes(), "image/png"),
            "parse_error",
        ),
        "html": (Resource(b"<!doctype html><html><body>moved</body></html>"), "not_a_feed"),
        "bad-utf8": (
            Resource(
                b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>\xff\xfe</title></channel></rss>',
                RSS,
            ),
            "ok",
        ),
        "huge-declared": (Resource(big, RSS), "too_large"),
        "huge-streamed": (Resource(big, RSS, no_length=True), "too_large"),
        "gzip-bomb": (Resource(bomb, RSS, headers={"Content-Encoding": "gzip"}), "too_large"),
        "trickle": (Resource(GOOD, RSS, trickle=1.0), "timeout"),
        "entity-bomb": (Resource(LAUGHS, RSS), "ok"),
        "many-items": (
            Resource(
                many.join([b'<rss version="2.0"><channel>'.decode(), "</channel></rss>"]).encode(),
                RSS,
            ),
            "ok",
        ),
    }


def outcomes(port: int) -> dict[tuple[str, str], float]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    found = {}
    for line in text.splitlines():
        if line.startswith("newswire_polls_total{"):
            labels = dict(
                p.split("=", 1) for p in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            key = (labels["feed"].strip('"'), labels["outcome"].strip('"'))
            found[key] = float(line.rsplit(" ", 1)[1])
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_the_service_survives_every_fault_and_names_each(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    table = faults()
    for name, (resource, _) in table.items():
        site.add(f"/{name}", resource)
    feeds = [{"url": site.url(f"/{n}"), "id": n, "interval": "30s"} for n in table]
    port = free_port()
    config = service_config(
        tmp_path,
        feeds,
        kafka_bootstrap,
        unique_prefix(),
        port,
        poll={"min_interval": "30s", "max_entries": 50},
        http={
            "host_concurrency": 16,
            "read_timeout": "2s",
            "total_timeout": "3s",
            "max_wire_bytes": 2_000_000,
            "max_body_bytes": 4_000_000,
        },
    )
    expected = {(name, outcome) for name, (_, outcome) in table.items()}
    with running_service(config, stop_within=90) as service:
        wait_for(lambda: expected <= set(outcomes(port)), timeout=90)
        assert service.poll() is None  # still up
        assert rss_mb(service.pid) < 400  # a 50 MB feed and a 200 MB bomb never held whole
        skipped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'newswire_feed_entries_skipped_total{outlet="shafaq-news"} 1950.0' in skipped
