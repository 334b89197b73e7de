"""Dedup by URL and GUID: claims while in flight, records once delivered, survives restarts."""

from __future__ import annotations

from pathlib import Path

from newswire.dedup.layers import Deduplicator, entry_keys
from newswire.dedup.store import LocalDedupStore
from newswire.models import DedupRecord, FeedEntry
from newswire.state import StateStore

LINK = "https://shafaq.com/en/Iraq-News/Drone-strikes"


def entry(link: str = LINK, guid: str | None = "g-1", outlet: str = "shafaq-news") -> FeedEntry:
    return FeedEntry(feed_id="f", outlet_id=outlet, link=link, title="t", guid=guid)


def test_tracking_parameters_and_guid_make_the_same_keys() -> None:
    keys = entry_keys(entry(LINK + "?utm_source=rss&fbclid=1#top"))
    assert keys == (f"url:{LINK}", "guid:shafaq-news:g-1")


def test_guids_are_scoped_to_the_outlet() -> None:
    assert entry_keys(entry(guid="42"))[1] != entry_keys(entry(guid="42", outlet="rudaw"))[1]


def test_in_flight_claim_blocks_a_second_copy_until_released(tmp_path: Path) -> None:
    dedup = Deduplicator(LocalDedupStore(StateStore(tmp_path / "s.db")))
    first = entry_keys(entry())
    assert dedup.claim(first) is None
    repeat = dedup.claim(entry_keys(entry(LINK + "?utm_medium=x", guid="other")))
    assert repeat is not None and (repeat.layer, repeat.article_id) == ("url", None)
    dedup.release(first)
    assert dedup.claim(first) is None  # released (not delivered): may be tried again


def test_delivered_keys_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "newswire.sqlite3"
    store = StateStore(path)
    dedup = Deduplicator(LocalDedupStore(store))
    keys = entry_keys(entry())
    assert dedup.claim(keys) is None
    store.accept([], DedupRecord("a" * 32, keys))  # accepted into the outbox: keys recorded
    dedup.release(keys)
    store.close()

    again = Deduplicator(LocalDedupStore(StateStore(path)))
    by_guid = again.claim(entry_keys(entry("https://shafaq.com/en/other-url", guid="g-1")))
    assert by_guid is not None and (by_guid.layer, by_guid.article_id) == ("guid", "a" * 32)
    by_url = again.claim(entry_keys(entry(guid=None)))
    assert by_url is not None and by_url.layer == "url"
