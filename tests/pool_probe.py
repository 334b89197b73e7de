"""Run in a fresh interpreter by tests/test_worker_pool.py: start the service's worker pool
(with another thread running first when asked, as fork is then unsafe) and report, as JSON,
how the workers were started and what one of them sees."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import py3langid  # type: ignore[import-untyped]

from newswire.config import load_config
from newswire.service import worker_pool
from newswire.worker import worker_tagger

TEXT = "Strikes hit Albukamal on the Iraqi border overnight, residents said."


def in_worker() -> dict[str, object]:
    """What a worker has without being asked to load anything: its pid, the places its
    tagger finds, whether the language model is in memory, and its shared and private kB."""
    tagging = worker_tagger().tag("", TEXT)
    memory = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty"):
            memory[name] = int(value.split()[0])
    return {
        "pid": os.getpid(),
        "places": sorted(tagging.region_ids()),
        "language_model_loaded": py3langid.langid.IDENTIFIER is not None,
        "shared_kb": memory["Shared_Clean"] + memory["Shared_Dirty"],
        "private_kb": memory["Private_Clean"] + memory["Private_Dirty"],
    }


class StartMethods(logging.Handler):
    """Keeps the start method of each "extraction workers started" log record."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "extraction workers started":
            self.methods.append(str(getattr(record, "detail", "")))


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def main(other_thread: bool) -> None:
    started = StartMethods()
    logging.getLogger("newswire.service").addHandler(started)
    logging.getLogger("newswire.service").setLevel(logging.INFO)
    release = threading.Event()
    if other_thread:
        threading.Thread(target=release.wait, daemon=True).start()
    config = load_config(Path(__file__).parents[1] / "config", environ={})
    with worker_pool(config) as pool:
        first = pool.submit(in_worker).result(timeout=60)
        pid = int(str(first["pid"]))
        os.kill(pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
        time.sleep(0.5)
        survived = running(pid)
        after_sigint = [f.result(timeout=60) for f in [pool.submit(in_worker) for _ in range(4)]]
    release.set()
    report = {
        "method": started.methods,
        "worker": first,
        "survived_sigint": survived,
        "after_sigint": after_sigint,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(other_thread=sys.argv[1:] == ["--other-thread"])
