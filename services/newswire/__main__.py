"""Entry point for ``python -m newswire``."""

from newswire.cli import main

raise SystemExit(main())
