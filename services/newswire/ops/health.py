"""The ops HTTP endpoint: /metrics (Prometheus), /healthz (alive), /readyz (ready to work),
/feeds (each feed's health, for people) and /feeds.json (the same, for machines)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from newswire.models import FeedState
from newswire.ops.feed_page import feeds_html
from newswire.ops.feed_table import feeds_json

ReadinessCheck = Callable[[], dict[str, bool]]
FeedsSource = Callable[[], Sequence[FeedState]]  # the feeds this process polls, now
POLL_SECONDS = 0.05  # how often the serving thread checks for shutdown (the default is 0.5 s)


class OpsServer:
    """A small threaded HTTP server; readiness is a set of named checks."""

    def __init__(
        self,
        host: str,
        port: int,
        readiness: ReadinessCheck,
        feeds: FeedsSource = lambda: [],
    ) -> None:
        handler = _handler_class(readiness, feeds)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured as 0)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()  # returns within POLL_SECONDS
        self._server.server_close()


def _handler_class(readiness: ReadinessCheck, feeds: FeedsSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._reply(200, b"ok\n", "text/plain")
            elif path == "/feeds":
                page = feeds_html(feeds(), time.time())
                self._reply(200, page.encode(), "text/html; charset=utf-8")
            elif path == "/feeds.json":
                rows = feeds_json(feeds(), time.time())
                self._reply(200, orjson.dumps(rows), "application/json")
            elif path == "/readyz":
                checks = readiness()
                body = "".join(f"{k} {'ok' if v else 'failing'}\n" for k, v in checks.items())
                self._reply(200 if all(checks.values()) else 503, body.encode(), "text/plain")
            else:
                self._reply(404, b"not found\n", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
