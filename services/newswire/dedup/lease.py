"""The Redis backend's check lock kept across a replica's consecutive checks (a lease).

A check takes the shared check lock with its first read. Before leases, its record let the
lock go and the next check's read took it again: a round trip even when the replica's index
named no row to read (a new article: most of them), only to take the lock and the log's
tail. A check's record now keeps the lock for the replica (Redis answers whether it did: it
lets the lock go instead when another replica waits for it, named in the lock's `wanted`
key). While the lock stays this replica's, no other replica can record a check, so the
index is current, and a check whose index names no row needs no read at all. The answer is
waited for before a check only when the last one kept the lock; under contention the check's
read goes at once, as before leases.

This class is the replica's side: which lease is on offer (a record sent to keep it, its
reply not yet read) or kept, and the release of a lease left idle. A replica that stops
checking lets its lease go after IDLE seconds, from a thread of its own (the checks' thread
may be waiting for work), so the other replicas never wait on an idle lease for the lock's
expiry; `close` lets it go at once. A kept lease is trusted for TRUST seconds from the
sending of its record, far under the lock's hold (redis_store.LOCK_HOLD_MS), so a replica
stalled longer than that (suspended, swapped out) reads the log again rather than rely on a
lock that may have expired. A Redis restarted empty loses the lock with the log: the lease's
next record finds the lock gone and does not keep it, so one check at most runs on the lease
before the replica reads again (and finds the log lost).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

IDLE = 0.02  # s a lease is kept with no check in progress
TRUST = 5.0  # s from the sending of the record that kept the lock that the lease is trusted
THREAD_IDLE = 60.0  # s the release thread waits for a lease before it ends


class Lease:
    """The lease's state, shared by the checks' thread and the release thread. Each record
    sent to keep the lock is an offer, numbered: the record marks the lock kept with its
    number, and the lease lets go of the lock only while it bears that number, so a record
    that did not run (whose check keeps the lock until its record is written) never loses
    the lock to the release."""

    def __init__(self, release: Callable[[int], None]) -> None:
        # lets the lock go while it bears the offer's mark (this replica's); never raises
        self._release = release
        self._cond = threading.Condition()
        self._offers = 0  # offers made
        self._offered = 0  # the offer whose answer is awaited (0: none)
        self._held = 0  # the offer Redis answered it kept the lock for (0: none)
        self._last_kept = False  # the last answer kept the lock (no other replica waited)
        self._sent_at = float("-inf")  # monotonic time the held offer was sent
        self._busy = False  # a check is in progress
        self._idle_since = float("-inf")
        self._thread: threading.Thread | None = None
        self._waiting_for_lease = False  # the thread waits for an offer (woken by one)
        self._closed = False

    def offer(self) -> int:
        """A record is being sent to keep the lock: its offer's number (its mark)."""
        with self._cond:
            self._offers += 1
            self._offered, self._held = self._offers, 0
            self._sent_at = time.monotonic()
            self._start_thread()
            if self._waiting_for_lease:
                self._cond.notify_all()
            return self._offers

    def answered(self, offer: int, kept: bool) -> None:
        """Redis's answer to `offer`. A lease let go while the answer was on the way (the
        record may have run after the release) is let go again."""
        with self._cond:
            if offer == self._offered:
                self._offered, self._held = 0, offer if kept else 0
                self._last_kept = kept
                return
        if kept:
            self._release(offer)

    def begin(self) -> None:
        """A check starts: the lease is not let go until `end`."""
        with self._cond:
            self._busy = True

    def worth_waiting(self) -> bool:
        """True when an answer is awaited and the last one kept the lock: worth waiting for
        before a check (when the other replicas wait for the lock, its records let it go, and
        the check's read is sent at once, the answer read with its reply)."""
        with self._cond:
            return self._offered != 0 and self._last_kept

    def held(self) -> bool:
        """True when Redis kept the lock for this replica and that is recent enough to trust."""
        with self._cond:
            return self._held != 0 and time.monotonic() - self._sent_at <= TRUST

    def end(self) -> None:
        """The check is over: the lease may idle out from now."""
        with self._cond:  # the thread looks again within IDLE: no wake-up a check
            self._busy = False
            self._idle_since = time.monotonic()

    def drop(self) -> None:
        """The lock is let go otherwise (a check that made no record): forget the lease."""
        with self._cond:
            self._offered = self._held = 0

    def let_go(self) -> None:
        """Let a lease go now (the replica is about to be busy with something else)."""
        with self._cond:
            self._let_go()

    def close(self) -> None:
        """Let a lease go now and end the release thread."""
        with self._cond:
            self._let_go()
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _let_go(self) -> None:
        offer = self._offered or self._held
        if offer:
            self._offered = self._held = 0
            self._release(offer)

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._closed = False
            self._thread = threading.Thread(
                target=self._release_idle, name="dedup-lease", daemon=True
            )
            self._thread.start()

    def _release_idle(self) -> None:
        """Let the lease go once it has idled IDLE seconds; end after THREAD_IDLE without one.
        The release runs under the condition's lock, so a check cannot start meanwhile and
        take a lock that is being let go for its own."""
        with self._cond:
            waited_since = time.monotonic()
            while not self._closed:
                now = time.monotonic()
                if not (self._offered or self._held):
                    if now - waited_since >= THREAD_IDLE:
                        self._thread = None
                        return
                    self._waiting_for_lease = True
                    self._cond.wait(THREAD_IDLE)
                    self._waiting_for_lease = False
                    continue
                waited_since = now
                due = self._idle_since + IDLE - now
                if self._busy or due > 0:  # looked at again then (`end` does not wake it)
                    self._cond.wait(IDLE if self._busy else due)
                    continue
                self._let_go()
