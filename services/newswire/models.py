"""The frozen dataclasses that flow between stages; library objects never cross a stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from newswire.errors import Reason


@dataclass(frozen=True, slots=True)
class OutletSpec:
    """A news outlet from feeds.yaml, with its own text-cleaning rules."""

    id: str
    name: str
    homepage: str | None = None
    language: str | None = None
    dateline_patterns: tuple[str, ...] = ()
    country: str | None = None  # ISO code: the tagger's prior for names several places share
    area: str | None = None  # ISO 3166-2 code of a local outlet's state or province: the same
    trailer_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed of an outlet."""

    id: str
    url: str
    outlet: OutletSpec
    interval_s: float
    min_interval_s: float = 0.0
    max_interval_s: float = float("inf")
    ignore_validators: bool = False

    @property
    def host(self) -> str:
        """The feed URL's host name (lower case)."""
        return (urlsplit(self.url).hostname or "").lower()


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators remembered between polls of a feed."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the state store remembers of a feed between polls (and across restarts)."""

    feed_url: str
    feed_id: str
    interval_s: float
    next_poll: float = 0.0  # unix time; 0 means "due now"
    consecutive_errors: int = 0
    last_success: float | None = None
    last_error: float | None = None
    last_reason: str | None = None
    items_seen: int = 0
    validators: Validators = Validators()
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """An enclosure, media:content or media:thumbnail of a feed entry."""

    url: str
    type: str | None = None
    medium: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a parsed feed, in newswire's terms. `link` is None for an entry without
    an http(s) link: its text is the feed's, its identity the GUID, else `content_id` (a hash
    of the feed's URL and the entry's content). `title` is plain text; `summary` and
    `content_html` are HTML (a plain-text value escaped)."""

    feed_id: str
    outlet_id: str
    link: str | None
    title: str
    guid: str | None = None
    summary: str | None = None
    content_html: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    image: str | None = None
    language: str | None = None
    extras: tuple[tuple[str, str], ...] = ()
    media: tuple[Media, ...] = ()
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    """A feed item whose conversion to a FeedEntry failed unexpectedly (a bug met by a
    feed's data, contained with `errors.contain`): the item as JSON (capped), the error, and
    a stable key (the item's hash) so it is dead-lettered once, not at every poll."""

    raw: str
    error: str
    key: str


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What the parser made of a feed body. `update_hint_s` is how often the feed says it
    changes (RSS <ttl>, sy:updatePeriod/sy:updateFrequency), in seconds."""

    entries: tuple[FeedEntry, ...]
    malformed: str | None = None
    skipped: int = 0
    update_hint_s: float | None = None
    rejected: tuple[RejectedEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A feed body as fetched, before parsing."""

    feed: FeedSpec
    body: bytes
    final_url: str
    content_type: str
    validators: Validators
    fresh_for: float | None = None  # seconds, from Cache-Control max-age or Expires
    content_location: str | None = None  # the Content-Location header, as sent
    content_language: str | None = None  # the Content-Language header


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing new since the last poll."""

    feed: FeedSpec
    fresh_for: float | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """An expected failure of one item in one stage."""

    stage: str
    reason: Reason
    detail: str
    url: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait (Retry-After)


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """An article page as fetched."""

    url: str
    final_url: str
    html: str
    fetched_at: datetime


class ExtractionMethod(StrEnum):
    """Where an article's text came from, best first."""

    PAGE = "page"
    FEED_CONTENT = "feed_content"
    FEED_SUMMARY = "feed_summary"
    TITLE_ONLY = "title_only"


class PageType(StrEnum):
    """What a fetched page is; only an article's text is taken as an article."""

    ARTICLE = "article"
    INDEX = "index"  # a list of teasers (a section front)
    LIVE_BLOG = "live_blog"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class PageText:
    """Clean text and metadata extracted from a page or from the feed entry. `mode` is the
    trafilatura pass that gave the text (precision or recall); `quality` a 0-1 figure of how
    much of an article the text looks like; `sources` where each metadata field came from
    (field, "feed" | "page" | "detected" | "outlet")."""

    text: str
    method: ExtractionMethod
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    site_name: str | None = None
    description: str | None = None
    fallback_reason: Reason | None = None
    page_type: PageType | None = None
    mode: str | None = None
    quality: float = 0.0
    updated: datetime | None = None
    sources: tuple[tuple[str, str], ...] = ()
    # the text's edges before the outlet's learned boilerplate was removed: ("first" | "last"
    # | "prefix", line), for the pipeline to learn from
    edges: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LearnedBoilerplate:
    """Lines an outlet's articles keep starting or ending with, and prefixes of their first
    paragraph ("Desk Wire – "), learned from its recent articles (the state store counts
    them): removed from its next articles."""

    first: frozenset[str] = frozenset()
    last: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.first or self.last or self.prefixes)


@dataclass(frozen=True, slots=True)
class Span:
    """Where a name was found: in the title or the text, as character offsets [start, end)."""

    field: str  # "title" or "text"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RegionTag:
    """A place or region an article mentions, with its hierarchy (nearest parent first)."""

    id: str
    name: str
    kind: str
    country: str | None
    mentions: int
    parents: tuple[str, ...] = ()
    geonames_id: int | None = None
    admin1: str | None = None  # ISO 3166-2 code of its governorate, province or state
    lat: float | None = None
    lon: float | None = None
    score: float = 0.0  # share of the article's weighted place mentions (title 3, lead 2, body 1)
    spans: tuple[Span, ...] = ()
    countries: tuple[str, ...] = ()  # a region across borders: every country it touches
    demonym_only: bool = False  # every mention a demonym ("Syrian"): the people, not the place

    def ids(self) -> frozenset[str]:
        """The ids this region answers to: its own, its ancestors', its ISO 3166-2 and country
        codes."""
        codes = (self.country, self.admin1)
        return frozenset((self.id, *self.parents, *self.countries, *(c for c in codes if c)))


@dataclass(frozen=True, slots=True)
class Focus:
    """The place an article is mostly about: its country and, below it, its top place."""

    country: str
    place: str  # a place id (the country's own id when nothing below it is mentioned)
    name: str
    admin1: str | None = None


@dataclass(frozen=True, slots=True)
class Tagging:
    """The regions an article is about, and the watchlists it falls in."""

    regions: tuple[RegionTag, ...] = ()
    watchlists: tuple[str, ...] = ()
    focus: Focus | None = None

    @property
    def relevant(self) -> bool:
        """On at least one watchlist."""
        return bool(self.watchlists)

    def region_ids(self) -> frozenset[str]:
        """Every region id the article touches, ancestors and watchlists included."""
        return frozenset(self.watchlists).union(*(region.ids() for region in self.regions))

    def support(self, country: str) -> int:
        """How much the article says it is about `country` (an ISO code): 2 when it names
        the country itself (by a demonym only: 2 when said more than once, 1 for a single
        "a Palestinian doctor" in a report from Libya), plus 1 for every other place of it
        that it names. One town alone (a homonym, a name inside a longer name, a given name
        read as a place) is weak evidence; the country named, or two of its places, is not."""
        named = [r for r in self.regions if r.kind == "country" and r.country == country]
        strong = any(not r.demonym_only or r.mentions > 1 for r in named)
        by_name = 2 if strong else 1 if named else 0
        places = sum(
            1
            for r in self.regions
            if r.kind != "country" and (r.country == country or country in r.countries)
        )
        return by_name + places


@dataclass(frozen=True, slots=True)
class Article:
    """A finished article, ready to publish."""

    id: str
    url: str
    source_url: str
    outlet: OutletSpec
    feed_url: str
    title: str
    text: str
    extraction: PageText
    tagging: Tagging
    content_hash: str
    fetched_at: datetime
    guid: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None
    summary: str | None = None
    image: str | None = None
    extras: tuple[tuple[str, str], ...] = field(default=())
    media: tuple[Media, ...] = ()
    trimmed_chars: int = 0  # cut from the end of text to fit the broker's size limit
    sketch: bytes | None = None  # MinHash signature of the text (newswire.sketch)
    cluster_id: str | None = None  # the id of the first article of its story
    duplicate_of: str | None = None  # set on a near-duplicate or title repeat
    revision: int = 0  # 0 for the first version; n for the n-th material change
    previous_hash: str | None = None  # content_hash of the version this one revises


@dataclass(frozen=True, slots=True)
class PlaceSpec:
    """A gazetteer entry: a country, governorate, town or named region, with its names."""

    id: str
    name: str
    kind: str
    country: str | None = None
    parent: str | None = None
    names: tuple[str, ...] = ()
    iso_code: str | None = None
    geonames_id: int | None = None
    admin1: str | None = None
    lat: float | None = None
    lon: float | None = None
    population: int = 0
    curated: bool = False  # named in config/regions.yaml (trusted without context)
    countries: tuple[str, ...] = ()  # a region across borders: every country it touches
    context: tuple[str, ...] = ()  # words that, in the same article, point to this place
    demonyms: tuple[str, ...] = ()  # of a country: "Syrian" (matched too, also in `names`)
    # of a curated place, the names config/regions.yaml gives it and its GeoNames name (the
    # rest of `names` are GeoNames alternates: "Philadelphia", Amman's Greek name)
    curated_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Area:
    """Within `km` of a point, or of a line (a border) drawn through points (lat, lon)."""

    points: tuple[tuple[float, float], ...]
    km: float


@dataclass(frozen=True, slots=True)
class WatchlistSpec:
    """A named set of places and areas; an article about any of them is on the watchlist."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    areas: tuple[Area, ...] = ()
    min_score: float = 0.0  # a place counts only with at least this score


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Every place and watchlist newswire knows: the packaged GeoNames base merged with
    config/regions.yaml."""

    places: tuple[PlaceSpec, ...] = ()
    watchlists: tuple[WatchlistSpec, ...] = ()
    stopnames: tuple[str, ...] = ()  # names never matched on their own
    person_names: tuple[str, ...] = ()  # place names that are also people's names
    non_places: tuple[str, ...] = ()  # names holding a place's name that name something else
    given_names: tuple[str, ...] = ()  # common given names: a place right after one is a person


@dataclass(frozen=True, slots=True)
class Published:
    """What the state store remembers of a published article, to tell a revision."""

    article_id: str
    content_hash: str
    title_digest: str  # of the normalised title (dedup_codec.title_digest)
    revision: int
    source_updated: float | None  # the feed's update time of the version published
    sketch: bytes | None = None  # the compact signature (sketch.compact)
    cluster_id: str | None = None


@dataclass(frozen=True, slots=True)
class DedupRecord:
    """What the dedup stage records of an accepted article: its keys, its sketch (cluster id,
    signature) when it starts a cluster, and its published version."""

    article_id: str
    keys: tuple[str, ...] = ()
    sketch: tuple[str, bytes] | None = None
    published: Published | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One Kafka record of an accepted article, held durably until the broker acknowledges
    it. `seq` (the outbox order) is 0 before the record is stored."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    article_id: str
    url: str
    published_at: float | None = None
    seq: int = 0
    attempts: int = 0
