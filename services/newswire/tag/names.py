"""Place-name spelling: fold text for matching (keeping offsets) and generate name variants.

Folding is per character, so every folded position maps back to the original text: lower case,
Latin accents and Arabic/Hebrew diacritics and tatweel removed, Arabic letter forms unified (alef
with hamza or madda, ta marbuta, alef maqsura, Persian yeh and kaf), dashes, apostrophes and the
ʿayn/hamza marks of transliterations as spaces. Variants cover how news transliterates Arabic
names: the article (al-/el-/ad-/ash-..., spaced, joined or dropped), Abu/Albu, and a bounded set
of letter swaps (ou/u, ei/ay, aw/o, dh/z, final -ah/-a, -iyah/-iya).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick_rs

_SPACE_LIKE = set("-‐‑‒–—―_'’‘`ʼʿʾ´\u00a0\t\r\u2009\u200a\u202f")
_DELETE = {"\u0640", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff"}
_LETTER_FORMS = {
    "ة": "ه", "ى": "ي", "ی": "ي", "ې": "ي", "ک": "ك", "ە": "ه", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ۀ": "ه", "ۃ": "ه",
}  # fmt: skip
ARABIC_PROCLITICS = frozenset("وفبكل")
HEBREW_PROCLITICS = frozenset("ובלמהשכ")
_ARTICLES = frozenset(
    {"al", "el", "ad", "ar", "as", "ash", "at", "az", "an", "ed", "er", "es", "et", "ez", "en"}
)
_SWAPS = (
    ("ou", "u"), ("u", "ou"), ("ei", "ay"), ("ay", "ei"), ("aw", "o"), ("dh", "z"),
    ("ee", "i"), ("ph", "f"),
)  # fmt: skip
_END_SWAPS = (("iyah", "iya"), ("iya", "iyah"), ("ah", "a"), ("a", "ah"), ("eh", "ah"))
_MARKS = re.compile(r"[’'‘`ʼʿʾ]")
MAX_VARIANTS = 24
MIN_LETTERS = 4


class _FoldTable(dict[int, str]):
    """ord(char) -> its folded form, computed on first use; remembers which characters do
    not fold to exactly one (marks removed, ligatures expanded)."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()
        self._pattern: tuple[int, re.Pattern[str] | None] = (0, None)

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        if len(folded) != 1:
            self.irregular.add(chr(code))
        return folded

    def irregular_at(self, text: str) -> list[int]:
        """Where `text` holds a character whose folded form is not one character long (the
        table must have seen `text`: fold it first)."""
        size, pattern = self._pattern
        if size != len(self.irregular):
            chars = "".join(sorted(self.irregular))
            pattern = re.compile(f"[{re.escape(chars)}]") if chars else None
            self._pattern = (len(self.irregular), pattern)
        if pattern is None or pattern.search(text) is None:
            return []
        return [match.start() for match in pattern.finditer(text)]


def _fold_char(char: str) -> str:
    if char in _SPACE_LIKE or (char.isspace() and char != "\n"):
        return " "
    if char in _DELETE:
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", char.lower()):
        if unicodedata.combining(part):
            continue
        out.append(_LETTER_FORMS.get(part, part))
    return "".join(out)


_TABLE = _FoldTable()


# the characters whose folded form str.lower() does not give: everything outside ASCII,
# ASCII's space-like punctuation and its whitespace other than the space and the newline
_NOT_BY_LOWER = re.compile("[-_'`\t\x0b\x0c\r\x1c-\x1f\x80-\U0010ffff]")


def fold(text: str) -> str:
    """Text folded for matching (see the module docstring)."""
    if text.isascii():
        return text.translate(_TABLE)  # CPython translates ASCII through a fast cache
    return _fold_mixed(text)


def _fold_mixed(text: str) -> str:
    """`fold` of a text with characters beyond ASCII: str.lower() for most, the table for
    the few that need it. str.translate asks the table for every character of such a text,
    six times slower on an English article with typographic quotes."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a capital lowered to two characters ("İ"): offsets move
        return text.translate(_TABLE)
    pieces: list[str] = []
    done = 0
    for match in _NOT_BY_LOWER.finditer(text):
        at = match.start()
        pieces += (lowered[done:at], _TABLE[ord(text[at])])
        done = at + 1
    pieces.append(lowered[done:])
    return "".join(pieces)


def automaton(words: Sequence[str]) -> ahocorasick_rs.AhoCorasick | None:
    """An Aho-Corasick automaton of folded words (None for none); its matches name a word by
    its index in `words`. A contiguous NFA: of the Rust crate's automata the fastest on the
    gazetteer's ~80,000 keys, and the smallest (its DFA takes ~200 MB)."""
    if not words:
        return None
    return ahocorasick_rs.AhoCorasick(
        words, implementation=ahocorasick_rs.Implementation.ContiguousNFA
    )


def in_word(char: str) -> bool:
    """Is the character part of a word as a regex's `\\w` has it (a letter, digit, `_`)?"""
    return char.isalnum() or char == "_"


def stands_as_word(key: str, text: str) -> bool:
    """Does `key` stand in `text` as a word, no letter, digit or underscore either side? (A
    regex compiled per name cost 50-100 us a name the first time it was asked.)"""
    at = text.find(key)
    while at != -1:
        end = at + len(key)
        if (at == 0 or not in_word(text[at - 1])) and (end == len(text) or not in_word(text[end])):
            return True
        at = text.find(key, at + 1)
    return False


def fold_name(name: str) -> str:
    """A name folded, with runs of spaces collapsed and the ends trimmed."""
    return " ".join(fold(name).split())


@dataclass(frozen=True, slots=True)
class Folded:
    """A text folded, with the map back to the original's character offsets."""

    text: str
    ends: tuple[int, ...] | None  # ends[i]: folded length after original character i (None:
    # every character folded to one, so offsets are the same)

    @classmethod
    def of(cls, original: str) -> Folded:
        folded = fold(original)
        irregular = _TABLE.irregular_at(original)
        if not irregular:
            return cls(folded, None)  # one folded character per original: offsets are equal
        # between the few characters that fold to more or fewer than one, the ends run on by
        # one a character: ranges, not a Python step per character
        ends: list[int] = []
        shift = done = 0  # folded length minus original length so far; characters done
        for at in irregular:
            ends += range(done + 1 + shift, at + 1 + shift)
            shift += len(_TABLE[ord(original[at])]) - 1
            ends.append(at + 1 + shift)
            done = at + 1
        ends += range(done + 1 + shift, len(original) + 1 + shift)
        return cls(folded, tuple(ends))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) that folded [start, end) came from."""
        if self.ends is None:
            return start, end
        first, last = bisect_right(self.ends, start), bisect_left(self.ends, end) + 1
        while last < len(self.ends) and self.ends[last] == self.ends[last - 1]:
            last += 1  # marks removed by folding belong to the letter before them
        return first, last


def script_of(folded_name: str) -> str:
    """'arabic', 'hebrew' or 'latin' by the name's first letter."""
    for char in folded_name:
        if "\u0600" <= char <= "\u06ff":
            return "arabic"
        if "\u0590" <= char <= "\u05ff":
            return "hebrew"
        if char.isalpha():
            return "latin"
    return "latin"


def name_variants(
    name: str, generous: bool = True, min_letters: int = MIN_LETTERS, adjective: bool = False
) -> set[str]:
    """A name's folded spellings. Every name gets its article spaced and joined ("al-Bukamal",
    "al Bukamal", "Albukamal") and its apostrophes dropped; `generous` (well-known places) adds
    the other article forms, a dropped article, Abu/Albu and one letter swap. `adjective`
    (a country's Arabic names) adds them without the article ("تركية" as well as "التركية")."""
    base = fold_name(name)
    if script_of(base) == "arabic":
        return _arabic_variants(base, adjective)
    if script_of(base) == "hebrew":
        return {base}
    forms = {base, fold_name(_MARKS.sub("", name))}
    forms |= {v for form in list(forms) for v in saint_forms(form)}
    forms |= {v for form in list(forms) for v in _article_forms(form, generous)}
    if generous:
        forms |= {v for form in list(forms) for v in _swapped(form)}
    kept = {f for f in forms if _letters(f) >= min_letters}
    return set(sorted(kept, key=lambda f: (f != base, len(f), f))[:MAX_VARIANTS])


def saint_forms(base: str) -> set[str]:
    """ "Saint Petersburg", "St Petersburg", "St. Petersburg": one name however news writes
    the saint."""
    first, _, rest = base.partition(" ")
    if first not in _SAINTS or not rest:
        return set()
    return {f"{saint} {rest}" for saint in _SAINTS}


_SAINTS = ("saint", "st", "st.")


def _article_forms(base: str, generous: bool) -> set[str]:
    tokens = base.split(" ")
    forms = set()
    for index, token in enumerate(tokens[:-1]):
        if token not in _ARTICLES and token not in ("abu", "albu"):
            continue
        before, after = tokens[:index], tokens[index + 1 :]
        rest = " ".join(after)
        articles = {token}
        if generous and token in _ARTICLES:
            articles |= {"al", "el"}
        if generous and token in ("abu", "albu"):
            articles |= {"abu", "albu", "al bu"}
        for article in articles:
            head = " ".join([*before, article]).strip()
            forms |= {f"{head} {rest}", f"{head}{rest}"}
        if generous and index == 0 and token in _ARTICLES and _letters(rest) >= 5:
            forms.add(rest)
    return forms


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _swapped(form: str) -> set[str]:
    out = set()
    for old, new in _SWAPS:
        if old in form:
            out.add(form.replace(old, new, 1))
    for old, new in _END_SWAPS:
        if form.endswith(old) and not form.endswith(new):
            out.add(form[: -len(old)] + new)
    return out


def _arabic_variants(base: str, bare: bool) -> set[str]:
    forms = {base}
    if bare and base.startswith("ال") and len(base) >= 6:
        forms.add(base[2:])  # "التركية" -> "تركية" (an adjective without the article)
    if base.startswith("ال") and len(base) > 4:
        forms.add("لل" + base[2:])  # li- + al- ("to al-Bukamal")
    joined = base.replace(" ", "")
    if base.startswith("البو ") or base.startswith("ابو "):
        forms.add(joined)
    return forms
