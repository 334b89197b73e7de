"""Fetching pages: decoding, and every transport outcome mapped to its reason, against a real
HTTP server on 127.0.0.1 (and MockTransport for errors a local server cannot produce)."""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
import pytest

from newswire.errors import Reason
from newswire.http.client import HttpFetcher, reason_for_exception
from newswire.http.fetch import fetch_page
from newswire.models import Failure, FetchedPage
from newswire.settings import HttpSettings
from tests.site import FixtureSite, Resource

pytestmark = pytest.mark.integration
FAST = HttpSettings(
    connect_timeout=2,
    read_timeout=1,
    total_timeout=2,
    max_body_bytes=50_000,
    max_redirects=3,
    allow_hosts=("127.0.0.1",),
)


@pytest.fixture(params=["aiohttp", "httpx"])
def fast(request: pytest.FixtureRequest) -> HttpSettings:
    """FAST on each transport: every outcome must be named the same on both."""
    return FAST.model_copy(update={"transport": request.param})


async def get(url: str, settings: HttpSettings) -> FetchedPage | Failure:
    async with HttpFetcher(settings) as fetcher:
        return await fetch_page(fetcher, url)


def fetch(url: str, settings: HttpSettings) -> FetchedPage | Failure:
    return asyncio.run(get(url, settings))


def test_page_is_decoded_with_the_declared_charset(site: FixtureSite, fast: HttpSettings) -> None:
    body = "<html><body><p>دير الزور</p></body></html>".encode("cp1256")
    url = site.add("/ar", Resource(body, "text/html; charset=windows-1256"))
    result = fetch(url, fast)
    assert isinstance(result, FetchedPage)
    assert "دير الزور" in result.html


def test_meta_charset_is_used_when_the_header_has_none(
    site: FixtureSite, fast: HttpSettings
) -> None:
    body = '<html><head><meta charset="iso-8859-1"></head><body>café</body></html>'
    url = site.add("/latin", Resource(body.encode("latin-1"), "text/html"))
    result = fetch(url, fast)
    assert isinstance(result, FetchedPage) and "café" in result.html


def test_redirects_are_followed_and_the_final_url_kept(
    site: FixtureSite, fast: HttpSettings
) -> None:
    target = site.add("/story", Resource(b"<html><body>story</body></html>"))
    url = site.add("/short", Resource(status=301, location=target))
    result = fetch(url, fast)
    assert isinstance(result, FetchedPage)
    assert (result.url, result.final_url) == (url, target)


def test_redirect_loop_is_too_many_redirects(site: FixtureSite, fast: HttpSettings) -> None:
    url = site.url("/loop")
    site.add("/loop", Resource(status=302, location=url))
    result = fetch(url, fast)
    assert isinstance(result, Failure) and result.reason is Reason.TOO_MANY_REDIRECTS


def test_slow_server_times_out(site: FixtureSite, fast: HttpSettings) -> None:
    url = site.add("/slow", Resource(b"<html></html>", delay=3.0))
    result = fetch(url, fast)
    assert isinstance(result, Failure) and result.reason is Reason.TIMEOUT


def test_huge_body_is_refused(site: FixtureSite, fast: HttpSettings) -> None:
    url = site.add("/huge", Resource(b"<p>" + b"x" * 200_000 + b"</p>"))
    result = fetch(url, fast)
    assert isinstance(result, Failure) and result.reason is Reason.TOO_LARGE


def test_non_html_is_refused(site: FixtureSite, fast: HttpSettings) -> None:
    url = site.add("/clip.mp4", Resource(b"\x00\x00", "video/mp4"))
    result = fetch(url, fast)
    assert isinstance(result, Failure) and result.reason is Reason.NOT_HTML


def test_404_and_closed_port(site: FixtureSite, fast: HttpSettings) -> None:
    missing = fetch(site.url("/missing"), fast)
    assert isinstance(missing, Failure) and missing.reason is Reason.HTTP_404
    closed = fetch("http://127.0.0.1:9/", fast)
    assert isinstance(closed, Failure) and closed.reason is Reason.CONNECT


@pytest.mark.parametrize(
    "exc,reason",
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), Reason.DNS),
        (httpx.ConnectError("tls", request=None), Reason.CONNECT),
        (httpx.ReadTimeout("slow"), Reason.TIMEOUT),
        (httpx.RemoteProtocolError("peer closed"), Reason.PROTOCOL),
        (httpx.UnsupportedProtocol("ftp"), Reason.INVALID_URL),
    ],
)
def test_exception_reasons(exc: httpx.HTTPError, reason: Reason) -> None:
    assert reason_for_exception(exc) is reason


def test_tls_failure_is_named_tls() -> None:
    error = httpx.ConnectError("handshake failed")
    error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    assert reason_for_exception(error) is Reason.TLS


@pytest.mark.parametrize("url", ["http://xn--/x", "http://[::1/", "http://a.test:99999/"])
def test_malformed_urls_are_failures_not_crashes(url: str) -> None:
    async def go() -> object:
        never = httpx.MockTransport(lambda request: pytest.fail("no request may be sent"))
        async with HttpFetcher(FAST, transport=never) as fetcher:
            return await fetcher.get(url, stage="fetch")

    result = asyncio.run(go())
    assert isinstance(result, Failure) and result.reason is Reason.INVALID_URL


@pytest.mark.parametrize(
    "location,reason",
    [
        ("http://127.0.0.1:99999/x", Reason.INVALID_URL),
        ("http://[::1/x", Reason.PROTOCOL),  # httpx: the server sent an invalid Location
        ("ftp://127.0.0.1/x", Reason.INVALID_URL),
        ("http://xn--/x", Reason.INVALID_URL),
    ],
)
def test_bad_redirect_targets_are_refused_before_any_request(
    site: FixtureSite, fast: HttpSettings, location: str, reason: Reason
) -> None:
    url = site.add("/r", Resource(status=302, location=location))
    result = fetch(url, fast)
    assert isinstance(result, Failure) and result.reason is reason


def test_relative_redirects_are_resolved(site: FixtureSite, fast: HttpSettings) -> None:
    site.add("/final", Resource(b"<html><body>ok</body></html>"))
    site.add("/hop2", Resource(status=307, location="/final"))
    url = site.add("/hop1", Resource(status=301, location="hop2"))
    result = fetch(url, fast)
    assert isinstance(result, FetchedPage) and result.final_url == site.url("/final")


def test_trickling_server_is_cut_off_by_the_total_deadline(
    site: FixtureSite, fast: HttpSettings
) -> None:
    url = site.add("/trickle", Resource(b"<html>" + b"x" * 100 + b"</html>", trickle=0.2))
    started = time.monotonic()
    result = fetch(url, fast)  # read timeout 1 s is never hit: a byte comes every 0.2 s
    assert isinstance(result, Failure) and result.reason is Reason.TIMEOUT
    assert "in total" in result.detail
    assert time.monotonic() - started < 10  # the whole body would take ~21 s
