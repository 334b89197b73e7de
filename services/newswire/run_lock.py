"""One `newswire run` per state directory.

Two services on one state store would both send the same outbox records and both accept the
same entries (ids published two to four times, seen in a test). `newswire run` holds an
exclusive lock (flock) on `<state dir>/run.lock` for as long as it runs, with its process id
in the file; a second one is refused, naming that process. The kernel drops the lock when the
process ends, however it ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from newswire.errors import StateDirInUse

LOCK_FILE = "run.lock"


@contextlib.contextmanager
def exclusive_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold the state directory's run lock, or raise StateDirInUse naming its holder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StateDirInUse(
            f"state dir {state_dir} is in use by newswire process {holder} (lock {path}): "
            "stop that process first, or give this one another state.dir"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
