"""The one HTTP seam: a configured httpx client behind a per-host gate, capped GETs that
follow redirects hop by hop, and the mapping of every outcome to a reason name."""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import time
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urlsplit

import httpcore
import httpx

from newswire.errors import Reason, reason_for_status
from newswire.http.aiohttp_transport import guarded_aiohttp_transport
from newswire.http.content_coding import (
    BodyTooLarge,
    BoundedDecoder,
    CorruptCoding,
    UnsupportedCoding,
)
from newswire.http.guard import AddressGuard, BlockedAddress, GuardedBackend, Resolver, resolve
from newswire.http.hosts import HostGate
from newswire.models import Failure
from newswire.settings import HttpSettings
from newswire.urls import is_http_url


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response read whole (within the caps)."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    retry_after: float | None = None  # seconds, from Retry-After (delta or HTTP date)
    fresh_for: float | None = None  # seconds, from Cache-Control max-age or Expires
    content_location: str | None = None
    content_language: str | None = None


PAUSE_STATUSES = frozenset({429, 503})


class HttpFetcher:
    """The shared async client and the per-host gate; every GET of newswire goes through
    `get`, which applies the caps, follows redirects hop by hop and maps failures to reasons.
    Pass `transport` to serve requests from a test double, `resolver` to answer name
    lookups from one (the guard still decides)."""

    def __init__(
        self,
        settings: HttpSettings,
        known_hosts: frozenset[str] = frozenset(),
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self.settings = settings
        self.gate = HostGate(settings.host_concurrency, settings.host_min_delay, known_hosts)
        self._client = make_client(settings, transport, resolver)

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def get(
        self, url: str, *, stage: str, headers: dict[str, str] | None = None
    ) -> HttpResponse | Failure:
        """GET `url` within the total deadline and body caps; failures come back as values.
        Time spent waiting for the host's turn does not count against the deadline; a host
        paused for longer than the deadline fails at once with `host_paused`."""
        settings = self.settings
        if not is_http_url(url):
            detail = "not an http(s) URL with a host and port"
            return Failure(stage, Reason.INVALID_URL, detail, url)
        try:
            return await self._read(url, headers or {}, stage)
        except BodyTooLarge as exc:
            return Failure(stage, Reason.TOO_LARGE, str(exc), url)
        except (UnsupportedCoding, CorruptCoding) as exc:
            return Failure(stage, Reason.PROTOCOL, str(exc), url)
        except TimeoutError:
            return Failure(stage, Reason.TIMEOUT, f"over {settings.total_timeout}s in total", url)
        except httpx.HTTPError as exc:
            return Failure(stage, reason_for_exception(exc), describe(exc), url)
        except (httpx.InvalidURL, UnicodeError) as exc:
            # httpx raises these outside its HTTPError tree for hosts it cannot encode
            return Failure(stage, Reason.INVALID_URL, describe(exc), url)

    async def get_ok(
        self, url: str, *, stage: str, headers: dict[str, str] | None = None
    ) -> HttpResponse | Failure:
        """`get`, with a non-success status (304 excepted) turned into its Failure too."""
        response = await self.get(url, stage=stage, headers=headers)
        if isinstance(response, Failure):
            return response
        return status_failure(response, stage) or response

    async def _read(self, url: str, headers: dict[str, str], stage: str) -> HttpResponse | Failure:
        """Follow redirects one hop at a time, checking every target before it is requested."""
        target, budget = url, self.settings.total_timeout
        for _ in range(self.settings.max_redirects + 1):
            if not is_http_url(target):
                return Failure(stage, Reason.INVALID_URL, f"redirect to {target[:200]!r}", url)
            host = (urlsplit(target).hostname or "").lower()
            paused = self.gate.paused_for(host)
            if paused > self.settings.total_timeout:
                detail = f"{host} paused for {paused:.0f}s more"
                return Failure(stage, Reason.HOST_PAUSED, detail, url, retry_after=paused)
            async with self.gate.slot(host):
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        result = await self._hop(target, url, headers)
                finally:
                    budget -= time.monotonic() - started
            if isinstance(result, str):
                target = result
                continue
            if result.status in PAUSE_STATUSES:
                pause = result.retry_after or self.settings.host_pause
                self.gate.pause(host, min(pause, self.settings.retry_after_cap))
            return result
        raise httpx.TooManyRedirects(f"more than {self.settings.max_redirects} redirects")

    async def _hop(self, target: str, url: str, headers: dict[str, str]) -> HttpResponse | str:
        """One request: the response read whole, or the next hop's absolute URL."""
        async with self._client.stream("GET", target, headers=headers) as response:
            location = response.headers.get("Location")
            if response.is_redirect and location:
                return str(response.url.join(location))
            return await _body(response, url, self.settings)


def make_client(
    settings: HttpSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = resolve,
) -> httpx.AsyncClient:
    """The async client: timeouts, pool limits, User-Agent, the transport (aiohttp-backed, or
    httpx's own with HTTP/2), the SSRF guard on every connection (newswire.http.guard), proxy
    (from config, or the standard HTTP(S)_PROXY / NO_PROXY variables: proxied requests go
    through httpx's own transport). Redirects are followed by HttpFetcher, hop by hop."""
    timeout = httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.total_timeout
    )
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )
    guard = AddressGuard(settings.allow_private_networks, settings.allow_hosts)
    if transport is None and settings.transport == "aiohttp":
        transport = guarded_aiohttp_transport(limits, guard, resolver)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        proxy=settings.proxy,
        trust_env=True,
        transport=transport
        or guarded_transport(settings, limits, GuardedBackend(guard, resolver=resolver)),
    )


def guarded_transport(
    settings: HttpSettings, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its connection pool opening connections through `backend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, http2=settings.http2, trust_env=True)
    pool = transport._pool  # httpx exposes no way to pass httpcore a network backend
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpcore changed: the SSRF guard cannot be installed")
    pool._network_backend = backend
    return transport


async def _body(response: httpx.Response, url: str, settings: HttpSettings) -> HttpResponse:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > settings.max_wire_bytes:
        raise BodyTooLarge(f"declared {declared} bytes, over {settings.max_wire_bytes} on the wire")
    headers = response.headers
    body = await _read_capped(response, settings)
    return HttpResponse(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=headers.get("Content-Type", ""),
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        fresh_for=freshness(headers.get("Cache-Control"), headers.get("Expires")),
        content_location=headers.get("Content-Location"),
        content_language=headers.get("Content-Language"),
    )


async def _read_capped(response: httpx.Response, settings: HttpSettings) -> bytes:
    """The body, decoded here from the raw bytes (httpx would inflate each chunk whole,
    whatever its ratio), every coding layer and the whole under `http.max_body_bytes`."""
    if response.is_stream_consumed:  # built whole by a test double: nothing left to stream
        if len(response.content) > settings.max_body_bytes:
            raise BodyTooLarge(f"over {settings.max_body_bytes} bytes decoded")
        return response.content
    decoder = BoundedDecoder(response.headers.get("Content-Encoding"), settings.max_body_bytes)
    chunks: list[bytes] = []
    async for chunk in response.aiter_raw():
        if response.num_bytes_downloaded > settings.max_wire_bytes:
            raise BodyTooLarge(f"over {settings.max_wire_bytes} bytes on the wire")
        chunks.extend(decoder.feed(chunk))
    chunks.extend(decoder.finish())
    return b"".join(chunks)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    return max(0.0, when - (time.time() if now is None else now))


def freshness(
    cache_control: str | None, expires: str | None, now: float | None = None
) -> float | None:
    """How long the server says the response stays fresh: Cache-Control max-age (s-maxage
    ignored, as we are not a shared cache) wins over Expires; None when neither says."""
    for directive in (cache_control or "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    when = _http_date(expires) if expires else None
    if when is None:
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def status_failure(response: HttpResponse, stage: str) -> Failure | None:
    """A Failure for a non-2xx status (304 is not a failure), else None."""
    if 200 <= response.status < 300 or response.status == 304:
        return None
    reason = reason_for_status(response.status)
    return Failure(
        stage, reason, f"HTTP {response.status}", response.url, retry_after=response.retry_after
    )


def reason_for_exception(exc: httpx.HTTPError) -> Reason:
    """Map an httpx exception to its reason name."""
    if isinstance(exc, httpx.TimeoutException):
        return Reason.TIMEOUT
    if isinstance(exc, httpx.TooManyRedirects):
        return Reason.TOO_MANY_REDIRECTS
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Reason.INVALID_URL
    if isinstance(exc, httpx.ConnectError):
        return _connect_reason(exc)
    if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
        return Reason.PROTOCOL
    return Reason.CONNECT


def _connect_reason(exc: httpx.ConnectError) -> Reason:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, BlockedAddress):
            return Reason.BLOCKED_ADDRESS
        if isinstance(cause, ssl.SSLError):
            return Reason.TLS
        text = str(cause).lower()
        if "name or service not known" in text or "nodename nor servname" in text:
            return Reason.DNS
        if "temporary failure in name resolution" in text or "no address associated" in text:
            return Reason.DNS
        cause = cause.__cause__ or cause.__context__
    return Reason.CONNECT


def describe(exc: BaseException) -> str:
    """A short one-line description of an exception for logs."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
