"""Clear errors, exit code 1, for a broker that cannot be used: none listening, a handshake
that fails (wrong security protocol or credentials), topics that cannot be created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswire.publish.broker import free_port
from tests.kafka_support import unique_prefix

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[1]


def run_once(tmp: Path, **env: str) -> tuple[int, str]:
    feeds = tmp / "feeds.yaml"
    feeds.write_text(
        "outlets:\n  - id: local\n    name: Local\n    feeds:\n"
        "      - url: http://127.0.0.1:9/rss\n"  # never reached: the broker fails first
    )
    environ = {
        **os.environ,
        "NEWSWIRE_STATE__DIR": str(tmp / "state"),
        "NEWSWIRE_METRICS__PORT": "0",
        **env,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newswire",
            "--config",
            str(ROOT / "config"),
            "--feeds",
            str(feeds),
            "run",
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=environ,
    )
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return result.returncode, last


def test_no_broker_listening(tmp_path: Path) -> None:
    code, last = run_once(tmp_path, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    assert code == 1
    assert last.startswith("newswire: broker error: no Kafka broker reachable at 127.0.0.1:")


def test_a_failed_handshake_names_the_security_settings(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    code, last = run_once(
        tmp_path,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        NEWSWIRE_KAFKA__SECURITY_PROTOCOL="SASL_PLAINTEXT",
        NEWSWIRE_KAFKA__SASL_MECHANISM="PLAIN",
        NEWSWIRE_KAFKA__SASL_USERNAME="newswire",
        NEWSWIRE_KAFKA__SASL_PASSWORD="wrong",
    )
    assert code == 1
    assert "handshake failed with security_protocol SASL_PLAINTEXT and sasl_mechanism PLAIN" in last


@pytest.mark.skipif(
    not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
    reason="Tansu creates topics whatever their replication factor; needs a real Apache Kafka",
)
def test_topics_that_cannot_be_created(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = unique_prefix()
    code, last = run_once(
        tmp_path,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        NEWSWIRE_TOPICS__ARTICLES=f"{prefix}.articles",
        NEWSWIRE_KAFKA__REPLICATION_FACTOR="3",  # a one-node cluster cannot hold 3 replicas
    )
    assert code == 1
    assert last.startswith(f"newswire: broker error: cannot create topics on {kafka_bootstrap}")


def test_an_invalid_topic_name_is_a_config_error(tmp_path: Path) -> None:
    code, last = run_once(tmp_path, NEWSWIRE_TOPICS__DEAD_LETTERS="not a topic!")
    assert code == 2  # refused before any broker is contacted
    assert last.startswith("NEWSWIRE_TOPICS__DEAD_LETTERS (overriding")
    assert "topics.dead_letters" in last
