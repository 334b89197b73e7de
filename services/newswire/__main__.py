"""Entry point for ``python -m newswire``."""

from newswire.launch import main

raise SystemExit(main())
