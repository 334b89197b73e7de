"""US state abbreviations after a town: "Athens, Ga.", "Paris, Tenn.", "ATLANTA, GA".

News names a US town with its state abbreviated (AP style in wire copy, the postal code in
listings), so the abbreviation is the best evidence of which of several same-named towns is
meant. An abbreviation is read only right after a capitalised word and a comma: "Ga." or "Ind."
anywhere else is not a place. Postal codes that are also everyday words or titles ("IN", "OR",
"ME", "OK", "HI", "MD" as in "Jane Smith, MD", "PA" as in physician assistant) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# AP style, as the Associated Press abbreviates states after a town
AP_STYLE = {
    "Ala.": "AL", "Ariz.": "AZ", "Ark.": "AR", "Calif.": "CA", "Colo.": "CO", "Conn.": "CT",
    "Del.": "DE", "Fla.": "FL", "Ga.": "GA", "Ill.": "IL", "Ind.": "IN", "Kan.": "KS",
    "Kans.": "KS", "Ky.": "KY", "La.": "LA", "Md.": "MD", "Mass.": "MA", "Mich.": "MI",
    "Minn.": "MN", "Miss.": "MS", "Mo.": "MO", "Mont.": "MT", "Neb.": "NE", "Nebr.": "NE",
    "Nev.": "NV", "N.H.": "NH", "N.J.": "NJ", "N.M.": "NM", "N.Y.": "NY", "N.C.": "NC",
    "N.D.": "ND", "Okla.": "OK", "Ore.": "OR", "Pa.": "PA", "R.I.": "RI", "S.C.": "SC",
    "S.D.": "SD", "Tenn.": "TN", "Tex.": "TX", "Vt.": "VT", "Va.": "VA", "Wash.": "WA",
    "W.Va.": "WV", "W. Va.": "WV", "Wis.": "WI", "Wisc.": "WI", "Wyo.": "WY", "D.C.": "DC",
}  # fmt: skip
POSTAL = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA ID IL IA KS KY LA MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
_FORMS = {**AP_STYLE, **{code: code for code in POSTAL}}
# ", " then one of the forms (the longest first), not followed by a letter or digit; the
# pattern starts with its literal, so the regex engine skips to each ", " (a lookbehind for the
# letter first made it try the alternation's start at every character, 20 ns each)
_AFTER_COMMA = re.compile(
    ", (" + "|".join(re.escape(form) for form in sorted(_FORMS, key=len, reverse=True)) + r")(?!\w)"
)
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def state_abbreviations(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, postal code) of each state abbreviation that follows "<Word>, "."""
    for match in _AFTER_COMMA.finditer(text):
        if match.start() and text[match.start() - 1] in _LETTERS:
            yield match.start(1), match.end(), _FORMS[match.group(1)]
