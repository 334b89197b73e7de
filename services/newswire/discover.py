"""`newswire discover URL`: the feeds a homepage advertises, each checked by fetching and
parsing it, as a ready feeds.yaml snippet.

Candidates come from trafilatura's feed finder (`<link rel="alternate">`, else feed-like
`<a href>`); fetching and parsing go through newswire's own HttpFetcher and parser.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
import yaml
from lxml.etree import ParserError

from newswire.feeds.poll import parse_feed
from newswire.http.client import HttpFetcher
from newswire.http.fetch import decode_html, fetch_feed
from newswire.models import Failure, FeedDocument, FeedSpec, OutletSpec, ParsedFeed, Validators

STAGE = "discover"
MAX_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """A feed URL the homepage advertises, and what polling it gave."""

    url: str
    entries: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Discovery:
    """What `discover` found on a homepage."""

    homepage: str
    name: str
    language: str | None
    feeds: tuple[FoundFeed, ...]


async def discover(fetcher: HttpFetcher, url: str) -> Discovery | Failure:
    """Fetch the homepage, list the feeds it advertises, and poll each once."""
    response = await fetcher.get_ok(url, stage=STAGE, headers={"Accept": "text/html"})
    if isinstance(response, Failure):
        return response
    html = decode_html(response.body, response.content_type)
    landed = response.final_url
    parts = urlsplit(landed)
    base = f"{parts.scheme}://{parts.netloc}"
    from trafilatura.feeds import FeedParameters, determine_feed  # 0.3 s: only this command

    candidates = determine_feed(html, FeedParameters(base, parts.hostname or "", landed))
    found = await asyncio.gather(*(_check(fetcher, c) for c in candidates[:MAX_CANDIDATES]))
    name, language = _site_name(html, landed)
    return Discovery(landed, name, language, tuple(found))


async def _check(fetcher: HttpFetcher, url: str) -> FoundFeed:
    probe = FeedSpec("discover", url, OutletSpec("discover", "discover"), 0)
    document = await fetch_feed(fetcher, probe, Validators())  # no validators: never a 304
    if not isinstance(document, FeedDocument):
        reason = document.reason.value if isinstance(document, Failure) else "not_modified"
        return FoundFeed(url, 0, reason)
    parsed = await asyncio.to_thread(parse_feed, document)
    if isinstance(parsed, Failure):
        return FoundFeed(url, 0, parsed.reason.value)
    return FoundFeed(document.final_url, len(parsed.entries), _malformed(parsed))


def _malformed(parsed: ParsedFeed) -> str | None:
    return "malformed" if parsed.malformed else None


def _site_name(html: str, url: str) -> tuple[str, str | None]:
    host = (urlsplit(url).hostname or "site").removeprefix("www.")
    try:
        root = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return host, None
    names = root.xpath('//meta[@property="og:site_name"]/@content') + root.xpath("//title/text()")
    name = next((" ".join(str(n).split()) for n in names if str(n).strip()), host)
    language = root.get("lang")
    return name, language.split("-")[0].lower() if language else None


def feeds_yaml(discovery: Discovery) -> str:
    """A feeds.yaml outlet entry for the feeds that parsed, ready to paste under `outlets:`."""
    host = (urlsplit(discovery.homepage).hostname or "site").removeprefix("www.")
    outlet: dict[str, object] = {
        "id": re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "site",
        "name": discovery.name,
        "homepage": discovery.homepage,
    }
    if discovery.language:
        outlet["language"] = discovery.language
    outlet["feeds"] = [{"url": f.url} for f in discovery.feeds if f.problem is None]
    return yaml.safe_dump([outlet], allow_unicode=True, sort_keys=False)
