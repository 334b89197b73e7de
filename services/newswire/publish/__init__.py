"""Publish stage: articles to Kafka, once, in order. The message and its schema (message),
routing and the idempotent producer (producer), the durable outbox and dead letters
(outbox), the embedded Tansu broker (broker), and the consumer group through which replicas
share the feeds (cluster).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates,
sketch) and the state store; no other stage."""
