"""Extract stage: clean text and metadata from a page (trafilatura), or from the feed entry.

The fallback chain, best first: the page in precision mode, the page in recall mode (when the
first pass leaves under `extract.min_text_chars`), the entry's full content, its summary, its
title. Index pages are never taken as the article (the entry's text is used, reason
`not_an_article`); live blogs and video pages are flagged. Every result carries its method,
mode and a quality figure. Pure functions of their inputs: they run in worker processes.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import trafilatura

from newswire.clean import PageHints, clean_text
from newswire.errors import Reason
from newswire.language import detect_language
from newswire.models import (
    ExtractionMethod,
    FeedEntry,
    FetchedPage,
    OutletSpec,
    PageText,
    PageType,
)
from newswire.pageinfo import PageInfo, headline, inspect_page
from newswire.settings import ExtractSettings
from newswire.text import html_fragment_text, one_line

_HTML_LANG = re.compile(r"<html[^>]*?\blang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", re.I)
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": _DATE_FORMAT}


PASSES = (  # (mode, favor_precision, fast): tried in turn until one passes the quality gate
    ("precision", True, True),
    ("fallbacks", True, False),  # trafilatura's own fallback extractors (readability, justext)
    ("recall", False, False),
)


_NO_RETRY = (PageType.VIDEO, PageType.INDEX)  # short text is what they are: the feed follows


def extract_page(page: FetchedPage, outlet: OutletSpec, settings: ExtractSettings) -> PageText:
    """The page's clean text and metadata. The HTML is parsed once; trafilatura runs in
    precision mode (fast unless configured otherwise), and, while the clean text is under
    `extract.min_text_chars` (the quality gate), again with its fallback extractors, then in
    recall mode: the first pass through the gate wins, else the longest text. Video and
    index pages get one pass: their text is short by nature, the feed's text follows."""
    tree = trafilatura.load_html(page.html)
    if tree is None:
        return PageText(text="", method=ExtractionMethod.PAGE, page_type=PageType.ARTICLE)
    info = inspect_page(tree)
    best: tuple[str, dict[str, Any], str] | None = None
    for mode, precision, fast in _passes(settings):
        meta, text = _extraction(tree, page, outlet, settings, info, precision, fast)
        if best is None or len(text) > len(best[2]):
            best = (mode, meta, text)
        if len(text) >= settings.min_text_chars or info.page_type in _NO_RETRY:
            break
    assert best is not None  # at least one pass ran
    mode, meta, text = best
    return _page_text(page, meta, text, mode, info, settings)


def _passes(settings: ExtractSettings) -> tuple[tuple[str, bool, bool], ...]:
    """The passes as configured: the first follows extract.fast and extract.favor_precision."""
    first = ("precision" if settings.favor_precision else "balanced", settings.favor_precision)
    return (
        (*first, settings.fast),
        *(p for p in PASSES[1:] if p[1:] != (*first[1:], settings.fast)),
    )


def _extraction(
    tree: Any,
    page: FetchedPage,
    outlet: OutletSpec,
    settings: ExtractSettings,
    info: PageInfo,
    precision: bool,
    fast: bool,
) -> tuple[dict[str, Any], str]:
    """One trafilatura pass (it works on a copy of the tree) and the cleaning."""
    document = trafilatura.bare_extraction(
        tree,
        url=page.final_url,
        fast=fast,
        favor_precision=precision,
        favor_recall=not precision,
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
    title = headline(info, _clean_field(meta.get("title")))
    hints = PageHints(
        titles=(title,) if title else (),
        authors=_split_authors(meta.get("author")),
        captions=info.captions,
    )
    raw = meta.get("text") or ""
    text = clean_text(
        raw, hints=hints, datelines=outlet.dateline_patterns, trailers=outlet.trailer_patterns
    )
    meta["_raw_chars"] = len(raw)
    return meta, text


def _page_text(
    page: FetchedPage,
    meta: dict[str, Any],
    text: str,
    mode: str,
    info: PageInfo,
    settings: ExtractSettings,
) -> PageText:
    declared = _language(meta.get("language") or info.language, page.html)
    detected = None if declared else detect_language(text)
    return PageText(
        text=text,
        method=ExtractionMethod.PAGE,
        title=headline(info, _clean_field(meta.get("title"))),
        authors=_split_authors(meta.get("author")),
        published=_page_date(info.published) or _page_date(meta.get("date")),
        language=declared or detected,
        canonical_url=meta.get("url") or None,
        image=meta.get("image") or None,
        site_name=_clean_field(meta.get("sitename")),
        description=_clean_field(meta.get("description")),
        page_type=info.page_type,
        mode=mode,
        quality=page_quality(text, int(meta.get("_raw_chars", 0)), info.page_type, settings),
        updated=_page_date(info.modified),
        language_detected=detected is not None,
    )


def page_quality(
    text: str, raw_chars: int, page_type: PageType, settings: ExtractSettings
) -> float:
    """How much the text looks like a whole article, 0-1: its length against
    `extract.min_text_chars`, more than one paragraph, the share of trafilatura's text the
    cleaning kept (much boilerplate: a doubtful extraction), and an article page."""
    if not text:
        return 0.0
    length = min(1.0, len(text) / settings.min_text_chars)
    structure = 1.0 if "\n\n" in text else 0.7
    kept = min(1.0, len(text) / raw_chars) if raw_chars else 1.0
    kind = 1.0 if page_type is PageType.ARTICLE else 0.5
    return round(length * structure * (0.5 + 0.5 * kept) * kind, 2)


def text_from_entry(entry: FeedEntry, outlet: OutletSpec, reason: Reason) -> PageText:
    """The best text the feed entry itself carries: content, then summary, then title."""
    candidates = (
        (ExtractionMethod.FEED_CONTENT, entry.content_html),
        (ExtractionMethod.FEED_SUMMARY, entry.summary),
    )
    for method, fragment in candidates:
        text = clean_text(
            html_fragment_text(fragment or ""),
            hints=PageHints(titles=(entry.title,), authors=entry.authors),
            datelines=outlet.dateline_patterns,
            trailers=outlet.trailer_patterns,
        )
        if text:
            return PageText(
                text=text,
                method=method,
                title=entry.title,
                fallback_reason=reason,
                quality=_entry_quality(text, method),
            )
    title = one_line(entry.title)
    return PageText(
        text=title,
        method=ExtractionMethod.TITLE_ONLY,
        title=entry.title,
        fallback_reason=reason,
        quality=FEED_QUALITY_CAP[ExtractionMethod.TITLE_ONLY] if title else 0.0,
    )


FEED_QUALITY_CAP = {
    ExtractionMethod.FEED_CONTENT: 0.8,
    ExtractionMethod.FEED_SUMMARY: 0.5,
    ExtractionMethod.TITLE_ONLY: 0.1,
}


def _entry_quality(text: str, method: ExtractionMethod) -> float:
    """A feed's own text: its length against a short article's (250 characters), capped by
    how complete that kind of text usually is (content 0.8, a summary 0.5)."""
    return round(FEED_QUALITY_CAP[method] * min(1.0, len(text) / 250), 2)


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
    if from_page.page_type is PageType.INDEX:  # teasers of other stories: not this article
        return _with_page_metadata(text_from_entry(entry, outlet, Reason.NOT_AN_ARTICLE), from_page)
    if len(from_page.text) >= settings.min_text_chars:
        return from_page
    from_entry = text_from_entry(entry, outlet, Reason.TOO_LITTLE_TEXT)
    if len(from_entry.text) > len(from_page.text) or not from_page.text:
        return _with_page_metadata(from_entry, from_page)
    return from_page


def _with_page_metadata(text: PageText, page: PageText) -> PageText:
    """The entry's text under the page's metadata."""
    return dataclasses.replace(
        page,
        text=text.text,
        method=text.method,
        title=page.title or text.title,
        fallback_reason=text.fallback_reason,
        quality=text.quality,
        mode=None,
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
    """The language the page declares (trafilatura's reading, <html lang>, og:locale)."""
    if isinstance(declared, str) and declared:
        return language_code(declared)
    match = _HTML_LANG.search(html[:4096])
    return language_code(match.group(1)) if match else None


def language_code(tag: str | None) -> str | None:
    """The primary language subtag of a BCP 47 tag ("en-US" -> "en"), or None."""
    primary = (tag or "").strip().split("-")[0].split("_")[0].lower()
    return primary if _LANGUAGE.fullmatch(primary) else None
