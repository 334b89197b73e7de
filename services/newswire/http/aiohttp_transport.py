"""The aiohttp-backed transport for httpx (httpx-aiohttp): the same client API, a tenth of
httpx's own CPU cost per request (encode/httpx#3215), which is what limits polling thousands
of feeds. Every connection goes through the SSRF guard (newswire.http.guard), and aiohttp's
errors become the httpx errors newswire maps to reasons, precisely: httpx-aiohttp's own
mapping calls a refused connection a timeout and lets parser errors through unmapped.

HTTP/1.1 only (aiohttp has no HTTP/2); `http.transport: httpx` is the choice for HTTP/2.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import ResolveResult
from httpx_aiohttp import AiohttpTransport

from newswire.http.guard import AddressGuard, BlockedAddress, Resolver

MAX_HEADER_BYTES = 65_536  # aiohttp's 8 KiB default refuses real sites' long CSP headers


class AddressLookupFailed(OSError):
    """The name did not resolve (aiohttp reports an OSError from a lookup as a DNS error)."""


class GuardedConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector whose every lookup (IP literals included, which aiohttp
    would not look up) goes through newswire's resolver and the guard; it then connects
    only to the addresses the guard checked, so rebinding between check and connect
    cannot slip through."""

    def __init__(self, guard: AddressGuard, resolver: Resolver, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard
        self._lookup = resolver

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        try:
            addresses = await self._lookup(host, port)
        except httpcore.ConnectError as exc:
            raise AddressLookupFailed(str(exc)) from exc
        if not addresses:
            raise AddressLookupFailed(f"{host}: no address")
        for ip in addresses:
            why = self._guard.check(host, ip)
            if why is not None:
                raise BlockedAddress(f"{host} resolves to {ip} ({why}): refused")
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=family[ip.version],
                proto=0,
                flags=flags,
            )
            for ip in addresses
        ]


if not callable(getattr(aiohttp.TCPConnector, "_resolve_host", None)):
    raise RuntimeError("aiohttp changed: the SSRF guard cannot be installed on its connector")


def guarded_aiohttp_transport(
    limits: httpx.Limits, guard: AddressGuard, resolver: Resolver
) -> httpx.AsyncBaseTransport:
    """An httpx transport sending through one aiohttp session (created on first use, inside
    the running loop) with the guarded connector."""

    def session() -> aiohttp.ClientSession:
        connector = GuardedConnector(
            guard,
            resolver,
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry or 0,
            ssl=httpx.create_ssl_context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            trust_env=False,  # httpx routes proxied requests to its own proxy transport
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )

    return ReasonedAiohttpTransport(limits=limits, client=session)


class ReasonedAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport with aiohttp's errors (on the request and while the body
    streams) raised as the httpx errors that say what happened."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; errors as httpx errors. Credentials in the URL (`http://reader@host/`,
        from a feed or a redirect) are already in the Authorization header httpx built from
        them; aiohttp refuses a URL carrying them too, so they leave the URL (as with httpx's
        own transport, the server gets them once, as Basic auth)."""
        if request.url.userinfo:
            request.url = request.url.copy_with(userinfo=b"")
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            raise as_httpx_error(exc, request) from original_error(exc)
        response.stream = _ReasonedStream(response.stream, request)
        return response


class _ReasonedStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            raise as_httpx_error(exc, self._request) from original_error(exc)

    async def aclose(self) -> None:
        await self._inner.aclose()


ErrorType = Callable[..., httpx.TransportError]
_BY_AIOHTTP_ERROR: tuple[tuple[type[BaseException], ErrorType], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (asyncio.TimeoutError, httpx.ReadTimeout),  # aiohttp's read timeouts are TimeoutErrors
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # DNS, TLS, refused, guard
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    # the connection broke or the server spoke something else than HTTP
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.RemoteProtocolError),
    (ConnectionError, httpx.RemoteProtocolError),
)


def original_error(exc: BaseException) -> BaseException:
    """The aiohttp error behind `exc` (httpx-aiohttp raises its mapping from it)."""
    if isinstance(exc, httpx.TransportError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def as_httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an error out of aiohttp or out of httpx-aiohttp's mapping. Raise
    it from `original_error(exc)`: the reason mapping finds DNS, TLS and guard refusals in
    that cause chain."""
    original = original_error(exc)
    detail = str(original) or type(original).__name__
    if isinstance(original, aiohttp.ClientConnectorError) and str(original.os_error):
        detail = str(original.os_error)  # aiohttp's own text drops the OSError's message
    for kind, error in _BY_AIOHTTP_ERROR:
        if isinstance(original, kind):
            return error(detail, request=request)
    if isinstance(exc, httpx.TransportError):
        return exc
    return httpx.TransportError(detail)
