"""The extraction worker pool: forked from a process that loaded the models (the workers
share those pages) where that is safe, spawned (each loading its own) where it is not."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from typing import Any

from newswire.service import fork_is_safe

ALBUKAMAL = "sy-albukamal"


@functools.cache
def probe(*args: str) -> dict[str, Any]:
    """tests/pool_probe.py's report (one run per arguments: each starts a pool)."""
    command = [sys.executable, "-m", "tests.pool_probe", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_forked_workers_use_the_models_loaded_before_the_fork_and_share_their_pages() -> None:
    report = probe()
    assert report["method"] == ["fork"]
    worker = report["worker"]
    assert ALBUKAMAL in worker["places"]  # a tagger it never built
    assert worker["language_model_loaded"]
    assert worker["shared_kb"] > 100_000  # the models: one copy for the service and workers
    assert worker["private_kb"] < worker["shared_kb"] / 3


def test_with_another_thread_running_the_workers_are_spawned_and_load_their_own() -> None:
    report = probe("--other-thread")
    assert report["method"] == ["spawn"]
    assert ALBUKAMAL in report["worker"]["places"]
    assert report["worker"]["language_model_loaded"]


def test_a_worker_ignores_ctrl_c_and_the_pool_keeps_working() -> None:
    for report in (probe(), probe("--other-thread")):
        assert report["survived_sigint"]
        assert [w["places"] for w in report["after_sigint"]] == [report["worker"]["places"]] * 4


def test_fork_is_unsafe_while_another_thread_runs() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not fork_is_safe()
    finally:
        release.set()
        thread.join()
