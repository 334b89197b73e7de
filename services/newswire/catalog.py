"""The schemas of config/feeds.yaml and config/regions.yaml, and their conversion to models."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from newswire.models import FeedSpec, OutletSpec
from newswire.settings import PollSettings, Seconds
from newswire.urls import is_http_url

_SLUG = r"^[a-z0-9][a-z0-9._-]*$"


def _http_url(value: str) -> str:
    if not is_http_url(value):
        raise ValueError(f"{value!r} is not an http(s) URL with a host (and a valid port)")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Pattern = Annotated[str, AfterValidator(_regex)]
Slug = Annotated[str, Field(pattern=_SLUG, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeedModel(_Strict):
    url: HttpUrl
    id: Slug | None = None
    interval: Seconds | None = None
    min_interval: Seconds | None = None
    max_interval: Seconds | None = None
    ignore_validators: bool = False


class CleaningModel(_Strict):
    datelines: tuple[Pattern, ...] = ()
    trailers: tuple[Pattern, ...] = ()


class OutletModel(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    homepage: HttpUrl | None = None
    language: str | None = None
    # the outlet's own country (ISO 3166-1 alpha-2) and, for a local outlet, its state or
    # province (ISO 3166-2): the tagger's prior for shared names
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    area: str | None = Field(default=None, pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
    feeds: tuple[FeedModel, ...] = Field(min_length=1)
    cleaning: CleaningModel = CleaningModel()


class FeedList(_Strict):
    """config/feeds.yaml."""

    outlets: tuple[OutletModel, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FeedList:
        outlet_ids = [o.id for o in self.outlets]
        found = duplicates(outlet_ids, [f.url for o in self.outlets for f in o.feeds])
        if found:
            raise ValueError(found)
        return self


def duplicates(outlet_ids: Sequence[object], feed_urls: Sequence[object]) -> str | None:
    """Every repeated outlet id and feed url, in one message; None when there is none."""
    repeated = [
        f"duplicate {what} {value!r}"
        for what, values in (("outlet id", outlet_ids), ("feed url", feed_urls))
        for value, count in Counter(values).items()
        if count > 1
    ]
    return "; ".join(repeated) or None


def raw_duplicates(raw: dict[str, Any]) -> str | None:
    """`duplicates` read from feeds.yaml as written, so they are reported with every other
    error at once (the model finds them only once all else is valid)."""
    outlets = [o for o in raw.get("outlets") or [] if isinstance(o, dict)]
    feeds = [f for o in outlets for f in o.get("feeds") or [] if isinstance(f, dict)]
    return duplicates([o.get("id") for o in outlets], [f.get("url") for f in feeds])


class PlaceModel(_Strict):
    """A curated place: new (name and kind required), or merged into the packaged GeoNames
    entry with the same geonames_id, iso_code, country (for kind country) or id."""

    id: Slug
    name: str | None = Field(default=None, min_length=1)
    kind: str | None = Field(default=None, min_length=1)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    countries: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] = ()
    parent: str | None = None
    iso_code: str | None = None
    geonames_id: int | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    aliases: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()  # "Syrian", "السوري": names of the people, not the place
    exclude_names: tuple[str, ...] = ()
    context: tuple[str, ...] = ()


class AreaModel(_Strict):
    """A point (`at`) or a line (`line`, e.g. a border) and a distance from it."""

    at: tuple[float, float] | None = None
    line: tuple[tuple[float, float], ...] | None = Field(default=None, min_length=2)
    km: float = Field(gt=0)

    @model_validator(mode="after")
    def _one_shape(self) -> AreaModel:
        if (self.at is None) == (self.line is None):
            raise ValueError("give either `at: [lat, lon]` or `line: [[lat, lon], ...]`")
        for lat, lon in self.points():
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"[{lat}, {lon}] is not a [lat, lon] point")
        return self

    def points(self) -> tuple[tuple[float, float], ...]:
        return (self.at,) if self.at is not None else tuple(self.line or ())


class WatchlistModel(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    members: tuple[str, ...] = ()
    areas: tuple[AreaModel, ...] = ()
    min_score: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _not_empty(self) -> WatchlistModel:
        if not self.members and not self.areas:
            raise ValueError(f"watchlist {self.id!r}: needs members or areas")
        return self


class RegionList(_Strict):
    """config/regions.yaml."""

    places: tuple[PlaceModel, ...] = ()
    watchlists: tuple[WatchlistModel, ...] = ()
    stopnames: tuple[str, ...] = ()
    person_names: tuple[str, ...] = ()
    non_places: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> RegionList:
        _require_unique([p.id for p in self.places] + [w.id for w in self.watchlists],
                        "place or watchlist id")  # fmt: skip
        return self


def _require_unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


def feed_id(outlet_id: str, url: str) -> str:
    """A readable, stable feed id from the outlet and the feed URL's path."""
    parts = urlsplit(url)
    tail = re.sub(r"\.(aspx|xml|rss|php)$", "", parts.path.strip("/").lower())
    slug = re.sub(r"[^a-z0-9]+", "-", f"{tail} {parts.query}".lower()).strip("-")[-40:]
    return f"{outlet_id}.{slug.strip('-') or 'root'}"


def to_feed_specs(feed_list: FeedList, poll: PollSettings) -> tuple[FeedSpec, ...]:
    """Turn validated feeds.yaml into FeedSpecs; feed ids must come out unique and every
    feed's intervals ordered (min <= interval <= max, after the poll.* defaults)."""
    specs = []
    for outlet in feed_list.outlets:
        spec = OutletSpec(
            id=outlet.id,
            name=outlet.name,
            homepage=outlet.homepage,
            language=outlet.language,
            country=outlet.country or (outlet.area[:2] if outlet.area else None),
            area=outlet.area,
            dateline_patterns=outlet.cleaning.datelines,
            trailer_patterns=outlet.cleaning.trailers,
        )
        for feed in outlet.feeds:
            specs.append(_feed_spec(feed, spec, poll))
    _require_unique([s.id for s in specs], "feed id (set `id:` on one of the feeds)")
    return tuple(specs)


def _feed_spec(feed: FeedModel, outlet: OutletSpec, poll: PollSettings) -> FeedSpec:
    ident = feed.id or feed_id(outlet.id, feed.url)
    low = feed.min_interval or poll.min_interval
    high = feed.max_interval or poll.max_interval
    start = feed.interval or min(max(poll.default_interval, low), high)
    if not low <= start <= high:
        raise ValueError(f"feed {ident!r}: needs min_interval <= interval <= max_interval")
    return FeedSpec(
        id=ident,
        url=feed.url,
        outlet=outlet,
        interval_s=start,
        min_interval_s=low,
        max_interval_s=high,
        ignore_validators=feed.ignore_validators,
    )
