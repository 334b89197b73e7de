"""Language of a text when the page does not declare it: py3langid's classifier, with Kurdish
Sorani told from Arabic and Persian by the letters only Sorani writes (ە ێ ۆ ڕ ڵ)."""

from __future__ import annotations

import re

import py3langid  # type: ignore[import-untyped]

_SORANI_LETTERS = re.compile("[ەێۆڕڵ]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
SAMPLE_CHARS = 2000
MIN_CHARS = 40  # shorter texts are not worth a guess
SORANI_SHARE = 0.02  # of the Arabic-script letters


def detect_language(text: str) -> str | None:
    """An ISO 639 code for the text ("ckb" for Sorani), or None for too little text."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    arabic_script = _ARABIC_SCRIPT.findall(sample)
    sorani = _SORANI_LETTERS.findall(sample)
    if arabic_script and len(sorani) >= SORANI_SHARE * len(arabic_script):
        return "ckb"
    code, _score = py3langid.classify(sample)
    return str(code)


def warm_up() -> None:
    """Load the classifier's model now (about 0.7 s), not on the first article."""
    py3langid.classify("warm up")
