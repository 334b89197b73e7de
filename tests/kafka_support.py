"""Helpers to read what newswire published, straight from the broker."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kafka import KafkaConsumer, TopicPartition


def unique_prefix() -> str:
    """A topic prefix no other test uses (a real broker keeps topics between runs)."""
    return f"t{uuid.uuid4().hex[:10]}"


def read_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[Any]:
    """Every record in `topic` now, read without a consumer group."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        end = consumer.end_offsets(assigned)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def read_messages(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """The JSON values of every record in `topic`."""
    return [json.loads(r.value) for r in read_topic(bootstrap, topic)]
