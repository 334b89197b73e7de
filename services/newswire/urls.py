"""Canonical URLs and the stable ids derived from them."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from newswire.models import FeedEntry

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "smid",
        "sr_share",
        "spm",
        "share",
        "ito",
        "__twitter_impression",
        "at_medium",
        "at_campaign",
        "rss",
        "feed",
        "from",
        "ncid",
        "soc_src",
        "soc_trk",
        "xtor",
        "s_cid",
        "src",
    }
)
TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "matomo_", "hsa_", "oly_", "vero_", "__s")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the click, never select the content."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host and a valid port: the only links newswire follows."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on an invalid port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def join_url(base: str, link: str) -> str:
    """`link` resolved against `base`; "" when either cannot be parsed (an unbalanced "["
    in a feed's link makes urljoin raise)."""
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


def canonical_url(url: str) -> str:
    """Normalise a URL so that every spelling of one page gives one string.

    Scheme and host lower-cased, default port, fragment and tracking parameters dropped,
    remaining parameters sorted, a trailing slash on the path dropped, percent-encoding
    normalised. Not a URL newswire fetches: only an identity.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%") or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = sorted((k, v) for k, v in query if not is_tracking_param(k))
    return urlunsplit((scheme, host, path, urlencode(kept), ""))


def article_id(canonical: str) -> str:
    """The stable article id: 32 hex digits of the canonical URL's SHA-256."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def guid_key(entry: FeedEntry) -> str | None:
    """The entry's GUID within its outlet (`guid:<outlet>:<guid>`), if it has one: a dedup key,
    and the identity of an entry without a link."""
    return f"guid:{entry.outlet_id}:{entry.guid.strip()}" if entry.guid else None


def entry_identity(entry: FeedEntry) -> str:
    """What identifies a feed entry's article before its page is read: its canonical link;
    for an entry without one, its GUID within its outlet, else its content hash (the feed's
    URL and the entry's content, `FeedEntry.content_id`)."""
    if entry.link:
        return canonical_url(entry.link)
    return guid_key(entry) or f"entry:{entry.outlet_id}:{entry.content_id}"


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on one host, ignoring a leading www."""
    host_a = (urlsplit(a).hostname or "").removeprefix("www.")
    host_b = (urlsplit(b).hostname or "").removeprefix("www.")
    return bool(host_a) and host_a == host_b
