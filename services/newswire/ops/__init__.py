"""Operations: what people and monitors see. The /metrics, /healthz, /readyz endpoint
(health), JSON and text logs (logs), `newswire tail` (tail) and the feed-health table
(feed_table). The metrics themselves are in newswire.metrics, shared by every stage.

May import: the shared modules (models, errors, settings, metrics); no stage."""
