"""What a page is, read from its markup before extraction: an article, an index (a list of
teasers), a live blog or a video page; the captions of its figures; its h1; its declared
language; its published and modified times with their offsets (Open Graph or JSON-LD;
trafilatura keeps only the day).

Index pages, live blogs and video pages are flagged (`extraction.page_type`), so they are never
passed off as articles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml.html import HtmlElement

from newswire.models import PageType
from newswire.text import normalise

_LIVE_CLASS = re.compile(r"live[-_ ]?(?:blog|updates?|ticker)", re.IGNORECASE)
_CAPTION_CLASS = re.compile(r"\b(?:caption|wp-caption-text|image-credit)\b", re.IGNORECASE)
_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle"}
MIN_TEASERS = 6  # linked headings on a page that make it an index


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Facts read from the markup."""

    page_type: PageType
    captions: tuple[str, ...]
    heading: str | None
    document_title: str | None
    language: str | None
    published: str | None
    modified: str | None


def inspect_page(tree: HtmlElement) -> PageInfo:
    """Read the page type, captions, h1, document title, declared language and times."""
    items = list(_json_ld(tree))  # parsed once for the type and the two dates
    types = set(_json_ld_types(items))
    og_type = _meta(tree, "og:type") or ""
    return PageInfo(
        page_type=_page_type(tree, types, og_type),
        captions=_captions(tree),
        heading=_first_text(tree, "//h1"),
        document_title=_first_text(tree, "//title"),
        language=tree.get("lang") or _meta(tree, "og:locale") or None,
        published=_meta(tree, "article:published_time") or _json_ld_field(items, "datePublished"),
        modified=_meta(tree, "article:modified_time") or _json_ld_field(items, "dateModified"),
    )


def headline(info: PageInfo, extracted: str | None) -> str | None:
    """The article's headline: the h1 when the document title carries it (the usual
    "Headline - Site"), else the extracted title (which metadata of embedded items can
    mislead), else the h1."""
    if info.heading and info.document_title and info.heading in info.document_title:
        return info.heading
    return extracted or info.heading


def _page_type(tree: HtmlElement, types: set[str], og_type: str) -> PageType:
    if "LiveBlogPosting" in types or any(
        _LIVE_CLASS.search(el.get("class", "") + " " + el.get("id", ""))
        for el in tree.iter("article", "div", "section", "main")
    ):
        return PageType.LIVE_BLOG
    if og_type.startswith("video") or ("VideoObject" in types and not types & _ARTICLE_TYPES):
        return PageType.VIDEO
    if og_type != "article" and not types & _ARTICLE_TYPES and _teasers(tree) >= MIN_TEASERS:
        return PageType.INDEX
    return PageType.ARTICLE


def _teasers(tree: HtmlElement) -> int:
    """Headings that are links to other pages: a list of stories."""
    return len(tree.xpath("//h2[a] | //h3[a] | //h4[a]"))


def _captions(tree: HtmlElement) -> tuple[str, ...]:
    found = [el.text_content() for el in tree.iter("figcaption")]
    found += [
        el.text_content()
        for el in tree.iter("p", "div", "span")
        if _CAPTION_CLASS.search(el.get("class", ""))
    ]
    cleaned = (" ".join(normalise(text).split()) for text in found)
    return tuple(dict.fromkeys(text for text in cleaned if text))


def _first_text(tree: HtmlElement, path: str) -> str | None:
    for element in tree.xpath(path):
        text = " ".join(normalise(element.text_content()).split())
        if text:
            return text
    return None


def _meta(tree: HtmlElement, name: str) -> str | None:
    for element in tree.xpath("//meta[@property=$n or @name=$n]", n=name):
        content = (element.get("content") or "").strip()
        if content:
            return content
    return None


def _json_ld(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        if isinstance(data, dict):
            data = data.get("@graph", [data])
        if isinstance(data, list):
            yield from (item for item in data if isinstance(item, dict))


def _json_ld_types(items: list[dict[str, Any]]) -> Iterator[str]:
    for item in items:
        kind = item.get("@type")
        yield from (kind if isinstance(kind, list) else [kind]) if kind else []


def _json_ld_field(items: list[dict[str, Any]], field: str) -> str | None:
    for item in items:
        value = item.get(field)
        if isinstance(value, str) and value:
            return value
    return None
