"""Structured logs: one JSON object per line, or one readable line, each with every field the
call gave (feed, url, stage, reason, detail, ...)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

# fields every LogRecord has; anything else on a record came from `extra=` and is logged
STANDARD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def context(record: logging.LogRecord) -> dict[str, object]:
    """The fields a log call passed in `extra=` (feed, url, stage, reason, detail, ...), in
    the order given."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in STANDARD_FIELDS and value is not None
    }


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        event.update(context(record))
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(event, default=str).decode()


class TextFormatter(logging.Formatter):
    """Render a record as one readable line with the same fields as the JSON one:
    `2026-11-29 04:05:06,789 WARNING newswire.pipeline poll failed feed=x reason=timeout`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{name}={_text_value(value)}" for name, value in context(record).items())
        head, newline, trace = line.partition("\n")  # a traceback stays below the line
        return f"{head} {fields}{newline}{trace}" if fields else line


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return orjson.dumps(text).decode() if not text or any(c in text for c in ' ="\n') else text


def setup_logging(level: str, fmt: str) -> None:
    """Send newswire's logs to stderr, as JSON lines or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("newswire").setLevel(level)
    # kafka-python logs every retry (about a line a second while a broker is away); newswire
    # says what matters itself (broker away and back, outbox failures, producer rebuilt)
    logging.getLogger("kafka").setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL)
