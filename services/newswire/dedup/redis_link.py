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

A script whose reply can wait (a check's record: Redis runs it, and lets the check lock go,
as soon as it arrives) is sent ahead (`send_ahead`): its reply is read before the reply of
the next script on the connection, or by `settle`, so the check after it pays no round trip
for it. When a reply sent ahead is not a reply (an error, a lost connection), the script run
after it ran without it: `run` reads everything it sent, then raises `AheadFailed`, and the
caller files the script again before it asks Redis anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import hiredis
import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import DataError, NoScriptError, ResponseError

Settled = Callable[[Any], None]  # gets a reply sent ahead, or None when it failed


class AheadFailed(redis.RedisError):
    """A script sent ahead did not run, or its reply was lost; the script after it ran
    without it (its reply is dropped)."""


class ScriptLink:
    """Runs a client's registered scripts on one kept connection."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        self._pool = None if isinstance(client, RedisCluster) else client.connection_pool
        self._conn: Any = None  # a redis-py Connection (its send_command is untyped)
        self._pid = os.getpid()
        self._ahead: list[tuple[str, Settled]] = []  # sent ahead (sha), replies unread
        self._loaded: set[str] = set()  # scripts that ran since the connection was taken

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's reply; Redis errors are raised as redis-py raises them, and
        `AheadFailed` when a script sent ahead failed (this one ran without it)."""
        if self._pool is None:
            return script(keys, args)
        if self._ahead and self._pid == os.getpid():
            return self._run_after_ahead(script, keys, args)
        try:
            return self._run_once(script, keys, args)
        except redis.ConnectionError:  # a kept socket a restart or an idle timeout closed
            return self._run_once(script, keys, args)

    def send_ahead(
        self, script: Script, keys: Sequence[Any], args: Sequence[Any], settled: Settled
    ) -> None:
        """Send the script now; `settled` gets its reply (None: it failed) when the next
        script's reply or `settle` reads it. A script the server may not have (none of its
        kind ran since the connection was taken, or one came back NOSCRIPT) runs at once, as
        a cluster client's does; a failure then, or to send, is raised here (`settled` is
        never called)."""
        if self._pool is None or script.sha not in self._loaded:
            settled(self.run(script, keys, args))
            return
        conn = self._connection()
        try:
            self._send(conn, "EVALSHA", script.sha, keys, args)
        except BaseException:
            self.close()
            raise
        self._ahead.append((script.sha, settled))

    def settle(self) -> None:
        """Read the replies of the scripts sent ahead; `AheadFailed` when one failed."""
        failure = self._read_ahead()
        if failure is not None:
            raise AheadFailed(f"a script sent ahead failed: {failure}") from failure

    def close(self) -> None:
        """Drop the kept connection (the next script takes another); replies sent ahead
        and not read are failures."""
        conn, self._conn = self._conn, None
        ahead, self._ahead = self._ahead, []
        self._loaded.clear()
        for _, settled in ahead:
            settled(None)
        if conn is not None and self._pool is not None:
            conn.disconnect()
            self._pool.release(conn)

    def _run_after_ahead(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Send the script behind the ones sent ahead, read their replies, then its own."""
        conn = self._conn
        try:
            self._send(conn, "EVALSHA", script.sha, keys, args)
        except redis.ConnectionError as exc:  # closed under them: they may not have run
            self.close()
            raise AheadFailed(f"the connection went: {exc}") from exc
        except BaseException:
            self.close()
            raise
        failure = self._read_ahead()
        if failure is not None:
            self._drop_reply()
            raise AheadFailed(f"a script sent ahead failed: {failure}") from failure
        try:
            reply = conn.read_response()
        except NoScriptError:  # the ones ahead ran: as `_run_once` does
            return self._run_once(script, keys, args)
        except ResponseError:
            raise  # the reply was read whole: the connection is fine
        except redis.ConnectionError:  # the ones ahead ran: tried once more, as `run` does
            self.close()
            return self._run_once(script, keys, args)
        except BaseException:
            self.close()
            raise
        self._loaded.add(script.sha)
        return reply

    def _drop_reply(self) -> None:
        """Read and drop the reply of a script that ran without the ones sent ahead of it
        (the connection, if still there, stays in step)."""
        if self._conn is None:
            return
        try:
            self._conn.read_response()
        except ResponseError:
            pass  # read whole
        except redis.RedisError:
            self.close()
        except BaseException:
            self.close()
            raise

    def _read_ahead(self) -> BaseException | None:
        """Read the replies sent ahead, in order, into their `settled`; the first failure
        (an error reply leaves the connection in use, any other drops it and fails the
        rest)."""
        failure: BaseException | None = None
        while self._ahead:
            sha, settled = self._ahead.pop(0)
            try:
                reply = self._conn.read_response()
            except ResponseError as exc:  # NOSCRIPT too: the script did not run
                if isinstance(exc, NoScriptError):
                    self._loaded.discard(sha)
                settled(None)
                failure = failure or exc
                continue
            except redis.RedisError as exc:  # a connection lost, a timeout: the rest fail too
                settled(None)
                self.close()
                return failure or exc
            except BaseException:  # an interrupt: the replies are out of step, let it go on
                settled(None)
                self.close()
                raise
            try:
                settled(reply)
            except BaseException:  # the replies after it are unread: the connection goes
                self.close()
                raise
        return failure

    def _run_once(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        conn = self._connection()
        try:
            try:
                reply = self._call(conn, "EVALSHA", script.sha, keys, args)
            except NoScriptError:  # a restarted or another server: EVAL loads it too
                reply = self._call(conn, "EVAL", script.script, keys, args)
            self._loaded.add(script.sha)
            return reply
        except ResponseError:
            raise  # the reply was read whole: the connection is fine
        except BaseException:
            self.close()
            raise

    def _connection(self) -> Any:
        if self._conn is not None and self._pid != os.getpid():
            # a forked child never shares its parent's socket
            self._conn, self._ahead = None, []
            self._loaded.clear()
        if self._conn is None:
            self._pid = os.getpid()
            assert self._pool is not None
            self._conn = self._pool.get_connection()
        return self._conn

    @staticmethod
    def _send(conn: Any, command: str, body: Any, keys: Sequence[Any], args: Sequence[Any]) -> None:
        """Pack the command with hiredis at once (str, bytes and int arguments): redis-py's
        `send_command` looks at every argument again first (about 15 us a script here)."""
        try:
            packed = hiredis.pack_command((command, body, len(keys), *keys, *args))
        except TypeError as exc:
            raise DataError(str(exc)) from exc
        conn.send_packed_command([packed])

    @classmethod
    def _call(
        cls, conn: Any, command: str, body: Any, keys: Sequence[Any], args: Sequence[Any]
    ) -> Any:
        cls._send(conn, command, body, keys, args)
        return conn.read_response()  # an error reply is raised (ResponseError, NoScriptError)
