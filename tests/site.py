"""A real HTTP server on 127.0.0.1 for tests: feeds and pages, validators, redirects, faults."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

DATA = Path(__file__).parent / "data"


@dataclass
class Resource:
    """What the server answers for one path."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    delay: float = 0.0
    trickle: float = 0.0  # seconds between body bytes
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # drop the connection (RST) instead of answering
    raw: bytes | None = None  # bytes written instead of an HTTP response (garbage)
    no_length: bool = False  # no Content-Length: the body ends when the connection closes


@dataclass(frozen=True)
class Request:
    """A request the server received, and when (time.monotonic())."""

    path: str
    headers: httpx.Headers  # names case-insensitive, as HTTP has them
    at: float = 0.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's default of 5 drops bursts of connects
    daemon_threads = True


class FixtureSite:
    """Serves registered resources; `{{BASE}}` in a body becomes the server's base URL."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.requests: list[Request] = []
        self.active = 0  # requests being answered now
        self.max_active = 0  # the most answered at once
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, resource: Resource) -> str:
        resource.body = resource.body.replace(b"{{BASE}}", self.base.encode())
        self.resources[path] = resource
        return self.url(path)

    def add_file(self, path: str, name: str, content_type: str, **kwargs: object) -> str:
        return self.add(path, Resource((DATA / name).read_bytes(), content_type, **kwargs))

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def start(self) -> FixtureSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


def _handler(site: FixtureSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_GET(self) -> None:
            site.enter()
            try:
                self._answer()
            finally:
                site.leave()

        def _answer(self) -> None:
            site.record(Request(self.path, httpx.Headers(self.headers.items()), time.monotonic()))
            resource = site.resources.get(self.path) or site.resources.get(self.path.split("?")[0])
            if resource is None:
                self._send(404, b"<html><body>Not found</body></html>", "text/html")
                return
            time.sleep(resource.delay)
            if resource.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            if resource.raw is not None:
                self.wfile.write(resource.raw)
                self.close_connection = True
                return
            if self._not_modified(resource):
                self._send(304, b"", None, resource)
                return
            self._send(resource.status, resource.body, resource.content_type, resource)

        def _not_modified(self, resource: Resource) -> bool:
            match = self.headers.get("If-None-Match")
            since = self.headers.get("If-Modified-Since")
            if resource.etag and match:
                return match == resource.etag
            return bool(resource.last_modified and since == resource.last_modified)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str | None,
            resource: Resource | None = None,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if resource is not None:
                for name, value in (
                    ("ETag", resource.etag),
                    ("Last-Modified", resource.last_modified),
                    ("Location", resource.location),
                ):
                    if value:
                        self.send_header(name, value)
                for name, value in resource.headers.items():
                    self.send_header(name, value)
            if resource is not None and resource.no_length:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if resource is None or not resource.trickle:
                    self.wfile.write(body)
                    return
                for byte in range(len(body)):
                    self.wfile.write(body[byte : byte + 1])
                    time.sleep(resource.trickle)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
