"""`newswire tail`: which messages to show, and how (one JSON line, or a readable block)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TailFilter:
    """Keep a message only if it matches every filter given (None: any)."""

    outlet: str | None = None
    region: str | None = None
    language: str | None = None

    def matches(self, message: dict[str, Any]) -> bool:
        """True when the message passes every filter."""
        if self.outlet and (message.get("outlet") or {}).get("id") != self.outlet:
            return False
        if self.language and not _same_language(message.get("language"), self.language):
            return False
        return not self.region or self.region in region_ids(message)


def region_ids(message: dict[str, Any]) -> set[str]:
    """Every region id a message touches: places, their parents and countries, watchlists."""
    ids = set(message.get("watchlists") or ())
    for region in message.get("regions") or ():
        ids.add(region.get("id"))
        ids.update(region.get("parents") or ())
        ids.update(region.get("countries") or ())
        ids.update(c for c in (region.get("country"), region.get("admin1")) if c)
    return {i for i in ids if i}


def _same_language(value: object, wanted: str) -> bool:
    if not isinstance(value, str):
        return False
    return value.lower().split("-")[0] == wanted.lower().split("-")[0]


def render(message: dict[str, Any], pretty: bool) -> str:
    """One JSON document per line, or a readable block for people."""
    if not pretty:
        return json.dumps(message, ensure_ascii=False)
    regions = ", ".join(r.get("name", "") for r in message.get("regions") or ())
    text = " ".join(str(message.get("text") or "").split())
    lines = [
        f"{message.get('published_at') or '-'}  {(message.get('outlet') or {}).get('name', '')}"
        f"  [{message.get('language') or 'und'}]",
        f"  {message.get('title') or '(no title)'}",
        f"  {message.get('url')}",
        f"  regions: {regions or '-'}"
        + (
            f"  watchlists: {', '.join(message['watchlists'])}" if message.get("watchlists") else ""
        ),
        f"  {text[:280]}{'…' if len(text) > 280 else ''}",
        "",
    ]
    return "\n".join(lines)
