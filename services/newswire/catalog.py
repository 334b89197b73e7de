"""The schemas of config/feeds.yaml and config/regions.yaml, and their conversion to models."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from newswire.models import FeedSpec, Gazetteer, OutletSpec, PlaceSpec, WatchlistSpec
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
    feeds: tuple[FeedModel, ...] = Field(min_length=1)
    cleaning: CleaningModel = CleaningModel()


class FeedList(_Strict):
    """config/feeds.yaml."""

    outlets: tuple[OutletModel, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FeedList:
        _require_unique([o.id for o in self.outlets], "outlet id")
        _require_unique([f.url for o in self.outlets for f in o.feeds], "feed url")
        return self


class PlaceModel(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    parent: str | None = None
    iso_code: str | None = None
    aliases: tuple[str, ...] = ()


class WatchlistModel(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    members: tuple[str, ...] = Field(min_length=1)


class RegionList(_Strict):
    """config/regions.yaml."""

    places: tuple[PlaceModel, ...] = ()
    watchlists: tuple[WatchlistModel, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> RegionList:
        ids = [p.id for p in self.places]
        _require_unique(ids + [w.id for w in self.watchlists], "place or watchlist id")
        known = set(ids)
        for place in self.places:
            if place.parent is not None and place.parent not in known:
                raise ValueError(f"place {place.id!r}: parent {place.parent!r} is not a place")
        for watchlist in self.watchlists:
            unknown = sorted(set(watchlist.members) - known)
            if unknown:
                raise ValueError(f"watchlist {watchlist.id!r}: unknown members {unknown}")
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


def to_gazetteer(region_list: RegionList) -> Gazetteer:
    """Turn validated regions.yaml into the Gazetteer model."""
    places = tuple(
        PlaceSpec(
            id=p.id,
            name=p.name,
            kind=p.kind,
            country=p.country,
            parent=p.parent,
            names=(p.name, *p.aliases),
            iso_code=p.iso_code,
        )
        for p in region_list.places
    )
    watchlists = tuple(
        WatchlistSpec(id=w.id, name=w.name, members=w.members) for w in region_list.watchlists
    )
    return Gazetteer(places=places, watchlists=watchlists)
