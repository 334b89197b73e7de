"""The Redis dedup backend's script connection (dedup/redis_link.py) on a real redis-server:
one connection kept for every script, scripts the server lost sent again, a closed socket
replaced, an error reply that leaves the connection in use."""

from __future__ import annotations

import pytest
import redis

from newswire.dedup.redis_link import ScriptLink
from tests.redis_support import RedisServer

ECHO = "return {KEYS[1], ARGV[1]}"


def connections_received(client: redis.Redis) -> int:
    return int(client.info("stats")["total_connections_received"])


def test_every_script_runs_on_one_kept_connection(redis_server: RedisServer) -> None:
    observer = redis.Redis.from_url(redis_server.url)
    client = redis.Redis.from_url(redis_server.url)
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    before = connections_received(observer)
    replies = [link.run(echo, ["{t}:k"], [n]) for n in range(50)]
    assert replies == [[b"{t}:k", str(n).encode()] for n in range(50)]
    assert connections_received(observer) - before == 1


def test_a_script_the_server_lost_is_sent_whole(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    assert link.run(echo, ["{t}:k"], ["a"]) == [b"{t}:k", b"a"]
    client.script_flush()
    assert client.script_exists(echo.sha) == [False]
    assert link.run(echo, ["{t}:k"], ["b"]) == [b"{t}:k", b"b"]
    assert client.script_exists(echo.sha) == [True]  # EVAL cached it again


def link_connections(observer: redis.Redis) -> list[int]:
    """The ids of the connections the link's client opened (named "link")."""
    return [int(c["id"]) for c in observer.client_list() if c["name"] == "link"]


def test_a_closed_socket_is_replaced_without_an_error(redis_server: RedisServer) -> None:
    observer = redis.Redis.from_url(redis_server.url)
    client = redis.Redis.from_url(redis_server.url, client_name="link")
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    assert link.run(echo, ["{t}:k"], ["a"]) == [b"{t}:k", b"a"]
    [first] = link_connections(observer)
    observer.client_kill_filter(_id=str(first))  # as a restart or an idle timeout would
    assert link.run(echo, ["{t}:k"], ["b"]) == [b"{t}:k", b"b"]
    [second] = link_connections(observer)
    assert second != first
    link.run(echo, ["{t}:k"], ["c"])
    assert link_connections(observer) == [second]  # the new one is kept


def test_an_error_reply_keeps_the_connection(redis_server: RedisServer) -> None:
    observer = redis.Redis.from_url(redis_server.url)
    client = redis.Redis.from_url(redis_server.url, client_name="link")
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    failing = client.register_script("return redis.error_reply('refused')")
    link.run(echo, ["{t}:k"], ["a"])
    [first] = link_connections(observer)
    with pytest.raises(redis.ResponseError, match="refused"):
        link.run(failing, [], [])
    assert link.run(echo, ["{t}:k"], ["b"]) == [b"{t}:k", b"b"]
    assert link_connections(observer) == [first]


def test_a_redis_down_is_a_connection_error_then_a_fresh_connection(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    assert link.run(echo, ["{t}:k"], ["up"]) == [b"{t}:k", b"up"]
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        link.run(echo, ["{t}:k"], ["down"])
    redis_server.start()
    assert link.run(echo, ["{t}:k"], ["again"]) == [b"{t}:k", b"again"]


def test_a_cluster_client_keeps_redis_pys_routing(redis_cluster_server: RedisServer) -> None:
    client = redis.RedisCluster.from_url(redis_cluster_server.url)
    link = ScriptLink(client)
    echo = client.register_script(ECHO)
    assert link.run(echo, ["{t}:k"], ["c"]) == [b"{t}:k", b"c"]
