"""The Redis backend's lease on the check lock (dedup/lease.py), on its own: when it is let
go, and that an answer arriving after a release never leaves the lock held."""

from __future__ import annotations

import time

import pytest

from newswire.dedup import lease
from newswire.dedup.lease import Lease


def _released(within: float, released: list[int], count: int) -> bool:
    deadline = time.monotonic() + within
    while len(released) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    return len(released) >= count


def test_a_kept_lease_is_let_go_once_idle_never_during_a_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lease, "IDLE", 0.05)
    released: list[int] = []
    held = Lease(released.append)
    held.begin()
    offer = held.offer()
    held.answered(offer, kept=True)
    assert held.held()
    time.sleep(0.15)
    assert released == []  # a check in progress: kept
    held.end()
    assert _released(2.0, released, 1) and released == [offer]
    assert not held.held()
    held.close()


def test_an_answer_that_arrives_after_the_release_lets_the_lock_go_again() -> None:
    """The release may reach Redis before the record that keeps the lock (another
    connection): the record's `kept` answer then lets it go once more."""
    released: list[int] = []
    held = Lease(released.append)
    held.begin()
    offer = held.offer()
    held.let_go()  # before the record's answer came back
    assert released == [offer]
    held.answered(offer, kept=True)
    assert released == [offer, offer] and not held.held()
    held.answered(offer, kept=False)  # a record that did not keep it: nothing to let go
    assert released == [offer, offer]
    held.close()


def test_a_lease_refused_or_dropped_is_not_held_nor_let_go() -> None:
    released: list[int] = []
    held = Lease(released.append)
    held.begin()
    held.answered(held.offer(), kept=False)  # let go: another replica waits for it
    assert not held.held()
    offer = held.offer()
    held.answered(offer, kept=True)
    held.drop()  # let go by the check itself
    assert not held.held()
    held.end()
    held.close()
    assert released == []


def test_a_lease_is_trusted_only_for_a_while_after_its_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released: list[int] = []
    held = Lease(released.append)
    held.begin()
    held.answered(held.offer(), kept=True)
    assert held.held()
    monkeypatch.setattr(lease, "TRUST", 0.0)
    time.sleep(0.01)
    assert not held.held()
    held.close()  # still let go: Redis kept it
    assert len(released) == 1
