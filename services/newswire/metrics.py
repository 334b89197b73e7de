"""Every Prometheus metric newswire exports, under one namespace.

Label values are bounded: feed and outlet ids come from config, reasons from errors.Reason,
topics from config, layers and methods from closed sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NS = "newswire"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

POLLS = Counter(
    "polls",
    "Feed polls by feed and outcome (ok, not_modified, unchanged or a failure reason)",
    ["feed", "outlet", "outcome"],
    namespace=NS,
)
POLL_SECONDS = Histogram(
    "poll_duration_seconds",
    "Time to fetch and parse a feed",
    ["feed"],
    namespace=NS,
    buckets=SECONDS,
)
FEED_ENTRIES = Counter(
    "feed_entries",
    "Entries found in feeds",
    ["outlet"],
    namespace=NS,
)
ENTRIES_SKIPPED = Counter(
    "feed_entries_skipped",
    "Feed entries skipped for having no usable http(s) link",
    ["outlet"],
    namespace=NS,
)
FEEDS_MALFORMED = Counter(
    "feeds_malformed",
    "Polls of feeds that parsed with errors (entries kept)",
    ["feed"],
    namespace=NS,
)
FEED_LAST_SUCCESS = Gauge(
    "feed_last_success_timestamp_seconds",
    "Unix time of the feed's last successful poll",
    ["feed"],
    namespace=NS,
)
FEED_CONSECUTIVE_ERRORS = Gauge(
    "feed_consecutive_errors",
    "Failed polls of the feed since its last success",
    ["feed"],
    namespace=NS,
)
FEED_INTERVAL = Gauge(
    "feed_interval_seconds",
    "The feed's current poll interval (adapted to how often it posts)",
    ["feed"],
    namespace=NS,
)
FEED_NEXT_POLL = Gauge(
    "feed_next_poll_timestamp_seconds",
    "Unix time of the feed's next scheduled poll (backoff included)",
    ["feed"],
    namespace=NS,
)
HOST_IN_FLIGHT = Gauge(
    "host_requests_in_flight",
    "HTTP requests in flight per host (feed-list hosts; others as 'other')",
    ["host"],
    namespace=NS,
)
HOST_PAUSES = Counter(
    "host_pauses",
    "Times a host was paused after answering 429 or 503",
    ["host"],
    namespace=NS,
)
PAGE_FETCHES = Counter(
    "page_fetches",
    "Article page fetches by outcome (ok or a failure reason)",
    ["outlet", "outcome"],
    namespace=NS,
)
FETCH_SECONDS = Histogram(
    "page_fetch_duration_seconds",
    "Time to fetch an article page",
    namespace=NS,
    buckets=SECONDS,
)
EXTRACTIONS = Counter(
    "extractions",
    "Articles by where their text came from",
    ["outlet", "method"],
    namespace=NS,
)
EXTRACT_SECONDS = Histogram(
    "extract_duration_seconds",
    "CPU stage time (extract and tag) per article",
    namespace=NS,
    buckets=SECONDS,
)
DUPLICATES = Counter(
    "duplicates",
    "Items dropped as repeats, by dedup layer",
    ["layer"],
    namespace=NS,
)
REVISIONS = Counter(
    "revisions",
    "Articles republished as a revision (same id, materially changed title or text)",
    namespace=NS,
)
PUBLISHED = Counter(
    "articles_published",
    "Records acknowledged by the broker, by topic (one per article and topic)",
    ["topic"],
    namespace=NS,
)
DEDUP_SECONDS = Histogram(
    "dedup_check_duration_seconds",
    "Time to check an extracted article against the title and near-duplicate layers and "
    "record it (the dedup store's exclusive hold, the outbox accept included)",
    namespace=NS,
    buckets=(0.0005, 0.001, 0.0025, *SECONDS),
)
PUBLISH_SECONDS = Histogram(
    "publish_duration_seconds",
    "Time to send a batch from the outbox until every record is acknowledged",
    namespace=NS,
    buckets=SECONDS,
)
ERRORS = Counter(
    "errors",
    "Expected failures by stage and reason",
    ["stage", "reason"],
    namespace=NS,
)
REGIONS = Counter(
    "regions_tagged",
    "Articles tagged per watchlist",
    ["watchlist"],
    namespace=NS,
)
IN_FLIGHT = Gauge(
    "articles_in_flight",
    "Articles between dedup claim and broker ack",
    namespace=NS,
)
FRESHNESS = Histogram(
    "freshness_lag_seconds",
    "From an entry's published time to broker acknowledgement of its article",
    namespace=NS,
    buckets=(30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400),
)
FEEDS_SILENT = Gauge(
    "feeds_silent",
    "Feeds whose newest entry is older than 3 times their usual gap between entries",
    namespace=NS,
)
BROKER_REACHABLE = Gauge(
    "broker_reachable",
    "1 when a bootstrap broker accepts connections (checked every 5 s), else 0",
    namespace=NS,
)
OUTBOX_RECORDS = Gauge(
    "outbox_records",
    "Records accepted and stored, waiting for the broker's acknowledgement",
    namespace=NS,
)
DEAD_LETTERS = Counter(
    "dead_letters",
    "Items sent to the dead-letter topic, by stage and reason",
    ["stage", "reason"],
    namespace=NS,
)
FEEDS_CONFIGURED = Gauge("feeds_configured", "Feeds in the feed list", namespace=NS)
FEEDS_OWNED = Gauge(
    "feeds_owned",
    "Feeds this replica polls (all of them in single mode; its partitions' in a group)",
    namespace=NS,
)
REBALANCES = Counter(
    "group_rebalances",
    "Partition assignments this replica received from the group (cluster.mode: group)",
    namespace=NS,
)
WORKER_BUDGET = Counter(
    "worker_over_budget",
    "Worker tasks (a page, a feed) stopped for going over a budget: time (the workers were "
    "killed), memory (MemoryError in the worker), lost (in flight at two worker deaths)",
    ["kind"],
    namespace=NS,
)
WORKER_POOL_REPLACED = Counter(
    "worker_pool_replacements",
    "Times the worker pool was rebuilt after a worker died or was killed",
    namespace=NS,
)
OUTBOX_STALLED = Gauge(
    "outbox_stalled",
    "1 when records wait in the outbox and the broker has acknowledged none of them for "
    "outbox.stall_after (the producer is then rebuilt), else 0",
    namespace=NS,
)
PRODUCER_RESTARTS = Counter(
    "producer_restarts",
    "Kafka producers rebuilt because the outbox stopped draining",
    namespace=NS,
)
