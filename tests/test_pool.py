"""The worker pool outlives its workers: a task over its time limit has its workers killed, a
task over the memory limit fails inside its worker, a worker that dies is replaced, and the
tasks in flight beside the culprit run again and succeed (newswire.pool)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from prometheus_client import REGISTRY

import newswire.pool
from newswire.pool import OverBudget, WorkerPool, limit_memory

MB = 1 << 20


def square(n: int) -> int:
    return n * n


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def allocate(megabytes: int) -> int:
    block = bytearray(megabytes * MB)
    return len(block)


def die() -> None:
    os._exit(3)  # as an OOM kill or a crash in C code would end the worker


def factory(workers: int, memory_mb: int | None = None) -> Callable[[bool], ProcessPoolExecutor]:
    def make(first: bool) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        if memory_mb is None:
            return ProcessPoolExecutor(workers, context)
        return ProcessPoolExecutor(
            workers, context, initializer=limit_memory, initargs=(memory_mb * MB,)
        )

    return make


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(factory(2, memory_mb=200), time_limit=2.0)
    yield workers
    workers.shutdown()


def budget(kind: str) -> float:
    return REGISTRY.get_sample_value("newswire_worker_over_budget_total", {"kind": kind}) or 0.0


def test_results_and_exceptions_pass_through(pool: WorkerPool) -> None:
    assert [pool.submit(square, n).result(timeout=30) for n in range(5)] == [0, 1, 4, 9, 16]
    with pytest.raises(TypeError):
        pool.submit(square, "x").result(timeout=30)


def test_a_task_over_the_time_limit_fails_and_its_neighbours_run_again(pool: WorkerPool) -> None:
    before = budget("time")
    replaced = REGISTRY.get_sample_value("newswire_worker_pool_replacements_total") or 0.0
    stuck = pool.submit(sleep_then, 600, 0)
    neighbours = [pool.submit(sleep_then, 0.5, n) for n in range(4)]
    with pytest.raises(OverBudget, match="time limit"):
        stuck.result(timeout=60)
    assert [f.result(timeout=60) for f in neighbours] == [0, 1, 2, 3]
    assert budget("time") == before + 1
    assert (REGISTRY.get_sample_value("newswire_worker_pool_replacements_total") or 0) > replaced
    assert pool.submit(square, 7).result(timeout=60) == 49  # the new pool serves


def test_a_pool_killed_for_time_is_counted_and_killed_once_however_slowly_it_dies(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    kills: list[float] = []
    kill = newswire.pool._kill

    def slow_kill(inner: ProcessPoolExecutor) -> None:
        # workers that take a second to die, as on a loaded machine: the pool is not seen
        # broken for twenty watch cycles, and its markers still name the task over time
        kills.append(time.monotonic())
        threading.Timer(1.0, kill, (inner,)).start()

    monkeypatch.setattr(newswire.pool, "_kill", slow_kill)
    before = budget("time")
    with pytest.raises(OverBudget, match="time limit"):
        pool.submit(sleep_then, 600, 0).result(timeout=60)
    assert len(kills) == 1
    assert budget("time") == before + 1
    assert pool.submit(square, 4).result(timeout=60) == 16


def test_a_task_over_the_memory_limit_fails_in_its_worker(pool: WorkerPool) -> None:
    before = budget("memory")
    with pytest.raises(OverBudget, match="memory limit"):
        pool.submit(allocate, 1024).result(timeout=60)
    assert budget("memory") == before + 1
    assert pool.submit(allocate, 50).result(timeout=60) == 50 * MB  # the same workers go on


def test_a_task_that_kills_its_worker_is_given_up_after_two_deaths(pool: WorkerPool) -> None:
    before = budget("lost")
    killer = pool.submit(die)
    neighbour = pool.submit(sleep_then, 1.0, 5)
    with pytest.raises(OverBudget, match="died 2 times"):
        killer.result(timeout=60)
    assert neighbour.result(timeout=60) == 5
    assert budget("lost") == before + 1
    assert pool.submit(square, 3).result(timeout=60) == 9


def test_limit_memory_caps_growth_from_the_present_size() -> None:
    with ProcessPoolExecutor(
        1, multiprocessing.get_context("spawn"), initializer=limit_memory, initargs=(64 * MB,)
    ) as capped:
        assert capped.submit(allocate, 16).result(timeout=60) == 16 * MB
        with pytest.raises(MemoryError):
            capped.submit(allocate, 256).result(timeout=60)
