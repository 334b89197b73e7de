"""Text cleaning for the extract stage: normalise characters and drop outlet boilerplate.

Generic rules apply to every outlet, in English, Arabic, Kurdish (Sorani) and Hebrew: photo
captions (with a credit, or printed again in the body), "Read also"/"Related" lines,
subscribe/share/follow/cookie/app prompts, a video's duration line, bylines repeated in the
body, the title again, and table rows as trafilatura writes them ("| a | b |"). Per-outlet
credits naming the outlet (its configured name, the page's site name) go generically: a
dateline ("Shafaq News/ ", "Shafaq News – Baghdad") and a trailer ("As reported by The
Jerusalem Post", "<name> contributed to this report"). Per-outlet rules from feeds.yaml
(`cleaning.datelines`, `cleaning.trailers`) are tried first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from newswire.models import LearnedBoilerplate
from newswire.text import normalise

_PHOTO_CREDIT = re.compile(
    r"\((?:photo|image|picture|video|credit|photograph)\s*(?:credit|courtesy|by)?\s*:[^)]*\)\s*$"
    r"|\((?:تصوير|صورة|الصورة|وێنە|وێنەی|צילום|צלם)\s*:[^)]*\)\s*$",
    re.IGNORECASE,
)
_RELATED = re.compile(
    r"^(?:read (?:also|more)|also read|see also|related(?: articles?| stories| news)?|"
    r"more on this(?: story)?|recommended|"
    r"[اإ]قرأ أيضا[ًً]?|اقرأ المزيد|مواضيع ذات صلة|[اأ]خبار ذات صلة|"
    r"(?:هەروەها )?بخوێنەوە|קראו עוד|קראו גם|כתבות נוספות|"
    r"lesen sie (?:auch|mehr)|mehr zum thema|weitere (?:artikel|infos?|informationen|beiträge)"
    r"(?: zum thema)?|auch interessant|das könnte sie auch interessieren|siehe auch|"
    r"(?:à )?lire aussi|voir aussi|sur le même sujet|le[ae] también|vea también|ver también|"
    r"te puede interesar|leggi anche|czytaj (?:też|także|więcej)|zobacz (?:też|także)|"
    r"leia também|veja também|lees ook|zie ook)"
    r"\s*(?:[:\-–—]|$)",
    re.IGNORECASE,
)
_PROMPTS = re.compile(
    r"^(?:subscribe (?:to|for|now)|sign up (?:for|to)|stay (?:updated|informed) with|"
    r"get the latest|share(?: this(?: article| story)?)?\s*:|follow us on|join our|"
    r"click here to|we use cookies|this (?:site|website) uses cookies|"
    r"download (?:our|the) app|support (?:our|independent) journalism|"
    r"(?:duration|length)\s*:\s*\d{1,2}:\d{2}|"
    r"تابعونا (?:على|عبر)|اشترك(?:وا)? في|حمّ?ل تطبيق|شارك(?: الخبر)?\s*:|"
    r"بەشداربە|بڵاوی بکەرەوە\s*:|שתפו\s*:|הצטרפו לערוץ|הירשמו לניוזלטר)",
    re.IGNORECASE,
)
# a line that only credits a picture or a source: "Foto: Sophia Mahnert", "Crédit photo : KB"
_CREDIT_LINE = re.compile(
    r"^(?:(?:cover |featured |header |title )?(?:photos?|pictures?|images?)(?: credits?)?|"
    r"credits?|sources?|copyright|fotos?|bild(?:er|quellen?|nachweis)?|titelbild|beitragsbild|"
    r"quellen?|cr[ée]dits? photos?|fuentes?|im[áa]gen(?:es)?|fonte|imagem|źródło|"
    r"zdjęcie|fot\.|bron|beeld|المصدر|مصدر الصورة|מקור|קרדיט)\s*:\s*\S",
    re.IGNORECASE,
)
# an advertisement's label or a disclosure of advertising: "Anzeige", "*Werbung.", "REKLAMA"
_AD_LABEL = re.compile(
    r"^\W{0,3}(?:advertisement|advertorial|sponsored(?: content)?|anzeige|werbung|gesponsert|"
    r"publicidad|publicit[ée]|pubblicità|reklama|advertentie|إعلان|פרסומת)\W*(?:$|[,.:*|–—-])",
    re.IGNORECASE,
)
_DISCLOSURE = re.compile(
    r"affiliate[- ]links?|(?:contains|enthält) (?:werbung|advertising|sponsored)|"
    r"contains references to products",
    re.IGNORECASE,
)
MAX_CREDIT_LINE_CHARS = 120
MAX_DISCLOSURE_CHARS = 300
_BYLINE = re.compile(r"^by\s+[\w.'’-]+(?:\s+(?:[\w.'’-]+|and|&)){0,6}$", re.IGNORECASE)
_TABLE_RULE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*$")
MAX_PROMPT_CHARS = 160
MAX_BYLINE_CHARS = 80
EDGE_PARAGRAPHS = 3  # a byline or the title again is boilerplate only this near an end
# a credit closes its paragraph: only this tail is searched, so the search stays linear in
# the paragraph's length (searched whole, "(photo:" repeated without ")" is quadratic)
MAX_CREDIT_CHARS = 300
DATELINE_CHARS = 200  # a dateline credit names its outlet this near the text's start


@dataclass(frozen=True, slots=True)
class PageHints:
    """What the page says besides its text, used to spot boilerplate in the text: its titles
    (feed, page, h1), authors, and the captions of its figures."""

    titles: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()


def paragraphs(text: str) -> list[str]:
    """Split text into trimmed, non-empty paragraphs (one per line), table rows as cells
    joined by " | " and markdown table rules dropped."""
    kept = []
    for line in normalise(text, entities=False).split("\n"):  # decoded by the parser
        line = line.strip()
        if not line or _TABLE_RULE.match(line):
            continue
        if line.startswith("|") and line.endswith("|"):
            line = " | ".join(cell.strip() for cell in line.strip("|").split("|"))
        kept.append(line)
    return kept


def is_boilerplate(paragraph: str, hints: PageHints = PageHints(), edge: bool = True) -> bool:
    """Generic boilerplate: credits and captions, related links, prompts; at an `edge` of the
    text (its first or last EDGE_PARAGRAPHS paragraphs) also a byline and the title again.
    Inside the body those are the article's own lines (a heading that repeats the title, a
    recipe's "Beachbody Performance Recover, 1 cup blueberries")."""
    if _PHOTO_CREDIT.search(paragraph[-MAX_CREDIT_CHARS:]) or _RELATED.match(paragraph):
        return True
    if len(paragraph) <= MAX_PROMPT_CHARS and _PROMPTS.match(paragraph):
        return True
    if is_credit_or_advertising(paragraph):
        return True
    key = _comparable(paragraph)
    if any(key == _comparable(caption) for caption in hints.captions if caption):
        return True
    if not edge:
        return False
    if any(key == _comparable(title) for title in hints.titles if title):
        return True
    return len(paragraph) <= MAX_BYLINE_CHARS and is_byline(paragraph, hints.authors)


def is_credit_or_advertising(paragraph: str) -> bool:
    """A short line crediting a picture or a source, an advertisement's label, or a
    disclosure of advertising or affiliate links."""
    if len(paragraph) <= MAX_CREDIT_LINE_CHARS and _CREDIT_LINE.match(paragraph):
        return True
    if len(paragraph) > MAX_DISCLOSURE_CHARS:
        return False
    return bool(_AD_LABEL.match(paragraph) or _DISCLOSURE.search(paragraph))


def is_byline(paragraph: str, authors: Iterable[str]) -> bool:
    """ "By Sarah Ahmed", or a known author's name alone or with a place ("Omar Al-Mansouri,
    Doha")."""
    if _BYLINE.match(paragraph.rstrip(".")):
        return True
    key = _comparable(paragraph)
    for author in authors:
        name = _comparable(author)
        if name and (key == name or (key.startswith(name + " ") and "," in paragraph)):
            return True
    return False


def _comparable(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().casefold()


@functools.lru_cache(maxsize=4096)
def outlet_datelines(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Dateline credits naming the outlet, for any outlet: "<name>/ ", "<name> – City ",
    "<name> Agency/ " (a leading "The" optional), from its configured name and the name the
    page gives itself (og:site_name)."""
    patterns = []
    for name in _name_patterns(names):
        patterns.append(rf"^{name}(?:\s+Agency)?\s*/\s*")
        patterns.append(
            rf"^{name}(?:\s+Agency)?\s*[–—-]\s*[A-Z][\w'’-]+(?:\s*[/:–—-]\s*|\s+(?=[A-Z]))"
        )
    return tuple(re.compile(pattern) for pattern in patterns)


@functools.lru_cache(maxsize=4096)
def outlet_trailers(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Trailers naming the outlet: "As reported by <name>", "<name> contributed to this
    report"."""
    patterns = []
    for name in _name_patterns(names):
        patterns.append(rf"(?:\(?As reported by {name}\.?\)?\.?)\s*$")
        patterns.append(rf"(?:{name} contributed to this report\.?)\s*$")
    return tuple(re.compile(pattern) for pattern in patterns)


def _name_words(name: str) -> list[str]:
    """A name's words without a leading "The" (credits print it or not)."""
    words = (name or "").split()
    return words[1:] if words and words[0].casefold() == "the" else words


def _name_patterns(names: Iterable[str]) -> list[str]:
    """Each name as a regex: escaped, spaces as any run of spaces, a leading "The" optional;
    names under four characters are left out (too likely to be a word of the text)."""
    found = []
    for name in names:
        words = _name_words(name)
        if len(" ".join(words)) < 4:
            continue
        body = r"\s+".join(re.escape(word) for word in words)
        pattern = rf"(?:[Tt]he\s+)?{body}"
        if pattern not in found:
            found.append(pattern)
    return found


def _named_in(names: tuple[str, ...], text: str) -> tuple[str, ...]:
    """The names whose first word (after a leading "The") is in `text`: only their credit
    patterns can match, and only theirs are compiled (a page's site name is new on every
    outlet's first page)."""
    return tuple(name for name in names if (words := _name_words(name)) and words[0] in text)


def strip_dateline(first: str, patterns: Iterable[str | re.Pattern[str]]) -> str:
    """Remove an outlet's dateline credit from the start of the first paragraph."""
    for pattern in patterns:
        stripped = re.sub(pattern, "", first, count=1)
        if stripped != first:
            return stripped.lstrip(" /:–—-")
    return first


def strip_trailer(last: str, patterns: Iterable[str | re.Pattern[str]]) -> str:
    """Remove an outlet's trailer from the end of the last paragraph (a compiled pattern is
    anchored at the end already)."""
    for pattern in patterns:
        anchored = pattern if isinstance(pattern, re.Pattern) else f"(?:{pattern})\\s*$"
        stripped = re.sub(anchored, "", last, count=1)
        if stripped != last:
            return stripped.rstrip()
    return last


def clean_text(
    text: str,
    *,
    hints: PageHints = PageHints(),
    datelines: Iterable[str] = (),
    trailers: Iterable[str] = (),
    names: Iterable[str] = (),
) -> str:
    """Clean extracted text: paragraphs separated by one blank line, boilerplate removed.
    `datelines` and `trailers` are the outlet's own rules (feeds.yaml), tried first; `names`
    (the outlet's name, the page's site name) give the generic credits naming it.
    A paragraph that repeats is kept (a recipe's line, a question put to each person, a
    caption under each photo): only one repeated at once, a doubled line, goes."""
    kept: list[str] = []
    found = paragraphs(text)
    for index, paragraph in enumerate(found):
        edge = index < EDGE_PARAGRAPHS or index >= len(found) - EDGE_PARAGRAPHS
        if is_boilerplate(paragraph, hints, edge) or (kept and paragraph == kept[-1]):
            continue
        kept.append(paragraph)
    names = tuple(name for name in names if name)
    if kept:
        named = _named_in(names, kept[0][:DATELINE_CHARS])
        kept[0] = strip_dateline(kept[0], (*datelines, *outlet_datelines(named)))
    if kept:
        named = _named_in(names, kept[-1])
        kept[-1] = strip_trailer(kept[-1], (*trailers, *outlet_trailers(named)))
    return "\n\n".join(p for p in kept if p)


MAX_LEARNED_CHARS = 300  # a recurring line longer than this is content, not boilerplate
MAX_PREFIX_CHARS = 60
# a dateline-like prefix of a first paragraph: up to a slash, a dash or a colon near its start
_PREFIX = re.compile(r"^(.{2,60}?\s*(?:/|[–—]|\s-\s|:)\s*)(?=\S)")


def edges_of(text: str) -> tuple[tuple[str, str], ...]:
    """What an outlet's learning counts of a clean text: its first and last paragraphs and
    its first paragraph's dateline-like prefix (short ones only)."""
    found = text.split("\n\n") if text else []
    if len(found) < 2:
        return ()
    edges = [("first", found[0]), ("last", found[-1])]
    prefix = _PREFIX.match(found[0][: MAX_PREFIX_CHARS + 5])
    if prefix:
        edges.append(("prefix", prefix.group(1)))
    return tuple((kind, line) for kind, line in edges if len(line) <= MAX_LEARNED_CHARS)


def strip_learned(text: str, learned: LearnedBoilerplate) -> str:
    """The text without its outlet's learned boilerplate: recurring first and last
    paragraphs, then a recurring prefix of the first; never the whole text."""
    found = text.split("\n\n") if text else []
    while len(found) > 1 and found[0] in learned.first:
        found.pop(0)
    while len(found) > 1 and found[-1] in learned.last:
        found.pop()
    for prefix in learned.prefixes:
        if found and found[0].startswith(prefix) and len(found[0]) > len(prefix):
            found[0] = found[0][len(prefix) :].lstrip()
            break
    return "\n\n".join(found)
