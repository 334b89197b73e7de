"""The `newswire` command's entry point: it takes the stop signals before anything else is
imported (the CLI's imports alone take about a second), so a SIGTERM during start-up ends the
process with 0 at start-up's next checkpoint instead of killing it."""

from __future__ import annotations

import os
import sys

from newswire.signals import note_stop_signals, stop_if_requested, stop_requested


def main() -> int:
    """Run the CLI; a stop signal before the service loop starts exits 0."""
    note_stop_signals()
    try:
        from newswire.cli import main as cli_main

        stop_if_requested()
        code = cli_main()
        sys.stdout.flush()  # here rather than at exit, where a reader gone would be a traceback
        return code
    except BrokenPipeError:  # `newswire check | head -1`: the reader has gone, and so do we
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except BaseException as error:
        if not stop_requested() or isinstance(error, SystemExit):
            raise
        # stopped during start-up, at a checkpoint or (a second signal) wherever it was
        print("newswire: stopped before start-up finished", file=sys.stderr)
        return 0
