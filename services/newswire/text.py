"""Plain-text helpers shared by the stages: Unicode normalisation and HTML fragments to text."""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.html
from lxml.etree import ParserError

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad]")  # bidi marks too
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TAG = re.compile(r"<[^<>]+>")  # stops at the next "<": linear on "<<<<..." with no ">"
# elements that start a new line of text, and elements whose content is never text (code,
# styles, embedded documents: a feed's markup may carry them, no text field may)
_BLOCKS = frozenset(
    "p div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 blockquote pre table tr td th caption "
    "figure figcaption section article header footer aside nav address hr br".split()
)
_NOT_TEXT = (
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "applet",
    "noscript",
    "template",
    "frame",
    "frameset",
    "head",
)


def normalise(text: str, entities: bool = True) -> str:
    """NFC, entities decoded (unless `entities` is False: text already decoded, whose "&amp;"
    is literal), zero-width and control characters removed, spaces folded."""
    text = unicodedata.normalize("NFC", html.unescape(text) if entities else text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SPACES.sub(" ", text)


def html_fragment_text(fragment: str) -> str:
    """Plain text of an HTML fragment, entities decoded, one line per block element: all the
    text (inside blocks or not), none of the content of scripts, styles or embedded
    documents. Line breaks of the source are spaces, as a browser shows them (but in <pre>)."""
    if "<" not in fragment:
        return html.unescape(fragment)
    fragment = _CONTROL.sub(" ", fragment)  # lxml holds no control character
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return html.unescape(_TAG.sub(" ", fragment))
    for element in list(root.iter(*_NOT_TEXT)):
        element.drop_tree()  # its tail (the text after it) stays
    for element in root.iter():
        _lay_out(element)
    lines = (" ".join(line.split()) for line in str(root.text_content()).split("\n"))
    return "\n".join(line for line in lines if line)


def _lay_out(element: lxml.html.HtmlElement) -> None:
    """Source line breaks to spaces (outside <pre>), then a line break around a block."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag != "pre" and element.text:
        element.text = element.text.replace("\n", " ")
    if element.tail:
        element.tail = element.tail.replace("\n", " ")
    if tag.lower() in _BLOCKS:
        element.text = "\n" + (element.text or "")
        element.tail = "\n" + (element.tail or "")


def plain_line(text: str) -> str:
    """A plain-text value (a feed's text/plain title) as one normalised line: nothing in it is
    markup, "<blink>" and "&amp;" are literal."""
    return " ".join(normalise(text, entities=False).split())


def one_line(fragment: str) -> str:
    """An HTML or plain-text fragment (a title, a summary) as one normalised line."""
    return " ".join(normalise(html_fragment_text(fragment), entities=False).split())
