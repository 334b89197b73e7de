"""Stop signals (SIGTERM, SIGINT) honoured from the first instruction to the last.

While the service runs, the event loop owns them: its handlers start the orderly stop (polls
finish, the outbox drains). Before that (imports, loading the models, forking the workers,
starting the broker, creating topics), a stop signal is noted, and start-up stops at its next
checkpoint (`stop_if_requested`) with StopRequested, which unwinds it and ends the process
with 0: nothing was accepted yet. The signal is only noted because an exception raised at an
arbitrary point can land inside native code that turns it into another error (pydantic did);
a second signal stops at once. After the loop has ended the service is stopping already, so a
signal is ignored rather than cutting the last flush short. Workers put the defaults back
(newswire.worker).
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_requested: list[int] = []  # the stop signals noted during start-up


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived during start-up (a KeyboardInterrupt, so code that already
    treats Ctrl-C as the end of the run treats SIGTERM the same way)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _note_stop(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)
    if len(_requested) > 1:
        raise StopRequested(signum)  # asked twice: now


def note_stop_signals() -> None:
    """From now on, a stop signal is noted for the next checkpoint (start-up)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _note_stop)


def stop_requested() -> bool:
    """A stop signal was noted during start-up."""
    return bool(_requested)


def stop_if_requested() -> None:
    """A start-up checkpoint: raise StopRequested if a stop signal was noted."""
    if _requested:
        raise StopRequested(_requested[0])


def default_stop_signals() -> None:
    """Back to Python's defaults (Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process),
    for commands that have no orderly stop of their own to make."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def ignore_stop_signals() -> None:
    """From now on, stop signals are ignored (the service is already stopping)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
