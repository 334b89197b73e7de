"""The one HTTP seam: a configured httpx client, capped GETs, and outcome-to-reason mapping."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import httpx

from newswire.errors import Reason, reason_for_status
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


class BodyTooLarge(Exception):
    """The body went past the configured cap."""


def make_client(settings: HttpSettings) -> httpx.AsyncClient:
    """The shared async client: timeouts, redirects, pool limits, User-Agent."""
    timeout = httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.total_timeout
    )
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,  # http_get follows them, checking every hop
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        http2=settings.http2,
        trust_env=True,
    )


async def http_get(
    client: httpx.AsyncClient,
    url: str,
    *,
    stage: str,
    settings: HttpSettings,
    headers: dict[str, str] | None = None,
) -> HttpResponse | Failure:
    """GET `url` within the total deadline and body cap; failures come back as values."""
    if not is_http_url(url):
        return Failure(stage, Reason.INVALID_URL, "not an http(s) URL with a host and port", url)
    try:
        async with asyncio.timeout(settings.total_timeout):
            return await _read(client, url, headers or {}, settings, stage)
    except BodyTooLarge:
        return Failure(stage, Reason.TOO_LARGE, f"body over {settings.max_body_bytes} bytes", url)
    except TimeoutError:
        return Failure(stage, Reason.TIMEOUT, f"over {settings.total_timeout}s in total", url)
    except httpx.HTTPError as exc:
        return Failure(stage, reason_for_exception(exc), describe(exc), url)
    except (httpx.InvalidURL, UnicodeError) as exc:
        # httpx raises these outside its HTTPError tree for hosts it cannot encode
        return Failure(stage, Reason.INVALID_URL, describe(exc), url)


async def _read(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    settings: HttpSettings,
    stage: str,
) -> HttpResponse | Failure:
    """Follow redirects one hop at a time, checking every target before it is requested."""
    target = url
    for _ in range(settings.max_redirects + 1):
        if not is_http_url(target):
            return Failure(stage, Reason.INVALID_URL, f"redirect to {target[:200]!r}", url)
        async with client.stream(
            "GET", target, headers=headers, follow_redirects=False
        ) as response:
            location = response.headers.get("Location")
            if response.is_redirect and location:
                target = str(response.url.join(location))
                continue
            return await _body(response, url, settings.max_body_bytes)
    raise httpx.TooManyRedirects(f"more than {settings.max_redirects} redirects")


async def _body(response: httpx.Response, url: str, max_bytes: int) -> HttpResponse:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return HttpResponse(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=b"".join(chunks),
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def status_failure(response: HttpResponse, stage: str) -> Failure | None:
    """A Failure for a non-2xx status (304 is not a failure), else None."""
    if 200 <= response.status < 300 or response.status == 304:
        return None
    reason = reason_for_status(response.status)
    return Failure(stage, reason, f"HTTP {response.status}", response.url)


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
