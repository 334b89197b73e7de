"""The `newswire` command's entry point: it takes the stop signals before anything else is
imported (the CLI's imports alone take about a second), so a SIGTERM during start-up ends the
process with 0 instead of killing it."""

from __future__ import annotations

import sys

from newswire.signals import StopRequested, raise_on_stop_signals


def main() -> int:
    """Run the CLI; a stop signal before the service loop starts exits 0."""
    raise_on_stop_signals()
    try:
        from newswire.cli import main as cli_main

        return cli_main()
    except StopRequested as stop:
        print(f"newswire: stopped by {stop} before start-up finished", file=sys.stderr)
        return 0
