"""Stop signals (SIGTERM, SIGINT) honoured from the first instruction to the last.

While the service runs, the event loop owns them: its handlers start the orderly stop (polls
finish, the outbox drains). Before that (imports, loading the models, forking the workers,
starting the broker, creating topics), a stop signal raises StopRequested wherever start-up
is, which unwinds it and ends the process with 0: nothing was accepted yet. After the loop has
ended the service is stopping already, so a second signal is ignored rather than cutting the
last flush short. Workers put the defaults back (newswire.worker).
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived during start-up (a KeyboardInterrupt, so code that already
    treats Ctrl-C as the end of the run treats SIGTERM the same way)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signum)


def raise_on_stop_signals() -> None:
    """From now on, a stop signal raises StopRequested (start-up)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)


def ignore_stop_signals() -> None:
    """From now on, stop signals are ignored (the service is already stopping)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
