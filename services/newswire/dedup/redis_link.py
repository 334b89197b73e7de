"""The connection the Redis dedup backend runs its scripts on.

redis-py's `Script.__call__` takes a connection from the pool, checks it, sends EVALSHA and
gives the connection back, every call: about 80 us of a 200 us round trip on loopback. A
check is three scripts, so the backend keeps one connection of the client's pool for itself
(taken at its first script, so a Redis down at start is an outage like any other, not a
crash) and sends each script on it. A connection error or a timeout drops it (a reply may be
half-read); a connection error is tried once more on a fresh one, as redis-py's own retry
does (a kept socket closed by a restart or an idle timeout), and a script the server lost
(NOSCRIPT: restarted, flushed) is sent whole. A cluster client routes each script to its
slot's node itself, so it keeps redis-py's own path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import NoScriptError, ResponseError


class ScriptLink:
    """Runs a client's registered scripts on one kept connection."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        self._pool = None if isinstance(client, RedisCluster) else client.connection_pool
        self._conn: Any = None  # a redis-py Connection (its send_command is untyped)
        self._pid = os.getpid()

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's reply; Redis errors are raised as redis-py raises them."""
        if self._pool is None:
            return script(keys, args)
        try:
            return self._run_once(script, keys, args)
        except redis.ConnectionError:  # a kept socket a restart or an idle timeout closed
            return self._run_once(script, keys, args)

    def _run_once(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        conn = self._connection()
        try:
            try:
                return self._call(conn, "EVALSHA", script.sha, keys, args)
            except NoScriptError:  # a restarted or another server: EVAL loads it too
                return self._call(conn, "EVAL", script.script, keys, args)
        except ResponseError:
            raise  # the reply was read whole: the connection is fine
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Drop the kept connection (the next script takes another)."""
        conn, self._conn = self._conn, None
        if conn is not None and self._pool is not None:
            conn.disconnect()
            self._pool.release(conn)

    def _connection(self) -> Any:
        if self._conn is not None and self._pid != os.getpid():
            self._conn = None  # a forked child never shares its parent's socket
        if self._conn is None:
            self._pid = os.getpid()
            assert self._pool is not None
            self._conn = self._pool.get_connection()
        return self._conn

    @staticmethod
    def _call(conn: Any, command: str, body: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        conn.send_command(command, body, len(keys), *keys, *args)
        return conn.read_response()  # an error reply is raised (ResponseError, NoScriptError)
