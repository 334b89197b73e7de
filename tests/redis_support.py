"""A real redis-server (Debian package `redis-server`) on a free loopback port, for the shared
dedup backend's tests: no persistence, stopped and started again to play an outage."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str | None:
    """The redis-server on PATH, if installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1; `stop()` and `start()` keep the port."""

    def __init__(self, binary: str, workdir: Path, cluster: bool = False) -> None:
        self._binary = binary
        self._workdir = workdir
        self.cluster = cluster  # a one-node Redis Cluster holding every slot
        self.port = _free_port()
        self.bus_port = _free_port() if cluster else 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self._binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self._workdir), "--protected-mode", "yes"]
        if self.cluster:
            nodes = f"nodes-{self.port}.conf"
            args += ["--cluster-enabled", "yes", "--cluster-config-file", nodes]
            args += ["--cluster-port", str(self.bus_port)]  # else port + 10000, maybe taken
        log = (self._workdir / "redis.log").open("ab")
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                if self.cluster:
                    self._hold_every_slot(client)
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("redis-server did not start; see redis.log") from None
                time.sleep(0.05)
            finally:
                client.close()

    def _hold_every_slot(self, client: redis.Redis) -> None:
        """Give this node all 16,384 slots and wait until the cluster reports ok."""
        if b"cluster_state:ok" in client.execute_command("CLUSTER", "INFO"):
            return
        with contextlib.suppress(redis.ResponseError):  # held already (a restart)
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
            if time.monotonic() > deadline:
                raise RuntimeError("the one-node cluster did not come up")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
