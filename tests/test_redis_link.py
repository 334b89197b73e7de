"""The Redis dedup backend's script connection (dedup/redis_link.py) on a real redis-server:
one connection kept for every script, scripts the server lost sent again, a closed socket
replaced, an error reply that leaves the connection in use, and scripts sent ahead of their
replies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis
from redis.commands.core import Script

from newswire.dedup.redis_link import AheadFailed, ScriptLink
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


def link_connections(observer: redis.Redis, name: str = "link") -> list[int]:
    """The ids of the connections the link's client opened (named `name`)."""
    return [int(c["id"]) for c in observer.client_list() if c["name"] == name]


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


# ARGV[1] 'fail': an error reply; else the key incremented
COUNT = "if ARGV[1] == 'fail' then return redis.error_reply('refused') end "
COUNT += "return redis.call('INCR', KEYS[1])"


def test_a_script_sent_ahead_runs_before_the_next_and_its_reply_comes_with_it(
    redis_server: RedisServer,
) -> None:
    observer = redis.Redis.from_url(redis_server.url)
    client = redis.Redis.from_url(redis_server.url)
    link = ScriptLink(client)
    count = client.register_script(COUNT)
    echo = client.register_script(ECHO)
    replies: list[object] = []
    link.send_ahead(count, ["{t}:n"], ["go"], replies.append)
    assert replies == [1]  # no script of its kind ran on the connection yet: it ran at once
    before = connections_received(observer)
    link.send_ahead(count, ["{t}:n"], ["go"], replies.append)
    assert replies == [1]  # sent; its reply not read yet
    assert link.run(count, ["{t}:n"], ["go"]) == 3  # ran after the one sent ahead
    assert replies == [1, 2]
    link.send_ahead(count, ["{t}:n"], ["go"], replies.append)
    link.settle()
    assert replies == [1, 2, 4]
    assert link.run(echo, ["{t}:k"], ["a"]) == [b"{t}:k", b"a"]
    assert connections_received(observer) - before == 0  # all on the kept connection


@dataclass
class Warmed:
    """A link named `name` whose counting script ran once (so the next is sent ahead), the
    replies sent ahead so far, and its connection's id, seen by an observer."""

    observer: redis.Redis
    link: ScriptLink
    count: Script
    echo: Script
    replies: list[object]
    first: int


def warmed_link(server: RedisServer, name: str) -> Warmed:
    observer = redis.Redis.from_url(server.url)
    client = redis.Redis.from_url(server.url, client_name=name)
    link = ScriptLink(client)
    count, echo = client.register_script(COUNT), client.register_script(ECHO)
    replies: list[object] = []
    link.send_ahead(count, ["{t}:n"], ["go"], replies.append)  # runs at once
    [first] = link_connections(observer, name)
    return Warmed(observer, link, count, echo, replies, first)


def test_an_error_sent_ahead_fails_the_next_script_and_keeps_the_connection(
    redis_server: RedisServer,
) -> None:
    w = warmed_link(redis_server, "link-error")
    w.link.send_ahead(w.count, ["{t}:n"], ["fail"], w.replies.append)
    with pytest.raises(AheadFailed, match="refused"):
        w.link.run(w.count, ["{t}:n"], ["go"])  # it ran (n is 2), but without the one ahead
    assert w.replies == [1, None]
    assert w.observer.get("{t}:n") == b"2"
    assert w.link.run(w.count, ["{t}:n"], ["go"]) == 3  # every reply was read: in step
    assert link_connections(w.observer, "link-error") == [w.first]


def test_a_script_the_server_lost_fails_when_sent_ahead_then_runs_at_once(
    redis_server: RedisServer,
) -> None:
    w = warmed_link(redis_server, "link-flushed")
    w.observer.script_flush()
    w.link.send_ahead(w.count, ["{t}:n"], ["go"], w.replies.append)
    with pytest.raises(AheadFailed, match="No matching script"):
        w.link.settle()
    assert w.replies == [1, None]
    w.link.send_ahead(w.count, ["{t}:n"], ["go"], w.replies.append)  # sent whole, at once
    assert w.replies == [1, None, 2]


def test_a_connection_lost_with_a_script_sent_ahead_fails_it_and_the_next_goes_on_a_new_one(
    redis_server: RedisServer,
) -> None:
    w = warmed_link(redis_server, "link-lost")
    w.observer.client_kill_filter(_id=str(w.first))  # as a restart or an idle timeout would
    w.link.send_ahead(w.count, ["{t}:n"], ["go"], w.replies.append)  # into a closed socket
    with pytest.raises(AheadFailed):
        w.link.run(w.echo, ["{t}:k"], ["a"])  # not run on a new connection: the caller files
    assert w.replies == [1, None]
    assert w.observer.get("{t}:n") == b"1"
    assert w.link.run(w.echo, ["{t}:k"], ["b"]) == [b"{t}:k", b"b"]
    assert link_connections(w.observer, "link-lost") != [w.first]


def test_a_cluster_client_runs_a_script_sent_ahead_at_once(
    redis_cluster_server: RedisServer,
) -> None:
    client = redis.RedisCluster.from_url(redis_cluster_server.url)
    link = ScriptLink(client)
    count = client.register_script(COUNT)
    replies: list[object] = []
    for _ in range(2):
        link.send_ahead(count, ["{t}:n"], ["go"], replies.append)
    assert replies == [1, 2]


def test_a_reply_its_taker_refuses_drops_the_connection_so_the_next_is_in_step(
    redis_server: RedisServer,
) -> None:
    w = warmed_link(redis_server, "link-refused")

    def refuses(reply: object) -> None:
        raise RuntimeError(f"cannot take {reply!r}")

    w.link.send_ahead(w.count, ["{t}:n"], ["go"], refuses)
    w.link.send_ahead(w.count, ["{t}:n"], ["go"], w.replies.append)
    with pytest.raises(RuntimeError, match="cannot take 2"):
        w.link.settle()
    assert w.replies == [1, None]  # unread when the connection went
    assert w.link.run(w.echo, ["{t}:k"], ["a"]) == [b"{t}:k", b"a"]  # a fresh one, in step
    assert link_connections(w.observer, "link-refused") != [w.first]
