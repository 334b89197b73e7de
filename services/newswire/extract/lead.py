"""The article's lead (standfirst) when extraction left it out, and markup repairs made before
trafilatura runs.

Many outlets print the lead in the page's header, beside the headline and outside the block
trafilatura takes as the article, and repeat it as the page's description (`description`,
`og:description`, `twitter:description`). When the extracted text lacks the description, the
visible block of the page that holds it is the lead. Found by searching the page's text nodes
for the description's opening words (in C, by XPath) and climbing to the smallest block
holding the whole description: linear in the page's size (at most MAX_PROBES climbs).
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

MIN_DESCRIPTION_CHARS = 40  # shorter descriptions are titles or slogans, not leads
MAX_DESCRIPTIONS = 4  # description, og:, twitter: (and one more): the rest are not searched
KEY_CHARS = 80  # the description's opening that must be found (the rest may be cut "...")
PROBE_CHARS = 30  # the words searched for in one text node
MAX_CLIMB = 6  # ancestors climbed from the text node to the block holding the whole key
MAX_LEAD_CHARS = 2000  # a longer block is the article around the lead, or a hostile page
# text nodes holding the description's opening that are climbed from: each climb reads the
# text of up to MAX_CLIMB ancestors, so an unbounded number would make the search quadratic
# on a page repeating those words in every paragraph
MAX_PROBES = 8
MAX_REPAIRS = 200  # empty elements with text after them removed from one page, at most
_ELLIPSIS = ".…"
_DESCRIPTIONS = etree.XPath(
    "//meta[@name='description' or @property='og:description' or @name='twitter:description'"
    " or @property='twitter:description']/@content"
)
_TEXT_WITH = etree.XPath(
    "//body//text()[contains(normalize-space(.), $probe)]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
    " or ancestor::textarea or ancestor::a or ancestor::nav or ancestor::aside"
    " or ancestor::footer)]"
)
# elements trafilatura deletes when empty; in precision mode it deletes the text after them
# (their tail) too, which loses words in the middle of a paragraph ("<strong></strong>par un")
# (the tail is tested in Python: libxml2 walks the whole following-sibling axis before taking
# its first node, which made `following-sibling::node()[1]` quadratic in a long paragraph)
_EMPTY = etree.XPath(
    "//*[self::b or self::em or self::i or self::q or self::span or self::strong or self::dd"
    " or self::dt or self::li or self::p or self::div][not(node())]"
)


def descriptions(tree: HtmlElement) -> tuple[str, ...]:
    """The page's descriptions, spaces folded, long enough to be a lead, without repeats."""
    found = (" ".join(str(value).split()) for value in _DESCRIPTIONS(tree))
    unique = dict.fromkeys(d for d in found if len(d) >= MIN_DESCRIPTION_CHARS)
    return tuple(unique)[:MAX_DESCRIPTIONS]  # each is searched for: a page cannot ask more


def missing_lead(tree: HtmlElement, described: tuple[str, ...], text: str) -> str | None:
    """The visible block holding the page's description when `text` lacks it, else None."""
    folded = " ".join(text.split())
    for description in described:
        key = description.rstrip(_ELLIPSIS).rstrip()[:KEY_CHARS]
        if len(key) < MIN_DESCRIPTION_CHARS or key in folded:
            continue
        block = _block_holding(tree, key, len(description))
        if block is not None:
            return block
    return None


def _block_holding(tree: HtmlElement, key: str, length: int) -> str | None:
    """The text of the smallest element holding `key` whose text is not much longer than the
    description (`length`): the lead, not the article around it."""
    bound = min(max(3 * length, length + 200), MAX_LEAD_CHARS)
    for node in _TEXT_WITH(tree, probe=key[:PROBE_CHARS])[:MAX_PROBES]:
        element = node.getparent()
        for _ in range(MAX_CLIMB):
            if element is None:
                break
            content = " ".join(element.text_content().split())
            if len(content) > bound:
                break
            if key in content:
                return content
            element = element.getparent()
    return None


def keep_tails_of_empty(tree: HtmlElement) -> None:
    """Remove empty formatting and block elements that have text after them, keeping that
    text, so no extraction mode can delete it with them. A page with more than MAX_REPAIRS of
    them is left as it is: each removal joins a tail to its neighbour's text, so thousands in
    one paragraph would cost time quadratic in its length."""
    found = [element for element in _EMPTY(tree) if (element.tail or "").strip()]
    if len(found) <= MAX_REPAIRS:
        for element in found:
            element.drop_tag()
