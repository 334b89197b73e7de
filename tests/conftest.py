"""Shared fixtures: a real Kafka-protocol broker and a real HTTP server, both on loopback.

With KAFKA_BOOTSTRAP_SERVERS set, tests use that broker (e.g. a real Apache Kafka) instead of
starting Tansu.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from newswire.publish.broker import EmbeddedBroker
from newswire.service import worker_pool
from tests.redis_support import RedisServer, redis_server_binary
from tests.site import FixtureSite

# All test traffic is on loopback: never send it to a proxy the environment may name.
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name), "127.0.0.1,localhost,::1"]))

# Any newswire a test starts (a subprocess, a default load_config) lets an unexpected error
# stop it rather than containing it: tests crash loudly on bugs.
os.environ.setdefault("NEWSWIRE_ERRORS__CONTAIN", "false")

# `pytest --hypothesis-profile=deep` runs the property tests with many more examples.
settings.register_profile("deep", max_examples=3000, deadline=None)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    log = Path(tmp_path_factory.mktemp("broker")) / "tansu.log"
    broker = EmbeddedBroker("127.0.0.1:0", log_file=log)
    yield broker.start()
    broker.stop()


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the shared dedup backend. Skipped where none is installed,
    unless REQUIRE_REDIS_SERVER is set (CI installs the Debian package and sets it)."""
    binary = redis_server_binary()
    if binary is None:
        if os.environ.get("REQUIRE_REDIS_SERVER"):
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary, Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server in cluster mode, one node holding every slot: it refuses a
    command or script whose keys are in different slots, as a Redis Cluster does."""
    binary = redis_server_binary()
    if binary is None:
        if os.environ.get("REQUIRE_REDIS_SERVER"):
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary, Path(tmp_path_factory.mktemp("redis-cluster")), cluster=True)
    yield server.start()
    server.stop()


@pytest.fixture
def redis_cluster_server(redis_cluster_session: RedisServer) -> Iterator[RedisServer]:
    """The session's one-node cluster, empty for this test."""
    with redis.Redis.from_url(redis_cluster_session.url) as client:
        client.flushall()
    yield redis_cluster_session


@pytest.fixture
def redis_server(redis_session: RedisServer) -> Iterator[RedisServer]:
    """The session's redis-server, running and empty for this test."""
    if not _answers(redis_session):
        redis_session.start()
    with redis.Redis.from_url(redis_session.url) as client:
        client.flushall()
    yield redis_session
    if not _answers(redis_session):
        redis_session.start()  # a test stopped it to play an outage


def _answers(server: RedisServer) -> bool:
    try:
        with redis.Redis.from_url(server.url, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture(scope="session")
def pool() -> Iterator[ProcessPoolExecutor]:
    """The service's own worker pool (forked from this process after it loaded the models,
    or spawned with their own when another thread already runs)."""
    from tests.builders import CONFIG

    with worker_pool(CONFIG) as executor:
        yield executor


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    server = FixtureSite().start()
    yield server
    server.stop()
