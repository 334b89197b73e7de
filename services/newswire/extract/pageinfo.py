"""What a page is, read from its markup before extraction: an article, an index (a list of
teasers), a live blog or a video page; the captions of its figures; its h1; its declared
language; its published and modified times with their offsets (Open Graph or JSON-LD;
trafilatura keeps only the day); its descriptions (where its lead may be found).

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

from newswire.extract.lead import descriptions
from newswire.models import PageType
from newswire.text import normalise

_LIVE_CLASS = re.compile(r"live[-_ ]?(?:blog|updates?|ticker)", re.IGNORECASE)
_CAPTION_CLASS = re.compile(r"\b(?:caption|wp-caption-text|image-credit)\b", re.IGNORECASE)
_ARTICLE_KINDS = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "reviewnewsarticle",
    "blogposting",
    "report",
    "scholarlyarticle",
    "techarticle",
}  # JSON-LD @type, lower case
MIN_TEASERS = 6  # linked headings on a page that make it an index (without article evidence)
MAX_LD_ITEMS = 200  # items read from one JSON-LD block
ARTICLE_PROSE_CHARS = 1500  # paragraph text outside links that makes a page a story
_TRAILING_COMMA = re.compile(r",\s*([}\]])")  # each comma scans only the spaces after it
_LD_JSON = (
    "//script[contains(translate(@type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
    "'abcdefghijklmnopqrstuvwxyz'), 'ld+json')]"
)


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
    descriptions: tuple[str, ...]  # the page's own summaries: its lead, when visible


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
        descriptions=descriptions(tree),
    )


def headline(info: PageInfo, extracted: str | None) -> str | None:
    """The article's headline: the h1 when the document title carries it (the usual
    "Headline - Site"), else the extracted title (which metadata of embedded items can
    mislead), else the h1."""
    if info.heading and info.document_title and info.heading in info.document_title:
        return info.heading
    return extracted or info.heading


def _page_type(tree: HtmlElement, types: set[str], og_type: str) -> PageType:
    """What the page is. Types compare case-insensitively ("Article", "newsarticle"). An index
    needs six linked headings and no evidence of an article: an index that is really one story
    with a menu of links would lose the story, and a story is never published empty."""
    kinds = {kind.lower() for kind in types}
    og = og_type.strip().lower()
    if "liveblogposting" in kinds or any(
        _LIVE_CLASS.search(el.get("class", "") + " " + el.get("id", ""))
        for el in tree.iter("article", "div", "section", "main")
    ):
        return PageType.LIVE_BLOG
    if og.startswith("video") or ("videoobject" in kinds and not kinds & _ARTICLE_KINDS):
        return PageType.VIDEO
    if _teasers(tree) >= MIN_TEASERS and not _article_evidence(tree, kinds, og):
        return PageType.INDEX
    return PageType.ARTICLE


def _article_evidence(tree: HtmlElement, kinds: set[str], og: str) -> bool:
    """Signs of one story: declared as an article (Open Graph, JSON-LD), a publication time
    or byline in the metadata, or a long run of paragraph text that is not links."""
    if og == "article" or kinds & _ARTICLE_KINDS:
        return True
    if _meta(tree, "article:published_time") or _meta(tree, "author"):
        return True
    return _prose_chars(tree) >= ARTICLE_PROSE_CHARS


def _teasers(tree: HtmlElement) -> int:
    """Headings that are links to other pages: a list of stories."""
    return len(tree.xpath("//h2[a] | //h3[a] | //h4[a]"))


def _prose_chars(tree: HtmlElement) -> int:
    """Characters of paragraph text outside links: a story has a long run of it, a list of
    teasers has little besides its links."""
    total = 0
    for paragraph in tree.iter("p"):
        text = len(" ".join(paragraph.text_content().split()))
        linked = sum(len(" ".join(a.text_content().split())) for a in paragraph.iter("a"))
        if text >= 80 and linked * 2 < text:
            total += text - linked
    return total


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
    """The JSON-LD items of every block, read leniently (control characters in strings,
    trailing commas), `@graph` lists opened."""
    for script in tree.xpath(_LD_JSON):
        data = _lenient_json(script.text or "")
        stack = data if isinstance(data, list) else [data]
        for item in stack[:MAX_LD_ITEMS]:
            if not isinstance(item, dict):
                continue
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (node for node in graph[:MAX_LD_ITEMS] if isinstance(node, dict))
            yield item


def _lenient_json(text: str) -> Any:
    """JSON as pages write it: control characters allowed in strings, and, when that does not
    parse, trailing commas removed; None when neither parses."""
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text), strict=False)
    except (ValueError, RecursionError):
        return None


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
