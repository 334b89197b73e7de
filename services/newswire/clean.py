"""Text cleaning for the extract stage: normalise characters and drop outlet boilerplate.

Generic rules apply to every outlet (photo captions with credits, "Read also" lines, newsletter
and share prompts, a repeated title); per-outlet rules come from feeds.yaml (datelines such as
"Shafaq News/ ", trailers such as "As reported by The Jerusalem Post").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from newswire.text import normalise

_PHOTO_CREDIT = re.compile(
    r"\((?:photo|image|picture|video)\s*(?:credit|courtesy)?\s*:[^)]*\)\s*$", re.IGNORECASE
)
_RELATED = re.compile(
    r"^(?:read (?:also|more)|also read|see also|related(?: articles?| stories| news)?|"
    r"more on this(?: story)?|recommended|"
    r"[اإ]قرأ أيضا[ًً]?|اقرأ المزيد|مواضيع ذات صلة|[اأ]خبار ذات صلة|קראו עוד|כתבות נוספות)"
    r"\s*[:\-–—]",
    re.IGNORECASE,
)
_PROMPTS = re.compile(
    r"^(?:subscribe (?:to|for|now)|sign up (?:for|to)|stay (?:updated|informed) with|"
    r"get the latest|share(?: this(?: article| story)?)?\s*:|follow us on|join our|"
    r"click here to|we use cookies|this (?:site|website) uses cookies|"
    r"download (?:our|the) app|support (?:our|independent) journalism)",
    re.IGNORECASE,
)
MAX_PROMPT_CHARS = 160


def paragraphs(text: str) -> list[str]:
    """Split text into trimmed, non-empty paragraphs (one per line)."""
    return [line.strip() for line in normalise(text).split("\n") if line.strip()]


def is_boilerplate(paragraph: str, title: str | None = None) -> bool:
    """Generic boilerplate: credits and captions, related links, prompts, the title again."""
    if _PHOTO_CREDIT.search(paragraph) or _RELATED.match(paragraph):
        return True
    if len(paragraph) <= MAX_PROMPT_CHARS and _PROMPTS.match(paragraph):
        return True
    return bool(title) and _comparable(paragraph) == _comparable(title or "")


def _comparable(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().casefold()


def strip_dateline(first: str, patterns: Iterable[str]) -> str:
    """Remove an outlet's dateline credit from the start of the first paragraph."""
    for pattern in patterns:
        stripped = re.sub(pattern, "", first, count=1)
        if stripped != first:
            return stripped.lstrip(" /:–—-")
    return first


def strip_trailer(last: str, patterns: Iterable[str]) -> str:
    """Remove an outlet's trailer from the end of the last paragraph."""
    for pattern in patterns:
        stripped = re.sub(f"(?:{pattern})\\s*$", "", last, count=1)
        if stripped != last:
            return stripped.rstrip()
    return last


def clean_text(
    text: str,
    *,
    title: str | None = None,
    datelines: Iterable[str] = (),
    trailers: Iterable[str] = (),
) -> str:
    """Clean extracted text: paragraphs separated by one blank line, boilerplate removed."""
    kept: list[str] = []
    for paragraph in paragraphs(text):
        if is_boilerplate(paragraph, title) or paragraph in kept:
            continue
        kept.append(paragraph)
    if kept:
        kept[0] = strip_dateline(kept[0], datelines)
    if kept:
        kept[-1] = strip_trailer(kept[-1], trailers)
    return "\n\n".join(p for p in kept if p)
