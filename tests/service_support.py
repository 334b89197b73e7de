"""`newswire run` as a subprocess in tests: config directories (the shipped gazetteer, given
feeds, the test broker, loopback allowed through the SSRF guard) and a running service that
must stop cleanly."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.builders import REPO_CONFIG


def service_config(
    tmp: Path,
    feeds: list[dict[str, Any]],
    bootstrap: str,
    prefix: str,
    metrics_port: int,
    **sections: dict[str, Any],
) -> Path:
    """A config dir: one outlet (id shafaq-news) with `feeds`, topics under `prefix`, no
    routes, state under `tmp`, one extraction worker; `sections` add to or replace sections."""
    config = tmp / "config"
    config.mkdir()
    (config / "regions.yaml").write_text((REPO_CONFIG / "regions.yaml").read_text())
    outlets = [{"id": "shafaq-news", "name": "Shafaq News", "language": "en", "feeds": feeds}]
    (config / "feeds.yaml").write_text(yaml.safe_dump({"outlets": outlets}))
    settings: dict[str, Any] = {
        "kafka": {"bootstrap_servers": bootstrap},
        "topics": {"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"},
        "routes": [],
        "state": {"dir": str(tmp / "state")},
        "metrics": {"host": "127.0.0.1", "port": metrics_port},
        "extract": {"workers": 1},
        "http": {"allow_hosts": ["127.0.0.1"], "host_min_delay": 0},
        "errors": {"contain": False},  # a bug met in a test stops the service: never hidden
    }
    for name, values in sections.items():
        settings[name] = {**settings.get(name, {}), **values}
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))
    return config


def run_command(config: Path) -> list[str]:
    """The command line of `newswire run` on a config directory."""
    return [sys.executable, "-m", "newswire", "--config", str(config), "run"]


@contextlib.contextmanager
def running_service(config: Path, stop_within: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """`newswire run` on `config`; on leaving, SIGTERM, and it must exit 0 within
    `stop_within` seconds."""
    service = subprocess.Popen(run_command(config), stderr=subprocess.DEVNULL)
    try:
        yield service
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=stop_within)
    assert service.returncode == 0
