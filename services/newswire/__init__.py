"""newswire: poll news feeds, extract clean text, deduplicate, tag regions, publish to Kafka."""

__version__ = "0.1.0"
