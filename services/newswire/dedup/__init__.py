"""Dedup stage: never the same story twice. The layers (layers: identity keys, title repeats,
near-duplicates by MinHash sketch, revisions) over one store interface (store: the embedded
SQLite state; redis_store: Redis shared by replicas).

May import: the shared modules (models, errors, settings, metrics, text, urls, dates,
sketch) and the state store; no other stage."""
