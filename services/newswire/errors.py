"""The closed set of failure reasons and newswire's error tree.

Every expected failure (a dead feed, a 404, a parse error, a broker outage) is named by one
`Reason`; logs, metrics and feed state use the same names.

    NewswireError
    ├── ConfigError        bad config file or value (the CLI exits 2)
    ├── BrokerError        the Kafka broker cannot be reached or set up
    ├── StateDirInUse      another `newswire run` holds the state directory
    └── PortUnavailable    the ops endpoint cannot listen where configured

An expected failure of one item in one stage is not raised: it travels as a `models.Failure`
value carrying its Reason.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an item failed; a closed set so metric labels stay bounded."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    DNS = "dns"
    TLS = "tls"
    PROTOCOL = "protocol"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_URL = "invalid_url"
    BLOCKED_ADDRESS = "blocked_address"
    HTTP_401 = "http_401"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    HTTP_410 = "http_410"
    HTTP_429 = "http_429"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    HTTP_OTHER = "http_other"
    HOST_PAUSED = "host_paused"
    NOT_A_FEED = "not_a_feed"
    PARSE_ERROR = "parse_error"
    NOT_HTML = "not_html"
    TOO_LITTLE_TEXT = "too_little_text"
    EXTRACT_ERROR = "extract_error"
    NOT_AN_ARTICLE = "not_an_article"
    NO_LINK = "no_link"  # the entry has no http(s) link: its text is the feed's
    PUBLISH_TIMEOUT = "publish_timeout"
    MESSAGE_TOO_LARGE = "message_too_large"
    PUBLISH_ERROR = "publish_error"
    DEDUP_UNAVAILABLE = "dedup_unavailable"
    STATE_UNAVAILABLE = "state_unavailable"  # shared feed state (cluster.mode: group)
    OVER_BUDGET = "over_budget"  # a worker task over its time or memory limit
    INTERNAL_ERROR = "internal_error"  # an unexpected error, contained to its feed or entry


_NAMED_STATUSES = {
    401: Reason.HTTP_401,
    403: Reason.HTTP_403,
    404: Reason.HTTP_404,
    410: Reason.HTTP_410,
    429: Reason.HTTP_429,
}


def reason_for_status(status: int) -> Reason:
    """Map a non-success HTTP status to its reason."""
    if status in _NAMED_STATUSES:
        return _NAMED_STATUSES[status]
    if 400 <= status < 500:
        return Reason.HTTP_4XX
    if 500 <= status < 600:
        return Reason.HTTP_5XX
    return Reason.HTTP_OTHER


class NewswireError(Exception):
    """Base of every error newswire raises on purpose."""


class ConfigError(NewswireError):
    """A config file or override is missing, unreadable or invalid."""


class BrokerError(NewswireError):
    """The Kafka broker cannot be reached, started or prepared."""


class StateDirInUse(NewswireError):
    """Another `newswire run` holds the state directory's run lock."""


class PortUnavailable(NewswireError):
    """The ops endpoint (metrics.host:metrics.port) cannot listen: in use, or not allowed."""
