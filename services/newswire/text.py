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
_BLOCKS = ("p", "li", "h2", "h3", "h4", "blockquote", "pre", "td")


def normalise(text: str) -> str:
    """NFC, entities decoded, zero-width and control characters removed, spaces folded."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SPACES.sub(" ", text)


def html_fragment_text(fragment: str) -> str:
    """Plain text of an HTML fragment, one line per block element."""
    if "<" not in fragment:
        return fragment
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return _TAG.sub(" ", fragment)
    blocks = [el.text_content() for el in root.iter(*_BLOCKS)]
    if not blocks:
        for br in root.iter("br"):
            br.tail = "\n" + (br.tail or "")
        return str(root.text_content())
    return "\n".join(blocks)


def one_line(fragment: str) -> str:
    """An HTML or plain-text fragment (a title, a summary) as one normalised line."""
    return " ".join(normalise(html_fragment_text(fragment)).split())
