"""The schema of config/newswire.yaml: every setting, its type, default and bounds."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> object:
    """Accept 30, "30s", "5m", "1.5h", "250ms"; return seconds as float."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        raise ValueError(f"{value!r} is not a duration such as 30s, 5m or 1h")
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
# Kafka's rule for topic names: ASCII letters, digits, '.', '_' and '-', at most 249
Topic = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


class Section(BaseModel):
    """A config section: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(Section):
    bootstrap_servers: str = "embedded"
    embedded_listen: str = "127.0.0.1:9092"
    client_id: str = "newswire"
    compression: Literal["gzip", "lz4", "zstd", "snappy", "none"] = "gzip"
    linger_ms: int = Field(default=20, ge=0, le=10_000)
    delivery_timeout: Annotated[float, BeforeValidator(parse_duration), Field(ge=2)] = 30.0
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    replication_factor: int = Field(default=1, ge=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None


class TopicSettings(Section):
    articles: Topic = "news.articles"
    duplicates: Topic = "news.duplicates"
    dead_letters: Topic = "news.dlq"
    partitions: int = Field(default=6, ge=1, le=1000)
    create: bool = True


class Route(Section):
    topic: Topic
    match: tuple[str, ...] = Field(min_length=1)
    # a country code in `match` takes an article only when the article supports the country
    # this much: 2 for naming the country (its name or a demonym), 1 for each other place of
    # it (models.Tagging.support); 1 routes on any single place, as before
    min_support: int = Field(default=2, ge=1)


class HttpSettings(Section):
    user_agent: str = "newswire/0.1 (+https://github.com/newswire/newswire)"
    connect_timeout: Seconds = 5.0
    read_timeout: Seconds = 15.0
    total_timeout: Seconds = 30.0
    max_wire_bytes: int = Field(default=5_000_000, ge=1024)
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_connections: int = Field(default=64, ge=1)
    feed_concurrency: int = Field(default=8, ge=1)
    page_concurrency: int = Field(default=16, ge=1)
    host_concurrency: int = Field(default=4, ge=1)
    host_min_delay: Annotated[float, BeforeValidator(parse_duration), Field(ge=0)] = 0.25
    host_pause: Seconds = 60.0
    retry_after_cap: Seconds = 21600.0
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    http2: bool = False
    proxy: str | None = None
    allow_private_networks: bool = False
    allow_hosts: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _http2_needs_httpx(self) -> HttpSettings:
        if self.http2 and self.transport != "httpx":
            raise ValueError("http2: true needs transport: httpx (aiohttp speaks HTTP/1.1 only)")
        return self


class PollSettings(Section):
    default_interval: Seconds = 300.0
    min_interval: Seconds = 120.0
    max_interval: Seconds = 3600.0
    adapt: bool = True
    max_entries: int = Field(default=300, ge=1)
    # polls that try an entry yielding no text at all (no page text, no feed text, no
    # title) before it is dead-lettered with reason too_little_text and not tried again
    max_attempts: int = Field(default=3, ge=1)
    stop_deadline: Seconds = 10.0
    jitter: float = Field(default=0.1, ge=0, lt=1)
    soft_backoff: Seconds = 60.0
    soft_backoff_cap: Seconds = 3600.0
    hard_backoff: Seconds = 1800.0
    hard_backoff_cap: Seconds = 86400.0

    @model_validator(mode="after")
    def _ordered(self) -> PollSettings:
        if not self.min_interval <= self.default_interval <= self.max_interval:
            raise ValueError("needs min_interval <= default_interval <= max_interval")
        if self.soft_backoff > self.soft_backoff_cap or self.hard_backoff > self.hard_backoff_cap:
            raise ValueError("a backoff is larger than its cap")
        return self


class ExtractSettings(Section):
    workers: int = Field(default=0, ge=0, description="0 means one per CPU core")
    min_text_chars: int = Field(default=250, ge=0)
    # a first text shorter than this is in doubt: a pass with trafilatura's defaults and
    # fallback extractors runs too, and its text wins when it is a tenth longer
    doubt_chars: int = Field(default=1000, ge=0)
    fast: bool = True
    favor_precision: bool = True
    include_tables: bool = True
    # budgets of one worker task (a page's extraction, a feed's parse): past the time limit
    # the pool's workers are killed and replaced; past the memory limit (address space a
    # worker may add to what it had at start) the task fails with MemoryError in the worker.
    # Either way the page falls back to the feed's text, or the poll fails, with the reason.
    time_limit: Seconds = 20.0
    memory_limit_mb: int = Field(default=300, ge=32)
    # an outlet's first or last line, or first-paragraph prefix, that recurs in this many of
    # its articles within learn_window is boilerplate, removed from its next ones (0: never)
    learn_after: int = Field(default=5, ge=0)
    learn_window: Seconds = 30 * 86400.0


class StateSettings(Section):
    dir: str = "state"


class DedupSettings(Section):
    window: Seconds = 7 * 86400.0
    title_window: Seconds = 2 * 86400.0
    title_min_words: int = Field(default=4, ge=1)
    near_threshold: float = Field(default=0.3, gt=0, le=1)
    title_policy: Literal["drop", "divert", "publish"] = "drop"
    near_policy: Literal["drop", "divert", "publish"] = "divert"
    keep_keys: Seconds = 30 * 86400.0
    backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    redis_prefix: str = Field(default="newswire", pattern=r"^[A-Za-z0-9_.-]+$")
    redis_timeout: Seconds = 2.0
    redis_cluster: bool = False
    claim_ttl: Seconds = 600.0


class OutboxSettings(Section):
    max_records: int = Field(default=50_000, ge=1)
    batch: int = Field(default=500, ge=1, le=10_000)
    drain_deadline: Seconds = 30.0
    # records waiting and none acknowledged for this long while the broker answers: the
    # outbox is stalled (newswire_outbox_stalled, /readyz) and the producer is rebuilt
    stall_after: Seconds = 60.0


class ClusterSettings(Section):
    mode: Literal["single", "group"] = "single"
    control_topic: Topic = "newswire.feeds"
    partitions: int = Field(default=12, ge=1, le=10_000)
    group_id: str = Field(default="newswire", min_length=1)
    session_timeout: Seconds = 10.0
    heartbeat_interval: Seconds = 3.0

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> ClusterSettings:
        if self.heartbeat_interval * 3 > self.session_timeout:
            raise ValueError("heartbeat_interval must be at most a third of session_timeout")
        return self


class MetricsSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(default=9464, ge=0, le=65535)


class PathSettings(Section):
    feeds: str = "feeds.yaml"
    regions: str = "regions.yaml"


class LogSettings(Section):
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),  # debug, Info, ...
    ] = "INFO"
    format: Literal["json", "text"] = "json"


class ErrorSettings(Section):
    # an unexpected error (a bug) met while polling one feed or building one entry: true
    # contains it there (logged with the feed, counted as internal_error, the entry
    # dead-lettered, the feed backed off) and the service polls on; false lets it stop the
    # service, as the tests do so that bugs are never hidden
    contain: bool = True


class Settings(Section):
    """config/newswire.yaml as a whole."""

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    routes: tuple[Route, ...] = ()
    http: HttpSettings = HttpSettings()
    poll: PollSettings = PollSettings()
    extract: ExtractSettings = ExtractSettings()
    state: StateSettings = StateSettings()
    outbox: OutboxSettings = OutboxSettings()
    dedup: DedupSettings = DedupSettings()
    cluster: ClusterSettings = ClusterSettings()
    metrics: MetricsSettings = MetricsSettings()
    paths: PathSettings = PathSettings()
    log: LogSettings = LogSettings()
    errors: ErrorSettings = ErrorSettings()

    @model_validator(mode="after")
    def _group_shares_state(self) -> Settings:
        if self.cluster.mode == "group" and self.dedup.backend != "redis":
            raise ValueError(
                "cluster.mode: group needs dedup.backend: redis (replicas share dedup and "
                "feed state through it)"
            )
        return self
