"""The SSRF guard. Real traffic goes to 127.0.0.1 only: the other ranges are proved on the
decision function and through a resolver stub whose connect step records the address and
never opens a socket."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpcore
import pytest
from prometheus_client import REGISTRY

from newswire.errors import Reason
from newswire.http.aiohttp_transport import GuardedConnector
from newswire.http.client import HttpFetcher, HttpResponse
from newswire.http.guard import (
    AddressGuard,
    BlockedAddress,
    GuardedBackend,
    IPAddress,
    refusal,
    resolve,
)
from newswire.models import Failure, FeedSpec
from newswire.pipeline import Pipeline
from newswire.publish.outbox import Outbox
from newswire.publish.producer import Publisher, configured_topics, ensure_topics
from newswire.settings import HttpSettings
from newswire.state import StateStore
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages, unique_prefix
from tests.site import FixtureSite, Resource

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    "address,why",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("fd00:ec2::254", "cloud metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("192.0.2.1", "private"),  # documentation range
        ("240.0.0.1", "private"),  # reserved
    ],
)
def test_non_public_addresses_are_refused_with_why(address: str, why: str) -> None:
    assert refusal(ip(address)) == why


@pytest.mark.parametrize(
    "address,why",
    [
        ("::127.0.0.1", "loopback, IPv4-compatible"),
        ("::10.0.0.1", "private, IPv4-compatible"),
        ("::ffff:0:127.0.0.1", "loopback, IPv4-translated"),
        ("::ffff:0:169.254.169.254", "cloud metadata, IPv4-translated"),
        ("64:ff9b::127.0.0.1", "loopback, NAT64"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata, NAT64"),  # 169.254.169.254
        ("64:ff9b::192.168.0.1", "private, NAT64"),
        ("2002:7f00:1::", "loopback, 6to4"),
        ("2002:a9fe:a9fe::1", "cloud metadata, 6to4"),
        ("2002:0a00:0001::", "private, 6to4"),
    ],
)
def test_ipv6_forms_carrying_a_refused_ipv4_address_are_refused(address: str, why: str) -> None:
    assert refusal(ip(address)) == why


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b:1:abcd::7f00:1",  # local-use NAT64 under a /96 prefix: 127.0.0.1
        "64:ff9b:1:7f00:0:100::",  # local-use NAT64 under a /48 prefix: 127.0.0.1
    ],
)
def test_local_use_nat64_is_judged_at_each_position_the_ipv4_address_may_sit(
    address: str,
) -> None:
    # the prefix length is the network's choice (RFC 6052, 8215): every candidate is checked
    assert refusal(ip(address)) is not None


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "1.1.1.1",
        "64:ff9b::8.8.8.8",  # NAT64 of a public address
        "2002:0808:0808::1",  # 6to4 of a public address
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ip(address)) is None


def test_allowlist_by_host_name_and_by_network() -> None:
    guard = AddressGuard(allow=["feeds.intranet.example", "10.1.0.0/16", "[::1]"])
    assert guard.check("feeds.intranet.example", ip("10.9.9.9")) is None
    assert guard.check("FEEDS.intranet.example.", ip("10.9.9.9")) is None
    assert guard.check("other.example", ip("10.1.2.3")) is None
    assert guard.check("other.example", ip("10.2.0.1")) == "private"
    assert guard.check("x", ip("::1")) is None
    assert AddressGuard(allow_private=True).check("x", ip("169.254.169.254")) is None


class NeverConnect(httpcore.AsyncNetworkBackend):
    """Records what it was asked to connect to, and refuses: no socket is ever opened."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(host)
        raise httpcore.ConnectError("test backend: no connection made")

    async def connect_unix_socket(self, path: str, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("never")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def stub_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def lookup(host: str, port: int) -> list[IPAddress]:
        return [ip(a) for a in table[host]]

    return lookup


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.1"],
        ["172.16.0.1"],
        ["192.168.0.1"],
        ["100.64.0.1"],
        ["169.254.169.254"],
        ["fd00::1"],
        ["::ffff:10.0.0.1"],
        ["93.184.216.34", "10.0.0.1"],  # one bad answer among good ones
        ["::127.0.0.1"],
        ["::ffff:0:127.0.0.1"],
        ["64:ff9b::7f00:1"],
        ["64:ff9b:1::7f00:1"],
        ["2002:7f00:1::"],
    ],
)
def test_a_name_resolving_to_a_refused_range_is_never_connected(addresses: list[str]) -> None:
    inner = NeverConnect()
    backend = GuardedBackend(AddressGuard(), inner, stub_resolver({"evil.test": addresses}))
    with pytest.raises(BlockedAddress, match=r"evil\.test resolves to"):
        asyncio.run(backend.connect_tcp("evil.test", 80))
    assert inner.asked == []


@pytest.mark.parametrize("literal", ["::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::7f00:1"])
def test_ipv6_literals_carrying_loopback_are_refused_by_both_transports_guards(
    literal: str,
) -> None:
    # the literal as a URL's host ([::127.0.0.1]) resolves to itself: each guard refuses it
    # before any connection (the backend here never connects; aiohttp's connector is only
    # asked to resolve)
    inner = NeverConnect()
    with pytest.raises(BlockedAddress, match="refused"):
        asyncio.run(GuardedBackend(AddressGuard(), inner).connect_tcp(f"[{literal}]", 80))
    assert inner.asked == []

    async def aiohttp_lookup() -> None:
        connector = GuardedConnector(AddressGuard(), resolve)
        try:
            await connector._resolve_host(literal, 80)
        finally:
            await connector.close()

    with pytest.raises(BlockedAddress, match="refused"):
        asyncio.run(aiohttp_lookup())


def test_the_checked_address_is_the_one_connected_to() -> None:
    # A rebinding DNS answers a public address to the check and a private one to the
    # connect: the guard resolves once and connects to the address it checked.
    answers = iter([["93.184.216.34"], ["10.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        return [ip(a) for a in next(answers)]

    inner = NeverConnect()
    backend = GuardedBackend(AddressGuard(), inner, rebinding)
    with pytest.raises(httpcore.ConnectError, match="no connection made"):
        asyncio.run(backend.connect_tcp("rebind.test", 80))
    assert inner.asked == ["93.184.216.34"]


def test_the_aiohttp_connector_checks_every_answer_before_any_connect() -> None:
    async def lookup() -> object:
        table = {"evil.test": ["93.184.216.34", "10.0.0.1"], "good.test": ["93.184.216.34"]}
        connector = GuardedConnector(AddressGuard(), stub_resolver(table))
        try:
            with pytest.raises(BlockedAddress, match=r"evil\.test resolves to 10\.0\.0\.1"):
                await connector._resolve_host("evil.test", 80)
            return await connector._resolve_host("good.test", 80)
        finally:
            await connector.close()

    # only checked addresses come back, as numeric hosts: aiohttp connects to nothing else
    assert [(r["hostname"], r["host"]) for r in asyncio.run(lookup())] == [  # type: ignore[attr-defined]
        ("good.test", "93.184.216.34")
    ]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_refusals_come_back_as_blocked_address_failures_with_no_packet_sent(
    transport: str,
) -> None:
    settings = HttpSettings(transport=transport)

    async def fetch(url: str) -> HttpResponse | Failure:
        table = {"metadata.test": ["169.254.169.254"], "intranet.test": ["10.0.0.7"]}
        async with HttpFetcher(settings, resolver=stub_resolver(table)) as fetcher:
            return await fetcher.get(url, stage="fetch")

    for url in ("http://metadata.test/latest/meta-data/", "https://intranet.test/feed"):
        result = asyncio.run(fetch(url))
        assert isinstance(result, Failure) and result.reason is Reason.BLOCKED_ADDRESS, result
        assert "refused" in result.detail


def test_loopback_names_and_literals_resolve_to_loopback() -> None:
    assert asyncio.run(resolve("[::1]", 80)) == [ip("::1")]
    assert all(a.is_loopback for a in asyncio.run(resolve("localhost", 80)))


@pytest.mark.integration
def test_end_to_end_links_and_redirects_to_loopback_are_refused_counted_and_never_fetched(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    port = site.base.rsplit(":", 1)[1]
    items = [
        f"http://127.0.0.1:{port}/by-ip",
        f"http://[::1]:{port}/by-ipv6",
        f"http://loopback.test:{port}/by-name",
        f"http://localhost:{port}/redirect",  # allowed host, redirecting to a refused one
    ]
    body = "".join(
        f"<item><title>Story {n}</title><link>{link}</link><description>Fighting near "
        f"al-Bukamal, story {n}, reported from the Syria-Iraq border.</description></item>"
        for n, link in enumerate(items)
    )
    site.add("/rss", Resource(f'<rss version="2.0"><channel>{body}</channel></rss>'.encode()))
    site.add("/redirect", Resource(status=302, location=f"http://127.0.0.1:{port}/by-redirect"))
    prefix = unique_prefix()
    base = CONFIG.settings
    settings = base.model_copy(
        update={
            # only the name "localhost" is allowed: 127.0.0.1, [::1] and other names are not
            "http": base.http.model_copy(update={"allow_hosts": ("localhost",)}),
            "topics": base.topics.model_copy(
                update={"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"}
            ),
            "routes": (),
        }
    )
    ensure_topics(settings.kafka, kafka_bootstrap, settings.topics, configured_topics(settings))
    feed = FeedSpec("guarded", f"http://localhost:{port}/rss", FEEDS["shafaq-news"].outlet, 300)

    async def lookup(host: str, port_: int) -> list[IPAddress]:
        # a name of ours that resolves to loopback; every other name as the system resolves it
        return [ip("127.0.0.1")] if host == "loopback.test" else await resolve(host, port_)

    def blocked() -> float:
        labels = {"stage": "fetch", "reason": "blocked_address"}
        return REGISTRY.get_sample_value("newswire_errors_total", labels) or 0.0

    async def cycle() -> None:
        publisher = Publisher(settings, kafka_bootstrap)
        try:
            store = StateStore(tmp_path / "s.db")
            outbox = Outbox(settings, store, publisher)
            async with HttpFetcher(settings.http, resolver=lookup) as fetcher:
                await Pipeline(settings, fetcher, store, outbox, pool).poll_feed(feed)
            done = asyncio.Event()
            done.set()
            await outbox.drain(done)
        finally:
            publisher.close()

    before = blocked()
    asyncio.run(cycle())
    assert blocked() == before + 4
    assert sorted(r.path for r in site.requests) == ["/redirect", "/rss"]  # nothing else
    messages = read_messages(kafka_bootstrap, settings.topics.articles)
    assert {m["extraction"]["fallback_reason"] for m in messages} == {"blocked_address"}
