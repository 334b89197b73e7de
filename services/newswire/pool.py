"""The worker pool: a process pool that outlives its workers, with a budget per task.

A ProcessPoolExecutor is broken for good once one worker dies (an OOM kill, a crash in C
code): every task in flight fails and nothing new is accepted. Pages and feeds are hostile, so
`WorkerPool` wraps one and:

- gives every task a time limit: a task running longer has its workers killed (C code such
  as lxml cannot be interrupted any other way) and fails with `OverBudget`;
- has each worker cap its own address space (`limit_memory`), so a page that would take
  gigabytes raises MemoryError inside the worker, which the task reports as `OverBudget`;
- replaces a broken pool with a new one and runs the tasks that were in flight again. Each
  task notes, as it starts, which worker runs it (a marker file per worker), so the task a
  dead worker was running is known: it gets one more attempt, then fails with `OverBudget`;
  its neighbours run again without spending one.

The pipeline turns `OverBudget` into a fallback (the feed's own text) or a failed poll.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import resource
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from newswire import metrics

log = logging.getLogger("newswire.pool")
WATCH_SECONDS = 0.05
MAX_ATTEMPTS = 2  # a task in flight when the pool broke runs once more
CULPRIT_WAIT_SECONDS = 1.0


class OverBudget(Exception):
    """A task went over its time or memory limit, or was in flight each time its worker
    died; its input is what to blame."""


def _tracked(
    markers: str, token: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """In the worker: note which task this process runs, then run it."""
    with open(os.path.join(markers, str(os.getpid())), "w") as marker:
        marker.write(token)
    return fn(*args, **kwargs)


@dataclass(eq=False)
class _Task:
    token: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outer: Future[Any]
    attempts: int = 0
    inner: Future[Any] | None = None
    generation: int = 0
    timed_out: bool = False


class WorkerPool(Executor):
    """An Executor over replaceable process pools. `make_pool(first)` builds one (`first`:
    at start, when the workers may be forked from a parent that loaded the models). Outcomes
    reach the callers through one watcher thread, which also keeps the time limits and
    replaces broken pools: the pools' own threads only queue what they settled."""

    def __init__(self, make_pool: Callable[[bool], ProcessPoolExecutor], time_limit: float) -> None:
        self._make_pool = make_pool
        self._time_limit = time_limit
        self._lock = threading.RLock()
        self._tasks: dict[str, _Task] = {}  # in flight, by token
        self._settled: queue.SimpleQueue[tuple[_Task, Future[Any]]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._broken: set[int] = set()  # generations seen broken, not replaced yet
        self._killed: set[int] = set()  # generations whose workers were killed for time
        self._generation = 0
        self._tokens = itertools.count()
        self._markers = tempfile.mkdtemp(prefix="newswire-pool-")
        self._inner = self._start(first=True)
        self._watcher = threading.Thread(target=self._watch, name="pool-watch", daemon=True)
        self._watcher.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run fn(*args, **kwargs) in a worker, within the time limit."""
        if self._closed.is_set():
            raise RuntimeError("cannot submit to a pool that was shut down")
        task = _Task(str(next(self._tokens)), fn, args, kwargs, Future())
        task.outer.set_running_or_notify_cancel()
        with self._lock:
            self._tasks[task.token] = task
            self._launch(task)
        return task.outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the watcher and the current pool; tasks still in flight fail."""
        self._closed.set()
        self._wake.set()
        self._watcher.join()
        with self._lock:
            for task in list(self._tasks.values()):
                self._finish(task, exception=RuntimeError("the worker pool was shut down"))
            inner = self._inner
        inner.shutdown(wait=wait, cancel_futures=cancel_futures)
        shutil.rmtree(self._markers, ignore_errors=True)

    def _start(self, first: bool) -> ProcessPoolExecutor:
        """A new pool with every worker started now (a spawned one loads the models first)."""
        inner = self._make_pool(first)
        for _ in range(int(getattr(inner, "_max_workers", 1))):
            inner.submit(int)
        return inner

    def _launch(self, task: _Task) -> None:
        """Submit to the current pool (lock held)."""
        task.attempts += 1
        task.generation = self._generation
        try:
            inner = self._inner.submit(
                _tracked, self._markers, task.token, task.fn, task.args, task.kwargs
            )
        except BrokenProcessPool:
            task.inner = None
            self._broken.add(task.generation)  # the watcher relaunches it on the next pool
            return
        task.inner = inner
        inner.add_done_callback(lambda done: self._queue_settled(task, done))

    def _queue_settled(self, task: _Task, inner: Future[Any]) -> None:
        self._settled.put((task, inner))
        self._wake.set()

    def _watch(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(WATCH_SECONDS)
            self._wake.clear()
            with self._lock:
                self._deliver_settled()
                self._enforce_time_limit()
                if self._broken:
                    self._replace()

    def _deliver_settled(self) -> None:
        while not self._settled.empty():
            task, inner = self._settled.get()
            if inner is not task.inner or task.token not in self._tasks or inner.cancelled():
                continue  # a superseded attempt
            exc = inner.exception()
            if isinstance(exc, BrokenProcessPool):
                self._broken.add(task.generation)
            elif isinstance(exc, MemoryError):
                metrics.WORKER_BUDGET.labels("memory").inc()
                self._finish(task, exception=OverBudget(f"over the memory limit ({_name(task)})"))
            elif exc is not None:
                self._finish(task, exception=exc)
            else:
                self._finish(task, result=inner.result())

    def _finish(
        self, task: _Task, result: Any = None, exception: BaseException | None = None
    ) -> None:
        self._tasks.pop(task.token, None)
        if exception is not None:
            task.outer.set_exception(exception)
        else:
            task.outer.set_result(result)

    def _enforce_time_limit(self) -> None:
        """Kill the workers of a pool running a task past the time limit (lock held). A
        task's clock is its marker file, written by the worker as it starts the task: only
        the live workers' markers are read, a few files whatever the number of tasks. A pool
        whose workers were killed is done with: its workers may be listed, and their markers
        there, until the pool notices they are gone, which can take more than a watch cycle."""
        if self._generation in self._broken or self._generation in self._killed:
            return
        now, over = time.time(), []
        for process in _processes(self._inner):
            marker = os.path.join(self._markers, str(process.pid))
            try:
                started = os.stat(marker).st_mtime
                with open(marker) as running:
                    task = self._tasks.get(running.read())
            except OSError:
                continue
            if task is None or task.generation != self._generation:
                continue  # finished, or a task of a pool already replaced
            if now - started > self._time_limit:
                over.append(task)
        if not over:
            return
        for task in over:
            task.timed_out = True
            log.warning(
                "a task went over its time limit; the pool's workers are replaced",
                extra={"detail": _name(task), "after": self._time_limit},
            )
        metrics.WORKER_BUDGET.labels("time").inc()
        self._killed.add(self._generation)
        _kill(self._inner)

    def _replace(self) -> None:
        """A new pool, and the broken pool's tasks run again or failed (lock held)."""
        stale = [t for t in self._tasks.values() if t.generation in self._broken or t.inner is None]
        killed_for_time = bool(self._broken & self._killed)
        self._broken.clear()
        culprits = set() if killed_for_time else self._culprits(self._inner)
        self._inner.shutdown(wait=False, cancel_futures=True)
        self._generation += 1
        self._inner = self._start(first=False)
        metrics.WORKER_POOL_REPLACED.inc()
        log.warning("worker pool replaced", extra={"detail": f"{len(stale)} tasks in flight"})
        for task in stale:
            if task.timed_out:
                limit = f"over the time limit of {self._time_limit}s ({_name(task)})"
                self._finish(task, exception=OverBudget(limit))
                continue
            # blamed: the task a dead worker ran; when no worker can be named, all in flight
            blamed = task.token in culprits or (not culprits and not killed_for_time)
            if blamed and task.attempts >= MAX_ATTEMPTS:
                metrics.WORKER_BUDGET.labels("lost").inc()
                self._finish(task, exception=OverBudget(f"its worker died {task.attempts} times"))
                continue
            if not blamed:
                task.attempts -= 1  # a bystander: this run does not count
            self._launch(task)

    def _culprits(self, pool: ProcessPoolExecutor) -> set[str]:
        """The tasks the pool's dead workers were running: workers that ended other than by
        the pool's own SIGTERM to the survivors. The pool breaks as a worker's pipes close,
        which can be a moment before its exit status is there: it gets up to a second."""
        deadline = time.monotonic() + CULPRIT_WAIT_SECONDS
        while True:
            dead = [p for p in _processes(pool) if p.exitcode not in (None, -signal.SIGTERM)]
            if dead or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        tokens = set()
        for process in dead:
            try:
                with open(os.path.join(self._markers, str(process.pid))) as marker:
                    tokens.add(marker.read())
            except OSError:
                continue
        return tokens


def _name(task: _Task) -> str:
    return getattr(task.fn, "__name__", "task")


def _processes(pool: ProcessPoolExecutor) -> list[Any]:
    return list((getattr(pool, "_processes", None) or {}).values())


def _kill(pool: ProcessPoolExecutor) -> None:
    """SIGKILL the pool's workers: the pool breaks, and the watcher replaces it."""
    for process in _processes(pool):
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(process.pid, signal.SIGKILL)


def limit_memory(budget_bytes: int) -> None:
    """Cap this process's address space at its present size plus `budget_bytes` (Linux): an
    allocation past it raises MemoryError here instead of growing until the OOM killer ends
    the process (or the whole container)."""
    if not hasattr(resource, "RLIMIT_AS"):
        return
    present = _address_space_bytes()
    if present is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = present + budget_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
