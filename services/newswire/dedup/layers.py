"""Dedup stage: decide whether an entry or article was seen before, in layers.

1. identity: canonical URL (also the page's own canonical link and the redirect target) and
   the outlet's GUID;
2. title: the same normalised title from the same outlet within `dedup.title_window`;
3. near-duplicate: a MinHash sketch of the clean text close to one seen within `dedup.window`
   in any outlet (`dedup.near_threshold`, estimated Jaccard similarity);
4. revision: a known entry the feed marks as updated, whose title or text changed materially.

Keys are claimed while an article is in flight, and recorded only when the article is
accepted into the outbox (in the same transaction, or through its journal for a shared
backend), so a crash never loses an article, and a duplicate is never recorded before its
original. The memory itself is a `dedup_store.DedupStore`: the embedded SQLite one, or Redis
shared by replicas (`dedup_redis`).
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass

from newswire.dedup.store import DedupStore
from newswire.dedup_codec import title_digest
from newswire.models import Article, FeedEntry, Published
from newswire.settings import DedupSettings
from newswire.sketch import band_keys, compact, compact_similarity, words
from newswire.urls import canonical_url, entry_identity, guid_key


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Why an item is a repeat: which layer matched, on which key. `article_id` None: the key
    is claimed by an article in flight (`elsewhere`: by another replica)."""

    layer: str
    key: str
    article_id: str | None
    cluster_id: str | None = None
    elsewhere: bool = False

    @property
    def recorded_link(self) -> str | None:
        """The article recorded under this identity key (a link or GUID, not a title or a
        sketch); None for the other layers and for a key only in flight."""
        return self.article_id if self.layer not in ("title", "near") else None


def entry_keys(entry: FeedEntry) -> tuple[str, ...]:
    """Identity keys known before the page is fetched: canonical link, outlet GUID; for an
    entry with neither, its content hash (feed URL and content)."""
    keys = [f"url:{canonical_url(entry.link)}"] if entry.link else []
    guid = guid_key(entry)
    if guid:
        keys.append(guid)
    return tuple(keys) or (entry_identity(entry),)


def article_keys(article: Article, final_url: str | None) -> tuple[str, ...]:
    """Identity keys known once the page is fetched: its canonical URL and the redirect target."""
    keys = [f"url:{article.url}"]
    if final_url:
        keys.append(f"url:{canonical_url(final_url)}")
    return tuple(dict.fromkeys(keys))


@functools.lru_cache(maxsize=1024)
def title_words(title: str) -> tuple[str, ...]:
    """A title's words as `words` folds them (cached: a check reads them for the title key
    and for the published version's digest)."""
    return tuple(words(title))


def title_key(article: Article, min_words: int) -> str | None:
    """The title layer's key: outlet and normalised title; None for titles too short to tell
    stories apart ("Live updates", "In brief")."""
    folded = title_words(article.title)
    if len(folded) < min_words:
        return None
    return f"title:{article.outlet.id}:{' '.join(folded)}"


MATERIAL_SIMILARITY = 0.9  # below this, a changed text is a revision, not a touch-up


def source_updated(article: Article) -> float | None:
    """The feed's own time for this version of an article (updated, else published)."""
    when = article.updated or article.published
    return when.timestamp() if when else None


def as_published(article: Article) -> Published:
    """What the state store keeps of a published article, to tell its revisions."""
    return Published(
        article.id,
        article.content_hash,
        title_digest(" ".join(title_words(article.title))),
        article.revision,
        source_updated(article),
        compact(article.sketch) if article.sketch is not None else None,
        article.cluster_id,
    )


def indexed_sketch(article: Article) -> tuple[str, bytes] | None:
    """What the near-duplicate index files an article's sketch under: its cluster (an
    original's own id; a near copy's, the story it copies). A copy is indexed too, so a later
    copy that resembles it more than the story itself (two rewrites of one wire story) still
    finds the story, whichever of them came first."""
    if article.sketch is None:
        return None
    return (article.cluster_id or article.id, article.sketch)


def is_material(prior: Published, article: Article) -> bool:
    """True when the title changed, or the text changed beyond a touch-up."""
    if prior.title_digest != title_digest(" ".join(title_words(article.title))):
        return True
    if prior.content_hash == article.content_hash:
        return False
    if prior.sketch is not None and article.sketch is not None:
        return compact_similarity(prior.sketch, compact(article.sketch)) < MATERIAL_SIMILARITY
    return True


def layer_of(key: str) -> str:
    """The dedup layer a key belongs to (the text before its first colon)."""
    return key.partition(":")[0]


class Deduplicator:
    """Claims keys for in-flight articles and asks the backend what was seen."""

    def __init__(self, store: DedupStore, settings: DedupSettings | None = None) -> None:
        self._store = store
        self._settings = settings or DedupSettings()

    @property
    def shared(self) -> bool:
        """True when records go through the journal to a shared backend."""
        return self._store.shared

    def claim(self, keys: tuple[str, ...]) -> Duplicate | None:
        """Claim `keys` for a new article, or say which earlier article holds one of them."""
        found = self._store.claim_new(keys)
        if found is None:
            return None
        key, article_id, elsewhere = found
        return Duplicate(layer_of(key), key, article_id, elsewhere=elsewhere)

    def release(self, keys: tuple[str, ...]) -> None:
        """Give up a claim (the article was delivered, or it was not and will come again)."""
        self._store.release(keys)

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold while checking an article's title and sketch and accepting it."""
        return self._store.exclusive()

    def flush(self) -> int:
        """Copy journalled records to a shared backend (after an accept, and periodically)."""
        return self._store.flush()

    def revisable(self, duplicate: Duplicate, entry: FeedEntry) -> Published | None:
        """The published version of a known entry, when the feed says the entry was updated
        after that version: it may be a revision, worth fetching again."""
        if duplicate.article_id is None or entry.updated is None:
            return None
        prior = self._store.published(duplicate.article_id)
        if prior is None:
            return None
        if prior.source_updated is not None and entry.updated.timestamp() <= prior.source_updated:
            return None
        return prior

    def hold(self, keys: tuple[str, ...]) -> bool:
        """Claim known keys for a revision check; False if another one is in flight."""
        return self._store.claim(keys) is None

    def title_repeat(self, key: str | None) -> Duplicate | None:
        """The earlier article with the same outlet and title within the title window."""
        if key is None:
            return None
        since = time.time() - self._settings.title_window
        found = self._store.seen_since(key, since)
        return Duplicate("title", key, found, found) if found else None

    def near(self, article: Article) -> Duplicate | None:
        """The closest article within the window whose sketch is near this one's."""
        if article.sketch is None:
            return None
        since = time.time() - self._settings.window
        candidates = self._store.sketch_candidates(band_keys(article.sketch), since)
        return self._closest(article, candidates)

    def match(
        self, article: Article, title: str | None, keys: tuple[str, ...] = ()
    ) -> Duplicate | None:
        """The article's earlier copy, asked of the store at once: one of its identity `keys`
        recorded since its claim (a claim the store answered from its own index: another
        replica took the same link meanwhile), else `title_repeat`, else `near`."""
        now = time.time()
        bands = band_keys(article.sketch) if article.sketch is not None else ()
        known, seen, candidates = self._store.recent(
            title, now - self._settings.title_window, bands, now - self._settings.window, keys
        )
        if known is not None:
            return Duplicate(layer_of(known[0]), known[0], known[1])
        if seen is not None and title is not None:
            return Duplicate("title", title, seen, seen)
        return self._closest(article, candidates)

    def _closest(
        self, article: Article, candidates: list[tuple[str, str, bytes]]
    ) -> Duplicate | None:
        """The most similar candidate at or over the threshold (never the article itself)."""
        if article.sketch is None:
            return None
        mine = compact(article.sketch)
        best: tuple[float, str, str] | None = None
        for other, cluster, sig in candidates:
            if other == article.id:
                continue
            score = compact_similarity(mine, sig)
            if score >= self._settings.near_threshold and (best is None or score > best[0]):
                best = (score, other, cluster)
        if best is None:
            return None
        return Duplicate("near", f"near:{best[0]:.2f}", best[1], best[2])
