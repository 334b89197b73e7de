"""Distinct, article-like stories for tests and benchmarks that need many different articles
(near-duplicate detection would rightly fold copies of one fixture page into one story)."""

from __future__ import annotations

import random

PLACES = [
    "al-Bukamal",
    "Deir ez-Zor",
    "al-Qaim",
    "Baghdad",
    "Erbil",
    "Mosul",
    "Kirkuk",
    "Raqqa",
    "Hasakah",
    "Basra",
    "Haifa",
    "Tel Aviv",
    "Sulaymaniyah",
    "Palmyra",
]
WORDS = [
    "officials",
    "said",
    "the",
    "convoy",
    "crossed",
    "early",
    "on",
    "Tuesday",
    "while",
    "residents",
    "reported",
    "heavy",
    "shelling",
    "near",
    "the",
    "bridge",
    "and",
    "local",
    "sources",
    "described",
    "damage",
    "to",
    "homes",
    "shops",
    "and",
    "a",
    "school",
    "the",
    "ministry",
    "announced",
    "new",
    "measures",
    "for",
    "fuel",
    "prices",
    "water",
    "supply",
    "and",
    "electricity",
    "as",
    "farmers",
    "complained",
    "about",
    "the",
    "drought",
    "and",
    "traders",
    "waited",
    "at",
    "the",
    "border",
    "crossing",
    "for",
    "hours",
    "before",
    "security",
    "forces",
    "reopened",
    "the",
    "road",
    "to",
    "trucks",
    "carrying",
    "grain",
    "cement",
    "and",
    "medicine",
    "after",
    "talks",
    "between",
    "tribal",
    "leaders",
    "and",
    "the",
    "provincial",
    "council",
    "ended",
    "without",
    "agreement",
    "on",
    "salaries",
    "reconstruction",
    "funds",
    "oil",
    "revenue",
    "and",
    "the",
    "return",
    "of",
    "displaced",
    "families",
    "who",
    "fled",
    "fighting",
    "last",
    "year",
    "according",
    "to",
    "aid",
    "agencies",
    "monitoring",
    "the",
    "camps",
]


def story(index: int, paragraphs: int = 5) -> tuple[str, list[str]]:
    """A title and paragraphs of about 45 words each, different for every index."""
    rng = random.Random(index)
    place = PLACES[index % len(PLACES)]
    title = f"{place}: report {index} on {rng.choice(WORDS)} and {rng.choice(WORDS)}"
    body = []
    for n in range(paragraphs):
        sentence = " ".join(rng.choice(WORDS) for _ in range(44))
        body.append(f"In {place}, {sentence} ({index}.{n}).")
    return title, body


def story_html(index: int, head: str = "", tail: str = "") -> bytes:
    """A news page for story `index`, with optional page chrome around the article."""
    title, body = story(index)
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>{head}<article><h1>{title}</h1>{paragraphs}</article>{tail}</body></html>"
    ).encode()
