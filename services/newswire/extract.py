"""Extract stage: clean text and metadata from a page (trafilatura), or from the feed entry.

The fallback chain, best first: the page, the entry's full content, its summary, its title.
Pure functions of their inputs: they run in worker processes.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import trafilatura

from newswire.clean import clean_text
from newswire.errors import Reason
from newswire.models import ExtractionMethod, FeedEntry, FetchedPage, OutletSpec, PageText
from newswire.settings import ExtractSettings
from newswire.text import html_fragment_text, one_line

_HTML_LANG = re.compile(r"<html[^>]*?\blang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", re.I)
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": _DATE_FORMAT}


def extract_page(page: FetchedPage, outlet: OutletSpec, settings: ExtractSettings) -> PageText:
    """Run trafilatura on a page and clean its text; metadata as the page declares it."""
    document = trafilatura.bare_extraction(
        page.html,
        url=page.final_url,
        fast=settings.fast,
        favor_precision=settings.favor_precision,
        include_comments=False,
        include_tables=settings.include_tables,
        with_metadata=True,
        date_extraction_params=_DATE_PARAMS,
    )
    meta: dict[str, Any] = {}
    if isinstance(document, dict):
        meta = document
    elif document is not None:
        meta = document.as_dict()
    title = _clean_field(meta.get("title"))
    text = clean_text(
        meta.get("text") or "",
        title=title,
        datelines=outlet.dateline_patterns,
        trailers=outlet.trailer_patterns,
    )
    return PageText(
        text=text,
        method=ExtractionMethod.PAGE,
        title=title,
        authors=_split_authors(meta.get("author")),
        published=_page_date(meta.get("date")),
        language=_language(meta.get("language"), page.html),
        canonical_url=meta.get("url") or None,
        image=meta.get("image") or None,
        site_name=_clean_field(meta.get("sitename")),
        description=_clean_field(meta.get("description")),
    )


def text_from_entry(entry: FeedEntry, outlet: OutletSpec, reason: Reason) -> PageText:
    """The best text the feed entry itself carries: content, then summary, then title."""
    candidates = (
        (ExtractionMethod.FEED_CONTENT, entry.content_html),
        (ExtractionMethod.FEED_SUMMARY, entry.summary),
    )
    for method, fragment in candidates:
        text = clean_text(
            html_fragment_text(fragment or ""),
            title=entry.title,
            datelines=outlet.dateline_patterns,
            trailers=outlet.trailer_patterns,
        )
        if text:
            return PageText(text=text, method=method, title=entry.title, fallback_reason=reason)
    return PageText(
        text=one_line(entry.title),
        method=ExtractionMethod.TITLE_ONLY,
        title=entry.title,
        fallback_reason=reason,
    )


def extract_text(
    page: FetchedPage | None,
    failure: Reason | None,
    entry: FeedEntry,
    outlet: OutletSpec,
    settings: ExtractSettings,
) -> PageText:
    """The page's text when there is enough of it, else the entry's, with the reason why."""
    if page is None:
        return text_from_entry(entry, outlet, failure or Reason.EXTRACT_ERROR)
    from_page = extract_page(page, outlet, settings)
    if len(from_page.text) >= settings.min_text_chars:
        return from_page
    from_entry = text_from_entry(entry, outlet, Reason.TOO_LITTLE_TEXT)
    if len(from_entry.text) > len(from_page.text):
        return _with_page_metadata(from_entry, from_page)
    return from_page if from_page.text else from_entry


def _with_page_metadata(text: PageText, page: PageText) -> PageText:
    """The entry's text under the page's metadata."""
    return dataclasses.replace(
        page,
        text=text.text,
        method=text.method,
        title=page.title or text.title,
        fallback_reason=text.fallback_reason,
    )


def _clean_field(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _split_authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        return ()
    return tuple(part.strip() for part in value.split(";") if part.strip())


def _page_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.strptime(value, _DATE_FORMAT)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _language(declared: Any, html: str) -> str | None:
    if isinstance(declared, str) and declared:
        return language_code(declared)
    match = _HTML_LANG.search(html[:4096])
    return language_code(match.group(1)) if match else None


def language_code(tag: str | None) -> str | None:
    """The primary language subtag of a BCP 47 tag ("en-US" -> "en"), or None."""
    primary = (tag or "").strip().split("-")[0].split("_")[0].lower()
    return primary if _LANGUAGE.fullmatch(primary) else None
