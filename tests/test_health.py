"""The ops endpoint: /metrics, /healthz, /readyz over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from newswire import metrics
from newswire.ops.health import OpsServer

CHECKS = {"config": True, "broker": True, "state": True}


@pytest.fixture
def server() -> Iterator[OpsServer]:
    ops = OpsServer("127.0.0.1", 0, lambda: dict(CHECKS))
    ops.start()
    yield ops
    ops.stop()


def test_metrics_endpoint_serves_newswire_metrics(server: OpsServer) -> None:
    metrics.POLLS.labels("f", "o", "ok").inc()
    response = httpx.get(f"http://127.0.0.1:{server.port}/metrics")
    assert response.status_code == 200
    assert 'newswire_polls_total{feed="f",outcome="ok",outlet="o"}' in response.text
    assert "# TYPE newswire_publish_duration_seconds histogram" in response.text


def test_healthz_and_readyz(server: OpsServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(f"{base}/healthz").text == "ok\n"
    assert httpx.get(f"{base}/readyz").status_code == 200
    CHECKS["broker"] = False
    try:
        response = httpx.get(f"{base}/readyz")
    finally:
        CHECKS["broker"] = True
    assert response.status_code == 503
    assert "broker failing" in response.text
    assert httpx.get(f"{base}/nope").status_code == 404


def test_broker_reachability_check(kafka_bootstrap: str) -> None:
    from newswire.publish.broker import any_reachable

    assert any_reachable(kafka_bootstrap)
    assert any_reachable(f"127.0.0.1:9,{kafka_bootstrap}")
    assert not any_reachable("127.0.0.1:9")
