"""Extract stage: clean text and metadata from a page (trafilatura), or from the feed entry.

The fallback chain, best first: the page in precision mode, with trafilatura's defaults and
fallback extractors when that text is in doubt (under `extract.doubt_chars`), in recall mode
(under `extract.min_text_chars`), the entry's full content, its summary, its title. Index
pages are never taken as the article (the entry's text is used, reason `not_an_article`);
live blogs and video pages are flagged. A lead the page prints beside its headline (its
description, visible) opens the text when a pass left it out. Every result carries its
method, mode and a quality figure. Pure functions of their inputs: they run in worker
processes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import trafilatura

from newswire.dates import parse_iso
from newswire.errors import Reason
from newswire.extract.clean import PageHints, clean_text, edges_of, strip_learned
from newswire.extract.lead import keep_tails_of_empty, missing_lead
from newswire.extract.metadata import page_metadata
from newswire.extract.pageinfo import PageInfo, headline, inspect_page
from newswire.models import (
    ExtractionMethod,
    FeedEntry,
    FetchedPage,
    LearnedBoilerplate,
    OutletSpec,
    PageText,
    PageType,
)
from newswire.settings import ExtractSettings
from newswire.text import html_fragment_text, plain_line

NOTHING_LEARNED = LearnedBoilerplate()

_LANGUAGE = re.compile(r"[a-z]{2,3}")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": _DATE_FORMAT}


@dataclass(frozen=True, slots=True)
class _Pass:
    """One trafilatura pass over a page: its mode, metadata and clean text."""

    mode: str
    meta: dict[str, Any]
    title: str | None
    authors: tuple[str, ...]
    raw_chars: int  # trafilatura's text before cleaning
    text: str
    edges: tuple[tuple[str, str], ...] = ()  # before the learned boilerplate went


@dataclass(frozen=True, slots=True)
class _How:
    """How one trafilatura pass runs: its name (`extraction.mode`), which side it favours
    (precision, recall, or neither: balanced) and whether its fallback extractors (readability,
    jusText) are skipped (fast)."""

    mode: str
    precision: bool
    recall: bool
    fast: bool


# when the first text is in doubt: trafilatura's defaults, its fallback extractors compared
DOUBT_PASS = _How("fallbacks", precision=False, recall=False, fast=False)
RECALL_PASS = _How("recall", precision=False, recall=True, fast=False)
LONGER = 1.1  # the doubt pass's text wins when it is this much longer
_NO_RETRY = (PageType.VIDEO, PageType.INDEX)  # short text is what they are: the feed follows


def extract_page(
    page: FetchedPage,
    outlet: OutletSpec,
    settings: ExtractSettings,
    learned: LearnedBoilerplate = NOTHING_LEARNED,
) -> PageText:
    """The page's clean text and metadata. The HTML is parsed once; trafilatura runs in
    precision mode (fast unless configured otherwise). A text under `extract.doubt_chars` is
    in doubt: trafilatura runs again with its defaults and fallback extractors, and that text
    wins when it is a tenth longer (precision mode drops real paragraphs of short pages). A
    text still under `extract.min_text_chars` (the quality gate) gets a recall pass; the
    longest wins. Video and index pages get one pass: their text is short by nature, the
    feed's text follows. Empty elements are removed first, the text after them kept
    (precision mode deletes it with them)."""
    tree = trafilatura.load_html(page.html)
    if tree is None:
        return PageText(text="", method=ExtractionMethod.PAGE, page_type=PageType.ARTICLE)
    keep_tails_of_empty(tree)
    info = inspect_page(tree)

    how = _first_pass(settings)
    first = _extraction(tree, page, outlet, settings, info, how, learned)
    if info.page_type in _NO_RETRY:
        return _page_text(first, info, settings)

    def run(how: _How) -> _Pass:
        return _extraction(tree, page, outlet, settings, info, how, learned, known=first)

    best = first
    if len(best.text) < settings.doubt_chars:
        doubt = run(DOUBT_PASS)
        if len(doubt.text) > LONGER * len(best.text):
            best = doubt
    if len(best.text) < settings.min_text_chars and how != RECALL_PASS:
        best = max((best, run(RECALL_PASS)), key=lambda p: len(p.text))
    return _page_text(best, info, settings)


def _first_pass(settings: ExtractSettings) -> _How:
    """The configured first pass: extract.favor_precision (else recall), extract.fast."""
    if settings.favor_precision:
        return _How("precision", precision=True, recall=False, fast=settings.fast)
    return _How("recall", precision=False, recall=True, fast=settings.fast)


def _extraction(
    tree: Any,
    page: FetchedPage,
    outlet: OutletSpec,
    settings: ExtractSettings,
    info: PageInfo,
    how: _How,
    learned: LearnedBoilerplate,
    known: _Pass | None = None,
) -> _Pass:
    """One trafilatura pass (it works on a copy of the tree), the page's lead put back
    when the pass left it out, the cleaning, and the outlet's learned boilerplate removed.
    The first pass reads the page's metadata (newswire.extract.metadata); a pass after it
    takes the first's (`known`): the metadata search costs a third of a pass."""
    document = trafilatura.bare_extraction(
        tree,
        url=page.final_url,
        fast=how.fast,
        favor_precision=how.precision,
        favor_recall=how.recall,
        include_comments=False,
        include_tables=settings.include_tables,
        with_metadata=False,
    )
    found: dict[str, Any] = {}
    if isinstance(document, dict):
        found = document
    elif document is not None:
        found = document.as_dict()
    if known is None:
        meta = {**page_metadata(tree, page.final_url, _DATE_PARAMS), "text": found.get("text")}
    else:
        meta = {**known.meta, "text": found.get("text")}
    title = headline(info, _clean_field(meta.get("title")))
    authors = _split_authors(meta.get("author"))
    hints = PageHints(titles=(title,) if title else (), authors=authors, captions=info.captions)
    raw = meta.get("text") or ""
    lead = missing_lead(tree, info.descriptions, raw) if _wants_lead(raw, info) else None
    if lead:
        raw = f"{lead}\n{raw}"
    text = clean_text(
        raw,
        hints=hints,
        datelines=outlet.dateline_patterns,
        trailers=outlet.trailer_patterns,
        names=(outlet.name, _clean_field(meta.get("sitename")) or ""),
    )
    edges = edges_of(text)
    return _Pass(how.mode, meta, title, authors, len(raw), strip_learned(text, learned), edges)


def _wants_lead(raw: str, info: PageInfo) -> bool:
    """Whether the page's lead is looked for: an article's text (a page with no text has
    nothing it could lead; an index's teasers are not this article's)."""
    return bool(raw) and info.page_type is not PageType.INDEX


def _page_text(best: _Pass, info: PageInfo, settings: ExtractSettings) -> PageText:
    meta = best.meta
    return PageText(
        text=best.text,
        method=ExtractionMethod.PAGE,
        title=best.title,
        authors=best.authors,
        published=parse_iso(info.published) or parse_iso(meta.get("date")),
        language=language_code(meta.get("language") or info.language),
        canonical_url=meta.get("url") or None,
        image=meta.get("image") or None,
        site_name=_clean_field(meta.get("sitename")),
        description=_clean_field(meta.get("description")),
        page_type=info.page_type,
        mode=best.mode,
        quality=page_quality(best.text, best.raw_chars, info.page_type, settings),
        updated=parse_iso(info.modified),
        edges=best.edges,
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


def text_from_entry(
    entry: FeedEntry,
    outlet: OutletSpec,
    reason: Reason,
    learned: LearnedBoilerplate = NOTHING_LEARNED,
) -> PageText:
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
            names=(outlet.name,),
        )
        if text:
            return PageText(
                text=strip_learned(text, learned),
                method=method,
                title=entry.title,
                fallback_reason=reason,
                quality=_entry_quality(text, method),
                edges=edges_of(text),
            )
    title = plain_line(entry.title)  # plain text already: "<blink>" in it is literal
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
    learned: LearnedBoilerplate = NOTHING_LEARNED,
) -> PageText:
    """The page's text when there is enough of it, else the entry's, with the reason why;
    the outlet's `learned` boilerplate removed from either."""
    if page is None:
        return text_from_entry(entry, outlet, failure or Reason.EXTRACT_ERROR, learned)
    from_page = extract_page(page, outlet, settings, learned)
    if from_page.page_type is PageType.INDEX:  # teasers of other stories: not this article
        from_entry = text_from_entry(entry, outlet, Reason.NOT_AN_ARTICLE, learned)
        if from_entry.method is ExtractionMethod.TITLE_ONLY and from_page.text:
            # the feed has no text of its own: the page's, flagged `index` (its quality
            # halved), rather than an article reduced to its title; the detection can err
            return from_page
        return _with_page_metadata(from_entry, from_page)
    if len(from_page.text) >= settings.min_text_chars:
        return from_page
    from_entry = text_from_entry(entry, outlet, Reason.TOO_LITTLE_TEXT, learned)
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
        edges=text.edges,
    )


def _clean_field(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _split_authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        return ()
    return tuple(part.strip() for part in value.split(";") if part.strip())


def language_code(tag: str | None) -> str | None:
    """The primary language subtag of a BCP 47 tag ("en-US" -> "en"), or None."""
    primary = (tag or "").strip().split("-")[0].split("_")[0].lower()
    return primary if _LANGUAGE.fullmatch(primary) else None
