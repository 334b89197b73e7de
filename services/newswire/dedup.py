"""Dedup stage: decide whether an entry or article was seen before, by URL and GUID.

Keys are claimed while an article is in flight, and recorded in the state store only once it
is delivered, so a crash never loses an article (at worst it is republished with the same id).
"""

from __future__ import annotations

from dataclasses import dataclass

from newswire.models import Article, FeedEntry
from newswire.state import StateStore
from newswire.urls import canonical_url


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Why an item is a repeat: which layer matched, on which key."""

    layer: str
    key: str
    article_id: str | None


def entry_keys(entry: FeedEntry) -> tuple[str, ...]:
    """Identity keys known before the page is fetched: canonical link, outlet GUID."""
    keys = [f"url:{canonical_url(entry.link)}"]
    if entry.guid:
        keys.append(f"guid:{entry.outlet_id}:{entry.guid.strip()}")
    return tuple(keys)


def article_keys(article: Article, final_url: str | None) -> tuple[str, ...]:
    """Identity keys known once the page is fetched: its canonical URL and the redirect target."""
    keys = [f"url:{article.url}"]
    if final_url:
        keys.append(f"url:{canonical_url(final_url)}")
    return tuple(dict.fromkeys(keys))


def layer_of(key: str) -> str:
    """The dedup layer a key belongs to (the text before its first colon)."""
    return key.partition(":")[0]


class Deduplicator:
    """Claims keys for in-flight articles and records them once delivered."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._in_flight: set[str] = set()

    def claim(self, keys: tuple[str, ...]) -> Duplicate | None:
        """Claim `keys` for a new article, or say which earlier article holds one of them."""
        for key in keys:
            if key in self._in_flight:
                return Duplicate(layer_of(key), key, None)
        found = self._store.known(keys)
        if found is not None:
            return Duplicate(layer_of(found[0]), found[0], found[1])
        self._in_flight.update(keys)
        return None

    def release(self, keys: tuple[str, ...]) -> None:
        """Give up a claim (the article was not delivered; it will come again)."""
        self._in_flight.difference_update(keys)

    def commit(self, article_id: str, keys: tuple[str, ...]) -> None:
        """Record delivered keys for good and drop the claim."""
        self._store.remember(article_id, keys)
        self.release(keys)

    def alias(self, article_id: str, keys: tuple[str, ...]) -> None:
        """Remember more keys of an article already delivered."""
        self._store.remember(article_id, keys)
