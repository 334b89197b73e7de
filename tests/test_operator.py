"""What an operator meets: a feed that never works is visible from its first poll, changed poll
bounds apply to stored schedules, text logs carry the fields JSON logs do, and the CLI says in
one line what is wrong and where instead of waiting or leaving an empty state behind."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import Executor
from pathlib import Path

import httpx
import pytest

from newswire.config import load_config
from newswire.errors import ConfigError
from newswire.models import FeedSpec, FeedState
from newswire.ops.logs import TextFormatter
from newswire.publish.broker import free_port
from newswire.service import usable_cores
from newswire.state import STATE_FILE, StateStore
from tests.builders import FEEDS
from tests.kafka_support import unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.service_support import run_command, running_service, service_config
from tests.site import FixtureSite, Resource
from tests.stories import story_html
from tests.test_cli import REPO_CONFIG, newswire
from tests.test_pipeline import with_fresh_topic
from tests.test_service import child_pids, published, wait_for

RSS = "application/rss+xml"
EMPTY_FEED = b'<rss version="2.0"><channel><title>t</title></channel></rss>'


def gauge(port: int, name: str, feed: str) -> float | None:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    prefix = f'{name}{{feed="{feed}"}} '
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(found[0].rsplit(" ", 1)[1]) if found else None


@pytest.mark.integration
def test_a_feed_that_never_succeeds_has_a_last_success_from_its_first_poll(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # a typo in the URL: every poll is a 404; NewswireFeedStale needs the series to exist
    feeds = [{"id": "typo", "url": site.url("/no-such-feed.xml"), "interval": "5m"}]
    port = free_port()
    config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), port)
    started = time.time()
    with running_service(config):
        wait_for(lambda: gauge(port, "newswire_feed_consecutive_errors", "typo") == 1)
        since = gauge(port, "newswire_feed_last_success_timestamp_seconds", "typo")
        interval = gauge(port, "newswire_feed_interval_seconds", "typo")
    assert since is not None and started - 1 <= since <= time.time()  # trying since the start
    assert interval == 300


@pytest.mark.integration
def test_a_lowered_max_interval_applies_to_the_stored_schedule(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = site.add("/f.xml", Resource(EMPTY_FEED, RSS))
    feeds = [{"id": "f", "url": url, "interval": "1s", "min_interval": "1s", "max_interval": "2s"}]
    config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), free_port())
    store = StateStore(tmp_path / "state" / STATE_FILE)  # as an earlier run left it: hourly
    now = time.time()
    store.save_feed_state(FeedState(url, "f", 3600.0, next_poll=now + 3600, last_success=now))
    store.close()
    with running_service(config):
        took = wait_for(lambda: site.hits("/f.xml") >= 2, timeout=30, what="two polls")
    assert took < 30  # the stored hour was held to the feed's max_interval of 2 s


def test_text_logs_carry_the_fields_json_logs_carry() -> None:
    record = logging.LogRecord(
        "newswire.pipeline", logging.WARNING, "", 0, "poll failed", None, None
    )
    record.__dict__.update(
        feed="x", url="http://a.test/f", reason="timeout", detail="over 30s", retry_in=12.5
    )
    line = TextFormatter().format(record)
    assert line.endswith(
        'WARNING newswire.pipeline poll failed feed=x url=http://a.test/f reason=timeout detail="over 30s" retry_in=12.5'
    )


def test_tail_with_no_broker_says_so_in_one_line_at_once() -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": address}
    started = time.monotonic()
    result = newswire("tail", "news.articles", "--idle", "2", env=env)
    assert time.monotonic() - started < 20  # kafka-python alone retried for 31 s
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert lines == [
        f"newswire: no Kafka broker reachable at {address}: start `newswire run` (its embedded "
        "broker) or point KAFKA_BOOTSTRAP_SERVERS at your Kafka"
    ]


def test_feeds_never_creates_an_empty_state_store(tmp_path: Path) -> None:
    env = {**os.environ, "NEWSWIRE_STATE__DIR": str(tmp_path / "state")}
    result = newswire("feeds", env=env)
    assert result.returncode == 1
    assert f"no state store at {tmp_path / 'state' / STATE_FILE}" in result.stderr.decode()
    assert not (tmp_path / "state").exists()


def test_a_missing_config_directory_names_the_two_ways_to_point_at_one(tmp_path: Path) -> None:
    result = newswire("--config", str(tmp_path / "nowhere"), "check")
    assert result.returncode == 2
    assert "pass --config DIR or set NEWSWIRE_CONFIG_DIR" in result.stderr.decode()


def test_global_options_work_after_the_command_too(tmp_path: Path) -> None:
    result = newswire("check", "--config", str(REPO_CONFIG))  # newswire run --config X, say
    assert result.returncode == 0, result.stderr.decode()
    missing = newswire("check", "--config", str(tmp_path / "nowhere"))  # given there, it wins
    assert missing.returncode == 2


def test_log_levels_are_accepted_in_any_case() -> None:
    config = load_config(REPO_CONFIG, environ={"NEWSWIRE_LOG__LEVEL": "debug"})
    assert config.settings.log.level == "DEBUG"


def test_list_settings_take_comma_separated_values_from_the_environment() -> None:
    env = {"NEWSWIRE_HTTP__ALLOW_HOSTS": "127.0.0.1, feeds.intranet.example"}
    assert load_config(REPO_CONFIG, environ=env).settings.http.allow_hosts == (
        "127.0.0.1",
        "feeds.intranet.example",
    )
    env = {"NEWSWIRE_HTTP__ALLOW_HOSTS": "[10.0.0.0/8]"}  # YAML, as before
    assert load_config(REPO_CONFIG, environ=env).settings.http.allow_hosts == ("10.0.0.0/8",)


def test_an_error_in_an_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(REPO_CONFIG, environ={"NEWSWIRE_HTTP__MAX_REDIRECTS": "many"})
    assert str(raised.value).startswith("NEWSWIRE_HTTP__MAX_REDIRECTS (overriding ")
    assert "http.max_redirects" in str(raised.value)


@pytest.mark.integration
def test_a_metrics_port_in_use_is_one_line_naming_the_setting(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        feeds = [{"url": f"http://127.0.0.1:{free_port()}/never-polled.xml"}]
        config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), port)
        result = subprocess.run(run_command(config), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"cannot serve /metrics on 127.0.0.1:{port}" in result.stderr
    assert "set metrics.port (NEWSWIRE_METRICS__PORT)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_run_once_on_the_embedded_broker_says_its_messages_are_gone(
    site: FixtureSite, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    feeds = [{"url": site.add("/empty.xml", Resource(EMPTY_FEED, RSS))}]
    config = service_config(
        tmp_path, feeds, "embedded", unique_prefix(), free_port(), kafka={"embedded_listen": listen}
    )
    command = [*run_command(config), "--once"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the embedded broker stopped with this run: what it published is gone" in result.stderr


@pytest.mark.parametrize(
    "files,cores",
    [
        ({"cpu.max": "150000 100000\n"}, 2),  # cgroup v2: 1.5 CPUs, rounded up
        ({"cpu.max": "max 100000\n"}, None),  # unlimited
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_the_worker_count_follows_a_containers_cpu_quota(
    tmp_path: Path, files: dict[str, str], cores: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    affinity = len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path) == min(affinity, cores or affinity)


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (("extract", "/no/such/page.html"), None, "cannot read /no/such/page.html: No such file"),
        (("extract", "-"), b"<html><body><p>Text.</p></body></html>", "stdin declares no URL"),
    ],
)
def test_extract_says_what_it_needs_in_one_line(
    args: tuple[str, ...], stdin: bytes | None, message: str
) -> None:
    result = newswire(*args, stdin=stdin)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    command = [sys.executable, "-m", "newswire", "--config", str(REPO_CONFIG), "check"]
    check = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert check.stdout is not None and check.stderr is not None
    check.stdout.close()  # the reader gone before the output comes, as `head -0` would be
    errors = check.stderr.read().decode()
    assert check.wait(timeout=60) == 1
    assert errors == ""  # no traceback, no "Exception ignored" at exit


@pytest.mark.integration
def test_a_feeds_recovery_is_logged(
    site: FixtureSite,
    kafka_bootstrap: str,
    tmp_path: Path,
    pool: Executor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = site.add("/flaky.xml", Resource(b"down", status=503))
    feed = FeedSpec("flaky", url, FEEDS["shafaq-news"].outlet, 300)
    settings, store = with_fresh_topic(kafka_bootstrap), StateStore(tmp_path / STATE_FILE)
    asyncio.run(poll_and_drain(settings, kafka_bootstrap, store, pool, (feed,)))
    site.add("/flaky.xml", Resource(EMPTY_FEED, RSS))
    with caplog.at_level(logging.INFO, logger="newswire.pipeline"):
        asyncio.run(poll_and_drain(settings, kafka_bootstrap, store, pool, (feed,)))
    recovered = [r for r in caplog.records if r.getMessage() == "feed recovered"]
    assert len(recovered) == 1
    assert recovered[0].__dict__["feed"] == "flaky"
    assert recovered[0].__dict__["reason"] == "http_5xx"
    assert recovered[0].__dict__["detail"] == "after 1 failed polls"


def json_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.integration
def test_a_missing_broker_is_said_at_once_without_kafka_pythons_retries(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens
    feeds = [{"url": f"http://127.0.0.1:{free_port()}/never-polled.xml"}]
    config = service_config(tmp_path, feeds, address, unique_prefix(), free_port())
    started = time.monotonic()
    result = subprocess.run(run_command(config), capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 20  # it took 32 s and 21 kafka-python lines
    assert result.returncode == 1
    plain = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert plain == [
        f"newswire: broker error: no Kafka broker reachable at {address} "
        "(kafka.bootstrap_servers, KAFKA_BOOTSTRAP_SERVERS): is it up, and is this "
        "the address it listens on?"
    ]
    assert not [e for e in json_lines(result.stderr) if str(e["logger"]).startswith("kafka")]


def story_feed(site: FixtureSite, stories: list[int]) -> str:
    """/e.xml with these stories (served again with more later)."""
    items = "".join(
        f"<item><title>S{i}</title><link>{site.add(f'/story/{i}', Resource(story_html(i)))}</link></item>"
        for i in stories
    )
    body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    return site.add("/e.xml", Resource(body, RSS))


def embedded_service(site: FixtureSite, tmp_path: Path, stories: list[int]) -> tuple[Path, int]:
    """A config on the embedded broker, polling /e.xml every second, quick to rebuild its
    producer (delivery timeout 4 s, stall after 6 s); and its metrics port."""
    port = free_port()
    config = service_config(
        tmp_path,
        [{"url": story_feed(site, stories), "interval": "1s", "min_interval": "1s"}],
        "embedded",
        unique_prefix(),
        port,
        kafka={"embedded_listen": f"127.0.0.1:{free_port()}", "delivery_timeout": "4s"},
        outbox={"stall_after": "6s"},
    )
    return config, port


@pytest.mark.integration
def test_an_embedded_broker_that_dies_is_reported_once_and_restarted(
    site: FixtureSite, tmp_path: Path
) -> None:
    config, port = embedded_service(site, tmp_path, [30, 31])
    service = subprocess.Popen(run_command(config), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: published(port) >= 2, what="the first stories")
        tansu = [
            p
            for p in child_pids(service.pid)
            if b"tansu" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]
        os.kill(tansu[0], signal.SIGKILL)
        story_feed(site, [30, 31, 32])  # a third story in the feed
        wait_for(lambda: published(port) >= 3, timeout=90, what="a story after the restart")
        service.send_signal(signal.SIGTERM)
        _, stderr = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0
    said = [e for e in json_lines(stderr) if str(e["msg"]).startswith("the embedded broker exited")]
    assert len(said) == 1 and said[0]["detail"] == f"exit status {-signal.SIGKILL}"
    assert [e["msg"] for e in json_lines(stderr) if e["msg"] == "embedded Kafka broker restarted"]


@pytest.mark.integration
def test_ctrl_c_to_the_group_stops_the_service_before_its_embedded_broker(
    site: FixtureSite, tmp_path: Path
) -> None:
    config, port = embedded_service(site, tmp_path, [40, 41, 42])
    service = subprocess.Popen(
        run_command(config), stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        wait_for(lambda: published(port) >= 1, what="a story")
        os.killpg(service.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        _, stderr = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0
    events = json_lines(stderr)
    assert [e for e in events if e["level"] == "error"] == []
    finished = [e for e in events if e["msg"] == "run finished"]
    assert finished and finished[0]["summary"]["unsent"] == 0  # drained into the broker
